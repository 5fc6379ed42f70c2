import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { importKev } from './kev.js';

const catalogPath = join(sharedData, 'cisa-kev/known_exploited_vulnerabilities.json');
const schemaPath = join(sharedData, 'cisa-kev/known_exploited_vulnerabilities_schema.json');
const tmp = mkdtempSync(join(tmpdir(), 'distill-kev-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const opts = { origin: 'test', fetchedAt: new Date('2025-01-01T00:00:00Z') };

interface RawEntry { cveID: string; vendorProject: string; product: string; vulnerabilityName: string; dateAdded: string; dueDate: string; requiredAction: string; knownRansomwareCampaignUse: string }

describe('importKev', () => {
  const raw = JSON.parse(readFileSync(catalogPath, 'utf8')) as { dateReleased: string; count: number; vulnerabilities: RawEntry[] };

  it('the real catalog is valid against CISA’s published schema (ajv)', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
    expect(validate(raw), ajv.errorsText(validate.errors)).toBe(true);
    expect(raw.count).toBe(1404);
  });

  it('imports all 1404 entries with every field, recordDate = dateReleased', async () => {
    const store = createMemoryStore();
    const result = await importKev(catalogPath, store, opts);
    expect(result).toMatchObject({ feed: 'kev', records: 1404, recordDate: '2025-08-25T17:04:19.979Z', issues: [] });
    expect(store.feeds()[0]).toMatchObject({ feed: 'kev', records: 1404, recordDate: '2025-08-25T17:04:19.979Z' });
    const got = store.kev(raw.vulnerabilities.map((v) => v.cveID));
    expect(got.size).toBe(1404);
    for (const v of raw.vulnerabilities) {
      expect(got.get(v.cveID)).toEqual({
        cve: v.cveID, vendor: v.vendorProject, product: v.product, name: v.vulnerabilityName, dateAdded: v.dateAdded,
        dueDate: v.dueDate, requiredAction: v.requiredAction, knownRansomwareCampaignUse: v.knownRansomwareCampaignUse,
      });
    }
    const known = raw.vulnerabilities.filter((v) => v.knownRansomwareCampaignUse === 'Known').length;
    expect(known).toBeGreaterThan(100);
    expect([...got.values()].filter((e) => e.knownRansomwareCampaignUse === 'Known')).toHaveLength(known);
  });

  it('accepts the catalog gzip-compressed', async () => {
    const gz = join(tmp, 'kev.json.gz');
    writeFileSync(gz, gzipSync(readFileSync(catalogPath)));
    expect((await importKev(gz, createMemoryStore(), opts)).records).toBe(1404);
  });

  describe('hostile input', () => {
    it('malformed JSON, a truncated catalog and a non-KEV document fail with FEED_INVALID, previous data kept', async () => {
      const store = createMemoryStore();
      await importKev(catalogPath, store, opts);
      const text = readFileSync(catalogPath, 'utf8');
      for (const [name, body] of [['cut.json', text.slice(0, text.length / 2)], ['osv.json', '{"id":"GHSA-x","affected":[]}'], ['date.json', '{"catalogVersion":"1","dateReleased":"soon","vulnerabilities":[]}']] as const) {
        const path = join(tmp, name);
        writeFileSync(path, body);
        const error = await importKev(path, store, opts).catch((e: unknown) => e);
        expect(isDistillError(error, 'FEED_INVALID'), name).toBe(true);
      }
      expect(store.kev(['CVE-2025-48384']).size).toBe(1);
    });

    it('bad entries become issues, the rest imports', async () => {
      const good = raw.vulnerabilities[0] as RawEntry;
      const path = join(tmp, 'mixed.json');
      writeFileSync(path, JSON.stringify({ catalogVersion: 'x', dateReleased: '2025-08-25T17:04:19.9796Z', count: 9, vulnerabilities: [
        good, good, 7, { ...good, cveID: 'CVE-nope' }, { ...good, cveID: 'CVE-2020-0001', dueDate: 'tomorrow' },
        { ...good, cveID: 'CVE-2020-0002', knownRansomwareCampaignUse: 'Maybe' }, { ...good, cveID: 'CVE-2020-0003', product: undefined },
      ] }));
      const result = await importKev(path, createMemoryStore(), opts);
      expect(result.records).toBe(2);
      expect(result.issues.map((i) => i.code)).toEqual(['PARSE_FAILED', 'PARSE_FAILED', 'FIELD_MISSING', 'PARSE_FAILED', 'PARSE_FAILED', 'FIELD_MISSING', 'PARSE_FAILED']);
    });
  });
});
