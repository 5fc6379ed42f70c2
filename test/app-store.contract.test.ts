/** @module test/app-store.contract — ONE contract suite for the application store, run against SQLite and against a real PostgreSQL 15 started here. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistillError } from '../src/errors.js';
import type { AppStore, ScanInput } from '../src/storage/app-store.js';
import { APP_SCHEMA_VERSION, openAppStore, vulnDbDigest } from '../src/storage/app/index.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { realScans, type RealScans } from './helpers/scan-fixtures.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'distill-app-store-'));
let postgres: PostgresServer | undefined;
let scans: RealScans;
let dbDigest: string;
let sqliteFiles = 0;

beforeAll(async () => {
  [postgres, scans] = await Promise.all([startPostgres(), realScans()]);
  const vulnStore = openVulnDb(scans.vulnDb, { readonly: true });
  dbDigest = vulnDbDigest(vulnStore.feeds());
  vulnStore.close();
}, 600_000);

afterAll(async () => {
  await postgres?.stop();
});

type Kind = 'sqlite' | 'postgres';

async function freshLocation(kind: Kind): Promise<string> {
  if (kind === 'sqlite') return join(work, `app-${++sqliteFiles}.db`);
  return postgres!.createDatabase();
}

/** Reads the database behind the store directly, bypassing it. */
async function raw(kind: Kind, location: string, sql: string): Promise<Record<string, unknown>[]> {
  if (kind === 'sqlite') {
    const db = new Database(location);
    try {
      return db.prepare(sql).reader ? (db.prepare(sql).all() as Record<string, unknown>[]) : (db.prepare(sql).run(), []);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

function scanInput(which: 'python' | 'small', extra: Partial<ScanInput> = {}): ScanInput {
  const outcome = scans[which];
  return {
    image: which,
    role: 'minimal',
    subject: which === 'python' ? scans.pythonRef : scans.smallRef,
    dbDigest,
    reason: 'manual',
    report: outcome.report,
    sbom: outcome.sbom,
    ...extra,
  };
}

function runWriter(location: string, name: string, count: number): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test', 'helpers', 'app-store-writer.ts'), location, name, String(count)], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(stderr) : fail(new Error(`writer ${name} exited ${code}: ${stderr}`))));
  });
}

describe.each<Kind>(['sqlite', 'postgres'])('AppStore contract on %s', (kind) => {
  let location: string;
  let store: AppStore;

  beforeAll(async () => {
    location = await freshLocation(kind);
    store = await openAppStore({ location });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('is the store the location names', () => {
    expect(store.kind).toBe(kind);
  });

  it('stores real ScanReports and SBOMs and reads them back deep-equal', async () => {
    expect(scans.python.report.findings.length).toBeGreaterThan(0);
    for (const which of ['python', 'small'] as const) {
      const header = await store.addScan(scanInput(which));
      expect(header.summary).toEqual(scans[which].report.summary);
      expect(header.packages).toBe(scans[which].report.packages.total);
      expect(header.dbDigest).toBe(dbDigest);
      const back = await store.getScan(header.id);
      expect(back?.report).toEqual(scans[which].report);
      expect(back?.sbom).toEqual(scans[which].sbom);
      // Byte-identical JSON, not only structurally equal.
      expect(JSON.stringify(back?.report)).toBe(JSON.stringify(scans[which].report));
      expect(back).toMatchObject({ id: header.id, image: which, role: 'minimal', subject: header.subject, reason: 'manual' });
    }
    expect(await store.getScan('no-such-scan')).toBeUndefined();
  });

  it('stores the shown findings as rows in report order, and filters them', async () => {
    const header = await store.addScan(scanInput('python'));
    const findings = scans.python.report.findings;
    const rows = await store.listFindings(header.id);
    expect(rows.map((r) => `${r.vulnId} ${r.packageName} ${r.installedVersion}`)).toEqual(findings.map((f) => `${f.vulnId} ${f.packageName} ${f.installedVersion}`));
    for (const [i, row] of rows.entries()) {
      const f = findings[i]!;
      expect(row).toMatchObject({ scanId: header.id, severity: f.severity.value, fixState: f.fixState, kev: Boolean(f.kev) });
      expect(row.fixedVersion).toBe(f.fixedVersions[0]);
      expect(row.epss).toBe(f.epss?.score);
    }
    for (const severity of ['critical', 'high', 'medium', 'low', 'unknown'] as const) {
      expect((await store.listFindings(header.id, { severity })).map((r) => r.vulnId)).toEqual(findings.filter((f) => f.severity.value === severity).map((f) => f.vulnId));
    }
    expect((await store.listFindings(header.id, { fixable: true })).length).toBe(scans.python.report.summary.fixable);
    expect((await store.listFindings(header.id, { fixable: false })).length).toBe(findings.length - scans.python.report.summary.fixable);
    expect((await store.listFindings(header.id, { kev: true })).length).toBe(scans.python.report.summary.kev);
    expect((await store.listFindings(header.id, { kev: false })).length).toBe(findings.length - scans.python.report.summary.kev);
    // Search: substring of the package name or the id, case-insensitive.
    const first = findings[0]!;
    const byPackage = (await store.listFindings(header.id, { search: first.packageName.slice(1, -1).toUpperCase() })).map((r) => r.vulnId);
    expect(byPackage).toEqual(findings.filter((f) => f.packageName.includes(first.packageName.slice(1, -1)) || f.vulnId.includes(first.packageName.slice(1, -1))).map((f) => f.vulnId));
    expect((await store.listFindings(header.id, { search: first.vulnId.toLowerCase() })).map((r) => r.vulnId)).toContain(first.vulnId);
    // Pagination keeps report order.
    const page = await store.listFindings(header.id, { limit: 2, offset: 1 });
    expect(page.map((r) => r.vulnId)).toEqual(rows.slice(1, 3).map((r) => r.vulnId));
    expect(await store.listFindings(header.id, { limit: -5 })).toEqual([]);
  });

  it('stores a long finding list across insert batches in report order', async () => {
    // Derived from the real findings (ids suffixed), to cross the 200-row insert batches.
    const real = scans.python.report.findings;
    const many = Array.from({ length: 450 }, (_, i) => ({ ...real[i % real.length]!, vulnId: `${real[i % real.length]!.vulnId}-${String(i).padStart(3, '0')}` }));
    const report = { ...scans.python.report, findings: many };
    const header = await store.addScan(scanInput('python', { report }));
    const rows = await store.listFindings(header.id);
    expect(rows.map((r) => r.vulnId)).toEqual(many.map((f) => f.vulnId));
    expect((await store.listFindings(header.id, { offset: 440 })).map((r) => r.vulnId)).toEqual(many.slice(440).map((f) => f.vulnId));
    expect((await store.getScan(header.id))?.report.findings).toHaveLength(450);
  });

  it('treats SQL injection strings as plain text in every filter', async () => {
    const header = await store.addScan(scanInput('python'));
    const hostile = ["' OR 1=1 --", "'; DROP TABLE findings; --", '%', '_', '\\', '" OR ""="', "x') UNION SELECT * FROM tokens --", '$1', '?'];
    for (const text of hostile) {
      expect(await store.listFindings(header.id, { search: text })).toEqual([]);
      expect(await store.listFindings(text)).toEqual([]);
      expect(await store.listScans({ image: text })).toEqual([]);
      expect(await store.listBuilds(text)).toEqual([]);
      expect(await store.listEvents({ image: text })).toEqual([]);
      expect(await store.getImage(text)).toBeUndefined();
      expect(await store.trend({ image: text })).toEqual([]);
      expect(await store.verifyToken(text)).toBeUndefined();
    }
    await expect(store.listFindings(header.id, { severity: "high' OR '1'='1" as never })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(store.listScans({ before: "2026' OR 1=1 --" })).rejects.toMatchObject({ code: 'USAGE' });
    // Hostile text is stored verbatim and found only by itself.
    const image = await store.upsertImage({ name: "evil'); DROP TABLE scans; --", description: '%_\\' });
    expect(await store.getImage(image.name)).toEqual(image);
    expect((await store.listFindings(header.id)).length).toBe(scans.python.report.findings.length);
  });

  it('keeps every scan as history and answers latestScans per (image, role)', async () => {
    const own = await openAppStore({ location: await freshLocation(kind) });
    try {
      const times = ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'];
      const minimal = [];
      for (const createdAt of times) minimal.push(await own.addScan(scanInput('small', { image: 'nginx', role: 'minimal', createdAt })));
      // Added out of order: the newest by time wins, not the last written.
      const stockNew = await own.addScan(scanInput('python', { image: 'nginx', role: 'stock', createdAt: '2026-02-15T00:00:00.000Z' }));
      await own.addScan(scanInput('python', { image: 'nginx', role: 'stock', createdAt: '2026-01-15T00:00:00.000Z' }));
      const redis = await own.addScan(scanInput('small', { image: 'redis', role: 'minimal', createdAt: '2026-01-20T00:00:00.000Z' }));
      const upload = await own.addScan(scanInput('small', { image: undefined, role: 'upload', createdAt: '2026-01-21T00:00:00.000Z' }));

      const history = await own.listScans({ image: 'nginx', role: 'minimal' });
      expect(history.map((s) => s.id)).toEqual([...minimal].reverse().map((s) => s.id));
      expect((await own.listScans()).map((s) => s.createdAt)).toEqual([...(await own.listScans()).map((s) => s.createdAt)].sort().reverse());
      expect((await own.listScans({ limit: 2 })).length).toBe(2);
      expect((await own.listScans({ image: 'nginx', before: times[2] })).map((s) => s.createdAt)).toEqual(['2026-02-15T00:00:00.000Z', times[1], '2026-01-15T00:00:00.000Z', times[0]]);

      const latest = await own.latestScans();
      const pair = (s: { image?: string; role: string }) => `${s.image ?? ''}/${s.role}`;
      expect(latest.map(pair)).toEqual(['/upload', 'nginx/minimal', 'nginx/stock', 'redis/minimal']);
      expect(latest.map((s) => s.id)).toEqual([upload.id, minimal[2]!.id, stockNew.id, redis.id]);
      // Headers carry no documents.
      expect(latest[0]).not.toHaveProperty('report');

      // Builds: appended, newest first, never overwritten.
      const b1 = await own.addBuild({ image: 'nginx', digest: 'sha256:aa', arch: 'amd64', packages: [{ name: 'nginx', version: '1.22.1-9', arch: 'amd64' }], reason: 'manual', createdAt: '2026-01-01T00:00:00Z' });
      const b2 = await own.addBuild({ image: 'nginx', digest: 'sha256:bb', arch: 'amd64', packages: [{ name: 'nginx', version: '1.22.1-9+deb12u1', arch: 'amd64' }], reason: 'packages changed: nginx', compressedBytes: 1234, uncompressedBytes: 5678 });
      expect(b1.createdAt).toBe('2026-01-01T00:00:00.000Z');
      expect((await own.listBuilds('nginx')).map((b) => b.id)).toEqual([b2.id, b1.id]);
      expect(await own.getBuild(b1.id)).toEqual(b1);
      expect(await own.getBuild(b2.id)).toEqual({ ...b2, compressedBytes: 1234, uncompressedBytes: 5678 });
      expect((await own.listBuilds('nginx', { before: b2.createdAt })).map((b) => b.id)).toEqual([b1.id]);

      // Events: newest first, filtered by image and kind.
      const e1 = await own.addEvent({ kind: 'db-update', message: 'DB changed', details: { from: 'a', to: 'b' }, at: '2026-01-05T00:00:00Z' });
      const e2 = await own.addEvent({ kind: 'rescan', image: 'nginx', message: 'rescanned', details: { scan: minimal[0]!.id } });
      expect((await own.listEvents()).map((e) => e.id)).toEqual([e2.id, e1.id]);
      expect(await own.listEvents({ kind: 'rescan' })).toEqual([e2]);
      expect(await own.listEvents({ image: 'nginx', kind: 'db-update' })).toEqual([]);
      expect(e1.details).toEqual({ from: 'a', to: 'b' });

      // Compliance: the newest run per image and framework.
      await own.addCompliance({ image: 'nginx', framework: 'cis-docker-4', passed: 5, failed: 2, manual: 1, results: { rules: ['4.1'] }, createdAt: '2026-01-01T00:00:00Z' });
      const c2 = await own.addCompliance({ image: 'nginx', framework: 'cis-docker-4', passed: 7, failed: 0, manual: 1, results: { rules: ['4.1', '4.6'] } });
      const other = await own.addCompliance({ image: 'nginx', framework: 'nist-800-190', passed: 1, failed: 1, manual: 0, results: [] });
      expect(await own.latestCompliance('nginx', 'cis-docker-4')).toEqual(c2);
      expect(await own.latestCompliance('nginx')).toEqual(other);
      expect(await own.latestCompliance('redis')).toBeUndefined();

      // Images: upsert keeps createdAt and omitted fields; name order.
      const first = await own.upsertImage({ name: 'redis', recipe: 'images/redis.yaml', replaces: 'redis:bookworm' });
      const second = await own.upsertImage({ name: 'redis', description: 'in-memory store' });
      await own.upsertImage({ name: 'nginx' });
      expect(second).toMatchObject({ name: 'redis', recipe: 'images/redis.yaml', replaces: 'redis:bookworm', description: 'in-memory store', createdAt: first.createdAt });
      expect((await own.listImages()).map((i) => i.name)).toEqual(['nginx', 'redis']);
      // One order on both engines whatever the server's collation: UTF-16 code units.
      for (const name of ['Zeta', 'alpha', 'Ärger', 'a-b', 'a_b']) await own.upsertImage({ name });
      expect((await own.listImages()).map((i) => i.name)).toEqual(['Zeta', 'a-b', 'a_b', 'alpha', 'nginx', 'redis', 'Ärger']);
    } finally {
      await own.close();
    }
  });

  it('orders the trend oldest first, per image, role and since', async () => {
    const own = await openAppStore({ location: await freshLocation(kind) });
    try {
      const python = await own.addScan(scanInput('python', { image: 'app', createdAt: '2026-03-01T00:00:00Z' }));
      const small = await own.addScan(scanInput('small', { image: 'app', createdAt: '2026-01-01T00:00:00Z', reason: 'rescan: vulnerability DB changed', rescanOf: python.id }));
      await own.addScan(scanInput('python', { image: 'other', role: 'stock', createdAt: '2026-02-01T00:00:00Z' }));
      const all = await own.trend();
      expect(all.map((p) => p.at)).toEqual(['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
      const app = await own.trend({ image: 'app' });
      expect(app).toEqual([
        { at: '2026-01-01T00:00:00.000Z', image: 'app', scanId: small.id, role: 'minimal', total: scans.small.report.summary.total, bySeverity: scans.small.report.summary.bySeverity, kev: scans.small.report.summary.kev },
        { at: '2026-03-01T00:00:00.000Z', image: 'app', scanId: python.id, role: 'minimal', total: scans.python.report.summary.total, bySeverity: scans.python.report.summary.bySeverity, kev: scans.python.report.summary.kev },
      ]);
      expect((await own.trend({ role: 'stock' })).map((p) => p.image)).toEqual(['other']);
      expect((await own.trend({ since: '2026-02-01T00:00:00Z' })).length).toBe(2);
      expect((await own.getScan(small.id))?.rescanOf).toBe(python.id);
    } finally {
      await own.close();
    }
  });

  it('writes one row per idempotency key however often it is retried', async () => {
    const loc = await freshLocation(kind);
    const own = await openAppStore({ location: loc });
    try {
      const input = scanInput('python', { key: 'job-42' });
      const results = await Promise.all(Array.from({ length: 5 }, () => own.addScan(input)));
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect((await own.listScans()).length).toBe(1);
      expect((await own.listFindings(results[0]!.id)).length).toBe(scans.python.report.findings.length);
      const b = await own.addBuild({ image: 'x', digest: 'sha256:1', arch: 'amd64', packages: [], reason: 'job', key: 'build-1' });
      expect(await own.addBuild({ image: 'x', digest: 'sha256:2', arch: 'amd64', packages: [], reason: 'retry', key: 'build-1' })).toEqual(b);
      const e = await own.addEvent({ kind: 'scan', message: 'once', details: {}, key: 'event-1' });
      expect(await own.addEvent({ kind: 'scan', message: 'twice', details: {}, key: 'event-1' })).toEqual(e);
      expect(Number((await raw(kind, loc, 'SELECT COUNT(*) AS n FROM scans'))[0]?.n)).toBe(1);
      expect(Number((await raw(kind, loc, 'SELECT COUNT(*) AS n FROM scan_documents'))[0]?.n)).toBe(1);
      expect(Number((await raw(kind, loc, 'SELECT COUNT(*) AS n FROM findings'))[0]?.n)).toBe(scans.python.report.findings.length);
      expect(Number((await raw(kind, loc, 'SELECT COUNT(*) AS n FROM builds'))[0]?.n)).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('stores tokens as a sha256 of the secret and verifies them', async () => {
    const own = await freshLocation(kind);
    const tokens = await openAppStore({ location: own });
    try {
      const { record, secret } = await tokens.createToken('ci');
      const other = await tokens.createToken('deploy');
      expect(secret).toMatch(/^dst_[0-9a-z]+_[A-Za-z0-9_-]{43}$/);
      const rows = await raw(kind, own, 'SELECT * FROM tokens');
      expect(rows).toHaveLength(2);
      const stored = rows.find((r) => r.id === record.id)!;
      expect(stored.secret_sha256).toBe(createHash('sha256').update(secret).digest('hex'));
      for (const row of rows) for (const value of Object.values(row)) expect(String(value)).not.toContain(secret.slice(-43));
      const verified = await tokens.verifyToken(secret);
      expect(verified).toMatchObject({ id: record.id, name: 'ci' });
      expect(verified?.lastUsedAt).toBeDefined();
      expect((await raw(kind, own, 'SELECT last_used_at FROM tokens WHERE secret_sha256 IS NOT NULL')).some((r) => r.last_used_at === verified?.lastUsedAt)).toBe(true);
      // Wrong tail, another token's id with this tail, truncated, empty, oversized: all refused.
      const tail = secret.slice(secret.lastIndexOf('_') + 1);
      const otherId = other.record.id;
      for (const bad of [`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, `dst_${otherId}_${tail}`, secret.slice(0, -10), '', 'x'.repeat(10_000), secret.toUpperCase()]) {
        expect(await tokens.verifyToken(bad)).toBeUndefined();
      }
      expect(await tokens.verifyToken(other.secret)).toMatchObject({ name: 'deploy' });
    } finally {
      await tokens.close();
    }
  });

  it('latestBuilds and complianceSummaries pick, for every image, what listBuilds(limit 1) and latestCompliance pick, without the reports', async () => {
    const own = await openAppStore({ location: await freshLocation(kind) });
    try {
      const build = (image: string, digest: string, createdAt?: string) =>
        own.addBuild({ image, digest, arch: 'amd64', packages: [{ name: 'base-files', version: '12.4+deb12u5', arch: 'amd64' }], reason: 'manual', ...(createdAt ? { createdAt } : {}) });
      const run = (image: string | undefined, framework: string, passed: number, createdAt?: string) =>
        own.addCompliance({ ...(image !== undefined ? { image } : {}), framework, passed, failed: 1, manual: 2, results: { checks: [{ id: '4.1', status: 'fail' }] }, ...(createdAt ? { createdAt } : {}) });
      const names = ['nginx', 'Zeta', 'Ärger', 'a_b', 'redis', 'no-history'];
      for (const name of names) await own.upsertImage({ name });
      await build('nginx', 'sha256:01', '2026-01-01T00:00:00Z');
      await build('nginx', 'sha256:02', '2026-03-01T00:00:00Z');
      await build('nginx', 'sha256:03', '2026-02-01T00:00:00Z'); // backfilled: older than the newest
      // Two builds in the same millisecond: the larger id wins, as in listBuilds.
      await build('Zeta', 'sha256:04', '2026-01-01T00:00:00Z');
      await build('Zeta', 'sha256:05', '2026-01-01T00:00:00Z');
      await build('Ärger', 'sha256:06');
      await build('a_b', 'sha256:07');
      await build('not-in-catalog', 'sha256:08');
      await run('nginx', 'cis-docker-4', 1, '2026-01-01T00:00:00Z');
      await run('nginx', 'nist-800-190', 2, '2026-02-01T00:00:00Z');
      await run('nginx', 'cis-docker-4', 3, '2026-01-15T00:00:00Z');
      await run('Zeta', 'cis-docker-4', 4, '2026-01-01T00:00:00Z');
      await run('Zeta', 'cis-docker-4', 5, '2026-01-01T00:00:00Z');
      await run('redis', 'nist-800-190', 6);
      await run(undefined, 'cis-docker-4', 7);
      const imagesWithHistory = [...names, 'not-in-catalog'];

      const builds = await own.latestBuilds();
      expect(builds.map((b) => b.image)).toEqual(['Zeta', 'a_b', 'nginx', 'not-in-catalog', 'Ärger']);
      for (const image of imagesWithHistory) expect(builds.find((b) => b.image === image)).toEqual((await own.listBuilds(image, { limit: 1 }))[0]);
      expect(builds.find((b) => b.image === 'nginx')?.digest).toBe('sha256:02');

      for (const framework of [undefined, 'cis-docker-4', 'nist-800-190', "' OR '1'='1"]) {
        const summaries = await own.complianceSummaries(framework);
        expect(summaries.map((c) => c.image)).toEqual([...summaries.map((c) => c.image)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        for (const image of imagesWithHistory) {
          const full = await own.latestCompliance(image, framework);
          const expected = full === undefined ? undefined : { id: full.id, image, framework: full.framework, createdAt: full.createdAt, passed: full.passed, failed: full.failed, manual: full.manual };
          expect(summaries.find((c) => c.image === image)).toEqual(expected);
        }
        // No report in a summary, and runs filed under no image are not summarized.
        for (const summary of summaries) expect(Object.keys(summary).sort()).toEqual(['createdAt', 'failed', 'framework', 'id', 'image', 'manual', 'passed']);
        expect(summaries.some((c) => c.passed === 7)).toBe(false);
      }
      expect((await own.complianceSummaries()).map((c) => [c.image, c.passed])).toEqual([['Zeta', 5], ['nginx', 2], ['redis', 6]]);
      expect((await own.complianceSummaries('cis-docker-4')).map((c) => [c.image, c.passed])).toEqual([['Zeta', 5], ['nginx', 3]]);
    } finally {
      await own.close();
    }
  });

  it('migrates idempotently and refuses a newer schema', async () => {
    const own = await freshLocation(kind);
    const first = await openAppStore({ location: own });
    await first.migrate();
    await first.migrate();
    await first.close();
    const second = await openAppStore({ location: own });
    await second.close();
    // Upgrade from version 1: migration 2 backfills latest_scans from the history.
    const withScans = await openAppStore({ location: own });
    await withScans.addScan(scanInput('small', { image: 'a', createdAt: '2026-01-01T00:00:00Z' }));
    const newest = await withScans.addScan(scanInput('python', { image: 'a', createdAt: '2026-02-01T00:00:00Z' }));
    await withScans.addScan(scanInput('small', { image: 'a', createdAt: '2026-01-15T00:00:00Z' }));
    const other = await withScans.addScan(scanInput('small', { image: undefined, role: 'upload' }));
    const latestBefore = await withScans.latestScans();
    expect(latestBefore.map((h) => h.id)).toEqual([other.id, newest.id]);
    await withScans.close();
    await raw(kind, own, 'DROP TABLE latest_scans');
    await raw(kind, own, 'DROP INDEX compliance_by_image_time');
    await raw(kind, own, 'DELETE FROM distill_schema WHERE version >= 2');
    const upgraded = await openAppStore({ location: own });
    expect(await upgraded.latestScans()).toEqual(latestBefore);
    await upgraded.close();
    // Upgrade from version 2: migration 3 adds the (image, created_at, id) index on compliance.
    const indexes = (sql: string) => raw(kind, own, sql).then((rows) => rows.map((r) => String(r.name)));
    const indexSql = kind === 'sqlite' ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'compliance'" : "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'compliance'";
    expect(await indexes(indexSql)).toContain('compliance_by_image_time');
    await raw(kind, own, 'DROP INDEX compliance_by_image_time');
    await raw(kind, own, 'DELETE FROM distill_schema WHERE version = 3');
    await (await openAppStore({ location: own })).close();
    expect(await indexes(indexSql)).toContain('compliance_by_image_time');
    const versions = await raw(kind, own, 'SELECT version FROM distill_schema ORDER BY version');
    expect(versions.map((r) => Number(r.version))).toEqual(Array.from({ length: APP_SCHEMA_VERSION }, (_, i) => i + 1));
    await raw(kind, own, `INSERT INTO distill_schema (version, description, applied_at) VALUES (${APP_SCHEMA_VERSION + 1}, 'from the future', '2030-01-01T00:00:00Z')`);
    const refused = await openAppStore({ location: own }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DistillError);
    expect((refused as DistillError).code).toBe('DB_SCHEMA_NEWER');
  });

  it('migrates once when several processes open a new database together, and keeps concurrent writers safe', async () => {
    const own = await freshLocation(kind);
    await Promise.all([runWriter(own, 'w1', 40), runWriter(own, 'w2', 40), runWriter(own, 'w3', 40)]);
    const check = await openAppStore({ location: own });
    try {
      for (const name of ['w1', 'w2', 'w3']) {
        const events = await check.listEvents({ image: name });
        expect(events).toHaveLength(40);
        expect(new Set(events.map((e) => e.message)).size).toBe(40);
        expect(await check.listBuilds(name)).toHaveLength(40);
      }
      // Three processes raced on 40 shared keys: exactly one row each.
      const shared = await check.listEvents({ image: 'shared' });
      expect(shared).toHaveLength(40);
      expect(new Set(shared.map((e) => e.message)).size).toBe(40);
      expect((await raw(kind, own, 'SELECT version FROM distill_schema')).length).toBe(APP_SCHEMA_VERSION);
    } finally {
      await check.close();
    }
  }, 120_000);

  it('rejects malformed input with USAGE', async () => {
    await expect(store.addScan(scanInput('small', { role: 'admin' as never }))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(store.addScan(scanInput('small', { createdAt: 'yesterday' }))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(store.addEvent({ kind: 'drop' as never, message: '', details: {} })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(store.upsertImage({ name: '' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('openAppStore', () => {
  it('refuses unknown URL schemes and a file that is not SQLite', async () => {
    await expect(openAppStore({ location: 'mysql://root@localhost/db' })).rejects.toMatchObject({ code: 'DATABASE_URL_INVALID' });
    await expect(openAppStore({ location: '   ' })).rejects.toMatchObject({ code: 'DATABASE_URL_INVALID' });
    const junk = join(work, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text that is long enough to have a header...........');
    await expect(openAppStore({ location: junk })).rejects.toMatchObject({ code: 'DB_CORRUPT' });
    expect(readFileSync(junk, 'utf8')).toMatch(/^this is not a database/);
  });

  it('reports an unreachable PostgreSQL as STORE_UNAVAILABLE without the password', async () => {
    const error = await openAppStore({ location: `postgres://distill:s3cret@127.0.0.1:${postgres!.port + 1}/x` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as DistillError).code).toBe('STORE_UNAVAILABLE');
    expect((error as DistillError).message).not.toContain('s3cret');
  });
});
