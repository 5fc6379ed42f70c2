import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalogSource } from '../../catalog/catalog-source.js';
import { importDebianTracker } from '../../feeds/debian-tracker.js';
import type { DebPackage, LinuxRelease, Sbom } from '../../sbom/package.js';
import { createMemoryStore, type MemoryVulnStore } from '../../vuln/memory-store.js';
import { addTrackerEntry, dpkgLessThan, fixFacts, type FixFact, type TrackerJson } from '../../../test/fixtures/match/debian-facts.js';
import { cached, sharedData, stockImage } from '../../../test/helpers/oracles.js';
import { matchSbom } from '../engine.js';
import { debianCodename, debianMatcher } from './debian.js';

const BOOKWORM: LinuxRelease = { id: 'debian', idLike: [], versionId: '12', versionCodename: 'bookworm' };

function deb(name: string, version: string, sourceName = name, sourceVersion = version): DebPackage {
  return {
    type: 'deb',
    id: `${name}-${version}`,
    name,
    version,
    purl: `pkg:deb/debian/${name}@${encodeURIComponent(version)}?distro=debian-12`,
    cpes: [],
    licenses: [],
    locations: [{ path: '/var/lib/dpkg/status' }],
    foundBy: 'dpkg',
    architecture: 'amd64',
    sourceName,
    sourceVersion,
    files: [],
  };
}

let facts: FixFact[];
let store: MemoryVulnStore;
const tracker: TrackerJson = {};

beforeAll(async () => {
  facts = fixFacts();
  for (const fact of facts) {
    addTrackerEntry(tracker, fact.source, fact.cve, { status: 'resolved', repositories: { bookworm: fact.versions[0]! }, fixed_version: fact.fixed, urgency: 'medium' }, `fixed in ${fact.fixed} per its changelog`);
  }
  // Unfixed entries, one per state. The CVE ids and the fact that zlib 1:1.3.dfsg-2 fixes CVE-2023-45853 are real;
  // the statuses given to the bookworm entries are chosen so each state is exercised.
  const repo = (v: string) => ({ bookworm: v });
  addTrackerEntry(tracker, 'zlib', 'CVE-2023-45853', { status: 'open', repositories: repo('1:1.2.13.dfsg-1'), urgency: 'low', nodsa: 'Minor issue', nodsa_reason: 'ignored' });
  addTrackerEntry(tracker, 'pcre2', 'CVE-2022-41409', { status: 'open', repositories: repo('10.42-1'), urgency: 'low', nodsa: 'Minor issue', nodsa_reason: 'postponed' });
  addTrackerEntry(tracker, 'ncurses', 'CVE-2023-50495', { status: 'open', repositories: repo('6.4-4'), urgency: 'medium' });
  addTrackerEntry(tracker, 'ncurses', 'CVE-2023-45918', { status: 'open', repositories: repo('6.4-4'), urgency: 'unimportant' });
  addTrackerEntry(tracker, 'util-linux', 'CVE-2022-0563', { status: 'open', repositories: repo('2.38.1-5+deb12u3'), urgency: 'end-of-life' });
  addTrackerEntry(tracker, 'linux', 'CVE-2013-7445', { status: 'open', repositories: repo('6.1.187-1'), urgency: 'unimportant' });
  addTrackerEntry(tracker, 'linux', 'CVE-2024-26581', { status: 'resolved', repositories: repo('6.1.187-1'), fixed_version: '6.1.76-1', urgency: 'medium' });
  addTrackerEntry(tracker, 'zlib', 'CVE-2005-2096', { status: 'resolved', repositories: repo('1:1.2.13.dfsg-1'), fixed_version: '0', urgency: 'high' });
  // An epoch'd fix written without its epoch is a smaller version: 1:1.2.13 is past it.
  addTrackerEntry(tracker, 'zlib', 'CVE-2018-25032', { status: 'resolved', repositories: repo('1:1.2.13.dfsg-1'), fixed_version: '1:1.2.11.dfsg-4', urgency: 'medium' });
  addTrackerEntry(tracker, 'bash', 'CVE-2022-3715', { status: 'resolved', repositories: repo('5.2.15-2'), fixed_version: '5.2.15-2+deb12u1', urgency: 'low' });
  store = createMemoryStore();
  await importDebianTracker(Buffer.from(JSON.stringify(tracker)), store, { origin: 'test: tracker JSON from bookworm changelogs', fetchedAt: new Date('2026-12-03T00:00:00Z') });
});

describe('debianCodename', () => {
  it('uses VERSION_CODENAME, else the version table, else testing/sid names', () => {
    expect(debianCodename(BOOKWORM)).toBe('bookworm');
    expect(debianCodename({ id: 'debian', idLike: [], versionId: '11' })).toBe('bullseye');
    expect(debianCodename({ id: 'debian', idLike: [], precise: '10.13' })).toBe('buster');
    expect(debianCodename({ id: 'debian', idLike: [], versionId: '13' })).toBe('trixie');
    expect(debianCodename({ id: 'debian', idLike: [], precise: 'forky/sid' })).toBe('forky');
    expect(debianCodename({ id: 'ubuntu', idLike: ['debian'], versionId: '22.04', versionCodename: 'jammy' })).toBeUndefined();
    expect(debianCodename({ id: 'debian', idLike: [] })).toBeUndefined();
  });
});

describe('debian matcher on tracker records built from real changelog facts', () => {
  it('agrees with dpkg --compare-versions for every real bookworm version before, at and after each fix', () => {
    const pairs: Array<readonly [string, string]> = [];
    const cases: Array<{ fact: FixFact; installed: string }> = [];
    for (const fact of facts) for (const installed of fact.versions) {
      pairs.push([installed, fact.fixed]);
      cases.push({ fact, installed });
    }
    const oracle = dpkgLessThan(pairs);
    let affected = 0;
    cases.forEach(({ fact, installed }, i) => {
      const pkg = deb(`bin-of-${fact.source}`, installed, fact.source, installed);
      const hit = debianMatcher.match(pkg, { store, distro: BOOKWORM }).find((f) => f.vulnId === fact.cve);
      expect(hit !== undefined, `${fact.source} ${installed} vs ${fact.cve} fixed ${fact.fixed}`).toBe(oracle[i]);
      if (hit !== undefined) {
        affected++;
        expect(hit.fixState).toBe('fixed');
        expect(hit.fixedVersions).toEqual([fact.fixed]);
        expect(hit.evidence).toMatchObject({ matcher: 'debian', feed: 'debian-tracker', namespace: 'debian:bookworm', searchedName: fact.source, searchedVersion: installed });
        expect(hit.severity).toEqual({ value: 'medium', source: 'debian-tracker' });
      }
    });
    expect(cases.length).toBeGreaterThan(1000);
    expect(affected).toBeGreaterThan(300);
  });

  it('glibc CVE-2023-4911 (Looney Tunables): fixed in 2.36-9+deb12u3, reported under libc6', () => {
    const fact = facts.find((f) => f.cve === 'CVE-2023-4911');
    expect(fact?.fixed).toBe('2.36-9+deb12u3');
    const at = (v: string) => debianMatcher.match(deb('libc6', v, 'glibc', v), { store, distro: BOOKWORM }).filter((f) => f.vulnId === 'CVE-2023-4911');
    expect(at('2.36-9+deb12u2')).toHaveLength(1);
    expect(at('2.36-9+deb12u2')[0]).toMatchObject({ packageName: 'libc6', installedVersion: '2.36-9+deb12u2' });
    expect(at('2.36-9+deb12u3')).toHaveLength(0);
    expect(at('2.36-9+deb12u14')).toHaveLength(0);
    expect(at('2.36-9')).toHaveLength(1);
  });

  it('openssl `~deb12uN` backports: 3.0.11-1~deb12u2 fixes CVE-2023-5363; ~deb12u1 before it is affected; upstream 3.0.11-1 sorts after both', () => {
    const fact = facts.find((f) => f.source === 'openssl' && f.cve === 'CVE-2023-5363');
    expect(fact?.fixed).toBe('3.0.11-1~deb12u2');
    const has = (v: string) => debianMatcher.match(deb('libssl3', v, 'openssl', v), { store, distro: BOOKWORM }).some((f) => f.vulnId === 'CVE-2023-5363');
    expect(has('3.0.10-1~deb12u1')).toBe(true);
    expect(has('3.0.11-1~deb12u1')).toBe(true);
    expect(has('3.0.11-1~deb12u2')).toBe(false);
    expect(has('3.0.11-1')).toBe(false);
    expect(has('3.0.11-1~')).toBe(true);
  });

  it('compares the SOURCE version: bsdutils 1:2.38.1-5+deb12u3 is built from util-linux 2.38.1-5+deb12u3', () => {
    // The epoch belongs to the binary version only; compared as a binary version every fix would look applied.
    const hypotheticalFix = '2.38.1-5+deb12u4';
    const local = createMemoryStore();
    const doc: TrackerJson = {};
    addTrackerEntry(doc, 'util-linux', 'CVE-2024-28085', { status: 'resolved', repositories: { bookworm: '2.38.1-5+deb12u3' }, fixed_version: hypotheticalFix, urgency: 'medium' });
    return importDebianTracker(Buffer.from(JSON.stringify(doc)), local, { origin: 'test', fetchedAt: new Date(0) }).then(() => {
      const found = debianMatcher.match(deb('bsdutils', '1:2.38.1-5+deb12u3', 'util-linux', '2.38.1-5+deb12u3'), { store: local, distro: BOOKWORM });
      expect(found.map((f) => f.vulnId)).toEqual(['CVE-2024-28085']);
      expect(found[0]!.evidence.searchedVersion).toBe('2.38.1-5+deb12u3');
      expect(found[0]!.installedVersion).toBe('1:2.38.1-5+deb12u3');
      // With the real fix (2.38.1-5+deb12u1), the installed source version is past it.
      expect(debianMatcher.match(deb('bsdutils', '1:2.38.1-5+deb12u3', 'util-linux', '2.38.1-5+deb12u3'), { store, distro: BOOKWORM }).some((f) => f.vulnId === 'CVE-2024-28085')).toBe(false);
      expect(debianMatcher.match(deb('bsdutils', '1:2.38.1-5', 'util-linux', '2.38.1-5'), { store, distro: BOOKWORM }).some((f) => f.vulnId === 'CVE-2024-28085')).toBe(true);
    });
  });

  it('binNMU: bash 5.2.15-2+b8 (source 5.2.15-2) is before a 5.2.15-2+deb12u1 fix and is compared by its source version', () => {
    const found = debianMatcher.match(deb('bash', '5.2.15-2+b8', 'bash', '5.2.15-2'), { store, distro: BOOKWORM });
    expect(found.map((f) => f.vulnId)).toEqual(['CVE-2022-3715']);
    expect(found[0]!.evidence.searchedVersion).toBe('5.2.15-2');
    expect(debianMatcher.match(deb('bash', '5.2.15-2+deb12u1+b1', 'bash', '5.2.15-2+deb12u1'), { store, distro: BOOKWORM })).toEqual([]);
  });

  it('epochs: 1:1.2.13.dfsg-1 is past a fix at 1:1.2.11.dfsg-4; fixed_version "0" never matches', () => {
    const ids = debianMatcher.match(deb('zlib1g', '1:1.2.13.dfsg-1', 'zlib', '1:1.2.13.dfsg-1'), { store, distro: BOOKWORM }).map((f) => f.vulnId);
    expect(ids).not.toContain('CVE-2018-25032');
    expect(ids).not.toContain('CVE-2005-2096');
    expect(debianMatcher.match(deb('zlib1g', '1.2.13.dfsg-1', 'zlib', '1.2.13.dfsg-1'), { store, distro: BOOKWORM }).map((f) => f.vulnId)).toContain('CVE-2018-25032');
  });

  it('open entries carry their fix state, notes and severity; negligible and kernel headers are suppressed, not dropped', () => {
    const one = (name: string, v: string, source: string, cve: string) => debianMatcher.match(deb(name, v, source, v), { store, distro: BOOKWORM }).find((f) => f.vulnId === cve);
    const zlib = one('zlib1g', '1:1.2.13.dfsg-1', 'zlib', 'CVE-2023-45853');
    expect(zlib).toMatchObject({ fixState: 'wont-fix', fixedVersions: [], severity: { value: 'low', source: 'debian-tracker' } });
    expect(zlib!.evidence.rule).toContain('bookworm');
    expect(zlib!.suppressed).toBeUndefined();
    expect(one('libpcre2-8-0', '10.42-1', 'pcre2', 'CVE-2022-41409')?.fixState).toBe('deferred');
    expect(one('libncursesw6', '6.4-4', 'ncurses', 'CVE-2023-50495')?.fixState).toBe('not-fixed');
    const negligible = one('libncursesw6', '6.4-4', 'ncurses', 'CVE-2023-45918');
    expect(negligible?.severity.value).toBe('negligible');
    expect(negligible?.suppressed?.kind).toBe('negligible');
    expect(one('util-linux', '2.38.1-5+deb12u3', 'util-linux', 'CVE-2022-0563')?.fixState).toBe('end-of-life');
    const headers = one('linux-libc-dev', '6.1.187-1', 'linux', 'CVE-2013-7445');
    expect(headers?.suppressed).toEqual({ kind: 'not-applicable', reason: 'kernel headers: a container runs the host kernel, not this package' });
    expect(one('linux-libc-dev', '6.1.76-1~rc', 'linux', 'CVE-2024-26581')?.suppressed?.kind).toBe('not-applicable');
    expect(one('linux-headers-6.1.0-28-amd64', '6.1.119-1', 'linux', 'CVE-2013-7445')?.suppressed?.kind).toBe('not-applicable');
  });

  it('needs the release: other distributions and unknown releases are not handled', () => {
    expect(debianMatcher.handles(deb('libc6', '2.36-9'), BOOKWORM)).toBe(true);
    expect(debianMatcher.handles(deb('libc6', '2.36-9'), { id: 'ubuntu', idLike: ['debian'] })).toBe(false);
    expect(debianMatcher.match(deb('libc6', '2.36-9', 'glibc'), { store, distro: { id: 'debian', idLike: [] } })).toEqual([]);
  });
});

/** A rootfs holding the real bookworm dpkg status of this machine (753 packages) and a bookworm os-release. */
function localSystemRoot(): string {
  return cached('match-bookworm-local-system', (tmp) => {
    mkdirSync(join(tmp, 'var/lib/dpkg'), { recursive: true });
    mkdirSync(join(tmp, 'etc'), { recursive: true });
    writeFileSync(join(tmp, 'var/lib/dpkg/status'), gunzipSync(readFileSync(join(sharedData, 'debian-bookworm-local-system/dpkg-status.gz'))));
    writeFileSync(join(tmp, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n');
  });
}

describe('matchSbom on real package databases', () => {
  function expectedFixed(sbom: Sbom): Set<string> {
    // Oracle: dpkg says the installed source version is before the changelog's fixing version.
    const candidates: Array<{ key: string; pair: readonly [string, string] }> = [];
    for (const pkg of sbom.packages) {
      if (pkg.type !== 'deb') continue;
      for (const fact of facts) if (fact.source === pkg.sourceName) candidates.push({ key: `${pkg.name} ${fact.cve}`, pair: [pkg.sourceVersion, fact.fixed] });
    }
    const lt = dpkgLessThan(candidates.map((c) => c.pair));
    return new Set(candidates.filter((_, i) => lt[i]).map((c) => c.key));
  }

  it('the local bookworm system: libc6, libssl3 and bsdutils by source; every changelog fix applied; open entries reported', async () => {
    const sbom = await catalogSource(`dir:${localSystemRoot()}`);
    expect(sbom.distro?.versionCodename).toBe('bookworm');
    const bsdutils = sbom.packages.find((p): p is DebPackage => p.type === 'deb' && p.name === 'bsdutils');
    expect(bsdutils).toMatchObject({ version: '1:2.38.1-5+deb12u3', sourceName: 'util-linux', sourceVersion: '2.38.1-5+deb12u3' });
    const bash = sbom.packages.find((p): p is DebPackage => p.type === 'deb' && p.name === 'bash');
    expect(bash).toMatchObject({ version: '5.2.15-2+b8', sourceVersion: '5.2.15-2' });
    const result = matchSbom(sbom, store);
    const fixedKeys = new Set(result.findings.filter((f) => f.fixState === 'fixed').map((f) => `${f.packageName} ${f.vulnId}`));
    const expected = expectedFixed(sbom);
    for (const key of [...fixedKeys]) if (key.startsWith('bash ') || key.startsWith('linux-libc-dev ')) fixedKeys.delete(key);
    expect(fixedKeys).toEqual(expected);
    const names = (cve: string) => result.findings.filter((f) => f.vulnId === cve).map((f) => f.packageName).sort();
    expect(names('CVE-2022-3715')).toEqual(['bash']);
    expect(names('CVE-2023-45853')).toContain('zlib1g');
    expect(result.findings.find((f) => f.packageName === 'linux-libc-dev')?.suppressed?.kind).toBe('not-applicable');
    expect(result.coverage).toEqual([{ namespace: 'debian:bookworm', packages: sbom.packages.filter((p) => p.type === 'deb').length, hasData: true }]);
  });

  it('stock nginx (docker-archive): Debian packages matched by source under debian:bookworm', async () => {
    const sbom = await catalogSource(`docker-archive:${stockImage('nginx')}`);
    const result = matchSbom(sbom, store);
    const libc = sbom.packages.find((p): p is DebPackage => p.type === 'deb' && p.name === 'libc6');
    expect(libc?.sourceName).toBe('glibc');
    const fixedKeys = new Set(result.findings.filter((f) => f.fixState === 'fixed' && f.packageName !== 'bash').map((f) => `${f.packageName} ${f.vulnId}`));
    expect(fixedKeys).toEqual(expectedFixed(sbom));
    // The open zlib and ncurses entries reach every binary built from them.
    const zlibBinaries = sbom.packages.filter((p) => p.type === 'deb' && p.sourceName === 'zlib').map((p) => p.name).sort();
    expect(zlibBinaries.length).toBeGreaterThan(0);
    expect(result.findings.filter((f) => f.vulnId === 'CVE-2023-45853').map((f) => f.packageName).sort()).toEqual(zlibBinaries);
    const deb = result.coverage.find((c) => c.namespace === 'debian:bookworm');
    expect(deb?.hasData).toBe(true);
  }, 120_000);
});
