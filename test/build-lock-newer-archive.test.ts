/** @module test/build-lock-newer-archive — `distill lock` then `build --locked` while the signed archive behind an unchanged recipe moves on (new version, dropped version, re-published bytes, edited lock), and the sealed cache records a warm build reuses. */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, lockImage, type BuildOptions } from '../src/build/build.js';
import { parseLock, serializeLock, type LockedPackage } from '../src/build/lock.js';
import { rejection } from './helpers/registry.js';
import { scanPackages as scan, signedTestRepo, signStableSuite } from './helpers/signed-repo.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'distill-lock-newer-'));
const gnupg = join(work, 'gnupg');
const keyring = join(work, 'keyring.gpg');
const pool = join(work, 'pool');

/**
 * Archive states, each a directory with its own signed `dists/stable`. One HTTP server serves whichever state is
 * current at one fixed URI, so the recipe (and its lock's recipeDigest) never changes while the archive does.
 */
type State = 'old' | 'newer' | 'dropped' | 'republished' | 'tampered';
const stateDir = (s: State): string => join(work, 'states', s);
let current: State = 'old';
/** While set, the server answers 404 to every Packages index request (the sealed-cache tests prove no index is read). */
let refuseIndices = false;
let server: Server;
let uri: string;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const paragraphs = (text: string): string[] => text.split(/\n{2,}/).filter((p) => p.trim() !== '');
const field = (paragraph: string, name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(paragraph)?.[1];
const probeVersions = (packagesText: string): string[] =>
  paragraphs(packagesText).filter((p) => field(p, 'Package') === 'distill-probe').map((p) => field(p, 'Version')!).sort();

/** Signs `dists/stable` of a state with this archive's key. */
const signState = (s: State, packagesText: string, date: string): Promise<void> => signStableSuite(stateDir(s), packagesText, { gnupg, keyring, date, origin: 'distill-lock-test' });

const hoursAgo = (h: number): string => new Date(Date.now() - h * 3600_000).toUTCString().replace('GMT', '+0000');

const recipeDir = join(work, 'images');
const recipePath = join(recipeDir, 'probe.yaml');
const lockPath = join(recipeDir, 'probe.lock.json');

function options(cacheDir: string, extra: Partial<BuildOptions> = {}): BuildOptions {
  return { cacheDir, keyringPath: keyring, toolVersion: 'test', ...extra };
}

const freshCache = (): string => mkdtempSync(join(work, 'cache-'));
const probeOf = (packages: readonly { name: string; version: string; sha256: string }[]) => packages.find((p) => p.name === 'distill-probe');

let probe10: { sha256: string; size: number };
let probe11: { sha256: string };
let republished10: { sha256: string };

beforeAll(async () => {
  const signed = signedTestRepo();
  mkdirSync(gnupg, { recursive: true, mode: 0o700 });
  // The real .debs of the signed test repository: base-files, netbase, tzdata, distill-probe 1.0 (main), 1.1 (updates).
  cpSync(join(signed.root, 'pool'), pool, { recursive: true });
  // The cached repository does not keep its secret key, so this archive gets its own (a signing key, like Debian's subkeys).
  await run('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'distill lock test <lock@distill.invalid>', 'ed25519', 'sign', 'never']);
  writeFileSync(keyring, (await run('gpg', ['--homedir', gnupg, '--export'], { encoding: 'buffer' })).stdout);

  const p10 = readFileSync(join(pool, 'main', 'distill-probe_1.0_all.deb'));
  probe10 = { sha256: sha256(p10), size: p10.length };
  probe11 = { sha256: sha256(readFileSync(join(pool, 'updates', 'distill-probe_1.1_all.deb'))) };

  // "distill-probe 1.0" built again with other contents: same name, version and pool path, other bytes.
  const rebuilt = join(work, 'rebuilt');
  mkdirSync(join(rebuilt, 'DEBIAN'), { recursive: true });
  mkdirSync(join(rebuilt, 'usr', 'share', 'distill-probe'), { recursive: true });
  writeFileSync(join(rebuilt, 'DEBIAN', 'control'), 'Package: distill-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: distill tests <test@distill.invalid>\nDepends: base-files, netbase | tzdata\nDescription: test package\n a package for the apt client tests, rebuilt\n');
  writeFileSync(join(rebuilt, 'usr', 'share', 'distill-probe', 'version'), '1.0 (rebuilt)\n');
  const altPool = join(work, 'alt', 'pool');
  cpSync(pool, altPool, { recursive: true });
  await run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', rebuilt, join(altPool, 'main', 'distill-probe_1.0_all.deb')], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000100' } });
  republished10 = { sha256: sha256(readFileSync(join(altPool, 'main', 'distill-probe_1.0_all.deb'))) };

  const oldText = await scan(work, ['pool/main']);
  const newerText = await scan(work, ['pool/main', 'pool/updates']);
  // The archive stops publishing 1.0 in the index (its .deb may linger in the pool).
  const droppedText = paragraphs(newerText).filter((p) => !(field(p, 'Package') === 'distill-probe' && field(p, 'Version') === '1.0')).join('\n\n') + '\n';
  const republishedText = await scan(join(work, 'alt'), ['pool/main']);
  for (const s of ['old', 'newer', 'dropped', 'republished', 'tampered'] as const) mkdirSync(stateDir(s), { recursive: true });
  for (const s of ['old', 'newer', 'dropped'] as const) symlinkSync(pool, join(stateDir(s), 'pool'));
  symlinkSync(altPool, join(stateDir('republished'), 'pool'));
  // A mirror whose pool file was swapped under an index that still names the original bytes.
  symlinkSync(altPool, join(stateDir('tampered'), 'pool'));
  await Promise.all([
    signState('old', oldText, hoursAgo(5)),
    signState('newer', newerText, hoursAgo(4)),
    signState('dropped', droppedText, hoursAgo(3)),
    signState('republished', republishedText, hoursAgo(2)),
    signState('tampered', oldText, hoursAgo(1)),
  ]);
  // The states are what the scenarios say (oracle: the Packages texts dpkg-scanpackages wrote).
  expect(probeVersions(oldText)).toEqual(['1.0']);
  expect(probeVersions(newerText)).toEqual(['1.0', '1.1']);
  expect(probeVersions(droppedText)).toEqual(['1.1']);
  expect(paragraphs(republishedText).filter((p) => field(p, 'Package') === 'distill-probe').map((p) => field(p, 'SHA256'))).toEqual([republished10.sha256]);
  expect(republished10.sha256).not.toBe(probe10.sha256);

  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.split('/').includes('..')) {
      res.writeHead(400).end();
      return;
    }
    if (refuseIndices && /\/Packages[^/]*$/.test(path)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(stateDir(current), path)).then(
      (data) => res.writeHead(200, { 'content-length': data.length }).end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mkdirSync(recipeDir, { recursive: true });
  writeFileSync(recipePath, `name: probe\ndescription: lock test image\narchs: [amd64]\ncontents:\n  repositories:\n    - uri: ${uri}\n      suite: stable\n      components: [main]\n  packages: [distill-probe, '!awk']\n`);
}, 120_000);

afterAll(async () => {
  await new Promise<void>((done) => (server === undefined ? done() : server.close(() => done())));
  await run('gpgconf', ['--homedir', gnupg, '--kill', 'all']).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** The built CLI, with its own config home and cache key so the sealed cache records are in play and no user file is touched. */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), DISTILL_CACHE_KEY: 'a5'.repeat(32) };
    const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** Locks against the old archive and builds right after, both with `cacheDir`. */
async function lockAndBuild(cacheDir: string): Promise<{ digest: string; lockText: string }> {
  current = 'old';
  const { lock, path } = await lockImage(recipePath, options(cacheDir));
  expect(path).toBe(lockPath);
  const right = await buildImage(recipePath, options(cacheDir, { locked: true }));
  expect(probeOf(right.archs[0]!.packages)?.version).toBe('1.0');
  expect(lock.archs.amd64).toBeDefined();
  return { digest: right.digest, lockText: readFileSync(lockPath, 'utf8') };
}

describe('distill lock + build --locked when the archive moves on under an unchanged recipe', () => {
  it('the lock taken from the old archive records distill-probe 1.0 with the sha256, size and pool path of the real .deb', async () => {
    current = 'old';
    const { lock } = await lockImage(recipePath, options(freshCache()));
    const entry = lock.archs.amd64!.find((p) => p.name === 'distill-probe');
    expect(entry).toEqual<LockedPackage>({
      name: 'distill-probe',
      version: '1.0',
      architecture: 'all',
      filename: 'pool/main/distill-probe_1.0_all.deb',
      size: probe10.size,
      sha256: probe10.sha256,
      source: 'distill-probe',
      repository: { uri, suite: 'stable' },
    });
    // The whole closure is locked, each entry with the bytes of the file in the pool.
    expect(lock.archs.amd64!.map((p) => p.name)).toEqual(['base-files', 'distill-probe', 'netbase']);
    for (const p of lock.archs.amd64!) expect(p.sha256).toBe(sha256(readFileSync(join(work, p.filename))));
    // What is on disk is that lock, in its stable serialization.
    expect(readFileSync(lockPath, 'utf8')).toBe(serializeLock(lock));
  }, 60_000);

  it('a newer archive (1.0 and 1.1 in the index): an unlocked build takes 1.1, --locked still builds 1.0 with the digest of the build made right after locking', async () => {
    const cacheDir = freshCache();
    const { digest: rightAfter, lockText } = await lockAndBuild(cacheDir);

    current = 'newer';
    const unlocked = await buildImage(recipePath, options(cacheDir));
    expect(probeOf(unlocked.archs[0]!.packages)).toMatchObject({ version: '1.1', sha256: probe11.sha256 });
    expect(unlocked.digest).not.toBe(rightAfter);

    const out = join(work, 'newer-locked.tar');
    const locked = await buildImage(recipePath, options(cacheDir, { locked: true, output: `oci-archive:${out}` }));
    expect(probeOf(locked.archs[0]!.packages)).toMatchObject({ version: '1.0', sha256: probe10.sha256 });
    expect(locked.lock).toEqual({ used: true, path: lockPath });
    expect(locked.digest).toBe(rightAfter);
    expect(existsSync(out)).toBe(true);
    // A locked build reads the lock, it never rewrites it.
    expect(readFileSync(lockPath, 'utf8')).toBe(lockText);

    // A fresh cache gives the same bytes too: the digest comes from the lock and the archive, not from the cache.
    const again = await buildImage(recipePath, options(freshCache(), { locked: true }));
    expect(again.digest).toBe(rightAfter);

    // Refreshing the lock against the newer archive moves it to 1.1, and --locked then matches the unlocked build.
    const refreshed = await lockImage(recipePath, options(cacheDir));
    expect(refreshed.lock.archs.amd64!.find((p) => p.name === 'distill-probe')).toMatchObject({ version: '1.1', sha256: probe11.sha256, filename: 'pool/updates/distill-probe_1.1_all.deb' });
    expect(refreshed.lock.recipeDigest).toBe(parseLock(lockText).recipeDigest);
    expect((await buildImage(recipePath, options(cacheDir, { locked: true }))).digest).toBe(unlocked.digest);
  }, 120_000);

  it('an archive that dropped 1.0 from its index: --locked refuses with LOCK_STALE naming distill-probe and writes nothing, although 1.0 still lies in the pool', async () => {
    const cacheDir = freshCache();
    await lockAndBuild(cacheDir);
    current = 'dropped';
    expect(existsSync(join(stateDir('dropped'), 'pool', 'main', 'distill-probe_1.0_all.deb'))).toBe(true);
    const out = join(work, 'dropped-locked.tar');
    const error = await rejection(buildImage(recipePath, options(cacheDir, { locked: true, output: `oci-archive:${out}` })));
    expect(error.code).toBe('LOCK_STALE');
    expect(error.subject).toBe('distill-probe');
    expect(error.message).toContain('distill-probe 1.0');
    expect(error.message).toContain('1.1');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.build.json`)).toBe(false);
    // Without --locked the same archive builds, with 1.1: the refusal is the lock's promise, not a broken archive.
    expect(probeOf((await buildImage(recipePath, options(cacheDir))).archs[0]!.packages)?.version).toBe('1.1');
  }, 120_000);

  it('an archive that re-published 1.0 with other bytes (same version, same pool path): --locked refuses with LOCK_STALE', async () => {
    const cacheDir = freshCache();
    await lockAndBuild(cacheDir);
    current = 'republished';
    const out = join(work, 'republished-locked.tar');
    const error = await rejection(buildImage(recipePath, options(cacheDir, { locked: true, output: `oci-archive:${out}` })));
    expect(error.code).toBe('LOCK_STALE');
    expect(error.subject).toBe('distill-probe');
    expect(error.message).toContain(republished10.sha256);
    expect(error.message).toContain(probe10.sha256);
    expect(existsSync(out)).toBe(false);
    // Unlocked, the new bytes are what the signed index names, and they build.
    expect(probeOf((await buildImage(recipePath, options(cacheDir))).archs[0]!.packages)).toMatchObject({ version: '1.0', sha256: republished10.sha256 });
  }, 120_000);

  it('a mirror whose pool file was swapped under the signed index: --locked (and unlocked) refuse with DEB_HASH_MISMATCH and write nothing', async () => {
    // A fresh cache: a .deb cached before the swap would hide it (correctly, the cache is content-addressed).
    const cacheDir = freshCache();
    current = 'old';
    await lockImage(recipePath, options(cacheDir));
    current = 'tampered';
    const out = join(work, 'tampered-locked.tar');
    for (const locked of [true, false]) {
      const error = await rejection(buildImage(recipePath, options(freshCache(), { locked, output: `oci-archive:${out}` })));
      expect(error.code).toBe('DEB_HASH_MISMATCH');
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);

  it('a lock entry edited to a sha256 the signed index does not have is LOCK_STALE, and no output is written', async () => {
    const cacheDir = freshCache();
    const { lockText } = await lockAndBuild(cacheDir);
    const edited = parseLock(lockText);
    const entry = edited.archs.amd64!.find((p) => p.name === 'distill-probe')!;
    // The sha256 of the other real version: a plausible digest, only not the one the index has for 1.0.
    entry.sha256 = probe11.sha256;
    writeFileSync(lockPath, serializeLock(edited));
    const out = join(work, 'edited-locked.tar');
    const error = await rejection(buildImage(recipePath, options(cacheDir, { locked: true, output: `oci-archive:${out}` })));
    expect(error.code).toBe('LOCK_STALE');
    expect(error.subject).toBe('distill-probe');
    expect(error.message).toContain(`locked ${probe11.sha256}`);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('the built CLI refuses the edited lock the same way: exit 3, LOCK_STALE on stderr, no output file', async () => {
    current = 'old';
    const cacheDir = freshCache();
    await lockImage(recipePath, options(cacheDir));
    const edited = parseLock(readFileSync(lockPath, 'utf8'));
    edited.archs.amd64!.find((p) => p.name === 'base-files')!.sha256 = '0'.repeat(64);
    writeFileSync(lockPath, serializeLock(edited));
    const out = join(work, 'cli-edited.tar');
    const result = await cli(['build', recipePath, '--locked', '--keyring', keyring, '--cache', cacheDir, '-q', '--output', `oci-archive:${out}`]);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('LOCK_STALE');
    expect(result.stderr).toContain('base-files');
    expect(existsSync(out)).toBe(false);
  }, 60_000);
  it('the built CLI with one warm cache across three archive states: lock, build --locked, newer archive (unlocked 1.1, locked same digest), dropped 1.0 (exit 3)', async () => {
    const cacheDir = freshCache();
    const common = ['--keyring', keyring, '--cache', cacheDir, '-q'];
    type Built = { digest: string; archs: { packages: { name: string; version: string; sha256: string }[] }[] };
    const build = async (extra: string[]): Promise<Built> => {
      const r = await cli(['build', recipePath, ...common, '--format', 'json', ...extra]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as Built;
    };
    current = 'old';
    const locked = await cli(['lock', recipePath, ...common]);
    expect(locked.status).toBe(0);
    expect(parseLock(readFileSync(lockPath, 'utf8')).archs.amd64!.find((p) => p.name === 'distill-probe')).toMatchObject({ version: '1.0', sha256: probe10.sha256 });
    const rightAfter = await build(['--locked']);
    expect(probeOf(rightAfter.archs[0]!.packages)?.version).toBe('1.0');
    // Warm the cache with an unlocked build of the old archive too: whatever it keeps must not outlive the index.
    expect((await build([])).digest).toBe(rightAfter.digest);

    current = 'newer';
    const unlocked = await build([]);
    expect(probeOf(unlocked.archs[0]!.packages)).toMatchObject({ version: '1.1', sha256: probe11.sha256 });
    const relocked = await build(['--locked']);
    expect(probeOf(relocked.archs[0]!.packages)?.version).toBe('1.0');
    expect(relocked.digest).toBe(rightAfter.digest);

    current = 'dropped';
    const out = join(work, 'cli-dropped.tar');
    const refused = await cli(['build', recipePath, ...common, '--locked', '--output', `oci-archive:${out}`]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('LOCK_STALE');
    expect(refused.stderr).toContain('distill-probe 1.0');
    expect(existsSync(out)).toBe(false);

    // Back to the old archive (a mirror rolled back): the warm cache gives 1.0 again, unlocked.
    current = 'old';
    expect((await build([])).digest).toBe(rightAfter.digest);
  }, 120_000);
});

describe('the sealed cache records of a warm build (remembered resolution, data.tar digests)', () => {
  const key = Buffer.alloc(32, 0x5a);
  const otherKey = Buffer.alloc(32, 0xa5);
  const sealed = (cacheDir: string, extra: Partial<BuildOptions> = {}): BuildOptions => options(cacheDir, { cacheKey: key, ...extra });
  /** Deletes every cached Packages index (xz and text), so a build that still needs one must download it. */
  const dropCachedIndices = (cacheDir: string): void => {
    for (const f of readdirSync(join(cacheDir, 'sha256'))) if (f.endsWith('.xz') || f.endsWith('.packages')) rmSync(join(cacheDir, 'sha256', f));
  };
  const withIndicesRefused = async <T>(fn: () => Promise<T>): Promise<T> => {
    refuseIndices = true;
    try {
      return await fn();
    } finally {
      refuseIndices = false;
    }
  };

  it('an unchanged archive is not read again: with no index downloadable or cached, the warm build gives the same digest; another key or a forged record needs the index', async () => {
    current = 'old';
    const cacheDir = freshCache();
    const cold = await buildImage(recipePath, sealed(cacheDir));
    dropCachedIndices(cacheDir);
    const warm = await withIndicesRefused(() => buildImage(recipePath, sealed(cacheDir)));
    expect(warm.digest).toBe(cold.digest);
    expect(warm.archs[0]!.packages).toEqual(cold.archs[0]!.packages);

    // Records sealed under another key are not trusted: that build must read the index, which is refused.
    expect((await rejection(withIndicesRefused(() => buildImage(recipePath, sealed(cacheDir, { cacheKey: otherKey }))))).code).toBe('DOWNLOAD_FAILED');
    // A record edited in place (the 1.1 .deb's digest put in it) no longer authenticates: a miss, not a different image.
    const dir = join(cacheDir, 'sealed', 'resolution');
    const [record] = readdirSync(dir);
    const original = readFileSync(join(dir, record!), 'latin1');
    expect(original).toContain(probe10.sha256);
    writeFileSync(join(dir, record!), original.replace(probe10.sha256, probe11.sha256), 'latin1');
    dropCachedIndices(cacheDir);
    expect((await rejection(withIndicesRefused(() => buildImage(recipePath, sealed(cacheDir))))).code).toBe('DOWNLOAD_FAILED');
    const rebuilt = await buildImage(recipePath, sealed(cacheDir));
    expect(rebuilt.digest).toBe(cold.digest);
    expect(readFileSync(join(dir, record!), 'latin1')).toBe(original);

    // A moved archive (new Packages SHA256 in the signed Release) is resolved afresh: 1.1, never the remembered 1.0.
    current = 'newer';
    expect(probeOf((await buildImage(recipePath, sealed(cacheDir))).archs[0]!.packages)?.version).toBe('1.1');
    current = 'old';
    // And with neither a key nor the index, nothing remembered is used at all.
    dropCachedIndices(cacheDir);
    expect((await rejection(withIndicesRefused(() => buildImage(recipePath, options(cacheDir))))).code).toBe('DOWNLOAD_FAILED');
  }, 120_000);

  it('a tampered data.tar cache entry never reaches the image: flipped content, an unsealed forged record, a record sealed under another key', async () => {
    current = 'old';
    const cacheDir = freshCache();
    const cold = await buildImage(recipePath, sealed(cacheDir));
    const tarPath = join(cacheDir, 'sha256', `${probe10.sha256}.data.tar`);
    const recordPath = `${tarPath}.sha256`;
    const goodTar = readFileSync(tarPath);
    const goodRecord = readFileSync(recordPath);
    // Oracle: the cached tar is what dpkg-deb extracts from the real .deb.
    const oracle = (await run('dpkg-deb', ['--fsys-tarfile', join(pool, 'main', 'distill-probe_1.0_all.deb')], { encoding: 'buffer', maxBuffer: 1 << 26 })).stdout;
    expect(goodTar.equals(oracle)).toBe(true);
    // The forgery: distill-probe's version file says 6.6 (same length, so the tar stays well-formed).
    const at = goodTar.indexOf('1.0\n');
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(goodTar);
    forged.write('6.6\n', at, 'latin1');
    const forgedDigest = createHash('sha256').update(`distill data.tar v1 ${probe10.sha256}\n`).update(forged).digest('hex');
    const forgedBody = Buffer.from(`sha256:${forgedDigest} ${forged.length}\n`);
    const { cacheSeal } = await import('../src/build/cache-seal.js');
    const attempts: [string, Buffer][] = [
      ['flipped content under the genuine record', goodRecord],
      ['an unsealed record with the forged tar\'s digest', forgedBody],
      ['a record sealed under another key', cacheSeal(otherKey).seal('data-tar', probe10.sha256, forgedBody)],
    ];
    for (const [what, record] of attempts) {
      writeFileSync(tarPath, forged);
      writeFileSync(recordPath, record);
      const again = await buildImage(recipePath, sealed(cacheDir));
      expect(again.digest, what).toBe(cold.digest);
      // The entry was rewritten from the verified .deb.
      expect(readFileSync(tarPath).equals(goodTar), what).toBe(true);
    }
  }, 120_000);
});
