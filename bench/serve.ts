/** @module bench/serve — `npm run bench -- serve`: API latency (p50/p95) of the catalog and an image page with 1,000 images × 20 scans, on SQLite and PostgreSQL, load generated over loopback against a server in its own process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { complyImage } from '../src/compliance/comply.js';
import { sbomFor, scanSbom } from '../src/report/scan-source.js';
import type { ScanReport } from '../src/report/scan-report.js';
import type { Sbom } from '../src/sbom/package.js';
import { complianceInput } from '../src/server/extras.js';
import type { AppStore } from '../src/storage/app-store.js';
import { vulnDbDigest } from '../src/storage/app/db-digest.js';
import { openAppStore } from '../src/storage/app/open-app-store.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { importPaths } from '../src/storage/vuln-db-update.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '..', 'shared');
const IMAGES = Number(process.env.DISTILL_BENCH_SERVE_IMAGES ?? 1000);
const SCANS = Number(process.env.DISTILL_BENCH_SERVE_SCANS ?? 20);
const REQUESTS = Number(process.env.DISTILL_BENCH_SERVE_REQUESTS ?? 200);
const CONCURRENCY = 4;

interface Measurement { seconds: number; peakMiB: number }
interface Row { suite: string; image: string; sizeMiB: number; distill: Measurement; peer: Measurement; peerName: string; ratio: number }

export interface ServeFigure {
  store: string;
  endpoint: string;
  requests: number;
  p50ms: number;
  p95ms: number;
  bytes: number;
  /** The same bytes served from memory by the same server: what the framework and loopback cost alone. */
  staticP50ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The one real ScanReport: distill's nginx image scanned on a DB of real KEV data and real CVE ids (fixed versions CONSTRUCTED as in test/compare.test.ts). */
export async function realScan(dir: string): Promise<{ report: ScanReport; sbom: Sbom; dbDigest: string; archive: string }> {
  const { cachedBuild } = await import('../test/helpers/build-helpers.js');
  const archive = (await cachedBuild('images/nginx.yaml')).archive;
  const feeds = join(dir, 'feeds');
  mkdirSync(feeds);
  const entry = (fixed: string, urgency: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency } } });
  writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify({ openssl: { 'CVE-2023-2975': entry('3.0.22-1~deb12u3', 'low') }, glibc: { 'CVE-2023-4911': entry('2.36-9+deb12u15', 'high') } }));
  copyFileSync(join(shared, 'data', 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'kev.json'));
  const dbPath = join(dir, 'vuln.db');
  const now = new Date('2026-12-01T00:00:00Z');
  await importPaths(dbPath, [feeds], { now });
  const store = openVulnDb(dbPath, { readonly: true });
  try {
    const sbom = await sbomFor(`docker-archive:${archive}`, { now });
    const outcome = scanSbom(sbom, { store, now, tool: { name: 'distill', version: 'bench' } });
    return { report: outcome.report, sbom: outcome.sbom, dbDigest: vulnDbDigest(store.feeds()), archive };
  } finally {
    store.close();
  }
}

/** 1,000 images × 20 scans (copies of the real report, one per day), one build and one compliance run each. */
export async function seed(store: AppStore, scan: Awaited<ReturnType<typeof realScan>>, compliance: ReturnType<typeof complianceInput>): Promise<number> {
  const start = performance.now();
  const day = 86_400_000;
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < IMAGES; i++) {
    const name = `image-${String(i).padStart(4, '0')}`;
    await store.upsertImage({ name, recipe: `images/${name}.yaml`, replaces: `${name}:bookworm` });
    await store.addBuild({ image: name, createdAt: new Date(t0).toISOString(), digest: scan.sbom.subject.digest!, arch: 'amd64', packages: scan.sbom.packages.map((p) => ({ name: p.name, version: p.version, arch: 'amd64' })), compressedBytes: 10_000_000, reason: 'manual' });
    for (let s = 0; s < SCANS; s++) {
      await store.addScan({ image: name, role: 'minimal', subject: `oci:${name}`, digest: scan.sbom.subject.digest!, report: scan.report, sbom: scan.sbom, dbDigest: scan.dbDigest, reason: s === 0 ? 'build' : 'rescan', createdAt: new Date(t0 + s * day + i * 1000).toISOString() });
    }
    await store.addCompliance({ ...compliance, image: name, createdAt: new Date(t0 + SCANS * day).toISOString() });
  }
  return (performance.now() - start) / 1000;
}

/** Starts `bench/serve.ts --server LOCATION DATADIR` and reads the port it prints. */
async function startServer(location: string, dataDir: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--server', location, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((done, fail) => {
    lines.once('line', (line) => done(Number(line)));
    child.once('exit', (code) => fail(new Error(`bench server exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

async function load(pool: Pool, paths: () => string, requests: number): Promise<{ sorted: number[]; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < requests) {
      issued++;
      const path = paths();
      const start = performance.now();
      const response = await pool.request({ path, method: 'GET' });
      const body = Buffer.from(await response.body.arrayBuffer());
      times.push(performance.now() - start);
      if (response.statusCode !== 200) throw new Error(`${path}: HTTP ${response.statusCode} ${body.toString('utf8').slice(0, 200)}`);
      bytes = body.length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { sorted: times.sort((a, b) => a - b), bytes };
}

async function measureStore(label: string, location: string, dataDir: string): Promise<ServeFigure[]> {
  const { child, base } = await startServer(location, dataDir);
  const pool = new Pool(base, { connections: CONCURRENCY });
  try {
    const figures: ServeFigure[] = [];
    let n = 0;
    const endpoints: [string, () => string][] = [
      ['GET /api/catalog (recomputed)', () => '/cold/api/catalog'],
      ['GET /api/catalog (2 s cache)', () => '/api/catalog'],
      ['GET / (catalog page, recomputed)', () => '/cold'],
      ['GET / (catalog page, 2 s cache)', () => '/'],
      ['GET /images/NAME (image page)', () => `/images/image-${String(n++ % IMAGES).padStart(4, '0')}`],
      ['GET /api/scans?image=NAME', () => `/api/scans?image=image-${String(n++ % IMAGES).padStart(4, '0')}`],
    ];
    for (const [endpoint, path] of endpoints) {
      await load(pool, path, 5); // warm-up: caches, JIT, connections
      const count = endpoint.includes('recomputed') ? Math.max(20, Math.floor(REQUESTS / 10)) : REQUESTS;
      const { sorted, bytes } = await load(pool, path, count);
      const statik = await load(pool, () => `/__bench/static?bytes=${bytes}`, count);
      figures.push({ store: label, endpoint, requests: count, p50ms: percentile(sorted, 50), p95ms: percentile(sorted, 95), bytes, staticP50ms: percentile(statik.sorted, 50) });
      process.stderr.write(`bench serve: ${label} ${endpoint}: p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms (${count} requests, ${bytes} bytes)\n`);
    }
    return figures;
  } finally {
    await pool.close();
    child.kill('SIGTERM');
  }
}

export async function serveSuite(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
  const figures: ServeFigure[] = [];
  const seeding: Record<string, number> = {};
  try {
    process.stderr.write(`bench serve: scanning distill nginx once (the real ScanReport every row copies)…\n`);
    const scan = await realScan(dir);
    const compliance = complianceInput(await complyImage(scan.archive), 'x', undefined);
    const sqliteDir = join(dir, 'sqlite');
    mkdirSync(sqliteDir);
    const sqlite = await openAppStore({ location: join(sqliteDir, 'distill.sqlite') });
    process.stderr.write(`bench serve: seeding SQLite with ${IMAGES} images × ${SCANS} scans…\n`);
    seeding.sqlite = await seed(sqlite, scan, compliance);
    await sqlite.close();
    figures.push(...(await measureStore('sqlite', join(sqliteDir, 'distill.sqlite'), sqliteDir)));

    const { hasPostgres, startPostgres } = await import('../test/helpers/postgres.js');
    if (hasPostgres()) {
      const server = await startPostgres();
      try {
        const url = await server.createDatabase('bench');
        const pg = await openAppStore({ location: url });
        process.stderr.write(`bench serve: seeding PostgreSQL with ${IMAGES} images × ${SCANS} scans…\n`);
        seeding.postgres = await seed(pg, scan, compliance);
        await pg.close();
        const pgDir = join(dir, 'pg-data');
        mkdirSync(pgDir);
        figures.push(...(await measureStore('postgres', url, pgDir)));
      } finally {
        await server.stop();
      }
    } else process.stderr.write('bench serve: PostgreSQL binaries not found; SQLite only\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = ['store', 'endpoint', 'requests', 'p50 ms', 'p95 ms', 'bytes', 'static p50 ms'];
  const table = figures.map((f) => [f.store, f.endpoint, String(f.requests), f.p50ms.toFixed(1), f.p95ms.toFixed(1), String(f.bytes), f.staticP50ms.toFixed(1)]);
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
  for (const cells of [header, ...table]) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  console.log(`seeding ${IMAGES} images × ${SCANS} scans: ${Object.entries(seeding).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; concurrency ${CONCURRENCY}, loopback, server in its own process`);
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ images: IMAGES, scansPerImage: SCANS, concurrency: CONCURRENCY, seedingSeconds: seeding, figures }, null, 2));
  return figures.map((f) => ({
    suite: 'serve',
    image: `${f.store} ${f.endpoint} p50`,
    sizeMiB: f.bytes / 1_048_576,
    distill: { seconds: f.p50ms / 1000, peakMiB: 0 },
    peer: { seconds: f.staticP50ms / 1000, peakMiB: 0 },
    peerName: 'same bytes, static',
    ratio: f.p50ms / Math.max(f.staticP50ms, 0.001),
  }));
}

/** Server mode: the app with a static route of N bytes beside it (the peer), on a free loopback port printed to stdout. */
async function runServer(location: string, dataDir: string): Promise<void> {
  const { serve } = await import('@hono/node-server');
  const { Hono } = await import('hono');
  const { createApp } = await import('../src/server/app.js');
  const store = await openAppStore({ location });
  const app = createApp({ store, dataDir, version: 'bench', limits: { requestsPerMinute: 10_000_000 } });
  const outer = new Hono();
  const cache = new Map<number, string>();
  outer.get('/__bench/static', (c) => {
    const bytes = Number(new URL(c.req.url).searchParams.get('bytes') ?? 0);
    if (!cache.has(bytes)) cache.set(bytes, 'x'.repeat(bytes));
    return c.body(cache.get(bytes)!, 200, { 'content-type': 'application/json' });
  });
  // /cold/… recomputes the catalog on every request (catalogTtlMs 0); / serves it as `distill serve` does (2 s, shared).
  outer.route('/cold', createApp({ store, dataDir, version: 'bench', limits: { requestsPerMinute: 10_000_000 }, catalogTtlMs: 0 }));
  outer.route('/', app);
  const server = serve({ fetch: outer.fetch, hostname: '127.0.0.1', port: 0 });
  // A slow catalog keeps the other pooled connections idle past Node's 5 s keep-alive: closing them races the next request.
  (server as import('node:http').Server).keepAliveTimeout = 120_000;
  server.once('listening', () => {
    const address = server.address();
    process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
  });
  process.once('SIGTERM', () => server.close(() => void store.close().then(() => process.exit(0))));
}

if (process.argv[2] === '--server') await runServer(process.argv[3]!, process.argv[4]!);
else if (process.argv[1] === fileURLToPath(import.meta.url)) await serveSuite();
