/** @module build/lock.test — lockfiles from real bookworm resolutions: stable bytes, validation, staleness. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bookwormPackages } from '../../test/fixtures/resolve/bookworm-index.js';
import { isDistillError } from '../errors.js';
import { createLock, lockedResolution, lockMatches, parseLock, readLock, recipeDigest, serializeLock, writeLock, type Lockfile } from './lock.js';
import { buildIndex } from './resolve/package-index.js';
import { resolve } from './resolve/resolver.js';

const recipe = { contents: { packages: ['nginx'] }, archs: ['amd64'] };
const index = buildIndex(bookwormPackages(), 'amd64');
const resolution = resolve(index, ['nginx'], { arch: 'amd64' });

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isDistillError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return undefined;
}

describe('lockfile', () => {
  it('locks the resolved packages with their pool file, size, sha256 and repository, as stable sorted JSON', () => {
    const lock = createLock(recipeDigest(recipe), [resolution]);
    const nginx = lock.archs.amd64!.find((p) => p.name === 'nginx')!;
    const record = index.byName.get('nginx')![0]!;
    expect(nginx).toEqual({
      name: 'nginx', version: record.version, architecture: 'amd64', filename: record.filename, size: record.size, sha256: record.sha256, source: 'nginx',
      repository: { uri: 'http://deb.debian.org/debian-security', suite: 'bookworm-security' },
    });
    expect(lock.archs.amd64!.map((p) => p.name)).toEqual(resolution.packages.map((p) => p.name));
    const text = serializeLock(lock);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "archs": {');
    // Same lock however its objects were built: same bytes.
    const shuffled: Lockfile = { recipeDigest: lock.recipeDigest, archs: { amd64: [...lock.archs.amd64!].reverse() }, lockVersion: 1 };
    expect(serializeLock(shuffled)).toBe(text);
    const dir = mkdtempSync(join(tmpdir(), 'distill-lock-'));
    writeLock(join(dir, 'nginx.lock.json'), lock);
    expect(readFileSync(join(dir, 'nginx.lock.json'), 'utf8')).toBe(text);
    expect(readLock(join(dir, 'nginx.lock.json'))).toEqual(parseLock(text));
  });

  it('recipeDigest ignores key order; lockMatches tells a changed recipe', () => {
    const lock = createLock(recipeDigest(recipe), [resolution]);
    expect(lockMatches({ archs: ['amd64'], contents: { packages: ['nginx'] } }, lock)).toBe(true);
    expect(lockMatches({ ...recipe, contents: { packages: ['nginx', 'curl'] } }, lock)).toBe(false);
  });

  it('lockedResolution returns the index records, and refuses a missing version or a changed sha256 (LOCK_STALE)', () => {
    const lock = createLock(recipeDigest(recipe), [resolution]);
    expect(lockedResolution(lock, index).packages).toEqual(resolution.packages);
    const older: Lockfile = structuredClone(lock);
    older.archs.amd64!.find((p) => p.name === 'libssl3')!.version = '3.0.8-1';
    expect(code(() => lockedResolution(older, index))).toMatch(/^LOCK_STALE: locked libssl3 3\.0\.8-1 \(amd64\) is no longer in the index \(it has 3\.0\.\S+\)$/);
    const tampered: Lockfile = structuredClone(lock);
    tampered.archs.amd64!.find((p) => p.name === 'nginx')!.sha256 = '0'.repeat(64);
    expect(code(() => lockedResolution(tampered, index))).toMatch(/^LOCK_STALE: locked nginx \S+ \(amd64\) has another sha256 in the index now/);
    expect(code(() => lockedResolution(lock, buildIndex(bookwormPackages(), 'arm64')))).toMatch(/^LOCK_STALE: the lock has no packages for arm64 \(it has amd64\)/);
  });

  it('hostile or hand-broken lockfiles are LOCK_INVALID naming the field', () => {
    const good = JSON.parse(serializeLock(createLock(recipeDigest(recipe), [resolution]))) as Lockfile;
    const bad = (mutate: (l: any) => void): string | undefined => {
      const l = structuredClone(good) as any;
      mutate(l);
      return code(() => parseLock(JSON.stringify(l), 'nginx.lock.json'));
    };
    expect(code(() => parseLock('{"lockVersion":', 'x.lock.json'))).toMatch(/^LOCK_INVALID: x\.lock\.json: not valid JSON/);
    expect(bad((l) => (l.lockVersion = 2))).toBe('LOCK_INVALID: nginx.lock.json: lockVersion must be 1 (got 2)');
    expect(bad((l) => (l.recipeDigest = 'md5:x'))).toMatch(/recipeDigest must be "sha256:"/);
    expect(bad((l) => (l.archs.amd64[0].sha256 = 'ABC'))).toBe('LOCK_INVALID: nginx.lock.json: archs.amd64[0].sha256 must be 64 lower-case hex digits');
    expect(bad((l) => (l.archs.amd64[1].filename = 'pool/../../etc/passwd'))).toMatch(/archs\.amd64\[1\]\.filename must be a relative pool path/);
    expect(bad((l) => (l.archs.amd64[1].filename = '/etc/passwd'))).toMatch(/archs\.amd64\[1\]\.filename must be a relative/);
    expect(bad((l) => (l.archs.amd64[2].size = -1))).toMatch(/archs\.amd64\[2\]\.size must be a non-negative integer/);
    expect(bad((l) => (l.archs.amd64[2].version = 'not a version'))).toMatch(/archs\.amd64\[2\]\.version is not a Debian version/);
    expect(bad((l) => (l.archs.amd64[3].evil = true))).toMatch(/archs\.amd64\[3\]\.evil is not a lockfile field/);
    expect(bad((l) => l.archs.amd64.push(l.archs.amd64[0]))).toMatch(/is locked twice/);
    expect(bad((l) => (l.archs.amd64[0].repository = { uri: 'javascript:x', suite: 'bookworm' }))).toMatch(/repository\.uri must be an http\(s\) or file URI/);
    expect(bad((l) => (l.archs = []))).toMatch(/archs must be an object/);
    const dir = mkdtempSync(join(tmpdir(), 'distill-lock-'));
    expect(code(() => readLock(join(dir, 'absent.lock.json')))).toMatch(/^LOCK_INVALID: cannot read lockfile/);
    writeFileSync(join(dir, 'null.lock.json'), 'null');
    expect(code(() => readLock(join(dir, 'null.lock.json')))).toMatch(/\(top level\) must be an object/);
  });

  it('a record without a sha256 cannot be locked', () => {
    const { sha256: _drop, ...noHash } = resolution.packages[0]!;
    void _drop;
    expect(code(() => createLock(recipeDigest(recipe), [{ ...resolution, packages: [noHash] }]))).toMatch(/^LOCK_INVALID: \S+ \S+: the index record has no sha256/);
  });
});
