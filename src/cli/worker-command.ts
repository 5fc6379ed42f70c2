/** @module cli/worker-command — `distill worker`: runs queued scan, build and rescan jobs from the PostgreSQL queue into the shared database. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BuildOptions } from '../build/build.js';
import { DistillError } from '../errors.js';
import type { JobContext } from '../jobs/job-handlers.js';
import { JobQueue } from '../jobs/job-queue.js';
import { JOB_KINDS, type JobKind, type WorkerEvent } from '../jobs/job-types.js';
import { openAppStore } from '../storage/app/open-app-store.js';
import { hostAptSources } from './build-command.js';
import { cacheKey } from './cache-key.js';
import { dbPathFrom } from './db-command.js';
import { defaultPlatform } from './environment.js';
import { dataDirFrom } from './serve-command.js';
import { VERSION } from './version.js';

interface WorkerFlags {
  concurrency: number;
  kinds: JobKind[];
  db?: string;
  databaseUrl?: string;
  cache?: string;
  outputDir?: string;
  dataDir?: string;
  poll: number;
  maintenanceInterval: number;
  format: 'text' | 'json';
  quiet?: boolean;
}

/** `--database-url`, else DISTILL_DATABASE_URL; the queue needs PostgreSQL. */
export function fleetDatabaseUrl(flag: string | undefined): string {
  const url = flag ?? process.env.DISTILL_DATABASE_URL;
  if (url === undefined || url === '') {
    throw new DistillError('DATABASE_URL_INVALID', 'distill worker needs the fleet database: DISTILL_DATABASE_URL is not set', { hint: 'export DISTILL_DATABASE_URL=postgres://user@host/distill (the same URL as distill serve)' });
  }
  return url;
}

/** `--cache`, else DISTILL_CACHE, else `$XDG_CACHE_HOME/distill/debs` (the same cache as distill build). */
export function buildCacheDir(flag: string | undefined): string {
  if (flag !== undefined) return resolve(flag);
  const { DISTILL_CACHE, XDG_CACHE_HOME } = process.env;
  if (DISTILL_CACHE) return DISTILL_CACHE;
  return join(XDG_CACHE_HOME || join(homedir(), '.cache'), 'distill', 'debs');
}

/** What build jobs and the watcher hand to the builder, from this machine's apt sources and environment. */
export function buildSettings(cache: string | undefined, outputDir: string): NonNullable<JobContext['build']> {
  const options: Omit<BuildOptions, 'output' | 'archs' | 'onProgress' | 'locked'> & { outputDir: string } = {
    cacheDir: buildCacheDir(cache),
    hostSources: hostAptSources(),
    env: { DISTILL_DEBIAN_MIRROR: process.env.DISTILL_DEBIAN_MIRROR },
    toolVersion: VERSION,
    outputDir,
  };
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) options.sourceDateEpoch = Number(epoch);
  const key = cacheKey();
  if (key !== undefined) options.cacheKey = key;
  return options;
}

function count(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return Number(value);
  };
}

function seconds(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n < min) throw new InvalidArgumentError(`expected seconds, at least ${min}`);
    return n;
  };
}

function kinds(value: string): JobKind[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const kind of list) if (!(JOB_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`unknown job kind "${kind}" (expected ${JOB_KINDS.join(', ')})`);
  return list as JobKind[];
}

function printer(format: 'text' | 'json', quiet: boolean | undefined): (event: WorkerEvent) => void {
  if (format === 'json') return (event) => process.stdout.write(`${JSON.stringify({ ...event, pid: process.pid })}\n`);
  if (quiet) return () => {};
  return (event) => {
    if (event.kind === 'job-start') process.stderr.write(`worker ${event.worker}: ${event.job} ${event.id} started (attempt ${event.attempt})\n`);
    else if (event.kind === 'job-done') process.stderr.write(`worker ${event.worker}: ${event.job} ${event.id} done in ${event.ms} ms${event.result.skipped ? ' (already current)' : ''}: ${[...event.result.buildIds.map((id) => `build ${id}`), ...event.result.scanIds.map((id) => `scan ${id}`)].join(', ')}\n`);
    else process.stderr.write(`worker ${event.worker}: ${event.job} ${event.id} failed after ${event.ms} ms: ${event.message} [${event.code}] (pg-boss retries it)\n`);
  };
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run queued scan, build and rescan jobs from the PostgreSQL queue (any number of workers, on any machines)')
    .option('--concurrency <n>', 'jobs of each kind run at once in this process', count(64), 1)
    .option('--kinds <list>', `job kinds to take (comma-separated: ${JOB_KINDS.join(', ')})`, kinds, [...JOB_KINDS])
    .option('--database-url <url>', 'fleet database (default: $DISTILL_DATABASE_URL); results land where distill serve reads')
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db); reopened per job, so `distill db update` takes effect at once')
    .option('--cache <dir>', 'package download cache for build jobs (default: $DISTILL_CACHE, else $XDG_CACHE_HOME/distill/debs)')
    .option('--output-dir <dir>', 'where build jobs write OCI layouts, one per image (default: <data dir>/images)')
    .option('--data-dir <dir>', 'data dir (default: $DISTILL_DATA_DIR, else $XDG_DATA_HOME/distill)')
    .option('--poll <seconds>', 'how often an idle worker asks for work', seconds(0.5), 2)
    .option('--maintenance-interval <seconds>', 'how often this worker expires jobs of lost workers so they are retried', seconds(1), 30)
    .addOption(new Option('--format <format>', 'text progress on stderr, or one JSON line per job event on stdout').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'no progress output (text format)')
    .addHelpText(
      'after',
      `
Examples:
  export DISTILL_DATABASE_URL=postgres://distill@db.internal/distill
  distill worker --concurrency 2                  # on as many machines as needed
  distill worker --kinds scan,rescan --format json

A job is retried (up to 3 tries after the first) when it fails or when its worker disappears: an active job
past its expiry (scan and rescan 15 min, build 60 min) is failed and queued again. Results are stored under
keys made from the job id, so a retried job never stores a row twice. SIGINT/SIGTERM stop taking jobs and
wait for the running ones. See docs/fleet.md.`,
    )
    .action(async (flags: WorkerFlags) => {
      const url = fleetDatabaseUrl(flags.databaseUrl);
      const store = await openAppStore({ location: url, maxConnections: flags.concurrency * flags.kinds.length + 1 });
      let queue: JobQueue;
      try {
        queue = await JobQueue.open({
          url,
          pollingIntervalSeconds: flags.poll,
          maintenanceIntervalSeconds: flags.maintenanceInterval,
          maxConnections: flags.concurrency * flags.kinds.length + 2,
          onError: (error) => process.stderr.write(`distill worker: queue: ${error.message}\n`),
        });
      } catch (error) {
        await store.close();
        throw error;
      }
      const outputDir = flags.outputDir !== undefined ? resolve(flags.outputDir) : join(dataDirFrom(flags.dataDir), 'images');
      const ctx: JobContext = {
        store,
        vulnDbPath: dbPathFrom(flags.db),
        tool: { name: 'distill', version: VERSION },
        platform: defaultPlatform(),
        build: buildSettings(flags.cache, outputDir),
      };
      await queue.work(ctx, { concurrency: flags.concurrency, kinds: flags.kinds, onEvent: printer(flags.format, flags.quiet) });
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ kind: 'worker-ready', pid: process.pid, concurrency: flags.concurrency, kinds: flags.kinds })}\n`);
      else if (!flags.quiet) process.stderr.write(`distill worker: taking ${flags.kinds.join(', ')} jobs, ${flags.concurrency} at a time each (pid ${process.pid})\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await queue.stop({ graceful: true, timeoutMs: 60_000 });
      await store.close();
    });
}
