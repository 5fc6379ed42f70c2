/** @module build/apt/data-tar-cache.test — the data.tar cache on real Debian .debs: hits equal a fresh read, damaged, swapped or forged entries are misses and get rewritten. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cached } from '../../../test/helpers/oracles.js';
import { cacheSeal } from '../cache-seal.js';
import { readDeb, type DataTarCache } from '../deb/deb-reader.js';
import { cachePath, dataTarCache, DATA_TAR_RECORD_SUFFIX, DATA_TAR_SUFFIX } from './fetch-deb.js';

// Same download as the .deb reader's test (one cache entry for both).
const debDir = cached('debs-reader-v1', (tmp) => {
  mkdirSync(tmp, { recursive: true });
  execFileSync('apt-get', ['download', 'nginx-common', 'libc6', 'tzdata', 'base-files'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
});
const seal = cacheSeal(Buffer.alloc(32, 1));
const work = mkdtempSync(join(tmpdir(), 'data-tar-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function deb(prefix: string): { data: Buffer; sha256: string } {
  const name = readdirSync(debDir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  const data = readFileSync(join(debDir, name!));
  return { data, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Counts hits so a test can tell a cached read from a decompression. */
function counting(inner: DataTarCache): DataTarCache & { hits: number } {
  const c = { hits: 0, get: async (sha: string, max: number) => { const b = await inner.get(sha, max); if (b !== undefined) c.hits++; return b; }, put: inner.put };
  return c;
}

describe('data.tar cache', () => {
  it('a hit reads exactly what decompressing the .deb gives; every damaged, swapped or oversized entry is a miss and is rewritten', async () => {
    const dir = join(work, 'cache');
    const nginx = deb('nginx-common_');
    const tzdata = deb('tzdata_');
    const expected = await readDeb(nginx.data, { label: 'nginx-common.deb' });
    const cache = counting(dataTarCache(dir, seal));
    const read = () => readDeb(nginx.data, { label: 'nginx-common.deb', debSha256: nginx.sha256, dataTarCache: cache });
    expect(await read()).toEqual(expected); // cold: decompressed and stored
    expect(cache.hits).toBe(0);
    const tarPath = cachePath(dir, nginx.sha256, DATA_TAR_SUFFIX);
    const recordPath = cachePath(dir, nginx.sha256, DATA_TAR_RECORD_SUFFIX);
    const goodTar = readFileSync(tarPath);
    const goodRecord = readFileSync(recordPath);
    // The stored tar is the one dpkg-deb extracts from the .deb.
    const oracle = execFileSync('dpkg-deb', ['--fsys-tarfile', join(debDir, readdirSync(debDir).find((f) => f.startsWith('nginx-common_'))!)], { maxBuffer: 1 << 28 });
    expect(goodTar.equals(oracle)).toBe(true);
    expect(await read()).toEqual(expected); // warm: from the cache
    expect(cache.hits).toBe(1);

    // tzdata's pair, to be copied over nginx-common's (the record's digest covers the .deb's SHA256).
    await readDeb(tzdata.data, { debSha256: tzdata.sha256, dataTarCache: cache });
    const otherTar = readFileSync(cachePath(dir, tzdata.sha256, DATA_TAR_SUFFIX));
    const otherRecord = readFileSync(cachePath(dir, tzdata.sha256, DATA_TAR_RECORD_SUFFIX));
    // Forgeries by someone who can write the cache but not read the key: a record in the unsealed form (the right
    // digest of a tar of their choosing), and a record sealed under another key.
    const forgedTar = Buffer.from(goodTar);
    forgedTar[700] = forgedTar[700]! ^ 0x02;
    const forgedDigest = createHash('sha256').update(`distill data.tar v1 ${nginx.sha256}\n`).update(forgedTar).digest('hex');
    const forgedBody = Buffer.from(`sha256:${forgedDigest} ${forgedTar.byteLength}\n`);
    const flipped = Buffer.from(goodTar);
    flipped[700] = flipped[700]! ^ 0x01; // inside the first file's content
    const tampered: [string, Buffer, Buffer][] = [
      ['one flipped byte', flipped, goodRecord],
      ['truncated tar', goodTar.subarray(0, 1024), goodRecord],
      ['extended tar', Buffer.concat([goodTar, Buffer.alloc(512)]), goodRecord],
      ['another .deb\'s tar', otherTar, goodRecord],
      ['another .deb\'s tar and record', otherTar, otherRecord],
      ['garbage record', goodTar, Buffer.from('not a record\n')],
      ['record of a huge size', goodTar, Buffer.from(`sha256:${'0'.repeat(64)} 999999999999\n`)],
      ['forged tar with an unsealed record', forgedTar, forgedBody],
      ['forged tar with a record sealed under another key', forgedTar, cacheSeal(Buffer.alloc(32, 2)).seal('data-tar', nginx.sha256, forgedBody)],
      ['forged tar with a record sealed for another .deb', forgedTar, seal.seal('data-tar', tzdata.sha256, forgedBody)],
    ];
    const hits = cache.hits;
    for (const [what, tar, record] of tampered) {
      writeFileSync(tarPath, tar);
      writeFileSync(recordPath, record);
      expect(await read(), what).toEqual(expected);
      expect(cache.hits, what).toBe(hits);
      expect(readFileSync(tarPath).equals(goodTar), what).toBe(true);
      expect(readFileSync(recordPath).equals(goodRecord), what).toBe(true);
    }
    // A record beyond the caller's bound is not read.
    expect(await cache.get(nginx.sha256, 1024)).toBeUndefined();
    // Missing pieces are misses too.
    rmSync(tarPath);
    expect(await cache.get(nginx.sha256, 1 << 30)).toBeUndefined();
  });

  it('is used only with the verified .deb SHA256 given', async () => {
    const dir = join(work, 'unkeyed');
    const cache = counting(dataTarCache(dir, seal));
    await readDeb(deb('base-files_').data, { dataTarCache: cache });
    await readDeb(deb('base-files_').data, { dataTarCache: cache });
    expect(cache.hits).toBe(0);
    expect(() => readdirSync(join(dir, 'sha256'))).toThrow();
  });
});
