/** @module storage/app/sqlite-app-store — the AppStore on SQLite (better-sqlite3): one file, WAL, writers serialized by BEGIN IMMEDIATE and a busy timeout. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DistillError } from '../../errors.js';
import { SqlAppStore, type Param, type Row, type SqlDriver, type SqlExecutor } from './sql-app-store.js';

export interface SqliteAppStoreOptions {
  /** How long a writer waits for another process's write lock before DB_LOCKED (default 15 s). */
  busyTimeoutMs?: number;
}

class SqliteDriver implements SqlDriver {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  /** One connection: operations are queued so an async transaction never interleaves with another caller. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly direct: SqlExecutor;

  constructor(private readonly db: Database.Database) {
    this.direct = {
      all: async (sql, params) => this.allNow(sql, params),
      run: async (sql, params) => this.runNow(sql, params),
    };
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // DDL is run once; keeping it would pin a statement whose table may change.
      if (!/^\s*(CREATE|DROP|ALTER)\b/i.test(sql)) this.statements.set(sql, statement);
    }
    return statement;
  }

  private allNow(sql: string, params: readonly Param[] = []): Row[] {
    return wrap(() => this.statement(sql).all(...params) as Row[]);
  }

  private runNow(sql: string, params: readonly Param[] = []): number {
    return wrap(() => this.statement(sql).run(...params).changes);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: readonly Param[]): Promise<Row[]> {
    return this.enqueue(async () => this.allNow(sql, params));
  }

  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.enqueue(async () => this.runNow(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
      wrap(() => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await fn(this.direct);
        wrap(() => this.db.exec('COMMIT'));
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new DistillError('DB_LOCKED', `the application database is locked by another writer: ${(error as Error).message}`, { cause: error, hint: 'retry; if it persists, check for a stuck distill process' });
    }
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
      throw new DistillError('DB_CORRUPT', `the application database is damaged: ${(error as Error).message}`, { cause: error, hint: 'restore it from a backup or move it away' });
    }
    throw error;
  }
}

/** Opens (creating the file and its directory) an SQLite application store; call migrate() before use. */
export function openSqliteAppStore(path: string, options: SqliteAppStoreOptions = {}): SqlAppStore {
  let db: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 15_000))}`);
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (error) {
    if (error instanceof DistillError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new DistillError('DB_CORRUPT', `${path} is not an SQLite database: ${(error as Error).message}`, { subject: path, cause: error, hint: 'move the file away or point distill at another database' });
    }
    throw new DistillError('STORE_UNAVAILABLE', `cannot open the application database ${path}: ${(error as Error).message}`, { subject: path, cause: error, hint: 'check the path and its permissions' });
  }
  return new SqlAppStore(new SqliteDriver(db));
}
