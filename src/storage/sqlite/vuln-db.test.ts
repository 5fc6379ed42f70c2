/** @module storage/sqlite/vuln-db.test — the SQLite store against the shared contract, its query plans, and hostile files. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeVulnStoreContract } from '../../../test/contracts/vuln-store-contract.js';
import { DistillError } from '../../errors.js';
import type { AffectedRecord, EpssScore } from '../../vuln/vulnerability.js';
import { SCHEMA_VERSION } from './vuln-db-migrations.js';
import { AFFECTED_SQL, APPLICATION_ID, createVulnDb, EPSS_SQL, openVulnDb, VULNERABILITIES_SQL, type SqliteVulnStore, type VulnDbWriter } from './vuln-db.js';

describeVulnStoreContract('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-vulndb-'));
  const path = join(dir, 'vuln.db');
  const readers: SqliteVulnStore[] = [];
  return {
    write(fn) {
      const writer = createVulnDb(path);
      try {
        fn(writer);
        writer.finish();
      } catch (error) {
        writer.abort();
        throw error;
      }
    },
    open() {
      const reader = openVulnDb(path);
      readers.push(reader);
      return reader;
    },
    dispose() {
      for (const r of readers) r.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite vulnerability DB', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distill-vulndb-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function build(path: string, fn: (w: VulnDbWriter) => void): void {
    const w = createVulnDb(path);
    fn(w);
    w.finish();
  }

  function someRules(n: number, packages: number): AffectedRecord[] {
    const rules: AffectedRecord[] = [];
    for (let i = 0; i < n; i++) {
      rules.push({ vulnId: `CVE-2024-${10000 + i}`, namespace: 'debian:bookworm', packageName: `src${i % packages}`, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `1.${i}-1` }] }], versions: [], fixState: 'fixed', fixedVersions: [`1.${i}-1`], severity: 'medium', feed: 'debian-tracker' });
    }
    return rules;
  }

  it('answers affected() with one search of the (namespace, package_name) index', () => {
    const path = join(dir, 'vuln.db');
    build(path, (w) => w.putAffected(someRules(5000, 500)));
    const db = openVulnDb(path);
    try {
      const plan = db.queryPlan(AFFECTED_SQL, 'debian:bookworm', 'src7');
      expect(plan).toEqual(['SEARCH affected USING INDEX affected_by_package (namespace=? AND package_name=?)']);
      expect(db.affected('debian:bookworm', 'src7')).toHaveLength(10);
      // Alias lookups: the primary key one way, aliases_by_alias the other; no full scans anywhere.
      const vplan = db.queryPlan(VULNERABILITIES_SQL, { id: 'CVE-2014-1402' }).join('\n');
      expect(vplan).toContain('USING COVERING INDEX aliases_by_alias (alias=?)');
      expect(vplan).toContain('USING PRIMARY KEY (vuln_id=?)');
      expect(vplan).not.toMatch(/\bSCAN (aliases|vulnerabilities)\b/);
      const eplan = db.queryPlan(EPSS_SQL, '["CVE-2014-1402"]').join('\n');
      expect(eplan).toContain('SEARCH e USING PRIMARY KEY (cve=?)');
    } finally {
      db.close();
    }
  });

  it('writes the schema version and application id, and refuses a newer schema', () => {
    const path = join(dir, 'vuln.db');
    build(path, () => {});
    const raw = new Database(path);
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    for (const open of [() => openVulnDb(path), () => openVulnDb(path, { readonly: false }), () => createVulnDb(path)]) {
      const error = catchError(open);
      expect(error).toBeInstanceOf(DistillError);
      expect((error as DistillError).code).toBe('DB_SCHEMA_NEWER');
      expect((error as DistillError).hint).toMatch(/upgrade distill/);
    }
  });

  it('migrates an older schema when opened for writing, refuses it read-only', () => {
    const path = join(dir, 'vuln.db');
    const raw = new Database(path);
    raw.pragma('user_version = 0');
    raw.exec('CREATE TABLE unrelated (x)');
    raw.close();
    // Version 0 read-only: an SQLite file, but not ours.
    expect(codeOf(() => openVulnDb(path))).toBe('DB_CORRUPT');
    openVulnDb(path, { readonly: false }).close();
    const db = openVulnDb(path);
    expect(db.schemaVersion).toBe(SCHEMA_VERSION);
    expect(db.feeds()).toEqual([]);
    db.close();
  });

  it('rejects a file of random bytes, a truncated DB and a foreign SQLite DB with DB_CORRUPT and a rebuild hint', () => {
    const random = join(dir, 'random.db');
    writeFileSync(random, randomBytes(64 * 1024));
    const e1 = catchError(() => openVulnDb(random)) as DistillError;
    expect(e1.code).toBe('DB_CORRUPT');
    expect(e1.hint).toMatch(/distill db update/);
    expect(codeOf(() => createVulnDb(random))).toBe('DB_CORRUPT');

    // Random bytes after a valid magic string get past the first check; SQLite's own error is translated.
    const magic = join(dir, 'magic.db');
    writeFileSync(magic, Buffer.concat([Buffer.from('SQLite format 3\u0000'), Buffer.from([0x10, 0x00]), randomBytes(64 * 1024)]));
    expect(codeOf(() => openVulnDb(magic).affected('x', 'y'))).toBe('DB_CORRUPT');

    const full = join(dir, 'full.db');
    build(full, (w) => w.putAffected(someRules(20_000, 1000)));
    const bytes = readFileSync(full);
    const truncated = join(dir, 'truncated.db');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e2 = catchError(() => openVulnDb(truncated)) as DistillError;
    expect(e2.code).toBe('DB_CORRUPT');
    expect(e2.message).toMatch(/truncated/);

    const foreign = join(dir, 'foreign.db');
    const raw = new Database(foreign);
    raw.pragma('user_version = 1');
    raw.exec('CREATE TABLE t (x)');
    raw.close();
    expect(codeOf(() => openVulnDb(foreign))).toBe('DB_CORRUPT');
  });

  it('damaged pages in a DB of the right length surface as DB_CORRUPT on lookup', () => {
    const path = join(dir, 'vuln.db');
    build(path, (w) => w.putAffected(someRules(20_000, 1000)));
    const bytes = readFileSync(path);
    // Overwrite everything after the first two pages (schema stays readable, data and index pages do not).
    randomBytes(bytes.length - 8192).copy(bytes, 8192);
    writeFileSync(path, bytes);
    const db = openVulnDb(path);
    try {
      expect(codeOf(() => {
        for (let i = 0; i < 1000; i++) db.affected('debian:bookworm', `src${i}`);
      })).toBe('DB_CORRUPT');
    } finally {
      db.close();
    }
  });

  it('a record missing a required value fails the import with FEED_INVALID, not a raw SQLite error', () => {
    const w = createVulnDb(join(dir, 'vuln.db'));
    expect(codeOf(() => w.putEpss([{ cve: 'CVE-2021-44228', score: Number.NaN, percentile: 0.5, date: '2026-12-01', model: 'v1' }]))).toBe('FEED_INVALID');
    w.abort();
  });

  it('bulk-imports real-scale feeds quickly (300,000 EPSS rows, 50,000 affected rules)', () => {
    const path = join(dir, 'vuln.db');
    const epss: EpssScore[] = [];
    for (let i = 0; i < 300_000; i++) epss.push({ cve: `CVE-${1999 + (i % 27)}-${String(i).padStart(6, '0')}`, score: (i % 10_000) / 10_000, percentile: (i % 9973) / 9973, date: '2026-12-01', model: 'v2025.03.14' });
    const rules = someRules(50_000, 1000);
    const t0 = performance.now();
    const w = createVulnDb(path);
    w.putEpss(epss);
    const t1 = performance.now();
    w.putAffected(rules);
    const t2 = performance.now();
    w.finish();
    const t3 = performance.now();
    const rates = { epssRowsPerS: Math.round(300_000 / ((t1 - t0) / 1000)), affectedRowsPerS: Math.round(50_000 / ((t2 - t1) / 1000)), commitMs: Math.round(t3 - t2) };
    expect(rates.epssRowsPerS).toBeGreaterThan(30_000);
    expect(rates.affectedRowsPerS).toBeGreaterThan(10_000);
    const db = openVulnDb(path);
    expect(db.feedRowCount('epss')).toBe(300_000);
    expect(db.affected('debian:bookworm', 'src999')).toHaveLength(50);
    expect(db.namespaces()).toEqual(['debian:bookworm']);
    db.close();
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function codeOf(fn: () => unknown): string {
  const error = catchError(fn);
  return error instanceof DistillError ? error.code : `not a DistillError: ${String(error)}`;
}
