/** @module storage/sqlite/vuln-db-migrations — the vulnerability DB schema, as an ordered list of migrations. */

export interface Migration {
  /** The `PRAGMA user_version` the database has after this migration. */
  version: number;
  description: string;
  sql: string;
}

/**
 * Applied in order, each inside the opening transaction. Never edit a released migration: append a new one.
 * Lists (ranges, versions, fixed versions, CWEs, CVSS, references) are JSON text: they are only ever read
 * whole, for one package or one id, so normalising them would only slow the bulk import down.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'affected rules, vulnerability records with aliases, EPSS, KEV, feed provenance',
    sql: `
      CREATE TABLE affected (
        id INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL,
        package_name TEXT NOT NULL,
        vuln_id TEXT NOT NULL,
        feed TEXT NOT NULL,
        fix_state TEXT NOT NULL,
        severity TEXT,
        note TEXT,
        ranges TEXT NOT NULL,
        versions TEXT NOT NULL,
        fixed_versions TEXT NOT NULL
      );
      -- affected(namespace, packageName) is one search of this index; rowid order inside a key keeps insertion order.
      CREATE INDEX affected_by_package ON affected (namespace, package_name);

      CREATE TABLE vulnerabilities (
        id TEXT NOT NULL,
        feed TEXT NOT NULL,
        aliases TEXT NOT NULL,
        summary TEXT,
        description TEXT,
        published TEXT,
        modified TEXT,
        withdrawn TEXT,
        cwes TEXT NOT NULL,
        cvss TEXT NOT NULL,
        refs TEXT NOT NULL,
        PRIMARY KEY (id, feed)
      ) WITHOUT ROWID;

      -- Both directions: id → its aliases (primary key), alias → the ids that list it (second index).
      CREATE TABLE aliases (
        vuln_id TEXT NOT NULL,
        feed TEXT NOT NULL,
        alias TEXT NOT NULL,
        PRIMARY KEY (vuln_id, feed, alias)
      ) WITHOUT ROWID;
      CREATE INDEX aliases_by_alias ON aliases (alias, vuln_id);

      CREATE TABLE epss (
        cve TEXT PRIMARY KEY,
        score REAL NOT NULL,
        percentile REAL NOT NULL,
        date TEXT NOT NULL,
        model TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE kev (
        cve TEXT PRIMARY KEY,
        vendor TEXT NOT NULL,
        product TEXT NOT NULL,
        name TEXT NOT NULL,
        date_added TEXT NOT NULL,
        due_date TEXT NOT NULL,
        required_action TEXT NOT NULL,
        ransomware TEXT NOT NULL
      ) WITHOUT ROWID;

      -- Summary rebuilt at the end of every import, so namespaces() does not scan every rule.
      CREATE TABLE namespaces (
        namespace TEXT PRIMARY KEY,
        rules INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE feeds (
        feed TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        record_date TEXT,
        digest TEXT NOT NULL,
        records INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
