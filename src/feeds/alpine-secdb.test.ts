/** @module feeds/alpine-secdb.test — secdb import on hand-written real-format documents, a directory, and hostile input. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../test/fixtures/oci/streams.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { importAlpineSecdb } from './alpine-secdb.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'feeds', 'alpine-secdb');
const main = join(fixtures, 'v3.20-main.json');
const opts = { origin: 'test', fetchedAt: new Date('2026-12-03T00:00:00Z') };

describe('importAlpineSecdb', () => {
  it('turns secfixes into fixed rules per origin package', async () => {
    const store = createMemoryStore();
    const result = await importAlpineSecdb(main, store, opts);
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(readFileSync(main)).digest('hex')}`);
    const openssl = store.affected('alpine:3.20', 'openssl');
    expect(openssl.find((r) => r.vulnId === 'CVE-2024-6119')).toEqual({
      vulnId: 'CVE-2024-6119',
      namespace: 'alpine:3.20',
      packageName: 'openssl',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.3.2-r0' }] }],
      versions: [],
      fixState: 'fixed',
      fixedVersions: ['3.3.2-r0'],
      feed: 'alpine-secdb',
    });
    // Two ids in one string are two rules; the `0` key never becomes a rule.
    expect(openssl.filter((r) => r.fixedVersions[0] === '1.1.1a-r0').map((r) => r.vulnId)).toEqual(['CVE-2018-0734', 'CVE-2018-0735']);
    expect(openssl.some((r) => r.vulnId === 'CVE-2022-1292')).toBe(false);
    expect(store.affected('alpine:3.20', 'xen').map((r) => r.vulnId)).toEqual(['CVE-2023-46842', 'XSA-449', 'CVE-2024-2201', 'XSA-456']);
    expect(result.records).toBe(7 + 5 + 4);
    expect(result.skipped).toEqual({ notAffected: 3, invalidVersion: 1, invalidEntry: 1, invalidPackage: 2 });
    expect(result.issues.map((i) => i.message)).toContain('broken: "not-a-version" is not a valid apk version; 1 fixes skipped');
    expect(store.feeds()[0]).toMatchObject({ feed: 'alpine-secdb', records: 16, digest: result.digest });
  });

  it('imports a directory of secdb files, and gzip', async () => {
    const store = createMemoryStore();
    const result = await importAlpineSecdb(fixtures, store, opts);
    expect(store.namespaces().sort()).toEqual(['alpine:3.19', 'alpine:3.20']);
    expect(store.affected('alpine:3.19', 'nodejs').map((r) => r.vulnId)).toEqual(['CVE-2024-27982', 'CVE-2024-27983', 'CVE-2023-32002']);
    expect(result.records).toBe(16 + 4);
    const gz = await importAlpineSecdb(gzipSync(readFileSync(main)), createMemoryStore(), opts);
    expect(gz.records).toBe(16);
  });

  it('rejects documents that are not secdb', async () => {
    await rejectsWith(importAlpineSecdb(Buffer.from('{"distroversion": "v3.20", "packages": ['), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importAlpineSecdb(Buffer.from('{"distroversion": "edge", "packages": []}'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importAlpineSecdb(Buffer.from('{"distroversion": "v3.20", "packages": {}}'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importAlpineSecdb(Buffer.from('[]'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importAlpineSecdb(readFileSync(main), createMemoryStore(), { ...opts, maxInputBytes: 100 }), 'FEED_TOO_LARGE');
    await rejectsWith(importAlpineSecdb(join(fixtures, 'nope.json'), createMemoryStore(), opts), 'FILE_NOT_FOUND');
  });
});
