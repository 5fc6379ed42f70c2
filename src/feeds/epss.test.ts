import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { importEpss, parseEpssComment } from './epss.js';

const fixture = resolve('test/fixtures/feeds-enrich/epss-2024-03-24.csv');
const tmp = mkdtempSync(join(tmpdir(), 'distill-epss-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const opts = { origin: 'test', fetchedAt: new Date('2025-01-01T00:00:00Z') };

describe('parseEpssComment', () => {
  it('reads the current FIRST header line', () => {
    expect(parseEpssComment('#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000')).toEqual({
      model: 'v2025.03.14', date: '2025-08-25', scoreTime: '2025-08-25T00:00:00.000Z',
    });
  });
});

describe('importEpss', () => {
  it('imports the CSV derived from the real mirror sample with its values, model and score date', async () => {
    const store = createMemoryStore();
    const result = await importEpss(fixture, store, opts);
    expect(result).toMatchObject({ feed: 'epss', records: 4, recordDate: '2024-03-24T00:00:00.000Z', issues: [] });
    const sample = readFileSync(join(sharedData, 'index-samples/emba-epss/epss-sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const got = store.epss(sample.map((s) => s.cve as string));
    for (const s of sample.filter((x) => x.date === '2024-03-24')) {
      expect(got.get(s.cve as string)).toEqual({ cve: s.cve, score: Number(s.epss), percentile: Number(s.percentile), date: s.date, model: 'v2023.03.01' });
    }
    expect(got.has('CVE-2010-4756')).toBe(false);
    expect(store.feeds()[0]).toMatchObject({ feed: 'epss', records: 4, recordDate: '2024-03-24T00:00:00.000Z', digest: result.digest });
  });

  it('reads CSV.gz written by GNU gzip, with CRLF lines; the digest is of the compressed bytes', async () => {
    const crlf = join(tmp, 'crlf.csv');
    writeFileSync(crlf, readFileSync(fixture, 'utf8').replace(/\n/g, '\r\n'));
    const gz = join(tmp, 'epss.csv.gz');
    writeFileSync(gz, execFileSync('gzip', ['-c', crlf]));
    const store = createMemoryStore();
    const result = await importEpss(gz, store, opts);
    expect(result.records).toBe(4);
    expect(result.digest).toBe(`sha256:${execFileSync('sha256sum', [gz], { encoding: 'utf8' }).split(' ')[0]}`);
    expect(store.epss(['CVE-2023-44487']).get('CVE-2023-44487')?.score).toBe(0.70585);
  });

  it('without the comment line: imports with model unknown and says so', async () => {
    const path = join(tmp, 'old.csv');
    writeFileSync(path, 'cve,epss,percentile\nCVE-2023-4911,0.01877,0.88151\n');
    const result = await importEpss(path, createMemoryStore(), opts);
    expect(result.records).toBe(1);
    expect(result.recordDate).toBeUndefined();
    expect(result.issues[0]?.code).toBe('FIELD_MISSING');
  });

  describe('hostile input', () => {
    it('a 2 GB line (gzip) fails fast with FEED_INVALID and without buffering it', async () => {
      // 2 GiB of 'A' gzip-compresses to ~2 MB: build it by repeating one compressed member (members concatenate).
      const member = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x41), { level: 9 });
      const path = join(tmp, 'long.csv.gz');
      const out = createWriteStream(path);
      out.write(gzipSync('#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2023-4911,0.1,0.2\n'));
      for (let i = 0; i < 32; i++) out.write(member);
      await new Promise((done) => out.end(done));
      const store = createMemoryStore();
      const before = process.memoryUsage().rss;
      const started = Date.now();
      const error = await importEpss(path, store, opts).catch((e: unknown) => e);
      expect(isDistillError(error, 'FEED_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/line 4 is longer than 65536 bytes/);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
      expect(store.feeds()).toEqual([]);
    });

    it('a truncated gzip is FEED_INVALID and leaves no provenance', async () => {
      const path = join(tmp, 'cut.csv.gz');
      const rows = Array.from({ length: 50_000 }, (_, i) => `CVE-2024-${String(i).padStart(5, '0')},0.1,0.5`).join('\n');
      const gz = gzipSync(`#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n${rows}\n`);
      writeFileSync(path, gz.subarray(0, gz.length - 1000));
      const store = createMemoryStore();
      const error = await importEpss(path, store, opts).catch((e: unknown) => e);
      expect(isDistillError(error, 'FEED_INVALID')).toBe(true);
      expect(store.feeds()).toEqual([]);
    });

    it('a file that is not EPSS is FEED_INVALID before anything is cleared', async () => {
      const store = createMemoryStore();
      await importEpss(fixture, store, opts);
      const path = join(tmp, 'not.csv');
      writeFileSync(path, 'name,version\nzlib,1.2\n');
      const error = await importEpss(path, store, opts).catch((e: unknown) => e);
      expect(isDistillError(error, 'FEED_INVALID')).toBe(true);
      expect(store.epss(['CVE-2023-4911']).size).toBe(1);
    });

    it('bad rows and duplicates become issues', async () => {
      const path = join(tmp, 'bad-rows.csv');
      writeFileSync(path, '#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-1,0.1,0.1\nCVE-2023-4911,2,0.1\nCVE-2023-4911,,0.1\nCVE-2023-4911,0.1,0.2\nCVE-2023-4911,0.3,0.4\n');
      const result = await importEpss(path, createMemoryStore(), opts);
      expect(result.records).toBe(1);
      expect(result.issues).toHaveLength(4);
    });
  });
});
