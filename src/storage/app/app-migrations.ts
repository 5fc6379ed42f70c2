/** @module storage/app/app-migrations — the application database schema, one ordered list of migrations run unchanged by SQLite and PostgreSQL. */

export interface AppMigration {
  /** The schema version the database has after this migration. */
  version: number;
  description: string;
  /** Statements in the SQL both engines accept (TEXT, INTEGER, DOUBLE PRECISION, ON CONFLICT, window functions). */
  statements: readonly string[];
}

/**
 * Never edit a released migration: append a new one. Times are ISO 8601 UTC text (they sort as text the same way
 * on both engines), ids are text chosen by the store, booleans are INTEGER 0/1, documents are JSON text that is only
 * ever read whole. Idempotency keys are UNIQUE and nullable: a row without a key never conflicts.
 */
export const APP_MIGRATIONS: readonly AppMigration[] = [
  {
    version: 1,
    description: 'images, builds, scans with their documents and finding rows, compliance, events, API tokens',
    statements: [
      `CREATE TABLE images (
        name TEXT PRIMARY KEY,
        recipe TEXT,
        replaces TEXT,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE builds (
        id TEXT PRIMARY KEY,
        idem_key TEXT UNIQUE,
        image TEXT NOT NULL,
        created_at TEXT NOT NULL,
        digest TEXT NOT NULL,
        arch TEXT NOT NULL,
        packages TEXT NOT NULL,
        compressed_bytes DOUBLE PRECISION,
        uncompressed_bytes DOUBLE PRECISION,
        reason TEXT NOT NULL
      )`,
      'CREATE INDEX builds_by_image ON builds (image, created_at, id)',
      `CREATE TABLE scans (
        id TEXT PRIMARY KEY,
        idem_key TEXT UNIQUE,
        image TEXT,
        role TEXT NOT NULL,
        subject TEXT NOT NULL,
        digest TEXT,
        created_at TEXT NOT NULL,
        packages INTEGER NOT NULL,
        total INTEGER NOT NULL,
        kev INTEGER NOT NULL,
        summary TEXT NOT NULL,
        db_digest TEXT NOT NULL,
        reason TEXT NOT NULL,
        rescan_of TEXT
      )`,
      'CREATE INDEX scans_by_time ON scans (created_at, id)',
      'CREATE INDEX scans_by_image_role ON scans (image, role, created_at, id)',
      // The heavy documents live apart so lists and trends never page through them.
      `CREATE TABLE scan_documents (
        scan_id TEXT PRIMARY KEY REFERENCES scans (id),
        report TEXT NOT NULL,
        sbom TEXT NOT NULL
      )`,
      `CREATE TABLE findings (
        scan_id TEXT NOT NULL REFERENCES scans (id),
        ordinal INTEGER NOT NULL,
        vuln_id TEXT NOT NULL,
        package_name TEXT NOT NULL,
        installed_version TEXT NOT NULL,
        severity TEXT NOT NULL,
        fix_state TEXT NOT NULL,
        fixed_version TEXT,
        kev INTEGER NOT NULL,
        epss DOUBLE PRECISION,
        PRIMARY KEY (scan_id, ordinal)
      )`,
      `CREATE TABLE compliance (
        id TEXT PRIMARY KEY,
        image TEXT,
        scan_id TEXT,
        framework TEXT NOT NULL,
        created_at TEXT NOT NULL,
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        manual INTEGER NOT NULL,
        results TEXT NOT NULL
      )`,
      'CREATE INDEX compliance_by_image ON compliance (image, framework, created_at, id)',
      `CREATE TABLE events (
        id TEXT PRIMARY KEY,
        idem_key TEXT UNIQUE,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        image TEXT,
        message TEXT NOT NULL,
        details TEXT NOT NULL
      )`,
      'CREATE INDEX events_by_time ON events (at, id)',
      `CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT
      )`,
    ],
  },
  {
    version: 2,
    description: 'latest_scans: the newest scan per (image, role), kept by addScan, so the catalog never scans the history',
    statements: [
      // image_key is the image name, or '' for scans filed under no image (names are never empty).
      `CREATE TABLE latest_scans (
        image_key TEXT NOT NULL,
        role TEXT NOT NULL,
        scan_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (image_key, role)
      )`,
      `INSERT INTO latest_scans (image_key, role, scan_id, created_at)
        SELECT image_key, role, id, created_at FROM (
          SELECT COALESCE(image, '') AS image_key, role, id, created_at,
            ROW_NUMBER() OVER (PARTITION BY COALESCE(image, ''), role ORDER BY created_at DESC, id DESC) AS rn
          FROM scans
        ) ranked WHERE rn = 1`,
    ],
  },
  {
    version: 3,
    description: 'compliance_by_image_time: the newest run per image over all frameworks without a sort (catalog, latestCompliance without a framework)',
    statements: ['CREATE INDEX compliance_by_image_time ON compliance (image, created_at, id)'],
  },
];

/** The schema version this build of distill writes. */
export const APP_SCHEMA_VERSION = APP_MIGRATIONS[APP_MIGRATIONS.length - 1]?.version ?? 0;

/** The bookkeeping table, created before any migration runs (same text on both engines). */
export const SCHEMA_TABLE_SQL = `CREATE TABLE IF NOT EXISTS distill_schema (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;
