/** @module test/queue — the fleet queue on a real PostgreSQL 15: three `distill worker` processes over 50 real scan jobs, one SIGKILLed mid-job; every job done once, no duplicate rows. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../src/jobs/job-queue.js';
import type { JobSpec, WorkerEvent } from '../src/jobs/job-types.js';
import { scanSource } from '../src/report/scan-source.js';
import { encodeSbom } from '../src/sbom/formats/index.js';
import type { AppStore } from '../src/storage/app-store.js';
import { openAppStore } from '../src/storage/app/index.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { stockImage } from './helpers/oracles.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { FIXTURE_NOW, pythonRoot, realScans } from './helpers/scan-fixtures.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'src', 'cli', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'distill-queue-'));
const JOBS = 50;
const HEAVY = 3;
/** Short enough for a test, long enough that an honest scan here never expires (they take a few seconds at most). */
const EXPIRE_SECONDS = 20;

type Event = WorkerEvent & { pid: number };

interface Worker {
  name: string;
  child: ChildProcess;
  events: Event[];
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr: string;
}

let postgres: PostgresServer;
let url: string;
let vulnDb: string;
let store: AppStore;
let queue: JobQueue;
let sbomFile: string;
let stockNginx: string;
const workers: Worker[] = [];

function startWorker(name: string, listeners: ((event: Event, worker: Worker) => void)[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'worker', '--concurrency', '1', '--kinds', 'scan', '--db', vulnDb, '--poll', '0.5', '--maintenance-interval', '1', '--format', 'json', '--data-dir', join(work, name)], {
    cwd: root,
    env: { ...process.env, DISTILL_DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let markReady: () => void = () => {};
  const worker: Worker = { name, child, events: [], ready: new Promise((done) => (markReady = done)), exited: new Promise((done) => child.on('exit', (code) => done(code))), stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => (worker.stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as Event | { kind: 'worker-ready' };
    if (event.kind === 'worker-ready') return markReady();
    worker.events.push(event as Event);
    for (const listener of listeners) listener(event as Event, worker);
  });
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('fleet');
  const scans = await realScans();
  vulnDb = scans.vulnDb;
  sbomFile = join(work, 'python.cdx.json');
  writeFileSync(sbomFile, encodeSbom(scans.python.sbom, 'cyclonedx-json'));
  stockNginx = stockImage('nginx');
  store = await openAppStore({ location: url });
  // The first opener creates the queues: a short expiry so the killed worker's job comes back within the test.
  queue = await JobQueue.open({ url, expireInSeconds: { scan: EXPIRE_SECONDS }, retryDelaySeconds: 1, retryLimit: 3, maintenanceIntervalSeconds: 1 });
}, 600_000);

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await queue?.stop({ graceful: false });
  await store?.close();
  await postgres?.stop();
});

describe('distill worker × 3 over 50 scan jobs on PostgreSQL', () => {
  it('does every job exactly once, and a job of a SIGKILLed worker is finished by another', async () => {
    let victim: { worker: Worker; jobId: string } | undefined;
    const heavyIds = new Set<string>();
    const onStart = (event: Event, worker: Worker) => {
      // Kill the first worker seen starting a heavy job, while it runs (those scans take seconds).
      if (victim === undefined && event.kind === 'job-start' && heavyIds.has(event.id)) {
        victim = { worker, jobId: event.id };
        worker.child.kill('SIGKILL');
      }
    };
    const names = ['w1', 'w2', 'w3'];
    for (const name of names) startWorker(name, [onStart]);
    await Promise.all(workers.map((w) => w.ready));

    // Heavy jobs first (real stock nginx archive, 118 packages); then SBOM files and the Python root filesystem.
    const specs: JobSpec[] = [];
    for (let i = 0; i < JOBS; i++) {
      if (i < HEAVY) specs.push({ kind: 'scan', reference: `docker-archive:${stockNginx}`, image: 'nginx', role: 'stock', reason: `job ${i}` });
      else if (i % 2 === 0) specs.push({ kind: 'scan', reference: `sbom:${sbomFile}`, image: `img-${i % 5}`, role: 'minimal', reason: `job ${i}` });
      else specs.push({ kind: 'scan', reference: `dir:${pythonRoot()}`, image: `img-${i % 5}`, role: 'other', reason: `job ${i}` });
    }
    const ids: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const id = await queue.enqueue(spec);
      if (i < HEAVY) heavyIds.add(id);
      ids.push(id);
    }

    // Wait until the queue has completed every job (the killed one comes back after its expiry).
    const deadline = Date.now() + 240_000;
    for (;;) {
      const states = await Promise.all(ids.map((id) => queue.status('scan', id)));
      if (states.every((s) => s?.state === 'completed')) break;
      if (states.some((s) => s?.state === 'failed')) throw new Error(`a job failed: ${JSON.stringify(states.find((s) => s?.state === 'failed'))}\n${workers.map((w) => w.stderr).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`jobs left: ${states.filter((s) => s?.state !== 'completed').map((s) => `${s?.id} ${s?.state}`).join(', ')}\n${workers.map((w) => w.stderr).join('\n')}`);
      await new Promise((done) => setTimeout(done, 500));
    }

    // The victim died mid-job: it started the job and never finished it; another worker did, on a retry.
    expect(victim).toBeDefined();
    const { worker: dead, jobId } = victim!;
    expect(await dead.exited).toBeNull();
    expect(dead.child.signalCode).toBe('SIGKILL');
    expect(dead.events.some((e) => e.kind === 'job-done' && e.id === jobId)).toBe(false);
    const rescued = workers.filter((w) => w !== dead).flatMap((w) => w.events.filter((e) => e.kind === 'job-done' && e.id === jobId).map(() => w.name));
    expect(rescued).toHaveLength(1);
    const status = await queue.status('scan', jobId);
    expect(status?.retryCount).toBeGreaterThanOrEqual(1);
    const restart = workers.flatMap((w) => w.events).find((e) => e.kind === 'job-start' && e.id === jobId && e.attempt > 1);
    expect(restart).toBeDefined();

    // Exactly once: one completion per job across the workers, one scan row and one event row per job.
    const done = workers.flatMap((w) => w.events.filter((e): e is Extract<Event, { kind: 'job-done' }> => e.kind === 'job-done'));
    expect(done.map((e) => e.id).sort()).toEqual([...ids].sort());
    const scans = await store.listScans();
    expect(scans).toHaveLength(JOBS);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const keys = await client.query("SELECT idem_key, COUNT(*)::int AS n FROM scans GROUP BY idem_key");
      expect(keys.rows).toHaveLength(JOBS);
      expect(keys.rows.every((row: { n: number }) => row.n === 1)).toBe(true);
      expect(new Set(keys.rows.map((row: { idem_key: string }) => row.idem_key))).toEqual(new Set(ids.map((id) => `job:${id}:scan`)));
      const events = await client.query("SELECT COUNT(*)::int AS n FROM events WHERE kind = 'scan'");
      expect(events.rows[0].n).toBe(JOBS);
      const findings = await client.query('SELECT COUNT(*)::int AS n FROM findings');
      expect(findings.rows[0].n).toBe(scans.reduce((sum, s) => sum + s.summary.total, 0));
    } finally {
      await client.end();
    }
    // The job output is the result the worker stored.
    for (const event of done) expect((await queue.status('scan', event.id))?.output).toEqual(event.result);

    // The stored results are what the scanner says about the same inputs (the library in this process as oracle).
    const vulnStore = openVulnDb(vulnDb, { readonly: true });
    try {
      for (const reference of [`sbom:${sbomFile}`, `dir:${pythonRoot()}`, `docker-archive:${stockNginx}`]) {
        const direct = await scanSource(reference, { store: vulnStore, now: FIXTURE_NOW });
        const stored = scans.filter((s) => s.subject === reference);
        expect(stored.length).toBeGreaterThan(0);
        for (const s of stored) expect(s.summary).toEqual(direct.report.summary);
        const full = await store.getScan(stored[0]!.id);
        expect(full?.report.findings.map((f) => f.vulnId)).toEqual(direct.report.findings.map((f) => f.vulnId));
      }
    } finally {
      vulnStore.close();
    }
    // The two survivors shared the work.
    const byWorker = new Map(workers.map((w) => [w.name, w.events.filter((e) => e.kind === 'job-done').length]));
    expect([...byWorker.values()].filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    for (const worker of workers.filter((w) => w !== dead)) {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
  }, 400_000);

  it('opens from several processes at once on a new database (pg-boss queue creation deadlocked without the lock)', async () => {
    const fresh = await postgres.createDatabase('fresh_fleet');
    const opened = await Promise.all(Array.from({ length: 4 }, () => JobQueue.open({ url: fresh })));
    try {
      const client = new pg.Client({ connectionString: fresh });
      await client.connect();
      try {
        const queues = await client.query('SELECT name FROM pgboss.queue ORDER BY name');
        expect(queues.rows.map((row: { name: string }) => row.name)).toEqual(['distill-build', 'distill-rescan', 'distill-scan']);
      } finally {
        await client.end();
      }
      const id = await opened[1]!.enqueue({ kind: 'rescan', scanId: 'x' });
      expect((await opened[3]!.status('rescan', id))?.state).toBe('created');
    } finally {
      await Promise.all(opened.map((q) => q.stop({ graceful: false })));
    }
    await expect(JobQueue.open({ url: 'sqlite:/tmp/x.db' })).rejects.toMatchObject({ code: 'DATABASE_URL_INVALID' });
    await expect(queue.enqueue({ kind: 'scan' } as JobSpec)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(queue.enqueue({ kind: 'drop tables' } as unknown as JobSpec)).rejects.toMatchObject({ code: 'USAGE' });
  }, 120_000);
});
