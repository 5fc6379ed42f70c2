/** @module catalog/dpkg/deb-purl — package URLs for Debian binary packages, in Trivy's rendering. */
import { PackageURL } from 'packageurl-js';
import type { LinuxRelease } from '../../sbom/package.js';
import { distroVersion } from '../linux-release.js';

/**
 * `pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12.8&epoch=1`.
 *
 * The epoch goes into an `epoch` qualifier and is left out of the version, because that is what Trivy emits
 * (checked against its CycloneDX output for stock nginx: `zlib1g@1.2.13.dfsg-1+deb12u1?arch=amd64&epoch=1&…`),
 * and SBOM consumers match our purls against Trivy's. Syft instead keeps `1:` in the version and adds an
 * `upstream=<source>` qualifier; we add no `upstream`, since Trivy does not, and the source package is carried
 * by the package's sourceName/sourceVersion instead. Qualifiers are sorted (packageurl-js canonical form), so
 * the string order differs from Trivy's while the purl is the same. `distro` is `<id>-<precise or VERSION_ID>`.
 */
export function debPurl(name: string, version: string, architecture: string | undefined, release: LinuxRelease | undefined): string {
  const namespace = release?.id ?? 'debian';
  const colon = version.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? version.slice(0, colon) : undefined;
  const qualifiers: Record<string, string> = {};
  if (architecture) qualifiers.arch = architecture;
  const distro = distroVersion(release);
  if (release !== undefined && distro !== undefined) qualifiers.distro = `${release.id}-${distro}`;
  if (epoch !== undefined && epoch !== '0') qualifiers.epoch = epoch;
  return new PackageURL('deb', namespace, name, epoch === undefined ? version : version.slice(colon + 1), qualifiers, undefined).toString();
}
