/** @module cli/enqueue-command — `distill enqueue scan|build|rescan`: put a job on the fleet queue for `distill worker`, optionally wait for its result. */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DistillError } from '../errors.js';
import { JobQueue, type JobStatus } from '../jobs/job-queue.js';
import type { JobKind, JobSpec } from '../jobs/job-types.js';
import type { ScanRole } from '../storage/app-store.js';
import { fleetDatabaseUrl } from './worker-command.js';

interface EnqueueFlags {
  databaseUrl?: string;
  wait?: boolean;
  timeout: number;
  format: 'text' | 'json';
}

function seconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected whole seconds, at least 1');
  return Number(value);
}

async function submit(spec: JobSpec, flags: EnqueueFlags): Promise<void> {
  const queue = await JobQueue.open({ url: fleetDatabaseUrl(flags.databaseUrl) });
  try {
    const id = await queue.enqueue(spec);
    let status: JobStatus | undefined;
    if (flags.wait) {
      const deadline = Date.now() + flags.timeout * 1000;
      for (;;) {
        status = await queue.status(spec.kind as JobKind, id);
        if (status?.state === 'completed' || status?.state === 'failed' || status?.state === 'cancelled') break;
        if (Date.now() > deadline) throw new DistillError('JOB_FAILED', `job ${id} did not finish within ${flags.timeout} s (state ${status?.state ?? 'unknown'})`, { subject: id, hint: 'is a `distill worker` running against this database?' });
        await new Promise((done) => setTimeout(done, 500));
      }
    }
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify(status ? { id, kind: spec.kind, state: status.state, retryCount: status.retryCount, output: status.output ?? null } : { id, kind: spec.kind, state: 'created' })}\n`);
    else process.stdout.write(`${spec.kind} job ${id}${status ? ` ${status.state}${status.retryCount ? ` after ${status.retryCount} retries` : ''}: ${JSON.stringify(status.output ?? null)}` : ' queued'}\n`);
    if (status?.state === 'failed') throw new DistillError('JOB_FAILED', `job ${id} failed: ${JSON.stringify(status.output ?? null)}`, { subject: id });
  } finally {
    await queue.stop({ graceful: false });
  }
}

function common(command: Command): Command {
  return command
    .option('--database-url <url>', 'fleet database (default: $DISTILL_DATABASE_URL)')
    .option('--wait', 'wait for a worker to finish the job and print its result')
    .option('--timeout <seconds>', 'with --wait: give up after this long', seconds, 3600)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
}

export function registerEnqueueCommand(program: Command): void {
  const enqueue = program
    .command('enqueue')
    .description('queue a scan, build or rescan job for `distill worker` (PostgreSQL from DISTILL_DATABASE_URL)')
    .addHelpText(
      'after',
      `
Examples:
  distill enqueue scan docker-archive:/shared/nginx.tar --image nginx --role stock
  distill enqueue build images/nginx.yaml --wait
  distill enqueue rescan 0mx7n3nj30000119d9a32978c3 --wait --format json

References and recipe paths must be readable by the workers (a shared path or a registry). See docs/fleet.md.`,
    );
  common(
    enqueue
      .command('scan')
      .description('scan an image reference or sbom:FILE and store the result')
      .argument('<reference>', 'oci:DIR | oci-archive:FILE | docker-archive:FILE | dir:PATH | sbom:FILE, as the workers see it')
      .option('--image <name>', 'file the scan under this image')
      .addOption(new Option('--role <role>', 'what the scan is of, relative to the image').choices(['minimal', 'stock', 'upload', 'other']).default('other'))
      .option('--reason <text>', 'why it runs (shown in the history)', 'manual'),
  ).action((reference: string, flags: EnqueueFlags & { image?: string; role: ScanRole; reason: string }) =>
    submit({ kind: 'scan', reference, role: flags.role, reason: flags.reason, ...(flags.image !== undefined ? { image: flags.image } : {}) }, flags),
  );
  common(
    enqueue
      .command('build')
      .description('build a recipe, store the build, scan what was built')
      .argument('<recipe>', 'recipe path, as the workers see it')
      .option('--arch <arch>', 'architectures (repeatable; default the recipe\'s)', (value: string, all: string[]) => [...all, value], [] as string[])
      .option('--reason <text>', 'why it runs (shown in the history)', 'manual'),
  ).action((recipe: string, flags: EnqueueFlags & { arch: string[]; reason: string }) =>
    submit({ kind: 'build', recipe: resolve(recipe), reason: flags.reason, ...(flags.arch.length > 0 ? { archs: flags.arch } : {}) }, flags),
  );
  common(
    enqueue
      .command('rescan')
      .description("re-run a stored scan's SBOM against the worker's current vulnerability DB")
      .argument('<scan-id>', 'a stored scan id')
      .option('--reason <text>', 'why it runs (shown in the history)'),
  ).action((scanId: string, flags: EnqueueFlags & { reason?: string }) => submit({ kind: 'rescan', scanId, ...(flags.reason !== undefined ? { reason: flags.reason } : {}) }, flags));
}
