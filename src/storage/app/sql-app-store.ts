/** @module storage/app/sql-app-store — the AppStore behaviour written once over a small SQL driver seam, so SQLite and PostgreSQL cannot drift apart. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DistillError } from '../../errors.js';
import type { ScanSummary } from '../../report/scan-report.js';
import { SEVERITIES, type Severity } from '../../vuln/severity.js';
import type {
  AppStore,
  BuildInput,
  BuildRecord,
  ComplianceInput,
  ComplianceRecord,
  ComplianceSummary,
  EventInput,
  EventKind,
  EventRecord,
  FindingQuery,
  FindingRow,
  ImageInput,
  ImageRecord,
  ListOptions,
  ScanHeader,
  ScanInput,
  ScanRecord,
  ScanRole,
  TokenRecord,
  TrendPoint,
} from '../app-store.js';
import { APP_MIGRATIONS, APP_SCHEMA_VERSION, SCHEMA_TABLE_SQL } from './app-migrations.js';

export type Row = Record<string, unknown>;
export type Param = string | number | null;

/** Runs SQL with `?` placeholders (the PostgreSQL driver numbers them). */
export interface SqlExecutor {
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs fn in one write transaction. `lockSchema` also takes the engine's schema lock (an advisory lock on
   * PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers) so concurrent migrate() calls queue.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { lockSchema?: boolean }): Promise<T>;
  close(): Promise<void>;
}

/** Rows returned by a list when no limit is given, and the most any limit can ask for (bounded memory). */
export const MAX_LIST_ROWS = 10_000;

/** Findings per INSERT statement (10 parameters each, far below both engines' parameter limits). */
const FINDING_BATCH = 200;

const ROLES: ReadonlySet<string> = new Set<ScanRole>(['minimal', 'stock', 'upload', 'other']);
const EVENT_KINDS: ReadonlySet<string> = new Set<EventKind>(['build', 'scan', 'rescan', 'db-update', 'packages-changed', 'compliance']);
const TOKEN_PREFIX = 'dst_';

let idCounter = 0;

/** Ids sort by creation time (ms, then a per-process counter), with random bits so processes never collide. */
export function newId(now = Date.now()): string {
  idCounter = (idCounter + 1) % 0x1000000;
  return `${now.toString(36).padStart(9, '0')}${idCounter.toString(36).padStart(5, '0')}${randomBytes(6).toString('hex')}`;
}

function isoTime(value: string | undefined, field: string): string {
  if (value === undefined) return new Date().toISOString();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new DistillError('USAGE', `${field} is not a date: ${JSON.stringify(value)}`, { subject: field });
  return date.toISOString();
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return MAX_LIST_ROWS;
  return Math.max(0, Math.min(MAX_LIST_ROWS, Math.floor(limit)));
}

function offsetOf(offset: number | undefined): number {
  if (offset === undefined || !Number.isFinite(offset)) return 0;
  return Math.max(0, Math.floor(offset));
}

function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new DistillError('DB_CORRUPT', `column ${column} is not text`, { subject: column });
  return value;
}

function optStr(row: Row, column: string): string | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : String(value);
}

function num(row: Row, column: string): number {
  const value = Number(row[column]);
  if (!Number.isFinite(value)) throw new DistillError('DB_CORRUPT', `column ${column} is not a number`, { subject: column });
  return value;
}

function optNum(row: Row, column: string): number | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : Number(value);
}

type OptionalColumns<T> = { [K in keyof T]?: readonly [column: string, read: (row: Row, column: string) => T[K] | undefined] };

/** `record` with each optional field whose column is not NULL set, after the required ones and in the order given. */
function withOptional<T extends object>(record: T, row: Row, optional: OptionalColumns<T>): T {
  for (const [field, spec] of Object.entries(optional) as [string, readonly [string, (row: Row, column: string) => unknown]][]) {
    const value = spec[1](row, spec[0]);
    if (value !== undefined) (record as Record<string, unknown>)[field] = value;
  }
  return record;
}

function json<T>(row: Row, column: string): T {
  return JSON.parse(str(row, column)) as T;
}

/** LIKE pattern for a substring, with the pattern characters escaped (the value is always a bound parameter). */
function likeSubstring(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `WHERE a = ? AND b < ?` over the filters whose value is set (`''` when none is), and those values in the same order. */
function whereOf(filters: ReadonlyArray<readonly [condition: string, value: Param | undefined]>): { where: string; params: Param[] } {
  const set = filters.filter((filter): filter is readonly [string, Param] => filter[1] !== undefined);
  return { where: set.length ? `WHERE ${set.map(([condition]) => condition).join(' AND ')}` : '', params: set.map(([, value]) => value) };
}

function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function imageOf(row: Row): ImageRecord {
  const recipe = optStr(row, 'recipe');
  const replaces = optStr(row, 'replaces');
  const description = optStr(row, 'description');
  return {
    name: str(row, 'name'),
    ...(recipe !== undefined ? { recipe } : {}),
    ...(replaces !== undefined ? { replaces } : {}),
    ...(description !== undefined ? { description } : {}),
    createdAt: str(row, 'created_at'),
    updatedAt: str(row, 'updated_at'),
  };
}

function buildOf(row: Row): BuildRecord {
  return withOptional<BuildRecord>(
    {
      id: str(row, 'id'),
      image: str(row, 'image'),
      createdAt: str(row, 'created_at'),
      digest: str(row, 'digest'),
      arch: str(row, 'arch'),
      packages: json(row, 'packages'),
      reason: str(row, 'reason'),
    },
    row,
    { compressedBytes: ['compressed_bytes', optNum], uncompressedBytes: ['uncompressed_bytes', optNum] },
  );
}

const HEADER_COLUMNS = 's.id, s.image, s.role, s.subject, s.digest, s.created_at, s.packages, s.summary, s.db_digest, s.reason, s.rescan_of';

function headerOf(row: Row): ScanHeader {
  const header = withOptional<ScanHeader>(
    {
      id: str(row, 'id'),
      role: str(row, 'role') as ScanRole,
      subject: str(row, 'subject'),
      createdAt: str(row, 'created_at'),
      packages: num(row, 'packages'),
      summary: json<ScanSummary>(row, 'summary'),
      dbDigest: str(row, 'db_digest'),
      reason: str(row, 'reason'),
    },
    row,
    { image: ['image', optStr], digest: ['digest', optStr], rescanOf: ['rescan_of', optStr] },
  );
  // Key order as the contract lists it, so records compare equal whichever store wrote them.
  return {
    id: header.id,
    ...(header.image !== undefined ? { image: header.image } : {}),
    role: header.role,
    subject: header.subject,
    ...(header.digest !== undefined ? { digest: header.digest } : {}),
    createdAt: header.createdAt,
    packages: header.packages,
    summary: header.summary,
    dbDigest: header.dbDigest,
    reason: header.reason,
    ...(header.rescanOf !== undefined ? { rescanOf: header.rescanOf } : {}),
  };
}

function findingOf(row: Row): FindingRow {
  return withOptional<FindingRow>(
    {
      scanId: str(row, 'scan_id'),
      vulnId: str(row, 'vuln_id'),
      packageName: str(row, 'package_name'),
      installedVersion: str(row, 'installed_version'),
      severity: str(row, 'severity') as Severity,
      fixState: str(row, 'fix_state') as FindingRow['fixState'],
      kev: num(row, 'kev') === 1,
    },
    row,
    { fixedVersion: ['fixed_version', optStr], epss: ['epss', optNum] },
  );
}

function complianceOf(row: Row): ComplianceRecord {
  return withOptional<ComplianceRecord>(
    {
      id: str(row, 'id'),
      framework: str(row, 'framework'),
      createdAt: str(row, 'created_at'),
      passed: num(row, 'passed'),
      failed: num(row, 'failed'),
      manual: num(row, 'manual'),
      results: json(row, 'results'),
    },
    row,
    { image: ['image', optStr], scanId: ['scan_id', optStr] },
  );
}

function eventOf(row: Row): EventRecord {
  const image = optStr(row, 'image');
  return { id: str(row, 'id'), at: str(row, 'at'), kind: str(row, 'kind') as EventKind, ...(image !== undefined ? { image } : {}), message: str(row, 'message'), details: json(row, 'details') };
}

function tokenOf(row: Row): TokenRecord {
  return withOptional<TokenRecord>({ id: str(row, 'id'), name: str(row, 'name'), createdAt: str(row, 'created_at') }, row, { lastUsedAt: ['last_used_at', optStr] });
}

function checkRole(role: string): void {
  if (!ROLES.has(role)) throw new DistillError('USAGE', `unknown scan role ${JSON.stringify(role)}`, { subject: 'role', hint: 'use minimal, stock, upload or other' });
}

/** The contract's behaviour over any SqlDriver. */
export class SqlAppStore implements AppStore {
  readonly kind: 'sqlite' | 'postgres';

  constructor(private readonly db: SqlDriver) {
    this.kind = db.kind;
  }

  async migrate(): Promise<void> {
    await this.db.transaction(
      async (tx) => {
        await tx.run(SCHEMA_TABLE_SQL);
        const rows = await tx.all('SELECT MAX(version) AS version FROM distill_schema');
        const current = Number(rows[0]?.version ?? 0);
        if (current > APP_SCHEMA_VERSION) {
          throw new DistillError('DB_SCHEMA_NEWER', `the application database has schema version ${current}; this distill knows up to ${APP_SCHEMA_VERSION}`, {
            hint: 'upgrade distill, or point it at another database',
          });
        }
        for (const migration of APP_MIGRATIONS) {
          if (migration.version <= current) continue;
          for (const statement of migration.statements) await tx.run(statement);
          await tx.run('INSERT INTO distill_schema (version, description, applied_at) VALUES (?, ?, ?)', [migration.version, migration.description, new Date().toISOString()]);
        }
      },
      { lockSchema: true },
    );
  }

  /** The schema version the database is at (0 when never migrated). */
  async schemaVersion(): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.run(SCHEMA_TABLE_SQL);
      const rows = await tx.all('SELECT MAX(version) AS version FROM distill_schema');
      return Number(rows[0]?.version ?? 0);
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- images --------------------------------------------------------------------------------------------

  async upsertImage(input: ImageInput): Promise<ImageRecord> {
    if (typeof input.name !== 'string' || input.name.length === 0) throw new DistillError('USAGE', 'an image needs a name', { subject: 'name' });
    const now = new Date().toISOString();
    return this.db.transaction(async (tx) => {
      // Omitted fields keep their stored value; created_at is set once.
      await tx.run(
        `INSERT INTO images (name, recipe, replaces, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET recipe = COALESCE(excluded.recipe, images.recipe), replaces = COALESCE(excluded.replaces, images.replaces),
           description = COALESCE(excluded.description, images.description), updated_at = excluded.updated_at`,
        [input.name, input.recipe ?? null, input.replaces ?? null, input.description ?? null, now, now],
      );
      const rows = await tx.all('SELECT * FROM images WHERE name = ?', [input.name]);
      return imageOf(rows[0] as Row);
    });
  }

  async getImage(name: string): Promise<ImageRecord | undefined> {
    const rows = await this.db.all('SELECT * FROM images WHERE name = ?', [name]);
    return rows[0] ? imageOf(rows[0]) : undefined;
  }

  async listImages(): Promise<ImageRecord[]> {
    // Sorted here, not by ORDER BY: PostgreSQL's collation depends on the server's locale, SQLite's is bytewise.
    return (await this.db.all('SELECT * FROM images')).map(imageOf).sort((a, b) => codeUnitOrder(a.name, b.name));
  }

  // ---- builds --------------------------------------------------------------------------------------------

  async addBuild(input: BuildInput): Promise<BuildRecord> {
    const id = newId();
    const createdAt = isoTime(input.createdAt, 'createdAt');
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        `INSERT INTO builds (id, idem_key, image, created_at, digest, arch, packages, compressed_bytes, uncompressed_bytes, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
        [id, input.key ?? null, input.image, createdAt, input.digest, input.arch, JSON.stringify(input.packages), input.compressedBytes ?? null, input.uncompressedBytes ?? null, input.reason],
      );
      const rows = changed === 1 ? await tx.all('SELECT * FROM builds WHERE id = ?', [id]) : await tx.all('SELECT * FROM builds WHERE idem_key = ?', [input.key ?? null]);
      return buildOf(rows[0] as Row);
    });
  }

  async getBuild(id: string): Promise<BuildRecord | undefined> {
    const rows = await this.db.all('SELECT * FROM builds WHERE id = ?', [id]);
    return rows[0] ? buildOf(rows[0]) : undefined;
  }

  async listBuilds(image: string, options: ListOptions = {}): Promise<BuildRecord[]> {
    const params: Param[] = [image];
    let where = 'image = ?';
    if (options.before !== undefined) {
      where += ' AND created_at < ?';
      params.push(isoTime(options.before, 'before'));
    }
    params.push(limitOf(options.limit));
    return (await this.db.all(`SELECT * FROM builds WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?`, params)).map(buildOf);
  }

  async latestBuilds(): Promise<BuildRecord[]> {
    // One query instead of one listBuilds per image; the window orders exactly as listBuilds does. It ranks only the
    // indexed (image, created_at, id) columns, so a long build history is never sorted with its package lists.
    const rows = await this.db.all(
      `SELECT b.* FROM builds b JOIN (
         SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY image ORDER BY created_at DESC, id DESC) AS rn FROM builds) ranked WHERE rn = 1
       ) newest ON newest.id = b.id`,
    );
    return rows.map(buildOf).sort((a, b) => codeUnitOrder(a.image, b.image));
  }

  // ---- scans ---------------------------------------------------------------------------------------------

  async addScan(input: ScanInput): Promise<ScanHeader> {
    checkRole(input.role);
    if (input.image === '') throw new DistillError('USAGE', 'a scan is filed under an image name or under none, not under an empty name', { subject: 'image' });
    const id = newId();
    const createdAt = isoTime(input.createdAt, 'createdAt');
    const report = input.report;
    const summary = report.summary;
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        `INSERT INTO scans (id, idem_key, image, role, subject, digest, created_at, packages, total, kev, summary, db_digest, reason, rescan_of)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
        [
          id,
          input.key ?? null,
          input.image ?? null,
          input.role,
          input.subject,
          input.digest ?? null,
          createdAt,
          report.packages.total,
          summary.total,
          summary.kev,
          JSON.stringify(summary),
          input.dbDigest,
          input.reason,
          input.rescanOf ?? null,
        ],
      );
      if (changed !== 1) {
        // A retry of a scan already stored: return the first one, write nothing.
        const rows = await tx.all(`SELECT ${HEADER_COLUMNS} FROM scans s WHERE s.idem_key = ?`, [input.key ?? null]);
        return headerOf(rows[0] as Row);
      }
      await tx.run('INSERT INTO scan_documents (scan_id, report, sbom) VALUES (?, ?, ?)', [id, JSON.stringify(report), JSON.stringify(input.sbom)]);
      // Only a newer scan replaces the pair's entry (a backfilled older one does not); the row lock orders racers.
      await tx.run(
        `INSERT INTO latest_scans (image_key, role, scan_id, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (image_key, role) DO UPDATE SET scan_id = excluded.scan_id, created_at = excluded.created_at
         WHERE excluded.created_at > latest_scans.created_at OR (excluded.created_at = latest_scans.created_at AND excluded.scan_id > latest_scans.scan_id)`,
        [input.image ?? '', input.role, id, createdAt],
      );
      // Multi-row inserts: one round trip per FINDING_BATCH findings, not per finding.
      const findings = report.findings;
      for (let start = 0; start < findings.length; start += FINDING_BATCH) {
        const batch = findings.slice(start, start + FINDING_BATCH);
        const params: Param[] = [];
        for (const [offset, f] of batch.entries()) {
          params.push(id, start + offset, f.vulnId, f.packageName, f.installedVersion, f.severity.value, f.fixState, f.fixedVersions[0] ?? null, f.kev ? 1 : 0, f.epss?.score ?? null);
        }
        await tx.run(
          `INSERT INTO findings (scan_id, ordinal, vuln_id, package_name, installed_version, severity, fix_state, fixed_version, kev, epss) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          params,
        );
      }
      const rows = await tx.all(`SELECT ${HEADER_COLUMNS} FROM scans s WHERE s.id = ?`, [id]);
      return headerOf(rows[0] as Row);
    });
  }

  async getScan(id: string): Promise<ScanRecord | undefined> {
    const rows = await this.db.all(`SELECT ${HEADER_COLUMNS}, d.report, d.sbom FROM scans s JOIN scan_documents d ON d.scan_id = s.id WHERE s.id = ?`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    return { ...headerOf(row), report: json(row, 'report'), sbom: json(row, 'sbom') };
  }

  async listScans(filter: ListOptions & { image?: string; role?: ScanRole } = {}): Promise<ScanHeader[]> {
    const { where, params } = whereOf([
      ['s.image = ?', filter.image],
      ['s.role = ?', filter.role],
      ['s.created_at < ?', filter.before === undefined ? undefined : isoTime(filter.before, 'before')],
    ]);
    params.push(limitOf(filter.limit));
    const sql = `SELECT ${HEADER_COLUMNS} FROM scans s ${where} ORDER BY s.created_at DESC, s.id DESC LIMIT ?`;
    return (await this.db.all(sql, params)).map(headerOf);
  }

  async latestScans(): Promise<ScanHeader[]> {
    const rows = await this.db.all(`SELECT ${HEADER_COLUMNS} FROM latest_scans l JOIN scans s ON s.id = l.scan_id`);
    // Ordered here for the same result on both engines (see listImages); scans without an image come first.
    return rows.map(headerOf).sort((a, b) => codeUnitOrder(a.image ?? '', b.image ?? '') || codeUnitOrder(a.role, b.role));
  }

  async listFindings(scanId: string, query: FindingQuery = {}): Promise<FindingRow[]> {
    const where = ['scan_id = ?'];
    const params: Param[] = [scanId];
    if (query.severity !== undefined) {
      if (!(SEVERITIES as readonly string[]).includes(query.severity)) throw new DistillError('USAGE', `unknown severity ${JSON.stringify(query.severity)}`, { subject: 'severity' });
      where.push('severity = ?');
      params.push(query.severity);
    }
    if (query.kev !== undefined) {
      where.push('kev = ?');
      params.push(query.kev ? 1 : 0);
    }
    if (query.fixable !== undefined) where.push(query.fixable ? "fix_state = 'fixed'" : "fix_state <> 'fixed'");
    if (query.search !== undefined && query.search !== '') {
      where.push("(LOWER(vuln_id) LIKE ? ESCAPE '\\' OR LOWER(package_name) LIKE ? ESCAPE '\\')");
      const pattern = likeSubstring(query.search);
      params.push(pattern, pattern);
    }
    params.push(limitOf(query.limit), offsetOf(query.offset));
    return (await this.db.all(`SELECT * FROM findings WHERE ${where.join(' AND ')} ORDER BY ordinal LIMIT ? OFFSET ?`, params)).map(findingOf);
  }

  // ---- compliance, events, trend -----------------------------------------------------------------------------

  async addCompliance(input: ComplianceInput): Promise<ComplianceRecord> {
    const id = newId();
    const createdAt = isoTime(input.createdAt, 'createdAt');
    return this.db.transaction(async (tx) => {
      await tx.run('INSERT INTO compliance (id, image, scan_id, framework, created_at, passed, failed, manual, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        input.image ?? null,
        input.scanId ?? null,
        input.framework,
        createdAt,
        input.passed,
        input.failed,
        input.manual,
        JSON.stringify(input.results ?? null),
      ]);
      return complianceOf((await tx.all('SELECT * FROM compliance WHERE id = ?', [id]))[0] as Row);
    });
  }

  async latestCompliance(image: string, framework?: string): Promise<ComplianceRecord | undefined> {
    const params: Param[] = [image];
    let where = 'image = ?';
    if (framework !== undefined) {
      where += ' AND framework = ?';
      params.push(framework);
    }
    const rows = await this.db.all(`SELECT * FROM compliance WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT 1`, params);
    return rows[0] ? complianceOf(rows[0]) : undefined;
  }

  async complianceSummaries(framework?: string): Promise<ComplianceSummary[]> {
    const params: Param[] = [];
    let where = 'image IS NOT NULL';
    if (framework !== undefined) {
      where += ' AND framework = ?';
      params.push(framework);
    }
    // Never selects the results column: parsing every report was most of the catalog's cost.
    const rows = await this.db.all(
      `SELECT id, image, framework, created_at, passed, failed, manual FROM (
         SELECT id, image, framework, created_at, passed, failed, manual, ROW_NUMBER() OVER (PARTITION BY image ORDER BY created_at DESC, id DESC) AS rn
         FROM compliance WHERE ${where}
       ) ranked WHERE rn = 1`,
      params,
    );
    return rows
      .map((row) => ({ id: str(row, 'id'), image: str(row, 'image'), framework: str(row, 'framework'), createdAt: str(row, 'created_at'), passed: num(row, 'passed'), failed: num(row, 'failed'), manual: num(row, 'manual') }))
      .sort((a, b) => codeUnitOrder(a.image, b.image));
  }

  async addEvent(input: EventInput): Promise<EventRecord> {
    if (!EVENT_KINDS.has(input.kind)) throw new DistillError('USAGE', `unknown event kind ${JSON.stringify(input.kind)}`, { subject: 'kind' });
    const id = newId();
    const at = isoTime(input.at, 'at');
    return this.db.transaction(async (tx) => {
      const changed = await tx.run('INSERT INTO events (id, idem_key, at, kind, image, message, details) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING', [
        id,
        input.key ?? null,
        at,
        input.kind,
        input.image ?? null,
        input.message,
        JSON.stringify(input.details ?? {}),
      ]);
      const rows = changed === 1 ? await tx.all('SELECT * FROM events WHERE id = ?', [id]) : await tx.all('SELECT * FROM events WHERE idem_key = ?', [input.key ?? null]);
      return eventOf(rows[0] as Row);
    });
  }

  async listEvents(filter: ListOptions & { image?: string; kind?: EventKind } = {}): Promise<EventRecord[]> {
    const { where, params } = whereOf([
      ['image = ?', filter.image],
      ['kind = ?', filter.kind],
      ['at < ?', filter.before === undefined ? undefined : isoTime(filter.before, 'before')],
    ]);
    params.push(limitOf(filter.limit));
    return (await this.db.all(`SELECT * FROM events ${where} ORDER BY at DESC, id DESC LIMIT ?`, params)).map(eventOf);
  }

  async trend(filter: { image?: string; role?: ScanRole; since?: string } = {}): Promise<TrendPoint[]> {
    const { where, params } = whereOf([
      ['image = ?', filter.image],
      ['role = ?', filter.role],
      ['created_at >= ?', filter.since === undefined ? undefined : isoTime(filter.since, 'since')],
    ]);
    params.push(MAX_LIST_ROWS);
    // Oldest first: the newest MAX_LIST_ROWS points, then reversed.
    const rows = await this.db.all(
      `SELECT id, image, role, created_at, total, kev, summary FROM scans ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
      params,
    );
    return rows.reverse().map((row) => {
      const summary = json<ScanSummary>(row, 'summary');
      const point: TrendPoint = { at: str(row, 'created_at'), scanId: str(row, 'id'), role: str(row, 'role') as ScanRole, total: num(row, 'total'), bySeverity: summary.bySeverity, kev: num(row, 'kev') };
      const image = optStr(row, 'image');
      return image !== undefined ? { at: point.at, image, scanId: point.scanId, role: point.role, total: point.total, bySeverity: point.bySeverity, kev: point.kev } : point;
    });
  }

  // ---- tokens --------------------------------------------------------------------------------------------

  async createToken(name: string): Promise<{ record: TokenRecord; secret: string }> {
    const id = newId();
    // The id travels inside the secret so the lookup is by id and the secret is compared by hash in constant time.
    const secret = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const createdAt = new Date().toISOString();
    await this.db.transaction((tx) => tx.run('INSERT INTO tokens (id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?)', [id, name, sha256Hex(secret), createdAt]));
    return { record: { id, name, createdAt }, secret };
  }

  async verifyToken(secret: string): Promise<TokenRecord | undefined> {
    if (typeof secret !== 'string' || secret.length > 512) return undefined;
    const match = /^dst_([0-9a-z]{14}[0-9a-f]{12})_[A-Za-z0-9_-]+$/.exec(secret);
    const presented = Buffer.from(sha256Hex(secret), 'hex');
    const rows = match ? await this.db.all('SELECT * FROM tokens WHERE id = ?', [match[1] ?? '']) : [];
    const row = rows[0];
    // Compare even when there is no such token, so a miss and a wrong secret take the same time.
    const stored = row ? Buffer.from(str(row, 'secret_sha256'), 'hex') : Buffer.alloc(32);
    const equal = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!row || !equal) return undefined;
    const usedAt = new Date().toISOString();
    await this.db.transaction((tx) => tx.run('UPDATE tokens SET last_used_at = ? WHERE id = ?', [usedAt, str(row, 'id')]));
    return { ...tokenOf(row), lastUsedAt: usedAt };
  }
}
