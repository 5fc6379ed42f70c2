/** @module storage/app/open-app-store — picks the application store from a location: a postgres:// URL or an SQLite file path. */
import { DistillError } from '../../errors.js';
import type { AppStore } from '../app-store.js';
import { openPostgresAppStore, redact } from './postgres-app-store.js';
import { openSqliteAppStore } from './sqlite-app-store.js';

export interface OpenAppStoreOptions {
  /** `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a plain file path (SQLite). The caller resolves env and defaults. */
  location: string;
  /** Apply pending migrations on open (default true); a newer schema is refused with DB_SCHEMA_NEWER. */
  migrate?: boolean;
  /** PostgreSQL pool size (default 5). */
  maxConnections?: number;
  /** SQLite busy timeout in ms (default 15 000). */
  busyTimeoutMs?: number;
}

/** True when the location names a PostgreSQL server. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export async function openAppStore(options: OpenAppStoreOptions): Promise<AppStore> {
  const location = options.location.trim();
  if (location === '') throw new DistillError('DATABASE_URL_INVALID', 'the application database location is empty', { hint: 'set DISTILL_DATABASE_URL to postgres://… or a file path' });
  let store;
  if (isPostgresLocation(location)) {
    try {
      new URL(location);
    } catch (error) {
      throw new DistillError('DATABASE_URL_INVALID', `not a valid PostgreSQL URL: ${redact(location)}`, { cause: error, hint: 'use postgres://user:password@host:port/database' });
    }
    store = openPostgresAppStore(location, { maxConnections: options.maxConnections });
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new DistillError('DATABASE_URL_INVALID', `unsupported database URL scheme: ${redact(location)}`, { hint: 'use postgres://… for PostgreSQL or a file path for SQLite' });
  } else {
    store = openSqliteAppStore(location.startsWith('sqlite:') ? location.slice('sqlite:'.length) : location, { busyTimeoutMs: options.busyTimeoutMs });
  }
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  }
  return store;
}
