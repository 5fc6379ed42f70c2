import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { importNvd } from './nvd.js';

const fixtures = resolve('test/fixtures/feeds-enrich');
const page0 = join(fixtures, 'nvd-page-0000.json');
const page3 = join(fixtures, 'nvd-page-0003.json.gz');
const tmp = mkdtempSync(join(tmpdir(), 'distill-nvd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const opts = { origin: 'test', fetchedAt: new Date('2025-01-01T00:00:00Z') };

/** The real extract: one row per (CVE, metric). */
function extract(): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(join(sharedData, 'index-samples/vuln-list-nvd/nvd-cvss-extract.csv'), 'utf8').trim().split('\n');
  const names = (head as string).split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i] as string, v])));
}

describe('importNvd', () => {
  it('imports a directory of pages (plain and gzip) and matches every fact of the real NVD extract', async () => {
    const store = createMemoryStore();
    const result = await importNvd(fixtures, store, opts);
    expect(result.feed).toBe('nvd');
    expect(result.records).toBe(6);
    expect(result.recordDate).toBe('2024-07-01T12:00:05.000Z');
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(store.feeds()[0]).toMatchObject({ feed: 'nvd', records: 6, origin: 'test' });
    const rows = extract();
    const got = store.vulnerabilities([...new Set(rows.map((r) => r.cve as string))]);
    for (const row of rows) {
      const record = got.get(row.cve as string)?.find((r) => r.feed === 'nvd');
      expect(record, row.cve).toBeDefined();
      expect(record?.published).toBe(`${row.published}Z`);
      expect(record?.modified).toBe(`${row.lastModified}Z`);
      expect(record?.cwes).toContain(row.cwe);
      if (row.cvss_version === '') continue;
      expect(record?.cvss).toContainEqual({ version: row.cvss_version, vector: row.vectorString, baseScore: Number(row.baseScore), source: row.metric_source, type: row.metric_type });
    }
    expect(got.get('CVE-2024-2961')?.[0]?.cvss).toEqual([]);
  });

  it('reads v4.0 and v2 metrics, drops NVD-CWE placeholders, dedupes references, marks Rejected as withdrawn', async () => {
    const store = createMemoryStore();
    await importNvd(page3, store, opts);
    const [synthetic] = store.vulnerabilities(['CVE-2000-900001']).get('CVE-2000-900001') ?? [];
    expect(synthetic?.cvss).toEqual([
      { version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseScore: 9.3, source: 'synthetic@distill.invalid', type: 'Secondary' },
      { version: '2.0', vector: 'AV:N/AC:L/Au:N/C:P/I:N/A:N', baseScore: 5, source: 'nvd@nist.gov', type: 'Primary' },
    ]);
    expect(synthetic?.cwes).toEqual(['CWE-20']);
    expect(synthetic?.description).toMatch(/^SYNTHETIC/);
    expect(synthetic?.references).toEqual(['https://example.invalid/a', 'https://example.invalid/b']);
    const [rejected] = store.vulnerabilities(['CVE-2000-900002']).get('CVE-2000-900002') ?? [];
    expect(rejected?.withdrawn).toBe('2024-07-01T00:00:00.000Z');
  });

  it('reads a page gzip-compressed by GNU gzip', async () => {
    const gz = join(tmp, 'page.json.gz');
    writeFileSync(gz, execFileSync('gzip', ['-c', page0]));
    const result = await importNvd(gz, createMemoryStore(), opts);
    expect(result.records).toBe(3);
  });

  it('keeps the most recently modified copy when pages overlap', async () => {
    const dir = mkdtempSync(join(tmp, 'overlap-'));
    copyFileSync(page0, join(dir, 'a.json'));
    const doc = JSON.parse(readFileSync(page0, 'utf8'));
    doc.vulnerabilities[0].cve.lastModified = '2025-01-01T00:00:00.000';
    doc.vulnerabilities[0].cve.descriptions = [{ lang: 'en', value: 'newer' }];
    writeFileSync(join(dir, 'b.json'), JSON.stringify(doc));
    const store = createMemoryStore();
    const result = await importNvd(dir, store, opts);
    expect(result.records).toBe(3);
    expect(store.vulnerabilities(['CVE-2023-4911']).get('CVE-2023-4911')?.[0]?.description).toBe('newer');
  });

  describe('hostile input', () => {
    it('malformed JSON, a wrong format and a truncated gzip are FEED_INVALID and write nothing', async () => {
      const cases: Array<[string, Buffer]> = [
        ['bad.json', Buffer.from('{"vulnerabilities": [')],
        ['other.json', Buffer.from(JSON.stringify({ format: 'OSV', vulnerabilities: [] }))],
        ['none.json', Buffer.from('[1,2,3]')],
        ['cut.json.gz', readFileSync(page3).subarray(0, 200)],
      ];
      for (const [name, bytes] of cases) {
        const path = join(tmp, name);
        writeFileSync(path, bytes);
        const store = createMemoryStore();
        const error = await importNvd(path, store, opts).catch((e: unknown) => e);
        expect(isDistillError(error, 'FEED_INVALID'), name).toBe(true);
        expect(store.feeds()).toEqual([]);
      }
    });

    it('bad records and metrics become issues, the rest imports', async () => {
      const path = join(tmp, 'mixed.json');
      writeFileSync(path, JSON.stringify({ format: 'NVD_CVE', version: '2.0', vulnerabilities: [
        null,
        { cve: { id: 'not-a-cve' } },
        { cve: { id: 'CVE-2024-0001', metrics: { cvssMetricV31: [{ cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N', baseScore: 99 } }, { cvssData: { version: '2.0', vectorString: 'AV:N', baseScore: 1 } }], cvssMetricV2: 'x' } } },
      ] }));
      const store = createMemoryStore();
      const result = await importNvd(path, store, opts);
      expect(result.records).toBe(1);
      expect(result.issues.map((i) => i.code)).toEqual(['FIELD_MISSING', 'FIELD_MISSING', 'PARSE_FAILED', 'PARSE_FAILED', 'PARSE_FAILED']);
      expect(store.vulnerabilities(['CVE-2024-0001']).get('CVE-2024-0001')?.[0]?.cvss).toEqual([]);
    });
  });
});
