import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importKev } from '../feeds/kev.js';
import type { Finding } from '../match/finding.js';
import { createMemoryStore, type MemoryVulnStore } from '../vuln/memory-store.js';
import type { CvssScore, VulnerabilityRecord } from '../vuln/vulnerability.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { enrichFindings } from './enrich-findings.js';
import { bestScore, rateSeverity } from './severity-rule.js';

function finding(vulnId: string, aliases: string[], severity: Finding['severity']): Finding {
  return {
    vulnId,
    aliases,
    packageId: 'p',
    packageName: 'libc6',
    packageType: 'deb',
    installedVersion: '2.36-9',
    purl: 'pkg:deb/debian/libc6@2.36-9',
    fixState: 'fixed',
    fixedVersions: ['2.36-9+deb12u3'],
    severity,
    cvss: [],
    evidence: { matcher: 'debian', feed: 'debian-tracker', namespace: 'debian:bookworm', searchedName: 'glibc', searchedVersion: '2.36-9', rule: 'r', ranges: [] },
  };
}

/** NVD records from the real NVD API 2.0 extract (index-samples/vuln-list-nvd). */
function nvdRecords(): VulnerabilityRecord[] {
  const lines = readFileSync(join(sharedData, 'index-samples/vuln-list-nvd/nvd-cvss-extract.csv'), 'utf8').trim().split('\n').slice(1);
  const byCve = new Map<string, VulnerabilityRecord>();
  for (const line of lines) {
    const [cve, , published, modified, , source, type, version, vector, score, , cwe] = line.split(',');
    let record = byCve.get(cve!);
    if (record === undefined) byCve.set(cve!, (record = { id: cve!, aliases: [], feed: 'nvd', published: published!, modified: modified!, cwes: [], cvss: [], references: [] }));
    if (cwe && !record.cwes.includes(cwe)) record.cwes.push(cwe);
    if (vector) record.cvss.push({ version: version as CvssScore['version'], vector, baseScore: Number(score), source: source!, type: type as 'Primary' | 'Secondary' });
  }
  return [...byCve.values()];
}

let store: MemoryVulnStore;

beforeAll(async () => {
  store = createMemoryStore();
  await importKev(join(sharedData, 'cisa-kev/known_exploited_vulnerabilities.json'), store, { origin: 'kev', fetchedAt: new Date(0) });
  store.putVulnerabilities(nvdRecords());
  store.putVulnerabilities([{ id: 'PYSEC-TEST-1', aliases: ['CVE-2023-45853'], feed: 'osv', summary: 'zlib overflow', cwes: [], cvss: [], references: [] }]);
  const epss = readFileSync(join(sharedData, 'index-samples/emba-epss/epss-sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { cve: string; epss: string; percentile: string; date: string });
  store.putEpss(epss.map((e) => ({ cve: e.cve, score: Number(e.epss), percentile: Number(e.percentile), date: e.date, model: 'v2023.03.01' })));
});

describe('enrichFindings on the real KEV catalog, NVD extract and EPSS sample', () => {
  it('keeps the distribution rating, attaches every CVSS score, EPSS and KEV', () => {
    const [looney] = enrichFindings([finding('CVE-2023-4911', [], { value: 'high', source: 'debian-tracker' })], store);
    expect(looney!.severity).toEqual({ value: 'high', source: 'debian-tracker' });
    expect(looney!.cvss.map((c) => `${c.source} ${c.baseScore}`)).toEqual(['nvd@nist.gov 7.8', 'secalert@redhat.com 7.8']);
    expect(looney!.cwes).toEqual(['CWE-122', 'CWE-787']);
    expect(looney!.epss).toMatchObject({ cve: 'CVE-2023-4911', score: 0.01877, date: '2024-03-24' });
    // Looney Tunables is in the catalog (added 2023-11-21).
    expect(looney!.kev).toMatchObject({ cve: 'CVE-2023-4911', dateAdded: '2023-11-21' });
  });

  it('falls back to NVD CVSS through an alias; unknown without any score', () => {
    const [zlib, noScore] = enrichFindings([finding('PYSEC-TEST-1', ['CVE-2023-45853'], { value: 'unknown', source: 'none' }), finding('CVE-2024-2961', [], { value: 'unknown', source: 'none' })], store);
    expect(zlib!.severity).toEqual({ value: 'critical', source: 'nvd-cvss-v3' });
    expect(zlib!.summary).toBe('zlib overflow');
    expect(zlib!.kev).toBeUndefined();
    expect(zlib!.epss?.cve).toBe('CVE-2023-45853');
    expect(noScore!.severity).toEqual({ value: 'unknown', source: 'none' });
    expect(noScore!.cwes).toEqual(['CWE-787']);
  });

  it('looks everything up in one call per kind, whatever the number of findings', () => {
    const calls: string[] = [];
    const counting: VulnStore = {
      ...store,
      vulnerabilities: (ids) => (calls.push('vulnerabilities'), store.vulnerabilities(ids)),
      epss: (ids) => (calls.push('epss'), store.epss(ids)),
      kev: (ids) => (calls.push('kev'), store.kev(ids)),
    };
    const many = Array.from({ length: 500 }, (_, i) => finding(`CVE-2023-${4911 + i}`, [], { value: 'unknown', source: 'none' }));
    enrichFindings(many, counting);
    expect(calls.sort()).toEqual(['epss', 'kev', 'vulnerabilities']);
    expect(enrichFindings([], counting)).toEqual([]);
  });
});

describe('severity rule', () => {
  const s = (version: CvssScore['version'], baseScore: number, type?: 'Primary' | 'Secondary'): CvssScore => ({ version, baseScore, vector: `v${version}`, source: type === 'Secondary' ? 'cna' : 'nvd@nist.gov', ...(type ? { type } : {}) });
  it('orders v3.1, v3.0, v4.0, v2 and Primary before Secondary', () => {
    expect(bestScore([s('2.0', 10), s('4.0', 2), s('3.0', 5)])?.version).toBe('3.0');
    expect(bestScore([s('2.0', 10), s('4.0', 2)])?.version).toBe('4.0');
    expect(bestScore([s('3.1', 9.8, 'Secondary'), s('3.1', 5.3, 'Primary')])?.baseScore).toBe(5.3);
    expect(rateSeverity({ value: 'unknown', source: 'none' }, [s('4.0', 9.3)])).toEqual({ value: 'critical', source: 'nvd-cvss-v4' });
    expect(rateSeverity({ value: 'unknown', source: 'none' }, [s('2.0', 5)])).toEqual({ value: 'medium', source: 'nvd-cvss-v2' });
    expect(rateSeverity({ value: 'negligible', source: 'debian-tracker' }, [s('3.1', 9.8)])).toEqual({ value: 'negligible', source: 'debian-tracker' });
    expect(rateSeverity({ value: 'unknown', source: 'none' }, [], [s('3.1', 7.5)])).toEqual({ value: 'high', source: 'osv' });
    expect(rateSeverity({ value: 'unknown', source: 'none' }, [s('3.1', 0)])).toEqual({ value: 'unknown', source: 'none' });
  });
});
