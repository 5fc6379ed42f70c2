/** @module test/watch — continuous rescan and rebuild: `distill watch --once` rescans stored SBOMs when the real vulnerability DB changes, and rebuilds only when a re-signed index changes the resolved packages. */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watcher, diffPackages, type WatchEvent } from '../src/jobs/watch.js';
import { scanSource } from '../src/report/scan-source.js';
import type { AppStore } from '../src/storage/app-store.js';
import { openAppStore, vulnDbDigest } from '../src/storage/app/index.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { distillFromSource } from './helpers/distill-cli.js';
import { FIXTURE_NOW, FIXTURE_TOOL, kevOnlyDb, pypaKevDb, pythonRoot } from './helpers/scan-fixtures.js';
import { scanPackages, signedTestRepo, signStableSuite } from './helpers/signed-repo.js';
import { smallImage } from './helpers/small-image.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'distill-watch-'));

function digestOf(path: string): string {
  const store = openVulnDb(path, { readonly: true });
  try {
    return vulnDbDigest(store.feeds());
  } finally {
    store.close();
  }
}

describe('distill watch: rescan when the vulnerability DB changes (real KEV and PyPA data)', () => {
  const appDb = join(work, 'rescan', 'app.db');
  let oldDb: string;
  let newDb: string;
  let seeded: { python: string; small: string };

  beforeAll(async () => {
    [oldDb, newDb] = await Promise.all([kevOnlyDb(), pypaKevDb()]);
    // Scans made with the KEV-only DB, as a server would have stored them before `db update` brought PyPA in.
    const store = await openAppStore({ location: appDb });
    const vuln = openVulnDb(oldDb, { readonly: true });
    try {
      const dbDigest = vulnDbDigest(vuln.feeds());
      const python = await scanSource(`dir:${pythonRoot()}`, { store: vuln, now: FIXTURE_NOW, tool: FIXTURE_TOOL });
      const small = await scanSource(`docker-archive:${smallImage()}`, { store: vuln, now: FIXTURE_NOW, tool: FIXTURE_TOOL });
      const a = await store.addScan({ image: 'py', role: 'other', subject: `dir:${pythonRoot()}`, dbDigest, reason: 'manual', report: python.report, sbom: python.sbom, createdAt: '2026-11-01T00:00:00Z' });
      const b = await store.addScan({ image: 'small', role: 'minimal', subject: `docker-archive:${smallImage()}`, dbDigest, reason: 'manual', report: small.report, sbom: small.sbom, createdAt: '2026-11-01T00:00:00Z' });
      seeded = { python: a.id, small: b.id };
    } finally {
      vuln.close();
      await store.close();
    }
  }, 600_000);

  it('rescans every stored SBOM once per DB change, without rebuilding, and records why the counts changed', async () => {
    expect(digestOf(oldDb)).not.toBe(digestOf(newDb));
    const empty = join(work, 'no-recipes');
    mkdirSync(empty, { recursive: true });
    const env = { DISTILL_DATABASE_URL: appDb, SOURCE_DATE_EPOCH: '' };
    const first = await distillFromSource(['watch', empty, '--once', '--db', newDb, '--format', 'json', '--data-dir', join(work, 'data')], env);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const events = first.stdout.trim().split('\n').map((line) => JSON.parse(line) as WatchEvent | { kind: 'round'; rescanned: number; rebuilt: number; errors: number; dbDigest: string });
    expect(events.find((e) => e.kind === 'db-changed')).toMatchObject({ stale: 2, dbDigest: digestOf(newDb) });
    const rescanned = events.filter((e): e is Extract<WatchEvent, { kind: 'rescanned' }> => e.kind === 'rescanned');
    expect(rescanned.map((e) => e.rescanOf).sort()).toEqual([seeded.python, seeded.small].sort());
    expect(events.at(-1)).toMatchObject({ kind: 'round', rescanned: 2, rebuilt: 0, errors: 0 });

    const store = await openAppStore({ location: appDb });
    const vuln = openVulnDb(newDb, { readonly: true });
    try {
      // Oracle: the scanner run directly on the same source with the new DB.
      const direct = await scanSource(`dir:${pythonRoot()}`, { store: vuln, now: FIXTURE_NOW, tool: FIXTURE_TOOL });
      const history = await store.listScans({ image: 'py' });
      expect(history).toHaveLength(2);
      const [latest, original] = history;
      expect(original!.id).toBe(seeded.python);
      expect(latest).toMatchObject({ rescanOf: seeded.python, dbDigest: digestOf(newDb), reason: 'rescan: vulnerability DB changed', role: 'other', subject: `dir:${pythonRoot()}` });
      expect(latest!.summary).toEqual(direct.report.summary);
      expect(latest!.summary.total).toBeGreaterThan(original!.summary.total);
      const full = await store.getScan(latest!.id);
      expect(full!.report.findings).toEqual(direct.report.findings);
      // The stale matcher issues of the old DB are gone; the cataloger's are kept.
      expect(full!.report.issues).toEqual(direct.report.issues);
      expect(rescanned.find((e) => e.rescanOf === seeded.python)).toMatchObject({ before: original!.summary.total, after: direct.report.summary.total });

      const rescanEvents = await store.listEvents({ kind: 'rescan' });
      expect(rescanEvents).toHaveLength(2);
      expect(rescanEvents.find((e) => e.image === 'py')?.details).toMatchObject({ rescanOf: seeded.python, before: { total: original!.summary.total }, after: { total: direct.report.summary.total }, fromDb: digestOf(oldDb), toDb: digestOf(newDb) });
      expect(await store.listEvents({ kind: 'db-update' })).toHaveLength(1);
      expect(await store.listBuilds('py')).toEqual([]);
    } finally {
      vuln.close();
      await store.close();
    }

    // The same DB again (a new watcher process): nothing to do, nothing written.
    const second = await distillFromSource(['watch', empty, '--once', '--db', newDb, '--format', 'json', '--data-dir', join(work, 'data')], env);
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout.trim().split('\n').at(-1)!)).toMatchObject({ kind: 'round', rescanned: 0 });
    const after = await openAppStore({ location: appDb });
    try {
      expect(await after.listScans()).toHaveLength(4);
      expect(await after.listEvents()).toHaveLength(3);
    } finally {
      await after.close();
    }
  }, 300_000);
});

/** Signs `dists/stable` of `repoDir` over the .debs under `pool` (all versions) with the test key, dated `date`. */
async function signStable(repoDir: string, gnupg: string, pool: string, date: string): Promise<void> {
  await signStableSuite(repoDir, await scanPackages(repoDir, [pool]), { gnupg, keyring: join(repoDir, '..', 'keyring.gpg'), date, origin: 'distill-watch-test' });
}

describe('distill watch: rebuild only when the resolved packages change (local signed repository)', () => {
  const base = join(work, 'rebuild');
  const repo = join(base, 'repo');
  const gnupg = join(base, 'gnupg');
  const recipes = join(base, 'images');
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toUTCString().replace('GMT', '+0000');
  let store: AppStore;
  let vulnDb: string;

  beforeAll(async () => {
    const signed = signedTestRepo();
    mkdirSync(recipes, { recursive: true });
    mkdirSync(gnupg, { recursive: true, mode: 0o700 });
    // The real .debs of the signed test repository: base-files, netbase, tzdata, distill-probe 1.0 (main) and 1.1 (updates).
    cpSync(join(signed.root, 'pool'), join(repo, 'pool'), { recursive: true });
    await run('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'distill watch test <watch@distill.invalid>', 'ed25519', 'sign', 'never']);
    const { stdout } = await run('gpg', ['--homedir', gnupg, '--export'], { encoding: 'buffer' });
    writeFileSync(join(base, 'keyring.gpg'), stdout);
    await signStable(repo, gnupg, 'pool/main', hoursAgo(3));
    writeFileSync(
      join(recipes, 'probe.yaml'),
      `name: probe\ndescription: watch test image\narchs: [amd64]\ncontents:\n  repositories:\n    - uri: file://${repo}\n      suite: stable\n      components: [main]\n      keyring: ../keyring.gpg\n  packages: [distill-probe, '!awk']\n`,
    );
    vulnDb = await pypaKevDb();
    store = await openAppStore({ location: join(base, 'app.db') });
  }, 600_000);

  afterAll(async () => {
    await store?.close();
    await run('gpgconf', ['--homedir', gnupg, '--kill', 'all']).catch(() => undefined);
  });

  it('builds once, skips an unchanged index, skips a re-signed index with the same packages, rebuilds on a new version', async () => {
    const events: WatchEvent[] = [];
    const watcher = () =>
      new Watcher({
        recipes: [join(recipes, 'probe.yaml')],
        context: { store, vulnDbPath: vulnDb, tool: FIXTURE_TOOL, build: { cacheDir: join(base, 'cache'), outputDir: join(base, 'out'), toolVersion: 'test', sourceDateEpoch: 1_700_000_000 } },
        onEvent: (event) => events.push(event),
      });
    const w = watcher();

    const first = await w.round();
    expect(first.errors).toEqual([]);
    expect(first.rebuilt).toHaveLength(1);
    expect(first.rebuilt[0]).toMatchObject({ image: 'probe', arch: 'amd64', initial: true });
    const [build1] = await store.listBuilds('probe');
    expect(build1!.packages.find((p) => p.name === 'distill-probe')?.version).toBe('1.0');
    expect(build1!.reason).toBe('initial build');
    // The stored package set is exactly what dpkg-scanpackages put in the signed index the resolver read.
    const { stdout: index } = await run('bash', ['-c', `grep -E '^(Package|Version):' ${join(repo, 'dists/stable/main/binary-amd64/Packages')} | paste - - | awk '{print $2" "$4}' | sort`]);
    const inIndex = new Set(index.trim().split('\n'));
    for (const p of build1!.packages) expect(inIndex.has(`${p.name} ${p.version}`)).toBe(true);
    // The built image was scanned and filed under the build.
    const scan1 = (await store.listScans({ image: 'probe' }))[0]!;
    expect(scan1).toMatchObject({ role: 'minimal', reason: `build ${build1!.id}`, image: 'probe' });
    expect((await store.getScan(scan1.id))!.sbom.packages.map((p) => `${p.name} ${p.version}`)).toContain('distill-probe 1.0');

    // Same InRelease: no resolution, no build.
    events.length = 0;
    const second = await w.round();
    expect(second.rebuilt).toEqual([]);
    expect(events).toContainEqual({ kind: 'unchanged', image: 'probe', reason: 'release files unchanged' });

    // Re-signed with a new date, same packages: resolved again, still nothing to build.
    await signStable(repo, gnupg, 'pool/main', hoursAgo(2));
    events.length = 0;
    const third = await w.round();
    expect(third.rebuilt).toEqual([]);
    expect(events).toContainEqual({ kind: 'unchanged', image: 'probe', reason: 'resolved packages unchanged' });

    // distill-probe 1.1 lands in the index: rebuilt, with the change named.
    await signStable(repo, gnupg, 'pool', hoursAgo(1));
    const fourth = await w.round();
    expect(fourth.errors).toEqual([]);
    expect(fourth.rebuilt).toHaveLength(1);
    expect(fourth.rebuilt[0]!.changes).toEqual([{ name: 'distill-probe', arch: 'all', from: '1.0', to: '1.1' }]);
    const builds = await store.listBuilds('probe');
    expect(builds).toHaveLength(2);
    expect(builds[0]!.reason).toBe('packages changed: distill-probe 1.0 → 1.1');
    expect(diffPackages(builds[1]!.packages, builds[0]!.packages)).toEqual(fourth.rebuilt[0]!.changes);
    const changed = await store.listEvents({ kind: 'packages-changed', image: 'probe' });
    expect(changed).toHaveLength(1);
    expect(changed[0]!.message).toBe('probe (amd64) rebuilt: distill-probe 1.0 → 1.1');
    expect(changed[0]!.details).toMatchObject({ changes: [{ name: 'distill-probe', from: '1.0', to: '1.1' }], previousBuild: builds[1]!.id });
    expect((await store.getScan((await store.listScans({ image: 'probe' }))[0]!.id))!.sbom.packages.map((p) => `${p.name} ${p.version}`)).toContain('distill-probe 1.1');

    // A fresh watcher (restart) compares against the stored history: nothing to rebuild.
    const restarted = await watcher().round();
    expect(restarted.rebuilt).toEqual([]);
    expect(await store.listBuilds('probe')).toHaveLength(2);
  }, 300_000);

  it('a recipe whose index is signed by another key is an error event, not a build', async () => {
    const bad = join(recipes, '..', 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'probe.yaml'), `name: probe\narchs: [amd64]\ncontents:\n  repositories:\n    - uri: file://${repo}\n      suite: stable\n      components: [main]\n      keyring: ${signedTestRepo().keyring}\n  packages: [distill-probe, '!awk']\n`);
    const before = (await store.listBuilds('probe')).length;
    const round = await new Watcher({ recipes: [join(bad, 'probe.yaml')], context: { store, vulnDbPath: vulnDb, tool: FIXTURE_TOOL, build: { cacheDir: join(base, 'cache'), outputDir: join(base, 'out') } } }).round();
    expect(round.errors).toHaveLength(1);
    expect(round.errors[0]!.code).toBe('INRELEASE_UNKNOWN_KEY');
    expect(await store.listBuilds('probe')).toHaveLength(before);
  });
});
