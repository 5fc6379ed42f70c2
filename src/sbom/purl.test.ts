import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { stockImage, trivyImagePackages } from '../../test/helpers/oracles.js';
import {
  apkPurl,
  canonicalPurl,
  debPurl,
  debSourcePurl,
  golangPurl,
  mavenPurl,
  normalizePypiName,
  npmPurl,
  packageCoordinates,
  parsePurl,
  purlEquals,
  purlFor,
  pypiPurl,
  tryParsePurl,
} from './purl.js';
import type { LinuxRelease } from './package.js';

interface TrivyComponent {
  name: string;
  type: string;
  purl?: string;
  properties?: Array<{ name: string; value: string }>;
}

const bookworm: LinuxRelease = { id: 'debian', idLike: [], versionId: '12', precise: '12.15' };

describe('deb purls match Trivy byte for byte', () => {
  it('rebuilds every purl of Trivy’s stock nginx SBOM from name, full version (PkgID) and arch', () => {
    const bom = JSON.parse(readFileSync(trivyImagePackages(stockImage('nginx'), 'nginx'), 'utf8')) as { components: TrivyComponent[] };
    const os = bom.components.find((c) => c.type === 'operating-system') as TrivyComponent & { version: string };
    const release: LinuxRelease = { id: os.name, idLike: [], precise: os.version };
    const debs = bom.components.filter((c) => c.purl?.startsWith('pkg:deb/'));
    expect(debs.length).toBeGreaterThanOrEqual(118);
    let withEpoch = 0;
    for (const c of debs) {
      const pkgId = c.properties?.find((p) => p.name === 'aquasecurity:trivy:PkgID')?.value as string;
      const version = pkgId.slice(pkgId.indexOf('@') + 1);
      if (version.includes(':')) withEpoch++;
      const arch = parsePurl(c.purl as string).qualifiers.find(([k]) => k === 'arch')?.[1] as string;
      expect(debPurl({ name: c.name, version, architecture: arch, release })).toBe(c.purl);
      // …and parsing gives the full version back.
      expect(packageCoordinates(parsePurl(c.purl as string))).toEqual({ name: c.name, version });
    }
    expect(withEpoch).toBeGreaterThan(5);
  });

  it('writes epochs as a qualifier in Trivy’s order and encodes + in names only', () => {
    expect(debPurl({ name: 'zlib1g', version: '1:1.2.13.dfsg-1', architecture: 'amd64', release: bookworm })).toBe(
      'pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.15',
    );
    expect(debPurl({ name: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'amd64', release: bookworm })).toBe(
      'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14+deb12u1?arch=amd64&distro=debian-12.15',
    );
    expect(debPurl({ name: 'tzdata', version: '2025b-0+deb12u2', architecture: 'all' })).toBe('pkg:deb/debian/tzdata@2025b-0+deb12u2?arch=all');
    expect(debSourcePurl('glibc', '2.36-9+deb12u14', bookworm)).toBe('pkg:deb/debian/glibc@2.36-9+deb12u14?arch=source&distro=debian-12.15');
    expect(debSourcePurl('util-linux', '2.38.1-5+deb12u3', { id: 'ubuntu', idLike: ['debian'], versionId: '22.04' })).toBe(
      'pkg:deb/ubuntu/util-linux@2.38.1-5+deb12u3?arch=source&distro=ubuntu-22.04',
    );
  });

  it('falls back to VERSION_ID without a precise version', () => {
    expect(debPurl({ name: 'bash', version: '5.2.15-2+b2', architecture: 'amd64', release: { id: 'debian', idLike: [], versionId: '12' } })).toBe(
      'pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12',
    );
  });
});

describe('other ecosystems', () => {
  it('apk', () => {
    expect(apkPurl({ name: 'musl', version: '1.2.5-r0', architecture: 'x86_64', release: { id: 'alpine', idLike: [], versionId: '3.20.3', precise: '3.20.3' } })).toBe(
      'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3',
    );
  });
  it('npm scoped and unscoped', () => {
    expect(npmPurl('@babel/core', '7.24.0')).toBe('pkg:npm/%40babel/core@7.24.0');
    expect(npmPurl('lodash', '4.17.21')).toBe('pkg:npm/lodash@4.17.21');
    expect(packageCoordinates(parsePurl('pkg:npm/%40babel/core@7.24.0'))).toEqual({ name: '@babel/core', version: '7.24.0' });
  });
  it('pypi names are PEP 503 normalised', () => {
    expect(normalizePypiName('Typing_Extensions')).toBe('typing-extensions');
    expect(normalizePypiName('zope.interface')).toBe('zope-interface');
    expect(normalizePypiName('a__b--c..d')).toBe('a-b-c-d');
    expect(pypiPurl('PyYAML', '6.0.1')).toBe('pkg:pypi/pyyaml@6.0.1');
  });
  it('golang splits the module path at the last slash', () => {
    expect(golangPurl('github.com/spf13/cobra', 'v1.8.0')).toBe('pkg:golang/github.com/spf13/cobra@v1.8.0');
    expect(golangPurl('golang.org/x/net', 'v0.23.0')).toBe('pkg:golang/golang.org/x/net@v0.23.0');
    expect(packageCoordinates(parsePurl('pkg:golang/github.com/spf13/cobra@v1.8.0')).name).toBe('github.com/spf13/cobra');
  });
  it('maven', () => {
    expect(mavenPurl('org.apache.logging.log4j', 'log4j-core', '2.17.1')).toBe('pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1');
  });
  it('purlFor dispatches on the package type', () => {
    expect(purlFor({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u14', architecture: 'amd64' }, bookworm)).toBe(
      'pkg:deb/debian/libc6@2.36-9+deb12u14?arch=amd64&distro=debian-12.15',
    );
    expect(purlFor({ type: 'python', name: 'typing_extensions', version: '4.12.2' })).toBe('pkg:pypi/typing-extensions@4.12.2');
    expect(purlFor({ type: 'java-archive', name: 'log4j-core', version: '2.17.1', groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core' })).toBe(
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1',
    );
    expect(purlFor({ type: 'go-module', name: 'github.com/spf13/cobra', version: 'v1.8.0' })).toBe('pkg:golang/github.com/spf13/cobra@v1.8.0');
  });
});

describe('parsing and comparison', () => {
  it('keeps qualifier order and compares canonically', () => {
    const trivy = 'pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.15';
    expect(parsePurl(trivy).qualifiers).toEqual([['arch', 'amd64'], ['epoch', '1'], ['distro', 'debian-12.15']]);
    expect(canonicalPurl(trivy)).toBe('pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12.15&epoch=1');
    expect(purlEquals(trivy, 'pkg:deb/debian/zlib1g@1.2.13.dfsg-1?distro=debian-12.15&epoch=1&arch=amd64')).toBe(true);
    expect(purlEquals(trivy, 'pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=arm64&epoch=1&distro=debian-12.15')).toBe(false);
  });
  it('reads a Syft-style epoch inside the version', () => {
    expect(packageCoordinates(parsePurl('pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12')).version).toBe('1:1.2.13.dfsg-1');
  });
  it('rejects hostile purls with SBOM_INVALID', () => {
    for (const bad of ['', 'garbage', 'pkg:', 'http://x/y', 'pkg:deb/%ZZ@1', 'pkg:maven/onlyname@1', `pkg:npm/${'a'.repeat(5000)}@1`]) {
      let caught: unknown;
      try {
        parsePurl(bad);
      } catch (error) {
        caught = error;
      }
      expect(isDistillError(caught, 'SBOM_INVALID'), bad.slice(0, 30)).toBe(true);
      expect(tryParsePurl(bad)).toBeUndefined();
    }
    expect(purlEquals('garbage', 'garbage')).toBe(false);
  });
});
