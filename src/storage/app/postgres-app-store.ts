/** @module storage/app/postgres-app-store — the AppStore on PostgreSQL (pg pool): same SQL and migrations as SQLite, `?` placeholders numbered, migrations under an advisory lock. */
import pg from 'pg';
import { DistillError } from '../../errors.js';
import { SqlAppStore, type Param, type Row, type SqlDriver, type SqlExecutor } from './sql-app-store.js';

export interface PostgresAppStoreOptions {
  /** Pool size (default 5). */
  maxConnections?: number;
}

/** Advisory lock id taken while migrating ("dstl"), so workers starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6473746c;

const numbered = new Map<string, string>();

/** `?` → `$1, $2, …` (the store's SQL never has a `?` inside a literal). */
function toPostgres(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, out);
  }
  return out;
}

function unavailable(error: unknown, url: string): DistillError {
  return new DistillError('STORE_UNAVAILABLE', `cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}`, {
    cause: error,
    subject: redact(url),
    hint: 'check DISTILL_DATABASE_URL and that the server is running',
  });
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOENT', '57P01', '57P03', '3D000', '28P01', '28000'].includes(code);
}

async function query(client: pg.Pool | pg.PoolClient, sql: string, params: readonly Param[], url: string): Promise<pg.QueryResult> {
  try {
    return await client.query(toPostgres(sql), params as Param[]);
  } catch (error) {
    if (isConnectionError(error)) throw unavailable(error, url);
    throw error;
  }
}

class PostgresDriver implements SqlDriver {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  async all(sql: string, params: readonly Param[] = []): Promise<Row[]> {
    return (await query(this.pool, sql, params, this.url)).rows as Row[];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<number> {
    return (await query(this.pool, sql, params, this.url)).rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: { lockSchema?: boolean } = {}): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable(error, this.url);
    }
    const tx: SqlExecutor = {
      all: async (sql, params = []) => (await query(client, sql, params, this.url)).rows as Row[],
      run: async (sql, params = []) => (await query(client, sql, params, this.url)).rowCount ?? 0,
    };
    try {
      await client.query('BEGIN');
      if (options.lockSchema) await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Connects a pool to `url` (postgres:// or postgresql://); call migrate() before use. */
export function openPostgresAppStore(url: string, options: PostgresAppStoreOptions = {}): SqlAppStore {
  const pool = new pg.Pool({ connectionString: url, max: Math.max(1, options.maxConnections ?? 5) });
  // An idle client losing its server must not crash the process; the next query reports STORE_UNAVAILABLE.
  pool.on('error', () => undefined);
  return new SqlAppStore(new PostgresDriver(pool, url));
}
