/** @module build/apt/fetch-deb — the content-addressed download cache and verified .deb downloads. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DistillError } from '../../errors.js';
import { fetchToFile, type HttpOptions } from './http.js';
import type { IndexCache, PackageRecord } from './packages.js';
import type { Repository } from './sources.js';
import type { DataTarCache } from '../deb/deb-reader.js';
import type { CacheSeal } from '../cache-seal.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** `<cacheDir>/sha256/<hex><suffix>`: one file per content hash. */
export function cachePath(cacheDir: string, sha256: string, suffix = ''): string {
  if (!HEX64.test(sha256)) throw new DistillError('USAGE', `"${sha256}" is not a SHA256 hex digest`);
  return join(cacheDir, 'sha256', `${sha256}${suffix}`);
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

function tmpName(dir: string, sha256: string): string {
  return join(dir, `.tmp-${sha256.slice(0, 16)}-${randomBytes(8).toString('hex')}`);
}

/** Suffix of a decompressed Packages index in the content store (keyed by the SHA256 the Release lists for it). */
export const PACKAGES_TEXT_SUFFIX = '.packages';

/** The Packages-index cache over the same content store (`<hex>.xz`, `<hex>.packages`), verified on every read. */
export function indexCache(cacheDir: string): IndexCache {
  const get = async (sha256: string, size: number, suffix: string): Promise<Buffer | undefined> => {
    let data: Buffer;
    try {
      data = await readFile(cachePath(cacheDir, sha256, suffix));
    } catch {
      return undefined;
    }
    // A damaged or tampered entry is just a miss here: the index is downloaded again and re-verified.
    if (data.byteLength !== size || createHash('sha256').update(data).digest('hex') !== sha256) return undefined;
    return data;
  };
  const put = async (sha256: string, data: Buffer, suffix: string): Promise<void> => {
    const dir = join(cacheDir, 'sha256');
    await mkdir(dir, { recursive: true });
    const tmp = tmpName(dir, sha256);
    try {
      await writeFile(tmp, data);
      await rename(tmp, cachePath(cacheDir, sha256, suffix));
    } catch (error) {
      await rm(tmp, { force: true });
      // A cache that cannot hold the decompressed text only costs the next build a decompression.
      if (suffix === '.xz') throw error;
    }
  };
  return {
    get: (sha256, size) => get(sha256, size, '.xz'),
    put: (sha256, data) => put(sha256, data, '.xz'),
    getText: (sha256, size) => get(sha256, size, PACKAGES_TEXT_SUFFIX),
    putText: (sha256, data) => put(sha256, data, PACKAGES_TEXT_SUFFIX),
  };
}

/** Suffixes of the data.tar cache: the tar itself and the record naming its digest, both keyed by the .deb's SHA256. */
export const DATA_TAR_SUFFIX = '.data.tar';
export const DATA_TAR_RECORD_SUFFIX = '.data.tar.sha256';
const DATA_TAR_RECORD = /^sha256:([0-9a-f]{64}) ([0-9]{1,15})\n$/;

/** The digest a data.tar record holds: over the .deb's SHA256 and the tar, so one .deb's pair cannot stand in for another's. */
function dataTarDigest(debSha256: string, tar: Buffer): string {
  return createHash('sha256').update(`distill data.tar v1 ${debSha256}\n`).update(tar).digest('hex');
}

const DATA_TAR_KIND = 'data-tar';

/**
 * The decompressed data.tar of each verified .deb (`<deb hex>.data.tar`), with a record (`<deb hex>.data.tar.sha256`)
 * written from the decompression of that verified .deb and sealed with the per-user cache key (build/cache-seal). A
 * read re-hashes the tar and uses it only when the record authenticates under `seal` and size and digest match it;
 * anything else (damaged, truncated, swapped, oversized, forged without the key) is a miss, so the caller
 * decompresses the verified .deb again and rewrites the entry. See docs/build.md, "What the cache trusts".
 */
export function dataTarCache(cacheDir: string, seal: CacheSeal): DataTarCache {
  return {
    async get(debSha256, maxSize) {
      let tar: Buffer;
      try {
        const sealed = await readFile(cachePath(cacheDir, debSha256, DATA_TAR_RECORD_SUFFIX));
        const m = sealed.byteLength > 4096 ? null : DATA_TAR_RECORD.exec(seal.open(DATA_TAR_KIND, debSha256, sealed)?.toString('latin1') ?? '');
        if (m === null || Number(m[2]) > maxSize) return undefined;
        const path = cachePath(cacheDir, debSha256, DATA_TAR_SUFFIX);
        // Sized before reading, so a grown entry is not read whole.
        if ((await stat(path)).size !== Number(m[2])) return undefined;
        tar = await readFile(path);
        if (tar.byteLength !== Number(m[2]) || dataTarDigest(debSha256, tar) !== m[1]) return undefined;
      } catch {
        return undefined;
      }
      return tar;
    },
    async put(debSha256, tar) {
      const dir = join(cacheDir, 'sha256');
      await mkdir(dir, { recursive: true });
      const record = seal.seal(DATA_TAR_KIND, debSha256, Buffer.from(`sha256:${dataTarDigest(debSha256, tar)} ${tar.byteLength}\n`));
      for (const [suffix, data] of [[DATA_TAR_SUFFIX, tar], [DATA_TAR_RECORD_SUFFIX, record]] as const) {
        const tmp = tmpName(dir, debSha256);
        try {
          await writeFile(tmp, data);
          await rename(tmp, cachePath(cacheDir, debSha256, suffix));
        } finally {
          await rm(tmp, { force: true });
        }
      }
    },
  };
}

export interface FetchedDeb {
  /** The verified file in the cache. */
  path: string;
  sha256: string;
  size: number;
  /** True when the cache already held it (and it re-verified). */
  cached: boolean;
  /** The verified bytes, when they were read to check a cached file (saves reading it again to unpack). */
  data?: Buffer;
  url: string;
}

/**
 * Returns the record's .deb from the content-addressed cache, downloading it first when absent. A download lands in
 * a temp file and is renamed into the cache only after its size and SHA256 match the Packages entry; a cached file
 * is re-hashed on every use, so a tampered entry is DEB_HASH_MISMATCH (never silently replaced: it is evidence).
 */
export async function fetchDeb(record: PackageRecord, repo: Repository, cacheDir: string, options: HttpOptions = {}): Promise<FetchedDeb> {
  const path = cachePath(cacheDir, record.sha256, '.deb');
  const url = `${repo.uri}/${record.filename}`;
  const existing = await stat(path).catch(() => undefined);
  if (existing !== undefined) {
    // Read whole (within the signed size, plus one byte to notice growth), hashed, and handed to the unpacker.
    const data = existing.size <= record.size ? await readFile(path) : undefined;
    const actual = data === undefined ? await hashFile(path) : { sha256: createHash('sha256').update(data).digest('hex'), size: data.byteLength };
    if (actual.size !== record.size || actual.sha256 !== record.sha256) {
      throw new DistillError('DEB_HASH_MISMATCH', `cached ${record.package}_${record.version}_${record.architecture}.deb (${path}) has SHA256 ${actual.sha256} and ${actual.size} bytes; the signed index says ${record.sha256} and ${record.size}`, {
        subject: path,
        hint: `the download cache entry was modified; delete ${path} and build again`,
      });
    }
    return { path, sha256: record.sha256, size: record.size, cached: true, url, ...(data === undefined ? {} : { data }) };
  }
  const dir = join(cacheDir, 'sha256');
  await mkdir(dir, { recursive: true });
  const tmp = tmpName(dir, record.sha256);
  try {
    let got: { sha256: string; size: number };
    try {
      // One byte of headroom so a longer body shows up as a size mismatch rather than a bound error.
      got = await fetchToFile(url, tmp, record.size + 1, options);
    } catch (error) {
      if (error instanceof DistillError && error.code === 'FILE_TOO_LARGE') {
        throw new DistillError('DEB_HASH_MISMATCH', `${url} is larger than the ${record.size} bytes the signed index says`, { subject: url });
      }
      throw error;
    }
    if (got.size !== record.size || got.sha256 !== record.sha256) {
      throw new DistillError('DEB_HASH_MISMATCH', `${url} has SHA256 ${got.sha256} and ${got.size} bytes; the signed index says ${record.sha256} and ${record.size}`, {
        subject: url,
        hint: 'the mirror serves a different file than its signed index lists; try again later or use another mirror',
      });
    }
    await rename(tmp, path);
    return { path, sha256: record.sha256, size: record.size, cached: false, url };
  } finally {
    await rm(tmp, { force: true });
  }
}
