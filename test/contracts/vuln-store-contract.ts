/** @module test/contracts/vuln-store-contract — behaviour every VulnStore + VulnStoreWriter pair must show, on real records. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AffectedRange, AffectedRecord, EpssScore, FeedProvenance, KevEntry, RangeEvent, VulnerabilityRecord } from '../../src/vuln/vulnerability.js';
import type { VulnStore, VulnStoreWriter } from '../../src/vuln/vuln-store.js';
import { kevEntryOf, type KevJsonEntry } from '../helpers/kev-json.js';
import { sharedData } from '../helpers/oracles.js';

/** How the contract drives one implementation. */
export interface VulnStoreHarness {
  /** One import: `fn` gets a writer; when it returns, the writes are committed. */
  write(fn: (writer: VulnStoreWriter) => void): void;
  /** A reader over everything committed so far (the harness closes it in dispose()). */
  open(): VulnStore;
  dispose(): void;
}

const kevPath = join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json');
const pypaArchive = join(sharedData, 'pypa-advisory-database', 'pypa-advisory-database-vulns.tar.gz');

interface KevJson {
  catalogVersion: string;
  dateReleased: string;
  vulnerabilities: KevJsonEntry[];
}

/** The whole real KEV catalog, mapped field by field (a test-side mapping, not the feed parser). */
export function realKev(): { entries: KevEntry[]; catalog: KevJson } {
  const catalog = JSON.parse(readFileSync(kevPath, 'utf8')) as KevJson;
  return { entries: catalog.vulnerabilities.map(kevEntryOf), catalog };
}

interface OsvYaml {
  id: string;
  aliases?: string[];
  details?: string;
  summary?: string;
  published?: string;
  modified?: string;
  withdrawn?: string;
  references?: Array<{ url: string }>;
  affected: Array<{ package: { name: string; ecosystem: string }; ranges?: Array<{ type: string; events: RangeEvent[] }>; versions?: string[] }>;
}

/** Real PyPA OSV records (YAML in the shared archive), read with GNU tar and the yaml package. */
export function realPypa(paths: readonly string[]): { affected: AffectedRecord[]; vulns: VulnerabilityRecord[] } {
  const affected: AffectedRecord[] = [];
  const vulns: VulnerabilityRecord[] = [];
  for (const path of paths) {
    const doc = parseYaml(execFileSync('tar', ['-xzOf', pypaArchive, path], { encoding: 'utf8' })) as OsvYaml;
    vulns.push({
      id: doc.id,
      aliases: doc.aliases ?? [],
      feed: 'osv',
      ...(doc.summary === undefined ? {} : { summary: doc.summary }),
      ...(doc.details === undefined ? {} : { description: doc.details }),
      ...(doc.published === undefined ? {} : { published: doc.published }),
      ...(doc.modified === undefined ? {} : { modified: doc.modified }),
      ...(doc.withdrawn === undefined ? {} : { withdrawn: doc.withdrawn }),
      cwes: [],
      cvss: [],
      references: (doc.references ?? []).map((r) => r.url),
    });
    for (const a of doc.affected) {
      const ranges: AffectedRange[] = (a.ranges ?? []).filter((r) => r.type === 'ECOSYSTEM').map((r) => ({ type: 'ECOSYSTEM', events: r.events }));
      const fixed = ranges.flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : [])));
      affected.push({
        vulnId: doc.id,
        namespace: 'pypi',
        packageName: a.package.name.toLowerCase(),
        ranges,
        versions: a.versions ?? [],
        fixState: fixed.length > 0 ? 'fixed' : 'not-fixed',
        fixedVersions: fixed,
        feed: 'osv',
      });
    }
  }
  return { affected, vulns };
}

const PYPA = ['vulns/jinja2/PYSEC-2014-8.yaml', 'vulns/requests/PYSEC-2023-74.yaml', 'vulns/urllib3/PYSEC-2023-192.yaml', 'vulns/jinja2/PYSEC-2019-217.yaml'];

function provenance(feed: FeedProvenance['feed'], records: number): FeedProvenance {
  return { feed, origin: `file:///fixtures/${feed}`, fetchedAt: '2026-12-03T10:00:00.000Z', recordDate: '2025-08-25', digest: 'sha256:' + '0'.repeat(64), records };
}

/** Debian-tracker-shaped rules for real bookworm source packages (facts from the changelogs are not needed here). */
const debianRules: AffectedRecord[] = [
  { vulnId: 'CVE-2023-4911', namespace: 'debian:bookworm', packageName: 'glibc', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.36-9+deb12u3' }] }], versions: [], fixState: 'fixed', fixedVersions: ['2.36-9+deb12u3'], severity: 'high', feed: 'debian-tracker' },
  { vulnId: 'CVE-2010-4756', namespace: 'debian:bookworm', packageName: 'glibc', ranges: [], versions: [], fixState: 'wont-fix', fixedVersions: [], severity: 'negligible', feed: 'debian-tracker', note: 'glob implementation can cause excessive CPU and memory consumption' },
  { vulnId: 'CVE-2023-4911', namespace: 'debian:bullseye', packageName: 'glibc', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.31-13+deb11u7' }] }], versions: [], fixState: 'fixed', fixedVersions: ['2.31-13+deb11u7'], feed: 'debian-tracker' },
];

const nvdRecord: VulnerabilityRecord = {
  id: 'CVE-2014-1402',
  aliases: [],
  feed: 'nvd',
  description: 'The default configuration for bccache.FileSystemBytecodeCache in Jinja2 before 2.7.2 does not properly create temporary files',
  published: '2014-05-19T14:55:08.180',
  cwes: ['CWE-264'],
  cvss: [{ version: '2.0', vector: 'AV:L/AC:M/Au:N/C:P/I:P/A:P', baseScore: 4.4, source: 'nvd@nist.gov', type: 'Primary' }],
  references: ['https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=734747'],
};

export function describeVulnStoreContract(name: string, factory: () => VulnStoreHarness): void {
  describe(`VulnStore contract: ${name}`, () => {
    let h: VulnStoreHarness;
    beforeEach(() => {
      h = factory();
    });
    afterEach(() => {
      h.dispose();
    });

    it('an empty store answers every lookup with nothing', () => {
      h.write(() => {});
      const s = h.open();
      expect(s.affected('debian:bookworm', 'glibc')).toEqual([]);
      expect(s.vulnerabilities(['CVE-2021-44228']).size).toBe(0);
      expect(s.epss(['CVE-2021-44228']).size).toBe(0);
      expect(s.kev(['CVE-2021-44228']).size).toBe(0);
      expect(s.feeds()).toEqual([]);
      expect(s.namespaces()).toEqual([]);
    });

    it('round-trips real PyPA OSV rules per (namespace, package), nothing more', () => {
      const { affected, vulns } = realPypa(PYPA);
      h.write((w) => {
        w.putAffected(affected);
        w.putVulnerabilities(vulns);
        w.setProvenance(provenance('osv', vulns.length));
      });
      const s = h.open();
      const jinja = s.affected('pypi', 'jinja2');
      expect(jinja.map((r) => r.vulnId)).toEqual(['PYSEC-2014-8', 'PYSEC-2019-217']);
      expect(jinja[0]).toEqual(affected.find((r) => r.vulnId === 'PYSEC-2014-8'));
      // Real facts of PYSEC-2014-8: fixed in 2.7.2, 19 explicit versions from 2.0rc1 to 2.7.1.
      expect(jinja[0]?.fixedVersions).toEqual(['2.7.2']);
      expect(jinja[0]?.versions).toHaveLength(19);
      expect(jinja[0]?.versions).toContain('2.0rc1');
      const requests = s.affected('pypi', 'requests');
      expect(requests).toHaveLength(1);
      expect(requests[0]?.ranges).toEqual([{ type: 'ECOSYSTEM', events: [{ introduced: '2.3.0' }, { fixed: '2.31.0' }] }]);
      expect(s.affected('npm', 'jinja2')).toEqual([]);
      expect(s.affected('pypi', 'jinja')).toEqual([]);
      expect(s.namespaces()).toEqual(['pypi']);
    });

    it('resolves aliases both ways (CVE/GHSA → PYSEC, PYSEC → CVE records of other feeds)', () => {
      const { vulns } = realPypa(PYPA);
      h.write((w) => {
        w.putVulnerabilities(vulns);
        w.putVulnerabilities([nvdRecord]);
      });
      const s = h.open();
      const got = s.vulnerabilities(['CVE-2014-1402', 'GHSA-8r7q-cvjq-x353', 'PYSEC-2014-8', 'CVE-2023-32681', 'CVE-1999-0001']);
      expect([...got.keys()].sort()).toEqual(['CVE-2014-1402', 'CVE-2023-32681', 'GHSA-8r7q-cvjq-x353', 'PYSEC-2014-8']);
      expect(got.get('CVE-2014-1402')?.map((r) => `${r.id}/${r.feed}`)).toEqual(['CVE-2014-1402/nvd', 'PYSEC-2014-8/osv']);
      expect(got.get('GHSA-8r7q-cvjq-x353')?.map((r) => r.id)).toEqual(['PYSEC-2014-8']);
      expect(got.get('PYSEC-2014-8')?.map((r) => `${r.id}/${r.feed}`)).toEqual(['CVE-2014-1402/nvd', 'PYSEC-2014-8/osv']);
      expect(got.get('CVE-2023-32681')?.map((r) => r.id)).toEqual(['PYSEC-2023-74']);
      const pysec = got.get('PYSEC-2014-8')?.find((r) => r.feed === 'osv');
      expect(pysec).toEqual(vulns.find((v) => v.id === 'PYSEC-2014-8'));
      expect(got.get('CVE-2014-1402')?.[0]).toEqual(nvdRecord);
    });

    it('imports the full real KEV catalog (1404 entries) and answers by CVE', () => {
      const { entries, catalog } = realKev();
      expect(entries).toHaveLength(1404);
      h.write((w) => {
        w.clearFeed('kev');
        w.putKev(entries);
        w.setProvenance({ ...provenance('kev', entries.length), recordDate: catalog.dateReleased });
      });
      const s = h.open();
      const log4shell = s.kev(['CVE-2021-44228', 'CVE-2025-48384', 'CVE-2000-99999']);
      expect(log4shell.size).toBe(2);
      expect(log4shell.get('CVE-2021-44228')).toMatchObject({ vendor: 'Apache', product: 'Log4j2', dateAdded: '2021-12-10', knownRansomwareCampaignUse: 'Known' });
      expect(log4shell.get('CVE-2025-48384')).toEqual(entries[0]);
      expect(s.kev(entries.map((e) => e.cve)).size).toBe(1404);
      expect(s.feeds()).toEqual([{ ...provenance('kev', 1404), recordDate: catalog.dateReleased }]);
    });

    it('answers epss for many CVEs at once (more than SQLite bind-parameter limits)', () => {
      const scores: EpssScore[] = [];
      for (let i = 0; i < 40_000; i++) scores.push({ cve: `CVE-2020-${String(i).padStart(5, '0')}`, score: (i % 1000) / 1000, percentile: (i % 997) / 997, date: '2026-12-01', model: 'v2025.03.14' });
      h.write((w) => {
        w.putEpss(scores);
        w.setProvenance(provenance('epss', scores.length));
      });
      const s = h.open();
      const all = s.epss(scores.map((e) => e.cve));
      expect(all.size).toBe(40_000);
      expect(all.get('CVE-2020-01234')).toEqual(scores[1234]);
      expect(s.epss(['CVE-2020-99999']).size).toBe(0);
    });

    it('clearFeed removes one feed everywhere and keeps the others', () => {
      const { affected, vulns } = realPypa(PYPA);
      const { entries } = realKev();
      h.write((w) => {
        w.putAffected([...affected, ...debianRules]);
        w.putVulnerabilities([...vulns, nvdRecord]);
        w.putKev(entries);
        w.putEpss([{ cve: 'CVE-2014-1402', score: 0.00042, percentile: 0.05, date: '2026-12-01', model: 'v2025.03.14' }]);
        for (const feed of ['osv', 'kev', 'debian-tracker', 'nvd', 'epss'] as const) w.setProvenance(provenance(feed, 1));
      });
      h.write((w) => {
        w.clearFeed('osv');
        w.clearFeed('epss');
      });
      const s = h.open();
      expect(s.affected('pypi', 'jinja2')).toEqual([]);
      expect(s.affected('debian:bookworm', 'glibc')).toEqual(debianRules.slice(0, 2));
      expect(s.namespaces()).toEqual(['debian:bookworm', 'debian:bullseye']);
      // The alias rows went with the OSV records: GHSA finds nothing, the CVE finds only NVD.
      const got = s.vulnerabilities(['GHSA-8r7q-cvjq-x353', 'CVE-2014-1402', 'PYSEC-2014-8']);
      expect([...got.keys()]).toEqual(['CVE-2014-1402']);
      expect(got.get('CVE-2014-1402')?.map((r) => r.feed)).toEqual(['nvd']);
      expect(s.kev(['CVE-2021-44228']).size).toBe(1);
      expect(s.epss(['CVE-2014-1402']).size).toBe(0);
      expect(s.feeds().map((f) => f.feed)).toEqual(['debian-tracker', 'kev', 'nvd']);
    });

    it('a second record with the same id from the same feed replaces the first, aliases included', () => {
      const { vulns } = realPypa(['vulns/jinja2/PYSEC-2014-8.yaml']);
      const first = vulns[0]!;
      h.write((w) => w.putVulnerabilities([first]));
      h.write((w) => w.putVulnerabilities([{ ...first, aliases: ['CVE-2014-1402'], withdrawn: '2024-01-01T00:00:00Z' }]));
      const s = h.open();
      expect(s.vulnerabilities(['GHSA-8r7q-cvjq-x353']).size).toBe(0);
      const byCve = s.vulnerabilities(['CVE-2014-1402']).get('CVE-2014-1402');
      expect(byCve).toHaveLength(1);
      expect(byCve?.[0]?.withdrawn).toBe('2024-01-01T00:00:00Z');
    });

    it('keeps optional fields absent (not undefined) and stores hostile strings verbatim', () => {
      const hostile = "x'); DROP TABLE affected;--\u0000\u{1F600}";
      const rule: AffectedRecord = { vulnId: 'GHSA-"quoted"', namespace: 'npm', packageName: hostile, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '1.2.3' }, { limit: '*' }] }], versions: [], fixState: 'unknown', fixedVersions: [], feed: 'osv' };
      h.write((w) => w.putAffected([rule, { ...rule, namespace: 'npm ' }]));
      const s = h.open();
      const got = s.affected('npm', hostile);
      expect(got).toEqual([rule]);
      expect(Object.keys(got[0]!)).not.toContain('severity');
      expect(Object.keys(got[0]!)).not.toContain('note');
      expect(s.affected('npm', "x'); DROP TABLE affected;--")).toEqual([]);
      expect(s.namespaces()).toEqual(['npm', 'npm ']);
    });

    it('returns copies: mutating a result does not change the store', () => {
      h.write((w) => w.putAffected(debianRules));
      const s = h.open();
      s.affected('debian:bookworm', 'glibc')[0]!.fixedVersions.push('9:9.9');
      expect(s.affected('debian:bookworm', 'glibc')[0]?.fixedVersions).toEqual(['2.36-9+deb12u3']);
    });
  });
}
