/** @module build/cache-seal — cache records authenticated (HMAC-SHA256) with a per-user key kept outside the cache directory. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DistillError } from '../errors.js';

/**
 * Why: some results a warm build reuses are derived from verified data but cannot be re-checked cheaply on their own
 * (a signature verification, a dependency resolution over 50 MB of indices, the digest a decompressed data.tar must
 * have). A record of such a result is trusted only when it carries an HMAC under this key, which lives outside the
 * cache (see the CLI's cache-key). Whoever can write the cache directory but not read the key (a restored CI cache, a
 * shared volume) cannot forge a record: a record that does not authenticate is simply a miss, and the build
 * recomputes from the signed archive.
 */
export interface CacheSeal {
  /** Authenticated bytes of `body` for the record (`kind`, `id`). */
  seal(kind: string, id: string, body: Buffer): Buffer;
  /** The body when `data` is a record sealed under this key for (`kind`, `id`); undefined otherwise. */
  open(kind: string, id: string, data: Buffer): Buffer | undefined;
}

/** Minimum key length in bytes (the CLI generates 32). */
export const CACHE_KEY_MIN_BYTES = 16;

const MAGIC = 'distill-sealed v1';
const KIND = /^[a-z][a-z0-9-]{0,31}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** A seal under `key` (at least 16 bytes; 32 random bytes from the CLI). */
export function cacheSeal(key: Uint8Array): CacheSeal {
  if (key.byteLength < CACHE_KEY_MIN_BYTES) throw new DistillError('USAGE', `a cache key needs at least ${CACHE_KEY_MIN_BYTES} bytes, got ${key.byteLength}`, { subject: 'cache key' });
  const secret = Buffer.from(key);
  // The kind and id are inside the MAC, so a record cannot be moved to another entry or another kind of entry.
  const mac = (kind: string, id: string, body: Buffer): Buffer => createHmac('sha256', secret).update(`${MAGIC}\n${kind}\n${id}\n`).update(body).digest();
  return {
    seal(kind, id, body) {
      checkName(kind, id);
      return Buffer.concat([Buffer.from(`${MAGIC} ${mac(kind, id, body).toString('hex')}\n`), body]);
    },
    open(kind, id, data) {
      checkName(kind, id);
      const headerLength = MAGIC.length + 1 + 64 + 1;
      if (data.byteLength < headerLength || data.subarray(0, MAGIC.length + 1).toString('latin1') !== `${MAGIC} ` || data[headerLength - 1] !== 0x0a) return undefined;
      const claimed = data.subarray(MAGIC.length + 1, headerLength - 1).toString('latin1');
      if (!HEX64.test(claimed)) return undefined;
      const body = data.subarray(headerLength);
      return timingSafeEqual(Buffer.from(claimed, 'hex'), mac(kind, id, body)) ? body : undefined;
    },
  };
}

function checkName(kind: string, id: string): void {
  if (!KIND.test(kind) || !HEX64.test(id)) throw new DistillError('USAGE', `not a sealed-record name: ${kind}/${id}`);
}

/** A record id: the SHA256 (hex) of a canonical description of what the record is about. */
export function recordId(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:`).update(part);
  return hash.digest('hex');
}

/** `<cacheDir>/sealed/<kind>/<id>` */
export function sealedPath(cacheDir: string, kind: string, id: string): string {
  checkName(kind, id);
  return join(cacheDir, 'sealed', kind, id);
}

/** The authenticated body of a sealed record in the cache, or undefined (absent, unreadable, larger than `maxBytes`, or not sealed by this key). */
export async function readSealed(cacheDir: string, seal: CacheSeal, kind: string, id: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(sealedPath(cacheDir, kind, id));
  } catch {
    return undefined;
  }
  return data.byteLength > maxBytes ? undefined : seal.open(kind, id, data);
}

/** Writes a sealed record atomically (temp file + rename). A cache that cannot be written only costs the next build the work again. */
export async function writeSealed(cacheDir: string, seal: CacheSeal, kind: string, id: string, body: Buffer): Promise<void> {
  const path = sealedPath(cacheDir, kind, id);
  const dir = join(cacheDir, 'sealed', kind);
  const tmp = join(dir, `.tmp-${id.slice(0, 16)}-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, seal.seal(kind, id, body));
    await rename(tmp, path);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
}
