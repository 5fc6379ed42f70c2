/** @module jobs/job-queue — the build/scan queue on PostgreSQL (pg-boss 10): enqueue jobs, run workers with retry after failure or a lost worker (expiry), report job states. */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { DistillError } from '../errors.js';
import { runJob, type JobContext } from './job-handlers.js';
import { JOB_KINDS, parseJobSpec, type JobKind, type JobResult, type JobSpec, type WorkerEvent } from './job-types.js';

/** One pg-boss queue per job kind, so a slow build never waits behind scans or holds their workers. */
export const QUEUE_NAMES: Readonly<Record<JobKind, string>> = { scan: 'distill-scan', build: 'distill-build', rescan: 'distill-rescan' };

/**
 * A job still active after its expiry is failed by pg-boss's maintenance and retried: that is how the job of a
 * worker that died (SIGKILL, lost machine) is done by another. Set it above the longest honest run.
 */
export const DEFAULT_EXPIRE_SECONDS: Readonly<Record<JobKind, number>> = { scan: 15 * 60, build: 60 * 60, rescan: 15 * 60 };

export interface JobQueueOptions {
  /** postgres://… (the same database as the AppStore, or another one). */
  url: string;
  /** Schema pg-boss keeps its tables in (default `pgboss`). */
  schema?: string;
  /** Tries after the first failure (default 3). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  expireInSeconds?: Partial<Record<JobKind, number>>;
  /** How often a worker runs pg-boss maintenance (expiring lost jobs); default 30 s. */
  maintenanceIntervalSeconds?: number;
  /** How often an idle worker looks for work (default 2 s, at least 0.5). */
  pollingIntervalSeconds?: number;
  /** PostgreSQL connections for pg-boss (default 4). */
  maxConnections?: number;
  /** Called with pg-boss's background errors (lost connection, …), which it retries by itself. */
  onError?: (error: Error) => void;
}

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface JobStatus {
  id: string;
  kind: JobKind;
  state: JobState;
  /** Retries so far (0 on the first try). */
  retryCount: number;
  data: JobSpec;
  /** The JobResult once completed, or `{ message, code }` once failed. */
  output?: unknown;
  createdOn: string;
  startedOn?: string;
  completedOn?: string;
}

export interface WorkOptions {
  /** Jobs of each kind this process runs at once (default 1): fetched only when a loop is free, so nothing is hoarded. */
  concurrency?: number;
  kinds?: readonly JobKind[];
  onEvent?: (event: WorkerEvent) => void;
}

function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof DistillError) return { code: error.code, message: error.message };
  return { code: 'JOB_FAILED', message: error instanceof Error ? error.message : String(error) };
}

/** Advisory lock id ("dstq") held while creating the queues. */
const QUEUE_CREATION_LOCK = 0x64737471;

/**
 * pg-boss creates each queue as a partition of its job table; two processes doing that at once deadlock in
 * PostgreSQL (seen with two workers starting together on a new database), so creation runs under a session
 * advisory lock on a connection of its own, and existing queues are left alone (the first creator's settings win).
 */
async function createQueues(boss: PgBoss, options: JobQueueOptions): Promise<void> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [QUEUE_CREATION_LOCK]);
    for (const kind of JOB_KINDS) {
      if (await boss.getQueue(QUEUE_NAMES[kind])) continue;
      await boss.createQueue(QUEUE_NAMES[kind], {
        name: QUEUE_NAMES[kind],
        retryLimit: options.retryLimit ?? 3,
        retryDelay: options.retryDelaySeconds ?? 5,
        expireInSeconds: options.expireInSeconds?.[kind] ?? DEFAULT_EXPIRE_SECONDS[kind],
      });
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [QUEUE_CREATION_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

export class JobQueue {
  private workers = 0;

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: JobQueueOptions,
  ) {}

  /** Connects, installs or migrates pg-boss's schema (under its own lock) and creates the queues. */
  static async open(options: JobQueueOptions): Promise<JobQueue> {
    if (!/^postgres(ql)?:\/\//i.test(options.url)) {
      throw new DistillError('DATABASE_URL_INVALID', 'the job queue needs a PostgreSQL URL (postgres://…)', { hint: 'set DISTILL_DATABASE_URL to the fleet database' });
    }
    const boss = new PgBoss({
      connectionString: options.url,
      schema: options.schema ?? 'pgboss',
      max: options.maxConnections ?? 4,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 30,
      // Cron schedules are not used; no clock-skew monitor either.
      schedule: false,
    });
    boss.on('error', (error: Error) => options.onError?.(error));
    try {
      await boss.start();
    } catch (error) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      throw new DistillError('STORE_UNAVAILABLE', `cannot start the job queue: ${(error as Error).message}`, { cause: error, hint: 'check DISTILL_DATABASE_URL and that PostgreSQL is running' });
    }
    try {
      await createQueues(boss, options);
    } catch (error) {
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => undefined);
      throw error;
    }
    return new JobQueue(boss, options);
  }

  /** Queues a job and returns its id (the job's results are stored under keys derived from it). */
  async enqueue(job: JobSpec): Promise<string> {
    const spec = parseJobSpec(job);
    const id = await this.boss.send(QUEUE_NAMES[spec.kind], spec as unknown as object);
    if (id === null) throw new DistillError('JOB_FAILED', `the ${spec.kind} job was not queued`, { hint: 'check the queue with `distill worker --help`' });
    return id;
  }

  async status(kind: JobKind, id: string): Promise<JobStatus | undefined> {
    const job = await this.boss.getJobById<JobSpec>(QUEUE_NAMES[kind], id, { includeArchive: true });
    if (!job) return undefined;
    return {
      id: job.id,
      kind,
      state: job.state,
      retryCount: job.retryCount,
      data: job.data,
      ...(job.output !== null && job.output !== undefined ? { output: job.output } : {}),
      createdOn: new Date(job.createdOn).toISOString(),
      ...(job.startedOn ? { startedOn: new Date(job.startedOn).toISOString() } : {}),
      ...(job.completedOn ? { completedOn: new Date(job.completedOn).toISOString() } : {}),
    };
  }

  /** Jobs waiting or running per kind. */
  async pending(): Promise<Record<JobKind, number>> {
    const out = {} as Record<JobKind, number>;
    for (const kind of JOB_KINDS) out[kind] = await this.boss.getQueueSize(QUEUE_NAMES[kind], { before: 'completed' });
    return out;
  }

  /**
   * Starts `concurrency` polling loops per kind in this process, each fetching one job at a time. A handler that throws fails the attempt and
   * pg-boss retries it (retryLimit); effects are keyed by the job id, so a retry never stores anything twice.
   */
  async work(ctx: JobContext, options: WorkOptions = {}): Promise<void> {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    const kinds = options.kinds ?? JOB_KINDS;
    for (const kind of kinds) {
      for (let loop = 0; loop < concurrency; loop++) {
        const worker = ++this.workers;
        await this.boss.work<JobSpec>(
          QUEUE_NAMES[kind],
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: Math.max(0.5, this.options.pollingIntervalSeconds ?? 2) },
          async (jobs) => {
            const job = jobs[0];
            if (!job) return undefined;
            const started = Date.now();
            try {
              options.onEvent?.({ kind: 'job-start', id: job.id, job: kind, attempt: job.retryCount + 1, worker });
              const result: JobResult = await runJob(parseJobSpec(job.data), `job:${job.id}`, ctx);
              options.onEvent?.({ kind: 'job-done', id: job.id, job: kind, worker, ms: Date.now() - started, result });
              return result;
            } catch (error) {
              const info = errorInfo(error);
              options.onEvent?.({ kind: 'job-failed', id: job.id, job: kind, worker, ms: Date.now() - started, ...info });
              // pg-boss records the thrown error as the job's output and schedules the retry.
              throw Object.assign(new Error(info.message), { code: info.code });
            }
          },
        );
      }
    }
  }

  /** Stops fetching; with graceful (default) waits up to timeoutMs for running jobs, then closes the connections. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const graceful = options.graceful ?? true;
    await this.boss.stop({ graceful, timeout: options.timeoutMs ?? 30_000, wait: true, close: true });
  }
}
