import { describe, expect, it } from 'vitest';
import { DistillError } from '../errors.js';
import type { ApkPackage, DebPackage, NpmPackage, Package, Sbom } from '../sbom/package.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import type { FeedName } from '../vuln/vulnerability.js';
import { deduplicate, matchSbom } from './engine.js';
import type { Finding } from './finding.js';
import type { Matcher } from './matcher.js';

const common = { cpes: [], licenses: [], locations: [], foundBy: 'test' };
const apk = (name: string, version: string): ApkPackage => ({ ...common, type: 'apk', id: `apk-${name}`, name, version, purl: `pkg:apk/alpine/${name}@${version}`, architecture: 'x86_64', origin: name, files: [] });
const npm = (name: string, version: string): NpmPackage => ({ ...common, type: 'npm', id: `npm-${name}`, name, version, purl: `pkg:npm/${name}@${version}` });
const debPkg = (name: string, version: string): DebPackage => ({ ...common, type: 'deb', id: `deb-${name}`, name, version, purl: `pkg:deb/ubuntu/${name}@${version}`, architecture: 'amd64', sourceName: name, sourceVersion: version, files: [] });

function sbom(packages: Package[], distro?: Sbom['distro']): Sbom {
  return { subject: { reference: 'test', transport: 'dir', layers: [], tags: [] }, ...(distro ? { distro } : {}), packages, sourcePackages: [], relationships: [], issues: [], createdAt: '2026-01-01T00:00:00Z', tool: { name: 'distill', version: 'test' } };
}

function finding(vulnId: string, aliases: string[], feed: FeedName, packageId = 'p'): Finding {
  return {
    vulnId,
    aliases,
    packageId,
    packageName: 'zlib1g',
    packageType: 'deb',
    installedVersion: '1',
    purl: 'pkg:deb/debian/zlib1g@1',
    fixState: 'not-fixed',
    fixedVersions: [],
    severity: { value: 'unknown', source: 'none' },
    cvss: [],
    evidence: { matcher: feed, feed, namespace: 'debian:bookworm', searchedName: 'zlib', searchedVersion: '1', rule: 'r', ranges: [] },
  };
}

describe('deduplicate', () => {
  it('keeps the distribution feed over OSV for the same vulnerability and merges aliases', () => {
    const kept = deduplicate([finding('DEBIAN-CVE-2023-45853', ['CVE-2023-45853'], 'osv'), finding('CVE-2023-45853', [], 'debian-tracker'), finding('CVE-2022-37434', [], 'debian-tracker')]);
    expect(kept.map((f) => [f.vulnId, f.evidence.feed, f.aliases])).toEqual([
      ['CVE-2023-45853', 'debian-tracker', ['DEBIAN-CVE-2023-45853']],
      ['CVE-2022-37434', 'debian-tracker', []],
    ]);
  });

  it('joins transitively (GHSA ↔ CVE ↔ PYSEC) and prefers the CVE id within one feed rank', () => {
    const kept = deduplicate([finding('PYSEC-2023-74', ['CVE-2023-32681'], 'osv'), finding('GHSA-j8r2-6x86-q33q', ['CVE-2023-32681'], 'osv')]);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.vulnId).toBe('GHSA-j8r2-6x86-q33q');
    expect(kept[0]!.aliases).toEqual(['CVE-2023-32681', 'PYSEC-2023-74']);
  });
});

describe('matchSbom', () => {
  it('reports namespaces the store has no data for instead of reporting zero findings', () => {
    const store = createMemoryStore();
    store.putAffected([{ vulnId: 'NSWG-ECO-368', namespace: 'npm', packageName: 'lodash', ranges: [], versions: ['4.17.4'], fixState: 'fixed', fixedVersions: ['4.17.5'], feed: 'osv' }]);
    const result = matchSbom(sbom([apk('musl', '1.2.5-r0'), apk('busybox', '1.36.1-r29'), npm('left-pad', '1.0.0')], { id: 'alpine', idLike: [], versionId: '3.20.3', precise: '3.20.3' }), store);
    expect(result.coverage).toEqual([
      { namespace: 'alpine:3.20', packages: 2, hasData: false },
      { namespace: 'npm', packages: 1, hasData: true },
    ]);
    expect(result.issues).toContainEqual({ code: 'NO_VULN_DATA', message: 'no vulnerability data for alpine:3.20 (2 packages not checked): run distill db update', source: 'match' });
  });

  it('says which packages no matcher covers', () => {
    const result = matchSbom(sbom([debPkg('libc6', '2.35-0ubuntu3')], { id: 'ubuntu', idLike: ['debian'], versionId: '22.04' }), createMemoryStore());
    expect(result.issues).toEqual([{ code: 'UNSUPPORTED', message: 'no vulnerability matcher for deb packages on ubuntu 22.04 (1 package not checked)', source: 'match' }]);
    expect(result.findings).toEqual([]);
  });

  it('a matcher failing on one package becomes an issue; the other packages are still matched; progress is reported', () => {
    const store = createMemoryStore();
    store.putAffected([{ vulnId: 'X-1', namespace: 'npm', packageName: 'good', ranges: [], versions: [], fixState: 'not-fixed', fixedVersions: [], feed: 'osv' }]);
    const flaky: Matcher = {
      name: 'flaky',
      handles: (p) => p.type === 'npm',
      namespaceOf: () => 'npm',
      match(p) {
        if (p.name === 'bad') throw new DistillError('VERSION_INVALID', 'invalid semver version "x.y"');
        return [{ ...finding('X-1', [], 'osv', p.id), packageName: p.name }];
      },
    };
    const events: string[] = [];
    const result = matchSbom(sbom([npm('bad', 'x.y'), npm('good', '1.0.0')]), store, { matchers: [flaky], onProgress: (e) => events.push(e.kind) });
    expect(result.findings.map((f) => f.packageName)).toEqual(['good']);
    expect(result.issues).toEqual([{ code: 'PARSE_FAILED', message: 'matching bad x.y failed: invalid semver version "x.y"', source: 'flaky' }]);
    expect(events).toEqual(['match-progress', 'match-done']);
  });
});
