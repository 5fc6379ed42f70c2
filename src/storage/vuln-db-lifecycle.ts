/** @module storage/vuln-db-lifecycle — atomic update/import of the vulnerability DB (temp copy, verify, rename), its lock, and its status. */
import { feedAgeDays, maxAgeDaysFor } from '../vuln/feed-age.js';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, constants as fsConstants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DistillError, isDistillError } from '../errors.js';
import type { FeedName, FeedProvenance } from '../vuln/vulnerability.js';
import { createVulnDb, openVulnDb, type VulnDbWriter } from './sqlite/vuln-db.js';

export interface ReplaceVulnDbOptions {
  /** Feeds this run writes. They are cleared in the copy first and must hold records and provenance afterwards; every other feed is kept. */
  feeds: readonly FeedName[];
  /** Recorded in the lock file so a DB_LOCKED message can say who holds it (the CLI passes `pid@host`). */
  owner?: string;
  /** A lock whose heartbeat is older than this is taken over (default 120 s; the holder touches it every quarter of that). */
  staleLockMs?: number;
}

export interface ReplaceVulnDbResult {
  path: string;
  /** What happened to the previous DB: there was none, its other feeds were kept, or it was unreadable and replaced whole. */
  previous: 'none' | 'kept' | 'discarded-corrupt';
  feeds: FeedProvenance[];
  sizeBytes: number;
}

const DEFAULT_STALE_LOCK_MS = 120_000;

interface Lock {
  release(): void;
}

function lockedError(lockPath: string, holder: string, ageMs: number): DistillError {
  return new DistillError('DB_LOCKED', `another vulnerability DB update is running (${holder}, lock refreshed ${Math.round(ageMs / 1000)} s ago)`, {
    hint: `wait for it to finish; a lock left by a killed process is taken over once its heartbeat is older than the stale limit, or delete ${lockPath}`,
    subject: lockPath,
  });
}

/** An O_EXCL lock file with a heartbeat (mtime). A stale lock is moved aside with rename, which only one taker can win. */
function acquireLock(lockPath: string, owner: string, staleMs: number): Lock {
  const token = randomBytes(8).toString('hex');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new DistillError('IO', `cannot create the lock file: ${(error as Error).message}`, { subject: lockPath, cause: error });
      let ageMs: number;
      try {
        ageMs = Date.now() - statSync(lockPath).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (ageMs <= staleMs) {
        let holder = 'unknown holder';
        try {
          holder = (JSON.parse(readFileSync(lockPath, 'utf8')) as { owner?: string }).owner ?? holder;
        } catch { /* being written, or not ours: the age is what matters */ }
        throw lockedError(lockPath, holder, ageMs);
      }
      try {
        renameSync(lockPath, `${lockPath}.stale-${token}`);
        rmSync(`${lockPath}.stale-${token}`, { force: true });
      } catch { /* another taker won the rename */ }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ owner, token, since: new Date().toISOString() }));
    } finally {
      closeSync(fd);
    }
    const heartbeat = setInterval(() => {
      try {
        const t = new Date();
        utimesSync(lockPath, t, t);
      } catch { /* the lock was taken over; release() will notice */ }
    }, Math.max(50, Math.floor(staleMs / 4)));
    heartbeat.unref();
    return {
      release() {
        clearInterval(heartbeat);
        try {
          const held = JSON.parse(readFileSync(lockPath, 'utf8')) as { token?: string };
          if (held.token === token) rmSync(lockPath, { force: true });
        } catch { /* already gone */ }
      },
    };
  }
  throw lockedError(lockPath, 'unknown holder', 0);
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the rename durable; some filesystems refuse fsync on a directory, and the file itself is already synced. */
function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch { /* best effort */ }
}

/** A DB the update can build on: sound (quick_check), or DB_CORRUPT; a newer schema is refused. */
function previousState(target: string): 'none' | 'kept' | 'discarded-corrupt' {
  if (!existsSync(target)) return 'none';
  try {
    const store = openVulnDb(target, { readonly: true });
    try {
      const problems = store.integrityCheck(true);
      if (problems.length !== 1 || problems[0] !== 'ok') return 'discarded-corrupt';
    } finally {
      store.close();
    }
    return 'kept';
  } catch (error) {
    if (isDistillError(error, 'DB_CORRUPT')) return 'discarded-corrupt';
    if (isDistillError(error, 'DB_SCHEMA_OLD')) return 'kept'; // the writer migrates the copy
    throw error;
  }
}

/**
 * Builds a new DB beside `target` and installs it with one rename. The previous DB is copied and only the
 * feeds named in `options.feeds` are cleared, so importing KEV alone keeps the Debian data.
 * Any failure — build() throwing, verification failing, the process dying — leaves `target` untouched;
 * the temp file is removed (or, after a crash, by the next update, which holds the lock).
 */
export async function replaceVulnDb(target: string, build: (writer: VulnDbWriter) => Promise<void>, options: ReplaceVulnDbOptions): Promise<ReplaceVulnDbResult> {
  if (options.feeds.length === 0) throw new DistillError('USAGE', 'a vulnerability DB update must name at least one feed');
  const dir = dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new DistillError('IO', `cannot create ${dir}: ${(error as Error).message}`, { subject: dir, cause: error });
  }
  const lock = acquireLock(`${target}.lock`, options.owner ?? 'distill', options.staleLockMs ?? DEFAULT_STALE_LOCK_MS);
  const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  let writer: VulnDbWriter | undefined;
  try {
    // We hold the lock, so any temp file left here belongs to a crashed run.
    const prefix = `${basename(target)}.tmp-`;
    for (const name of readdirSync(dir)) if (name.startsWith(prefix)) rmSync(join(dir, name), { force: true });

    const previous = previousState(target);
    if (previous === 'kept') copyFileSync(target, tmp, fsConstants.COPYFILE_FICLONE);
    writer = createVulnDb(tmp);
    for (const feed of options.feeds) writer.clearFeed(feed);

    await build(writer);

    for (const feed of options.feeds) {
      if (writer.rowCount(feed) === 0) throw new DistillError('DB_VERIFY_FAILED', `the import of ${feed} wrote no records`, { hint: 'check the feed file; the previous database is unchanged', subject: feed });
    }
    writer.finish();
    writer = undefined;

    const check = openVulnDb(tmp, { readonly: true });
    let feeds: FeedProvenance[];
    try {
      const problems = check.integrityCheck();
      if (problems.length !== 1 || problems[0] !== 'ok') throw new DistillError('DB_VERIFY_FAILED', `the new database failed integrity_check: ${problems.slice(0, 3).join('; ')}`, { subject: tmp });
      feeds = check.feeds();
    } finally {
      check.close();
    }
    for (const feed of options.feeds) {
      if (!feeds.some((f) => f.feed === feed)) throw new DistillError('DB_VERIFY_FAILED', `the import of ${feed} recorded no provenance`, { subject: feed });
    }

    fsyncFile(tmp);
    renameSync(tmp, target);
    fsyncDir(dir);
    return { path: target, previous, feeds, sizeBytes: statSync(target).size };
  } catch (error) {
    if (isDistillError(error)) throw error;
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') throw new DistillError('IO', `no space left while building the vulnerability database: ${(error as Error).message}`, { hint: 'free disk space; the previous database is unchanged', subject: dir, cause: error });
    throw error;
  } finally {
    try {
      writer?.abort();
    } catch { /* closing a failed writer must not hide the original error */ }
    rmSync(tmp, { force: true });
    lock.release();
  }
}

export { DEFAULT_MAX_AGE_DAYS } from '../vuln/feed-age.js';

export const ALL_FEEDS: readonly FeedName[] = ['debian-tracker', 'osv', 'alpine-secdb', 'nvd', 'epss', 'kev'];

export interface FeedStatus extends FeedProvenance {
  /** Days since recordDate (or fetchedAt when the feed has no date of its own), one decimal. */
  ageDays: number;
  maxAgeDays: number;
  stale: boolean;
}

export interface VulnDbStatus {
  path: string;
  sizeBytes: number;
  schemaVersion: number;
  feeds: FeedStatus[];
  /** Feeds never imported into this DB. */
  missing: FeedName[];
  /** Whether any imported feed is stale. */
  stale: boolean;
}

/** What `distill db status` shows. Throws DB_NOT_FOUND (with the update/import hint), DB_CORRUPT, DB_SCHEMA_*. */
export function vulnDbStatus(path: string, now: Date, maxAgeDays: Partial<Record<FeedName, number>> = {}): VulnDbStatus {
  const store = openVulnDb(path, { readonly: true });
  try {
    const feeds = store.feeds().map((p): FeedStatus => {
      const age = feedAgeDays(p, now);
      const ageDays = age === undefined ? Number.POSITIVE_INFINITY : Math.round(age * 10) / 10;
      const limit = maxAgeDaysFor(p.feed, maxAgeDays);
      return { ...p, ageDays, maxAgeDays: limit, stale: ageDays > limit };
    });
    return {
      path,
      sizeBytes: statSync(path).size,
      schemaVersion: store.schemaVersion,
      feeds,
      missing: ALL_FEEDS.filter((f) => !feeds.some((s) => s.feed === f)),
      stale: feeds.some((f) => f.stale),
    };
  } finally {
    store.close();
  }
}
