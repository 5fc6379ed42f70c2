/** @module storage/vuln-db-lifecycle.test — atomic replace, interruption, locking, corrupt targets, status; real KEV and PyPA data. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realKev, realPypa } from '../../test/contracts/vuln-store-contract.js';
import { rejection } from '../../test/helpers/errors.js';
import { DistillError } from '../errors.js';
import type { EpssScore, FeedProvenance } from '../vuln/vulnerability.js';
import { openVulnDb, type VulnDbWriter } from './sqlite/vuln-db.js';
import { DEFAULT_MAX_AGE_DAYS, replaceVulnDb, vulnDbStatus } from './vuln-db-lifecycle.js';
import { defaultVulnDbPath } from './vuln-db-location.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function prov(feed: FeedProvenance['feed'], records: number, recordDate: string): FeedProvenance {
  return { feed, origin: `/feeds/${feed}`, fetchedAt: '2026-12-03T10:00:00.000Z', recordDate, digest: 'sha256:' + 'a'.repeat(64), records };
}

async function importKev(target: string): Promise<void> {
  const { entries, catalog } = realKev();
  await replaceVulnDb(target, async (w) => {
    w.putKev(entries);
    w.setProvenance(prov('kev', entries.length, catalog.dateReleased));
  }, { feeds: ['kev'] });
}

async function importOsv(target: string): Promise<void> {
  const { affected, vulns } = realPypa(['vulns/jinja2/PYSEC-2014-8.yaml', 'vulns/requests/PYSEC-2023-74.yaml']);
  await replaceVulnDb(target, async (w) => {
    w.putAffected(affected);
    w.putVulnerabilities(vulns);
    w.setProvenance(prov('osv', vulns.length, '2024-10-10T00:00:00Z'));
  }, { feeds: ['osv'] });
}

/** Disk-full needs a small filesystem: a tmpfs, which only root (in a container with CAP_SYS_ADMIN) can mount. */
function canMountTmpfs(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'distill-mount-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' }).status !== 0) return false;
    spawnSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describe('replaceVulnDb', () => {
  let dir: string;
  let target: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distill-lifecycle-'));
    target = join(dir, 'cache', 'distill', 'vuln.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const leftovers = (): string[] => readdirSync(dirname(target)).filter((n) => n !== 'vuln.db');

  it('creates the DB (and its directory) from the real KEV catalog', async () => {
    await importKev(target);
    const db = openVulnDb(target);
    expect(db.kev(['CVE-2021-44228']).get('CVE-2021-44228')?.product).toBe('Log4j2');
    expect(db.feedRowCount('kev')).toBe(1404);
    db.close();
    expect(leftovers()).toEqual([]);
  });

  it('importing one feed keeps the others', async () => {
    await importOsv(target);
    await importKev(target);
    const { entries } = realKev();
    // Re-import KEV with a subset: the old KEV rows go, OSV stays.
    const result = await replaceVulnDb(target, async (w) => {
      w.putKev(entries.slice(0, 10));
      w.setProvenance(prov('kev', 10, '2025-08-25'));
    }, { feeds: ['kev'] });
    expect(result.previous).toBe('kept');
    expect(result.feeds.map((f) => `${f.feed}:${f.records}`)).toEqual(['kev:10', 'osv:2']);
    const db = openVulnDb(target);
    expect(db.feedRowCount('kev')).toBe(10);
    expect(db.affected('pypi', 'jinja2').map((r) => r.vulnId)).toEqual(['PYSEC-2014-8']);
    expect(db.vulnerabilities(['CVE-2023-32681']).get('CVE-2023-32681')?.[0]?.id).toBe('PYSEC-2023-74');
    db.close();
  });

  it('a build that throws halfway leaves the previous DB byte-identical and usable, and no temp file', async () => {
    await importOsv(target);
    const before = sha256(target);
    const { entries } = realKev();
    const error = await rejection(replaceVulnDb(target, async (w) => {
      w.putKev(entries.slice(0, 700));
      throw new DistillError('FEED_INVALID', 'malformed JSON at byte 123456');
    }, { feeds: ['kev', 'osv'] }));
    expect(error.code).toBe('FEED_INVALID');
    expect(sha256(target)).toBe(before);
    expect(leftovers()).toEqual([]);
    const db = openVulnDb(target);
    expect(db.affected('pypi', 'requests')).toHaveLength(1);
    expect(db.kev(['CVE-2021-44228']).size).toBe(0);
    db.close();
    // The lock was released: the next update runs.
    await importKev(target);
  });

  it('refuses to install a feed that wrote nothing or recorded no provenance (DB_VERIFY_FAILED)', async () => {
    await importOsv(target);
    const before = sha256(target);
    const empty = await rejection(replaceVulnDb(target, async (w) => w.setProvenance(prov('kev', 0, '2025-08-25')), { feeds: ['kev'] }));
    expect(empty.code).toBe('DB_VERIFY_FAILED');
    const { entries } = realKev();
    const noProvenance = await rejection(replaceVulnDb(target, async (w) => w.putKev(entries), { feeds: ['kev'] }));
    expect(noProvenance.code).toBe('DB_VERIFY_FAILED');
    expect(sha256(target)).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  it('a second concurrent update fails with DB_LOCKED and a hint; the first completes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { entries } = realKev();
    const first = replaceVulnDb(target, async (w) => {
      w.putKev(entries);
      w.setProvenance(prov('kev', entries.length, '2025-08-25'));
      await gate;
    }, { feeds: ['kev'], owner: 'first@test' });
    await new Promise((r) => setTimeout(r, 20));
    const second = await rejection(replaceVulnDb(target, async () => {}, { feeds: ['osv'] }));
    expect(second.code).toBe('DB_LOCKED');
    expect(second.message).toContain('first@test');
    expect(second.hint).toMatch(/wait/);
    release();
    await first;
    expect(openVulnDb(target).feeds().map((f) => f.feed)).toEqual(['kev']);
  });

  it('a killed update (SIGKILL mid-build) leaves the target intact; the next update takes over the stale lock and cleans up', async () => {
    await importOsv(target);
    const before = sha256(target);
    const script = join(dir, 'killed-update.mts');
    writeFileSync(script, `
      import { replaceVulnDb } from ${JSON.stringify(join(repoRoot, 'src/storage/vuln-db-lifecycle.ts'))};
      await replaceVulnDb(${JSON.stringify(target)}, async (w) => {
        w.putKev([{ cve: 'CVE-2021-44228', vendor: 'Apache', product: 'Log4j2', name: 'x', dateAdded: '2021-12-10', dueDate: '2021-12-24', requiredAction: 'x', knownRansomwareCampaignUse: 'Known' }]);
        process.stdout.write('building\\n');
        await new Promise(() => setInterval(() => {}, 1000));
      }, { feeds: ['kev'], owner: 'killed', staleLockMs: 400 });
    `);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolveReady, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('building') && resolveReady());
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    expect(existsSync(`${target}.lock`)).toBe(true);
    expect(leftovers().some((n) => n.startsWith('vuln.db.tmp-'))).toBe(true);
    // While the child is alive its heartbeat keeps the lock fresh.
    expect((await rejection(replaceVulnDb(target, async () => {}, { feeds: ['kev'], staleLockMs: 400 }))).code).toBe('DB_LOCKED');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(sha256(target)).toBe(before);
    expect(openVulnDb(target).affected('pypi', 'jinja2')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 600));
    const { entries } = realKev();
    await replaceVulnDb(target, async (w) => {
      w.putKev(entries);
      w.setProvenance(prov('kev', entries.length, '2025-08-25'));
    }, { feeds: ['kev'], staleLockMs: 400 });
    expect(leftovers()).toEqual([]);
    const db = openVulnDb(target);
    expect(db.feeds().map((f) => f.feed)).toEqual(['kev', 'osv']);
    db.close();
  }, 30_000);

  it('rebuilds over a corrupt or truncated DB (its other feeds are lost, and the result says so)', async () => {
    for (const damage of ['random', 'truncate'] as const) {
      rmSync(dirname(target), { recursive: true, force: true });
      await importOsv(target);
      if (damage === 'random') writeFileSync(target, randomBytes(200_000));
      else truncateSync(target, 4096 + 100);
      const error = (() => {
        try {
          openVulnDb(target);
        } catch (e) {
          return e as DistillError;
        }
        throw new Error('expected DB_CORRUPT');
      })();
      expect(error.code).toBe('DB_CORRUPT');
      expect(error.hint).toMatch(/distill db update/);
      const { entries } = realKev();
      const result = await replaceVulnDb(target, async (w) => {
        w.putKev(entries);
        w.setProvenance(prov('kev', entries.length, '2025-08-25'));
      }, { feeds: ['kev'] });
      expect(result.previous).toBe('discarded-corrupt');
      expect(openVulnDb(target).feeds().map((f) => f.feed)).toEqual(['kev']);
    }
  });

  it.skipIf(!canMountTmpfs())('a disk that fills up mid-import fails with IO; the previous DB stays byte-identical', async () => {
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    try {
      const small = join(mnt, 'vuln.db');
      await importOsv(small);
      const before = sha256(small);
      const error = await rejection(replaceVulnDb(small, async (w) => {
        function* scores(): Generator<EpssScore> {
          for (let i = 0; i < 300_000; i++) yield { cve: `CVE-2020-${String(i).padStart(6, '0')}`, score: 0.5, percentile: 0.5, date: '2026-12-01', model: 'v2025.03.14' };
        }
        w.putEpss(scores());
        w.setProvenance(prov('epss', 300_000, '2026-12-01'));
      }, { feeds: ['epss'] }));
      expect(error.code).toBe('IO');
      expect(error.message).toMatch(/disk is full/);
      expect(sha256(small)).toBe(before);
      expect(readdirSync(mnt)).toEqual(['vuln.db']);
      const db = openVulnDb(small);
      expect(db.affected('pypi', 'jinja2')).toHaveLength(1);
      db.close();
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('does not overwrite a DB written by a newer distill', async () => {
    await importOsv(target);
    const raw = new Database(target);
    raw.pragma('user_version = 999');
    raw.close();
    const before = sha256(target);
    const error = await rejection(importKev(target));
    expect(error.code).toBe('DB_SCHEMA_NEWER');
    expect(sha256(target)).toBe(before);
    expect(leftovers()).toEqual([]);
  });
});

describe('vulnDbStatus', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distill-status-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('says where to get a DB when there is none', () => {
    try {
      vulnDbStatus(join(dir, 'none.db'), new Date());
      throw new Error('expected DB_NOT_FOUND');
    } catch (error) {
      expect((error as DistillError).code).toBe('DB_NOT_FOUND');
      expect((error as DistillError).hint).toBe('run `distill db update` or `distill db import DIR`');
    }
  });

  it('reports each feed with its age from the data date and flags stale ones', async () => {
    const target = join(dir, 'vuln.db');
    await importKev(target);
    await importOsv(target);
    await replaceVulnDb(target, async (w) => {
      w.putEpss([{ cve: 'CVE-2021-44228', score: 0.94358, percentile: 0.99957, date: '2026-12-01', model: 'v2025.03.14' }]);
      w.setProvenance({ feed: 'epss', origin: '/feeds/epss.csv.gz', fetchedAt: '2026-12-02T08:00:00Z', digest: 'sha256:' + 'b'.repeat(64), records: 1, recordDate: '2026-12-01T00:00:00Z' });
    }, { feeds: ['epss'] });
    const now = new Date('2026-12-03T12:00:00Z');
    const status = vulnDbStatus(target, now);
    const byFeed = Object.fromEntries(status.feeds.map((f) => [f.feed, f]));
    // The real KEV catalog is dated 2025-08-25T17:04:19.9796Z: 464.8 days before `now`.
    expect(byFeed.kev).toMatchObject({ records: 1404, ageDays: 464.8, maxAgeDays: DEFAULT_MAX_AGE_DAYS.kev, stale: true });
    expect(byFeed.epss).toMatchObject({ ageDays: 2.5, maxAgeDays: 3, stale: false });
    expect(byFeed.osv?.stale).toBe(true);
    expect(status.stale).toBe(true);
    expect(status.missing).toEqual(['debian-tracker', 'alpine-secdb', 'nvd']);
    expect(status.sizeBytes).toBeGreaterThan(0);
    // Limits are overridable per feed.
    expect(vulnDbStatus(target, now, { kev: 1000, osv: 1000 }).stale).toBe(false);
  });
});

describe('defaultVulnDbPath', () => {
  it('follows DISTILL_DB, then XDG_CACHE_HOME, then HOME', () => {
    expect(defaultVulnDbPath({ DISTILL_DB: '/srv/v.db', XDG_CACHE_HOME: '/x', HOME: '/home/u' })).toBe('/srv/v.db');
    expect(defaultVulnDbPath({ XDG_CACHE_HOME: '/x', HOME: '/home/u' })).toBe('/x/distill/vuln.db');
    expect(defaultVulnDbPath({ HOME: '/home/u' })).toBe('/home/u/.cache/distill/vuln.db');
    // Empty and relative XDG_CACHE_HOME are ignored, as the XDG spec says.
    expect(defaultVulnDbPath({ XDG_CACHE_HOME: '', HOME: '/home/u' })).toBe('/home/u/.cache/distill/vuln.db');
    expect(defaultVulnDbPath({ XDG_CACHE_HOME: 'rel/cache', HOME: '/home/u' })).toBe('/home/u/.cache/distill/vuln.db');
    expect(() => defaultVulnDbPath({})).toThrow(DistillError);
  });
});
