/** @module sbom/purl — build and parse package URLs (purl) for every ecosystem distill catalogs, via packageurl-js. */
import { PackageURL, PurlComponent } from 'packageurl-js';
import { DistillError } from '../errors.js';
import type { LinuxRelease, PackageType } from './package.js';

/** A purl broken into its parts; qualifiers keep their order (rendering order matters for Trivy parity). */
export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers: Array<[key: string, value: string]>;
  subpath?: string;
}

/**
 * Renders a purl. Components are normalised and encoded by packageurl-js; qualifiers are appended in the
 * given order (packageurl-js would sort them) so deb purls come out byte-identical to Trivy's
 * (`arch`, `epoch`, `distro`). Empty qualifier values are dropped, as the purl spec requires.
 */
export function formatPurl(parts: PurlParts): string {
  let base: string;
  try {
    base = new PackageURL(parts.type, parts.namespace, parts.name, parts.version, undefined, parts.subpath).toString();
  } catch (error) {
    throw new DistillError('SBOM_INVALID', `cannot build a purl for ${parts.type} package "${parts.name}": ${(error as Error).message}`, {
      subject: parts.name,
      cause: error,
    });
  }
  const qualifiers = parts.qualifiers.filter(([, value]) => value !== '');
  if (qualifiers.length === 0) return base;
  const hash = base.indexOf('#');
  const head = hash === -1 ? base : base.slice(0, hash);
  const tail = hash === -1 ? '' : base.slice(hash);
  const query = qualifiers
    .map(([key, value]) => `${PurlComponent.qualifierKey.encode(key.toLowerCase())}=${PurlComponent.qualifierValue.encode(value)}`)
    .join('&');
  return `${head}?${query}${tail}`;
}

/** Parses a purl; throws SBOM_INVALID naming the purl when it is malformed. */
export function parsePurl(purl: string): PurlParts {
  if (typeof purl !== 'string' || purl.length > 4096) {
    throw new DistillError('SBOM_INVALID', 'purl is not a string of at most 4096 characters', { subject: 'purl' });
  }
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(purl);
  } catch (error) {
    throw new DistillError('SBOM_INVALID', `invalid purl "${purl}": ${(error as Error).message}`, {
      subject: purl,
      hint: 'a purl looks like pkg:type/namespace/name@version?qualifiers#subpath',
      cause: error,
    });
  }
  const qualifiers: Array<[string, string]> = [];
  // Keep the order the string had: parse the query ourselves for ordering, values from packageurl-js.
  const q = parsed.qualifiers ?? {};
  const queryStart = purl.indexOf('?');
  if (queryStart !== -1) {
    const end = purl.indexOf('#', queryStart);
    const query = purl.slice(queryStart + 1, end === -1 ? undefined : end);
    for (const pair of query.split('&')) {
      const key = decodeURIComponentSafe(pair.split('=', 1)[0] ?? '').toLowerCase();
      const value = q[key];
      if (value !== undefined && !qualifiers.some(([k]) => k === key)) qualifiers.push([key, value]);
    }
  }
  const parts: PurlParts = { type: parsed.type, name: parsed.name, qualifiers };
  if (parsed.namespace) parts.namespace = parsed.namespace;
  if (parsed.version) parts.version = parsed.version;
  if (parsed.subpath) parts.subpath = parsed.subpath;
  return parts;
}

/** Parses a purl or returns undefined. */
export function tryParsePurl(purl: string): PurlParts | undefined {
  try {
    return parsePurl(purl);
  } catch {
    return undefined;
  }
}

/** The value of one qualifier, if present. */
export function purlQualifier(parts: PurlParts, key: string): string | undefined {
  return parts.qualifiers.find(([k]) => k === key)?.[1];
}

/** Canonical form per the purl spec (qualifiers sorted); use it to compare purls from different tools. */
export function canonicalPurl(purl: string): string {
  return PackageURL.fromString(purl).toString();
}

/** True when two purls denote the same package (spec-canonical comparison, qualifier order ignored). */
export function purlEquals(a: string, b: string): boolean {
  try {
    return canonicalPurl(a) === canonicalPurl(b);
  } catch {
    return false;
  }
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Splits a Debian version into epoch and the rest (`1:1.2.13.dfsg-1` → `1`, `1.2.13.dfsg-1`). */
export function splitEpoch(version: string): { epoch?: string; rest: string } {
  const colon = version.indexOf(':');
  if (colon > 0 && /^[0-9]+$/.test(version.slice(0, colon))) return { epoch: version.slice(0, colon), rest: version.slice(colon + 1) };
  return { rest: version };
}

/**
 * The `distro` qualifier for OS packages, as Trivy writes it: `debian-12.15` for deb (id + precise version,
 * falling back to VERSION_ID), `3.20.3` for apk (precise version only).
 */
export function distroQualifier(type: 'deb' | 'apk', release: LinuxRelease | undefined): string | undefined {
  if (!release) return undefined;
  const version = release.precise ?? release.versionId;
  if (type === 'apk') return version;
  if (!version) return release.id || undefined;
  return `${release.id}-${version}`;
}

/** Purl namespace for OS packages: the distro id when it is one of the family, else the family default. */
function osNamespace(type: 'deb' | 'apk', release: LinuxRelease | undefined): string {
  const fallback = type === 'deb' ? 'debian' : 'alpine';
  const id = release?.id?.toLowerCase();
  if (!id || !/^[a-z0-9][a-z0-9._-]*$/.test(id)) return fallback;
  return id;
}

/**
 * `pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.15` — Trivy's rendering: the
 * epoch moves from the version into an `epoch` qualifier, qualifiers in the order arch, epoch, distro.
 */
export function debPurl(input: { name: string; version: string; architecture?: string; release?: LinuxRelease }): string {
  const { epoch, rest } = splitEpoch(input.version);
  const qualifiers: Array<[string, string]> = [];
  if (input.architecture) qualifiers.push(['arch', input.architecture]);
  if (epoch !== undefined) qualifiers.push(['epoch', epoch]);
  const distro = distroQualifier('deb', input.release);
  if (distro) qualifiers.push(['distro', distro]);
  return formatPurl({ type: 'deb', namespace: osNamespace('deb', input.release), name: input.name, version: rest, qualifiers });
}

/** The purl of a Debian source package: `pkg:deb/debian/glibc@2.36-9+deb12u14?arch=source&distro=debian-12.15`. */
export function debSourcePurl(name: string, version: string, release?: LinuxRelease): string {
  return debPurl({ name, version, architecture: 'source', ...(release ? { release } : {}) });
}

/** `pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.18.4` (Trivy's rendering). */
export function apkPurl(input: { name: string; version: string; architecture?: string; release?: LinuxRelease }): string {
  const qualifiers: Array<[string, string]> = [];
  if (input.architecture) qualifiers.push(['arch', input.architecture]);
  const distro = distroQualifier('apk', input.release);
  if (distro) qualifiers.push(['distro', distro]);
  return formatPurl({ type: 'apk', namespace: osNamespace('apk', input.release), name: input.name, version: input.version, qualifiers });
}

/** The purl of an Alpine origin package (no arch: origins are not built per architecture in the index). */
export function apkOriginPurl(origin: string, version: string, release?: LinuxRelease): string {
  return apkPurl({ name: origin, version, ...(release ? { release } : {}) });
}

/** `pkg:npm/%40scope/name@1.0.0`: the scope becomes the namespace. */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  if (slash > 1) {
    return formatPurl({ type: 'npm', namespace: name.slice(0, slash), name: name.slice(slash + 1), version, qualifiers: [] });
  }
  return formatPurl({ type: 'npm', name, version, qualifiers: [] });
}

/** PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`. */
export function normalizePypiName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** `pkg:pypi/requests-toolbelt@1.0.0` with the PEP 503 normalised name. */
export function pypiPurl(name: string, version: string): string {
  return formatPurl({ type: 'pypi', name: normalizePypiName(name), version, qualifiers: [] });
}

/** `pkg:golang/github.com/spf13/cobra@v1.8.0`: the module path split at its last slash. */
export function golangPurl(modulePath: string, version: string): string {
  const slash = modulePath.lastIndexOf('/');
  const parts: PurlParts =
    slash > 0
      ? { type: 'golang', namespace: modulePath.slice(0, slash), name: modulePath.slice(slash + 1), qualifiers: [] }
      : { type: 'golang', name: modulePath, qualifiers: [] };
  if (version) parts.version = version;
  return formatPurl(parts);
}

/** `pkg:maven/org.apache.commons/commons-lang3@3.14.0`; without a groupId the artifactId doubles as it (as Syft does). */
export function mavenPurl(groupId: string | undefined, artifactId: string, version: string): string {
  return formatPurl({ type: 'maven', namespace: groupId || artifactId, name: artifactId, version, qualifiers: [] });
}

/** The fields purlFor needs; every Package satisfies it. */
export type PurlInput =
  | { type: 'deb' | 'apk'; name: string; version: string; architecture?: string }
  | { type: 'npm' | 'python' | 'go-module'; name: string; version: string }
  | { type: 'java-archive'; name: string; version: string; groupId?: string; artifactId?: string };

/** The purl for a package of any type; `release` supplies the distro qualifier of OS packages. */
export function purlFor(pkg: PurlInput, release?: LinuxRelease): string {
  switch (pkg.type) {
    case 'deb':
      return debPurl({ name: pkg.name, version: pkg.version, ...(pkg.architecture ? { architecture: pkg.architecture } : {}), ...(release ? { release } : {}) });
    case 'apk':
      return apkPurl({ name: pkg.name, version: pkg.version, ...(pkg.architecture ? { architecture: pkg.architecture } : {}), ...(release ? { release } : {}) });
    case 'npm':
      return npmPurl(pkg.name, pkg.version);
    case 'python':
      return pypiPurl(pkg.name, pkg.version);
    case 'go-module':
      return golangPurl(pkg.name, pkg.version);
    case 'java-archive':
      return mavenPurl(pkg.groupId, pkg.artifactId ?? pkg.name, pkg.version);
  }
}

/** purl type → distill package type (undefined for ecosystems the model does not cover). */
export function packageTypeOfPurl(purlType: string): PackageType | undefined {
  switch (purlType) {
    case 'deb':
      return 'deb';
    case 'apk':
    case 'alpine':
      return 'apk';
    case 'npm':
      return 'npm';
    case 'pypi':
      return 'python';
    case 'golang':
      return 'go-module';
    case 'maven':
      return 'java-archive';
    default:
      return undefined;
  }
}

/**
 * Reads back name and full version from a purl: for deb the `epoch` qualifier is folded back into the
 * version (`1:1.2.13.dfsg-1`), for npm/golang/maven the namespace is joined as each ecosystem spells it.
 */
export function packageCoordinates(parts: PurlParts): { name: string; version: string } {
  let version = parts.version ?? '';
  const epoch = purlQualifier(parts, 'epoch');
  if (parts.type === 'deb' && epoch && !/^[0-9]+:/.test(version)) version = `${epoch}:${version}`;
  let name = parts.name;
  if (parts.namespace) {
    if (parts.type === 'npm' || parts.type === 'golang') name = `${parts.namespace}/${parts.name}`;
  }
  return { name, version };
}
