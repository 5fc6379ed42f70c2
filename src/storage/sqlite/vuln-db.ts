/** @module storage/sqlite/vuln-db — the SQLite vulnerability database: read store, bulk writer, schema migrations. */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DistillError } from '../../errors.js';
import type { AffectedRecord, EpssScore, FeedName, FeedProvenance, KevEntry, Namespace, VulnerabilityRecord } from '../../vuln/vulnerability.js';
import type { VulnStore, VulnStoreWriter } from '../../vuln/vuln-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './vuln-db-migrations.js';

/** `PRAGMA application_id` of a distill vulnerability DB ("dstv"), so another SQLite file is not mistaken for one. */
export const APPLICATION_ID = 0x64737476;

type Db = Database.Database;

const CORRUPT_HINT = 'run `distill db update` (or `distill db import DIR`) to rebuild it';

function isSqliteError(error: unknown): error is Error & { code: string } {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** SQLite's own failures → stable codes; anything else passes through. */
function translate(error: unknown, path: string): unknown {
  if (error instanceof DistillError || !isSqliteError(error)) return error;
  const code = error.code;
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT_') || code === 'SQLITE_IOERR_SHORT_READ') {
    return new DistillError('DB_CORRUPT', `the vulnerability database is damaged: ${error.message}`, { hint: CORRUPT_HINT, subject: path, cause: error });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new DistillError('DB_LOCKED', `the vulnerability database is in use: ${error.message}`, { hint: 'wait for the other distill process to finish', subject: path, cause: error });
  }
  if (code === 'SQLITE_FULL') {
    return new DistillError('IO', `the disk is full while writing the vulnerability database: ${error.message}`, { hint: 'free disk space; an update leaves the previous database unchanged', subject: path, cause: error });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    // A required field was missing or not a number: the importer let a malformed record through.
    return new DistillError('FEED_INVALID', `a feed record is incomplete: ${error.message}`, { subject: path, cause: error });
  }
  if (code === 'SQLITE_CANTOPEN') {
    return new DistillError('DB_NOT_FOUND', `cannot open the vulnerability database: ${error.message}`, { hint: 'run `distill db update` or `distill db import DIR`', subject: path, cause: error });
  }
  return new DistillError('IO', `vulnerability database: ${error.message}`, { subject: path, cause: error });
}

function guard<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translate(error, path);
  }
}

/**
 * Cheap checks before SQLite sees the file: the magic string, and that the file is as long as its header says.
 * SQLite itself only notices a truncated file when a query reaches a missing page.
 */
function checkHeader(path: string): void {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return; // SQLite treats an empty file as an empty database
    const header = Buffer.alloc(100);
    const got = readSync(fd, header, 0, 100, 0);
    const corrupt = (why: string): DistillError => new DistillError('DB_CORRUPT', `the vulnerability database is damaged: ${why}`, { hint: CORRUPT_HINT, subject: path });
    if (got < 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\u0000') throw corrupt('not an SQLite database file');
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw corrupt(`invalid page size ${rawPageSize}`);
    // The in-header page count is valid only when the change counter matches "version-valid-for".
    if (header.readUInt32BE(24) === header.readUInt32BE(92)) {
      const pages = header.readUInt32BE(28);
      if (pages > 0 && size < pages * pageSize) throw corrupt(`truncated: ${size} bytes, the header says ${pages * pageSize}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Brings a writable DB to SCHEMA_VERSION, or refuses one from a newer distill. */
function migrate(db: Db, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw schemaNewer(path, version);
  if (version > 0) checkApplicationId(db, path);
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const migration of MIGRATIONS) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
  })();
}

function schemaNewer(path: string, version: number): DistillError {
  return new DistillError('DB_SCHEMA_NEWER', `the vulnerability database has schema version ${version}; this distill knows up to ${SCHEMA_VERSION}`, {
    hint: 'upgrade distill, or point DISTILL_DB at a database this version wrote',
    subject: path,
  });
}

function checkApplicationId(db: Db, path: string): void {
  const id = db.pragma('application_id', { simple: true }) as number;
  if (id !== APPLICATION_ID) throw new DistillError('DB_CORRUPT', 'the file is an SQLite database, but not a distill vulnerability database', { hint: CORRUPT_HINT, subject: path });
}

interface AffectedRow {
  vuln_id: string;
  namespace: string;
  package_name: string;
  feed: string;
  fix_state: string;
  severity: string | null;
  note: string | null;
  ranges: string;
  versions: string;
  fixed_versions: string;
}

interface VulnRow {
  id: string;
  feed: string;
  aliases: string;
  summary: string | null;
  description: string | null;
  published: string | null;
  modified: string | null;
  withdrawn: string | null;
  cwes: string;
  cvss: string;
  refs: string;
}

interface KevRow {
  cve: string;
  vendor: string;
  product: string;
  name: string;
  date_added: string;
  due_date: string;
  required_action: string;
  ransomware: string;
}

interface FeedRow {
  feed: string;
  origin: string;
  fetched_at: string;
  record_date: string | null;
  digest: string;
  records: number;
}

function affectedFromRow(row: AffectedRow): AffectedRecord {
  const record: AffectedRecord = {
    vulnId: row.vuln_id,
    namespace: row.namespace,
    packageName: row.package_name,
    ranges: JSON.parse(row.ranges) as AffectedRecord['ranges'],
    versions: JSON.parse(row.versions) as string[],
    fixState: row.fix_state as AffectedRecord['fixState'],
    fixedVersions: JSON.parse(row.fixed_versions) as string[],
    feed: row.feed as FeedName,
  };
  if (row.severity !== null) record.severity = row.severity as NonNullable<AffectedRecord['severity']>;
  if (row.note !== null) record.note = row.note;
  return record;
}

function vulnFromRow(row: VulnRow): VulnerabilityRecord {
  const record: VulnerabilityRecord = { id: row.id, aliases: JSON.parse(row.aliases) as string[], feed: row.feed as FeedName, cwes: [], cvss: [], references: [] };
  if (row.summary !== null) record.summary = row.summary;
  if (row.description !== null) record.description = row.description;
  if (row.published !== null) record.published = row.published;
  if (row.modified !== null) record.modified = row.modified;
  if (row.withdrawn !== null) record.withdrawn = row.withdrawn;
  record.cwes = JSON.parse(row.cwes) as string[];
  record.cvss = JSON.parse(row.cvss) as VulnerabilityRecord['cvss'];
  record.references = JSON.parse(row.refs) as string[];
  return record;
}

function feedFromRow(row: FeedRow): FeedProvenance {
  const p: FeedProvenance = { feed: row.feed as FeedName, origin: row.origin, fetchedAt: row.fetched_at, digest: row.digest, records: row.records };
  if (row.record_date !== null) p.recordDate = row.record_date;
  return p;
}

/** The SQL of `affected()`, exported so tests can show its query plan. */
export const AFFECTED_SQL =
  'SELECT vuln_id, namespace, package_name, feed, fix_state, severity, note, ranges, versions, fixed_versions FROM affected WHERE namespace = ? AND package_name = ? ORDER BY id';
/** One query per requested id: the id itself, ids that list it as an alias, and its own aliases. */
export const VULNERABILITIES_SQL =
  'SELECT * FROM vulnerabilities WHERE id IN (SELECT @id UNION SELECT vuln_id FROM aliases WHERE alias = @id UNION SELECT alias FROM aliases WHERE vuln_id = @id) ORDER BY id, feed';
/** A whole batch of CVEs in one query: json_each drives primary-key lookups (CROSS JOIN fixes the loop order). */
export const EPSS_SQL = 'SELECT e.* FROM json_each(?) AS j CROSS JOIN epss AS e ON e.cve = j.value';
export const KEV_SQL = 'SELECT k.* FROM json_each(?) AS j CROSS JOIN kev AS k ON k.cve = j.value';

export interface OpenVulnDbOptions {
  /** Default true. A writable open migrates an older schema. */
  readonly?: boolean;
}

/** The read side over one SQLite file; every lookup is one prepared, indexed query. */
export class SqliteVulnStore implements VulnStore {
  readonly path: string;
  readonly schemaVersion: number;
  private readonly db: Db;
  private readonly affectedStmt: Database.Statement<[string, string], AffectedRow>;
  private readonly vulnStmt: Database.Statement<[{ id: string }], VulnRow>;
  private readonly epssStmt: Database.Statement<[string], EpssScore>;
  private readonly kevStmt: Database.Statement<[string], KevRow>;
  private readonly feedsStmt: Database.Statement<[], FeedRow>;
  private readonly namespacesStmt: Database.Statement<[], { namespace: string }>;

  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
    this.schemaVersion = db.pragma('user_version', { simple: true }) as number;
    this.affectedStmt = db.prepare(AFFECTED_SQL);
    this.vulnStmt = db.prepare(VULNERABILITIES_SQL);
    this.epssStmt = db.prepare(EPSS_SQL);
    this.kevStmt = db.prepare(KEV_SQL);
    this.feedsStmt = db.prepare('SELECT * FROM feeds ORDER BY feed');
    this.namespacesStmt = db.prepare('SELECT namespace FROM namespaces ORDER BY namespace');
  }

  affected(namespace: Namespace, packageName: string): AffectedRecord[] {
    return guard(this.path, () => this.affectedStmt.all(namespace, packageName).map(affectedFromRow));
  }

  vulnerabilities(ids: readonly string[]): Map<string, VulnerabilityRecord[]> {
    return guard(this.path, () => {
      const result = new Map<string, VulnerabilityRecord[]>();
      for (const id of ids) {
        if (result.has(id)) continue;
        const rows = this.vulnStmt.all({ id });
        if (rows.length > 0) result.set(id, rows.map(vulnFromRow));
      }
      return result;
    });
  }

  epss(cves: readonly string[]): Map<string, EpssScore> {
    return guard(this.path, () => {
      const result = new Map<string, EpssScore>();
      if (cves.length === 0) return result;
      for (const row of this.epssStmt.all(JSON.stringify(cves))) result.set(row.cve, { cve: row.cve, score: row.score, percentile: row.percentile, date: row.date, model: row.model });
      return result;
    });
  }

  kev(cves: readonly string[]): Map<string, KevEntry> {
    return guard(this.path, () => {
      const result = new Map<string, KevEntry>();
      if (cves.length === 0) return result;
      for (const row of this.kevStmt.all(JSON.stringify(cves))) {
        result.set(row.cve, {
          cve: row.cve,
          vendor: row.vendor,
          product: row.product,
          name: row.name,
          dateAdded: row.date_added,
          dueDate: row.due_date,
          requiredAction: row.required_action,
          knownRansomwareCampaignUse: row.ransomware === 'Known' ? 'Known' : 'Unknown',
        });
      }
      return result;
    });
  }

  feeds(): FeedProvenance[] {
    return guard(this.path, () => this.feedsStmt.all().map(feedFromRow));
  }

  namespaces(): Namespace[] {
    return guard(this.path, () => this.namespacesStmt.all().map((r) => r.namespace));
  }

  /** `EXPLAIN QUERY PLAN` of a statement against this DB (one `detail` line per plan step). */
  queryPlan(sql: string, ...params: unknown[]): string[] {
    return guard(this.path, () => (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail));
  }

  /** `PRAGMA integrity_check` (or the faster `quick_check`): `['ok']` for a sound file, else SQLite's list of problems. */
  integrityCheck(quick = false): string[] {
    const pragma = quick ? 'quick_check' : 'integrity_check';
    return guard(this.path, () => (this.db.pragma(pragma) as Array<Record<string, string>>).map((r) => r[pragma] ?? ''));
  }

  /** Rows each feed holds (affected rules + records, or EPSS/KEV rows). */
  feedRowCount(feed: FeedName): number {
    return guard(this.path, () => countFeedRows(this.db, feed));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function countFeedRows(db: Db, feed: FeedName): number {
  if (feed === 'epss') return (db.prepare('SELECT count(*) AS n FROM epss').get() as { n: number }).n;
  if (feed === 'kev') return (db.prepare('SELECT count(*) AS n FROM kev').get() as { n: number }).n;
  const a = (db.prepare('SELECT count(*) AS n FROM affected WHERE feed = ?').get(feed) as { n: number }).n;
  const v = (db.prepare('SELECT count(*) AS n FROM vulnerabilities WHERE feed = ?').get(feed) as { n: number }).n;
  return a + v;
}

/**
 * Opens an existing vulnerability DB. Read-only by default (what `scan` uses).
 * Errors: DB_NOT_FOUND, DB_CORRUPT (bad magic, truncated, not a distill DB), DB_SCHEMA_NEWER, DB_SCHEMA_OLD.
 */
export function openVulnDb(path: string, options: OpenVulnDbOptions = {}): SqliteVulnStore {
  const readonly = options.readonly ?? true;
  if (!existsSync(path)) {
    throw new DistillError('DB_NOT_FOUND', `no vulnerability database at ${path}`, { hint: 'run `distill db update` or `distill db import DIR`', subject: path });
  }
  checkHeader(path);
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: true });
    const opened = db;
    const store = guard(path, () => {
      const version = opened.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw schemaNewer(path, version);
      if (readonly) {
        if (version === 0) throw new DistillError('DB_CORRUPT', 'the file is an SQLite database, but not a distill vulnerability database', { hint: CORRUPT_HINT, subject: path });
        checkApplicationId(opened, path);
        if (version < SCHEMA_VERSION) {
          throw new DistillError('DB_SCHEMA_OLD', `the vulnerability database has schema version ${version}; this distill needs ${SCHEMA_VERSION}`, { hint: 'run `distill db update` to migrate it', subject: path });
        }
      } else {
        migrate(opened, path);
      }
      return new SqliteVulnStore(opened, path);
    });
    return store;
  } catch (error) {
    db?.close();
    throw translate(error, path);
  }
}

/** The write side of one import: every put runs inside a single transaction that finish() commits. */
export interface VulnDbWriter extends VulnStoreWriter {
  readonly path: string;
  /** Rows the given feed holds now, inside the open transaction. */
  rowCount(feed: FeedName): number;
  /** Commits the import and closes the file. */
  finish(): void;
  /** Rolls the import back and closes the file. */
  abort(): void;
}

/**
 * Opens (creating or migrating) a DB file for one bulk import. Tuned for speed, not crash safety: the journal
 * lives in memory and nothing is synced, so use it on a fresh or temporary file and install that file
 * atomically (storage/vuln-db-lifecycle replaceVulnDb), never on the live database.
 */
export function createVulnDb(path: string): VulnDbWriter {
  if (existsSync(path)) checkHeader(path);
  let db: Db | undefined;
  try {
    db = new Database(path);
    const d = db;
    guard(path, () => {
      d.pragma('journal_mode = MEMORY');
      d.pragma('synchronous = OFF');
      d.pragma('locking_mode = EXCLUSIVE');
      d.pragma('temp_store = MEMORY');
      d.pragma('cache_size = -131072'); // 128 MiB: index pages of a real-scale import stay in memory
      migrate(d, path);
    });
    return writerFor(d, path);
  } catch (error) {
    db?.close();
    throw translate(error, path);
  }
}

function writerFor(db: Db, path: string): VulnDbWriter {
  const insertAffected = db.prepare(
    'INSERT INTO affected (namespace, package_name, vuln_id, feed, fix_state, severity, note, ranges, versions, fixed_versions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const deleteAliasesOf = db.prepare('DELETE FROM aliases WHERE vuln_id = ? AND feed = ?');
  const upsertVuln = db.prepare(
    'INSERT OR REPLACE INTO vulnerabilities (id, feed, aliases, summary, description, published, modified, withdrawn, cwes, cvss, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertAlias = db.prepare('INSERT OR IGNORE INTO aliases (vuln_id, feed, alias) VALUES (?, ?, ?)');
  const upsertEpss = db.prepare('INSERT OR REPLACE INTO epss (cve, score, percentile, date, model) VALUES (?, ?, ?, ?, ?)');
  const upsertKev = db.prepare(
    'INSERT OR REPLACE INTO kev (cve, vendor, product, name, date_added, due_date, required_action, ransomware) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const upsertFeed = db.prepare('INSERT OR REPLACE INTO feeds (feed, origin, fetched_at, record_date, digest, records) VALUES (?, ?, ?, ?, ?, ?)');
  const clearStatements = {
    affected: db.prepare('DELETE FROM affected WHERE feed = ?'),
    aliases: db.prepare('DELETE FROM aliases WHERE feed = ?'),
    vulnerabilities: db.prepare('DELETE FROM vulnerabilities WHERE feed = ?'),
    feeds: db.prepare('DELETE FROM feeds WHERE feed = ?'),
  };

  let state: 'open' | 'done' = 'open';
  const live = (): void => {
    if (state !== 'open') throw new DistillError('IO', 'the vulnerability database writer was already finished', { subject: path });
  };
  guard(path, () => db.exec('BEGIN'));

  const run = <T>(fn: () => T): T => {
    live();
    return guard(path, fn);
  };

  return {
    path,
    clearFeed(feed) {
      run(() => {
        clearStatements.affected.run(feed);
        clearStatements.aliases.run(feed);
        clearStatements.vulnerabilities.run(feed);
        if (feed === 'epss') db.exec('DELETE FROM epss');
        if (feed === 'kev') db.exec('DELETE FROM kev');
        clearStatements.feeds.run(feed);
      });
    },
    putAffected(records) {
      run(() => {
        for (const r of records) {
          insertAffected.run(r.namespace, r.packageName, r.vulnId, r.feed, r.fixState, r.severity ?? null, r.note ?? null, JSON.stringify(r.ranges), JSON.stringify(r.versions), JSON.stringify(r.fixedVersions));
        }
      });
    },
    putVulnerabilities(records) {
      run(() => {
        for (const r of records) {
          deleteAliasesOf.run(r.id, r.feed);
          upsertVuln.run(r.id, r.feed, JSON.stringify(r.aliases), r.summary ?? null, r.description ?? null, r.published ?? null, r.modified ?? null, r.withdrawn ?? null, JSON.stringify(r.cwes), JSON.stringify(r.cvss), JSON.stringify(r.references));
          for (const alias of r.aliases) insertAlias.run(r.id, r.feed, alias);
        }
      });
    },
    putEpss(scores) {
      run(() => {
        for (const s of scores) upsertEpss.run(s.cve, s.score, s.percentile, s.date, s.model);
      });
    },
    putKev(entries) {
      run(() => {
        for (const e of entries) upsertKev.run(e.cve, e.vendor, e.product, e.name, e.dateAdded, e.dueDate, e.requiredAction, e.knownRansomwareCampaignUse);
      });
    },
    setProvenance(p) {
      run(() => upsertFeed.run(p.feed, p.origin, p.fetchedAt, p.recordDate ?? null, p.digest, p.records));
    },
    rowCount(feed) {
      return run(() => countFeedRows(db, feed));
    },
    finish() {
      run(() => {
        // namespaces() answers from this summary instead of a DISTINCT scan of every rule.
        db.exec('DELETE FROM namespaces; INSERT INTO namespaces (namespace, rules) SELECT namespace, count(*) FROM affected GROUP BY namespace');
        db.exec('COMMIT');
      });
      state = 'done';
      db.close();
    },
    abort() {
      if (state !== 'open') return;
      state = 'done';
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
