import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BOOKWORM, debFromStatus, dpkgStatusEntries, sampleSbom } from '../../test/fixtures/sbom/sample-sbom.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { assignPackageIds, buildRelationships, deriveSourcePackages, packageId, SUBJECT_ID, withRelationships } from './package-id.js';
import type { Package } from './package.js';

describe('packageId', () => {
  it('is stable and depends on purl and first location only', () => {
    const a = { purl: 'pkg:deb/debian/libc6@2.36-9+deb12u14?arch=amd64&distro=debian-12.15', locations: [{ path: '/var/lib/dpkg/status' }] };
    expect(packageId(a)).toBe(packageId({ ...a }));
    expect(packageId(a)).toMatch(/^pkg-[0-9a-f]{16}$/);
    expect(packageId({ ...a, locations: [{ path: '/var/lib/dpkg/status.d/libc6' }] })).not.toBe(packageId(a));
    expect(packageId({ ...a, locations: [{ path: '/var/lib/dpkg/status', layerDigest: 'sha256:00' }] })).not.toBe(packageId(a));
    expect(packageId({ ...a, locations: [...a.locations, { path: '/elsewhere' }] })).toBe(packageId(a));
  });

  it('assignPackageIds disambiguates true duplicates deterministically', () => {
    const entry = dpkgStatusEntries().find((e) => e.get('Package') === 'libc6') as Map<string, string>;
    const one = debFromStatus(entry);
    const ids = assignPackageIds([one, { ...one }, { ...one }]).map((p) => p.id);
    expect(ids[1]).toBe(`${ids[0]}-2`);
    expect(ids[2]).toBe(`${ids[0]}-3`);
    expect(assignPackageIds([one, { ...one }, { ...one }]).map((p) => p.id)).toEqual(ids);
  });
});

describe('source packages and relationships', () => {
  it('derives exactly the (source, version) pairs dpkg-query reports for the real bookworm status', () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-dq-'));
    try {
      writeFileSync(join(dir, 'status'), gunzipSync(readFileSync(join(sharedData, 'debian-bookworm-local-system', 'dpkg-status.gz'))));
      const oracle = new Set(
        execFileSync('dpkg-query', [`--admindir=${dir}`, '-W', '-f', '${source:Package} ${source:Version}\\n'], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean),
      );
      const packages = assignPackageIds(dpkgStatusEntries().filter((e) => e.has('Package')).map((e) => debFromStatus(e)));
      expect(packages.length).toBe(753);
      const sources = deriveSourcePackages(packages, BOOKWORM);
      expect(new Set(sources.map((s) => `${s.name} ${s.version}`))).toEqual(oracle);
      const glibc = sources.find((s) => s.name === 'glibc');
      expect(glibc?.purl).toBe('pkg:deb/debian/glibc@2.36-9+deb12u14?arch=source&distro=debian-12.15');
      const zlib = sources.find((s) => s.name === 'zlib');
      expect(zlib?.purl).toBe('pkg:deb/debian/zlib@1.2.13.dfsg-1?arch=source&epoch=1&distro=debian-12.15');
      const { relationships } = buildRelationships({ packages, relationships: [], distro: BOOKWORM });
      expect(relationships.filter((r) => r.type === 'contains')).toHaveLength(753);
      expect(relationships.filter((r) => r.type === 'built-from')).toHaveLength(753);
      const libc = packages.find((p) => p.name === 'libc6') as Package;
      expect(relationships).toContainEqual({ from: libc.id, to: glibc?.id, type: 'built-from' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps depends-on edges between known elements only, sorted and deduplicated', () => {
    const sbom = sampleSbom();
    const libcurl = sbom.packages.find((p) => p.name === 'libcurl4') as Package;
    const again = buildRelationships({
      ...sbom,
      relationships: [...sbom.relationships, { from: libcurl.id, to: 'pkg-doesnotexist', type: 'depends-on' }, ...sbom.relationships],
    });
    expect(again.relationships).toEqual(sbom.relationships);
    expect(sbom.relationships.filter((r) => r.type === 'depends-on')).toHaveLength(2);
    expect(sbom.relationships[0]).toMatchObject({ from: SUBJECT_ID, type: 'contains' });
    // curl and libcurl4 share one source package.
    expect(sbom.sourcePackages.filter((s) => s.name === 'curl')).toHaveLength(1);
    expect(withRelationships(sbom)).toEqual(sbom);
  });
});
