/** @module cli/cache-key — the per-user key that seals the build cache's derived records, kept outside the cache. */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DistillError } from '../errors.js';

const HEX = /^[0-9a-f]{32,128}$/;

/** `$XDG_CONFIG_HOME/distill/cache-key` (default `~/.config/distill/cache-key`). */
export function cacheKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'distill', 'cache-key');
}

/**
 * The cache key: `DISTILL_CACHE_KEY` (hex, 16 to 64 bytes; for CI, where the key must not travel with a restored
 * cache), else the key file, created with 32 random bytes (mode 0600) on first use. Undefined when the file cannot
 * be created (a read-only home): builds then simply do not use sealed records. A key file others can read is
 * refused, since whoever reads it can forge what the cache vouches for.
 */
export function cacheKey(env: NodeJS.ProcessEnv = process.env): Uint8Array | undefined {
  const fromEnv = env.DISTILL_CACHE_KEY?.trim().toLowerCase();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!HEX.test(fromEnv) || fromEnv.length % 2 !== 0) throw new DistillError('USAGE', 'DISTILL_CACHE_KEY must be 32 to 128 hex digits', { subject: 'DISTILL_CACHE_KEY', hint: 'generate one with: openssl rand -hex 32' });
    return Buffer.from(fromEnv, 'hex');
  }
  const path = cacheKeyPath(env);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'latin1').trim();
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Written whole to a temp file, then linked into place: a concurrent first build sees either no key or the
      // whole key, and when two race, both use the one that was linked first.
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      try {
        linkSync(tmp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        rmSync(tmp, { force: true });
      }
      text = readFileSync(path, 'latin1').trim();
    } catch {
      // No key: the sealed records stay unused.
      return undefined;
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new DistillError('USAGE', `the cache key ${path} can be read by other users`, { subject: path, hint: `chmod 600 ${path} (or delete it: a new key is made, and the cache's sealed records are rebuilt)` });
  }
  if (!HEX.test(text) || text.length % 2 !== 0) throw new DistillError('USAGE', `the cache key ${path} is not 32 to 128 hex digits`, { subject: path, hint: `delete ${path}: a new key is made on the next build` });
  return Buffer.from(text, 'hex');
}
