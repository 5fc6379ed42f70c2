/** @module cli/cache-key.test — the cache key: made once (0600) outside the cache, taken from DISTILL_CACHE_KEY, refused when others can read it. */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheKey, cacheKeyPath } from './cache-key.js';

const work = mkdtempSync(join(tmpdir(), 'cache-key-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cache key', () => {
  it('is created once with 32 random bytes, mode 0600, under XDG_CONFIG_HOME, and read back the same', () => {
    const env = { XDG_CONFIG_HOME: join(work, 'config') };
    const key = cacheKey(env);
    expect(key?.byteLength).toBe(32);
    const path = cacheKeyPath(env);
    expect(path).toBe(join(work, 'config', 'distill', 'cache-key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'latin1')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(Buffer.from(cacheKey(env)!).equals(Buffer.from(key!))).toBe(true);
    // Another config home is another key.
    expect(Buffer.from(cacheKey({ XDG_CONFIG_HOME: join(work, 'other') })!).equals(Buffer.from(key!))).toBe(false);
  });

  it('first builds started together agree on one key (the file appears whole or not at all)', async () => {
    const home = join(work, 'race');
    const module = join(import.meta.dirname, 'cache-key.ts');
    const script = `import { cacheKey } from ${JSON.stringify(module)}; process.stdout.write(Buffer.from(cacheKey({ XDG_CONFIG_HOME: ${JSON.stringify(home)} })).toString('hex'));`;
    const keys = await Promise.all(Array.from({ length: 6 }, () => new Promise<string>((done, fail) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (error, stdout) => (error ? fail(error) : done(stdout)));
    })));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(cacheKeyPath({ XDG_CONFIG_HOME: home }), 'latin1')).toBe(`${keys[0]}\n`);
    // No temp files are left next to it.
    expect(readdirSync(join(home, 'distill'))).toEqual(['cache-key']);
  }, 60_000);

  it('DISTILL_CACHE_KEY wins (for CI, where the key must not travel with a restored cache); a malformed one is a usage error', () => {
    const env = { XDG_CONFIG_HOME: join(work, 'unused'), DISTILL_CACHE_KEY: 'AB'.repeat(32) };
    expect(Buffer.from(cacheKey(env)!).toString('hex')).toBe('ab'.repeat(32));
    expect(() => statSync(cacheKeyPath(env))).toThrow();
    for (const bad of ['xyz', 'ab'.repeat(8).slice(1), 'ab'.repeat(15)]) {
      expect(() => cacheKey({ ...env, DISTILL_CACHE_KEY: bad }), bad).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringContaining('openssl rand -hex 32') }));
    }
  });

  it('a key file others can read, or one that is not hex, is refused with what to do', () => {
    const env = { XDG_CONFIG_HOME: join(work, 'loose') };
    cacheKey(env);
    chmodSync(cacheKeyPath(env), 0o644);
    expect(() => cacheKey(env)).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringContaining('chmod 600') }));
    writeFileSync(cacheKeyPath(env), 'not a key\n', { mode: 0o600 });
    chmodSync(cacheKeyPath(env), 0o600);
    expect(() => cacheKey(env)).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringContaining('delete') }));
  });

  it('no key (and no error) when the config home cannot be written: builds then use no sealed records', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    expect(cacheKey({ XDG_CONFIG_HOME: join(file, 'config') })).toBeUndefined();
    mkdirSync(join(work, 'ro'), { mode: 0o500 });
    // root ignores directory modes, so this case only shows without privileges.
    if (process.getuid?.() !== 0) expect(cacheKey({ XDG_CONFIG_HOME: join(work, 'ro') })).toBeUndefined();
  });
});
