/** @module storage/app — the application database: SQLite and PostgreSQL AppStores, their shared migrations, and openAppStore. */
export { APP_MIGRATIONS, APP_SCHEMA_VERSION, type AppMigration } from './app-migrations.js';
export { openAppStore, isPostgresLocation, type OpenAppStoreOptions } from './open-app-store.js';
export { openPostgresAppStore, redact, type PostgresAppStoreOptions } from './postgres-app-store.js';
export { openSqliteAppStore, type SqliteAppStoreOptions } from './sqlite-app-store.js';
export { SqlAppStore, MAX_LIST_ROWS, newId } from './sql-app-store.js';
export { vulnDbDigest } from './db-digest.js';
