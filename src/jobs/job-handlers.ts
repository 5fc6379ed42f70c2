/** @module jobs/job-handlers — run one job: call the scanner or the builder, store the results through the AppStore under keys derived from the job id, so a retried job writes nothing twice. */
import { join } from 'node:path';
import { buildImage, type BuildOptions } from '../build/build.js';
import { loadRecipe } from '../build/recipe/recipe.js';
import { DistillError } from '../errors.js';
import type { Platform } from '../oci/platform.js';
import { scanSbom, scanSource, type ScanOutcome } from '../report/scan-source.js';
import type { Sbom } from '../sbom/package.js';
import type { AppStore, BuildPackage, ScanHeader, ScanRole } from '../storage/app-store.js';
import { vulnDbDigest } from '../storage/app/db-digest.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import type { BuildJob, JobResult, JobSpec, RescanJob, ScanJob } from './job-types.js';

export interface JobContext {
  store: AppStore;
  /** The vulnerability DB file; opened per job, so a DB replaced by `distill db update` is picked up. */
  vulnDbPath: string;
  tool: { name: string; version: string };
  /** Platform picked from multi-platform indexes (the CLI passes the host's). */
  platform?: Platform;
  /** What build jobs need: the builder's options and where images are written (`<outputDir>/<name>`, an OCI layout). */
  build?: Omit<BuildOptions, 'output' | 'archs' | 'onProgress' | 'locked'> & { outputDir: string };
  now?: () => Date;
}

/** Opens the current vulnerability DB for one piece of work. */
export async function withVulnDb<T>(path: string, fn: (store: VulnStore, dbDigest: string) => Promise<T>): Promise<T> {
  const store = openVulnDb(path, { readonly: true });
  try {
    return await fn(store, vulnDbDigest(store.feeds()));
  } finally {
    store.close();
  }
}

/**
 * The SBOM as the catalogers left it: a stored SBOM also carries the matcher's issues of its scan (no data for a
 * namespace, a failed match), which the new DB may no longer have; scanSbom adds the current ones again.
 */
export function withoutMatchIssues(sbom: Sbom): Sbom {
  return { ...sbom, issues: sbom.issues.filter((issue) => issue.source !== 'match' && !(issue.code === 'PARSE_FAILED' && issue.message.startsWith('matching '))) };
}

async function storeScan(
  ctx: JobContext,
  outcome: ScanOutcome,
  input: { key: string; image?: string; role: ScanRole; subject: string; reason: string; dbDigest: string; rescanOf?: string },
): Promise<ScanHeader> {
  return ctx.store.addScan({
    key: input.key,
    ...(input.image !== undefined ? { image: input.image } : {}),
    role: input.role,
    subject: input.subject,
    ...(outcome.sbom.subject.digest !== undefined ? { digest: outcome.sbom.subject.digest } : {}),
    dbDigest: input.dbDigest,
    reason: input.reason,
    ...(input.rescanOf !== undefined ? { rescanOf: input.rescanOf } : {}),
    report: outcome.report,
    sbom: outcome.sbom,
  });
}

export async function runScanJob(job: ScanJob, key: string, ctx: JobContext): Promise<JobResult> {
  const now = ctx.now?.() ?? new Date();
  return withVulnDb(ctx.vulnDbPath, async (vulnStore, dbDigest) => {
    const options = { store: vulnStore, now, tool: ctx.tool, ...(ctx.platform ? { defaultPlatform: ctx.platform } : {}) };
    const outcome = job.sbom !== undefined ? scanSbom(job.sbom, options) : await scanSource(job.reference!, options);
    const subject = job.subject ?? job.reference ?? outcome.sbom.subject.reference;
    if (job.image !== undefined) await ctx.store.upsertImage({ name: job.image });
    const header = await storeScan(ctx, outcome, { key: `${key}:scan`, image: job.image, role: job.role ?? (job.sbom ? 'upload' : 'other'), subject, reason: job.reason ?? 'manual', dbDigest });
    const event = await ctx.store.addEvent({
      key: `${key}:event`,
      kind: 'scan',
      ...(job.image !== undefined ? { image: job.image } : {}),
      message: `scanned ${subject}: ${header.summary.total} findings (${header.summary.kev} in KEV)`,
      details: { scanId: header.id, total: header.summary.total, kev: header.summary.kev, dbDigest },
    });
    return { kind: 'scan', scanIds: [header.id], buildIds: [], eventIds: [event.id] };
  });
}

/**
 * Re-runs a stored SBOM against the current DB. A scan already made with this DB is skipped; the key includes the
 * DB digest, so the same scan is rescanned again after the next DB change, and never twice for one DB.
 */
export async function rescanStored(ctx: JobContext, scanId: string, reason?: string): Promise<JobResult> {
  return (await rescanWithHeader(ctx, scanId, reason)).result;
}

/** rescanStored, also returning the new scan's header (absent when skipped). */
export async function rescanWithHeader(ctx: JobContext, scanId: string, reason?: string): Promise<{ result: JobResult; header?: ScanHeader }> {
  const previous = await ctx.store.getScan(scanId);
  if (!previous) throw new DistillError('SOURCE_NOT_FOUND', `no stored scan ${scanId}`, { subject: scanId, hint: 'list scans with GET /api/scans' });
  const now = ctx.now?.() ?? new Date();
  return withVulnDb(ctx.vulnDbPath, async (vulnStore, dbDigest) => {
    if (previous.dbDigest === dbDigest) return { result: { kind: 'rescan', scanIds: [], buildIds: [], eventIds: [], skipped: true } };
    const outcome = scanSbom(withoutMatchIssues(previous.sbom), { store: vulnStore, now, tool: ctx.tool });
    // Keyed by (scan, DB), not by who asked: a rescan job and the watcher never store the same rescan twice.
    const key = `rescan:${scanId}:${dbDigest}`;
    const header = await storeScan(ctx, outcome, {
      key: `${key}:scan`,
      image: previous.image,
      role: previous.role,
      subject: previous.subject,
      reason: reason ?? 'rescan: vulnerability DB changed',
      dbDigest,
      rescanOf: previous.id,
    });
    const before = previous.summary;
    const after = header.summary;
    const event = await ctx.store.addEvent({
      key: `${key}:event`,
      kind: 'rescan',
      ...(previous.image !== undefined ? { image: previous.image } : {}),
      message: `rescanned ${previous.subject} with the new vulnerability DB: ${before.total} → ${after.total} findings (KEV ${before.kev} → ${after.kev})`,
      details: { scanId: header.id, rescanOf: previous.id, before: { total: before.total, kev: before.kev, bySeverity: before.bySeverity }, after: { total: after.total, kev: after.kev, bySeverity: after.bySeverity }, fromDb: previous.dbDigest, toDb: dbDigest },
    });
    return { result: { kind: 'rescan', scanIds: [header.id], buildIds: [], eventIds: [event.id] }, header };
  });
}

export function runRescanJob(job: RescanJob, _key: string, ctx: JobContext): Promise<JobResult> {
  return rescanStored(ctx, job.scanId, job.reason);
}

export interface BuiltAndStored {
  result: JobResult;
  /** Per architecture: the stored build and the scan of what was built. */
  builds: { arch: string; buildId: string; scanId: string; digest: string }[];
}

/** Builds a recipe into `<outputDir>/<name>`, stores one BuildRecord per architecture and scans each built image. */
export async function buildAndStore(
  ctx: JobContext,
  input: { recipe: string; archs?: string[]; reason: string; key: string; eventKind?: 'build' | 'packages-changed'; eventMessage?: string; eventDetails?: Record<string, unknown> },
): Promise<BuiltAndStored> {
  if (!ctx.build) throw new DistillError('USAGE', 'this worker was started without build settings', { hint: 'give the worker a cache directory and an output directory' });
  const { outputDir, ...buildOptions } = ctx.build;
  const recipe = loadRecipe(input.recipe);
  const layout = join(outputDir, recipe.name);
  const built = await buildImage(input.recipe, { ...buildOptions, ...(input.archs ? { archs: input.archs } : {}), output: `oci:${layout}` });
  await ctx.store.upsertImage({ name: recipe.name, recipe: input.recipe, ...(recipe.replaces?.image ? { replaces: recipe.replaces.image } : {}), ...(recipe.description ? { description: recipe.description } : {}) });
  const builds: BuiltAndStored['builds'] = [];
  const scanIds: string[] = [];
  const buildIds: string[] = [];
  for (const [index, arch] of built.archs.entries()) {
    const digest = built.manifestDigests[index] ?? built.digest;
    const packages: BuildPackage[] = arch.packages.map((p) => ({ name: p.name, version: p.version, arch: p.architecture }));
    const build = await ctx.store.addBuild({ key: `${input.key}:build:${arch.arch}`, image: recipe.name, digest, arch: arch.arch, packages, compressedBytes: arch.compressedSize, uncompressedBytes: arch.uncompressedSize, reason: input.reason });
    const scan = await withVulnDb(ctx.vulnDbPath, async (vulnStore, dbDigest) => {
      const outcome = await scanSource(`oci:${layout}`, { store: vulnStore, now: ctx.now?.() ?? new Date(), tool: ctx.tool, platform: { os: 'linux', architecture: arch.arch } });
      return storeScan(ctx, outcome, { key: `${input.key}:scan:${arch.arch}`, image: recipe.name, role: 'minimal', subject: `oci:${layout}`, reason: `build ${build.id}`, dbDigest });
    });
    builds.push({ arch: arch.arch, buildId: build.id, scanId: scan.id, digest });
    buildIds.push(build.id);
    scanIds.push(scan.id);
  }
  const event = await ctx.store.addEvent({
    key: `${input.key}:event`,
    kind: input.eventKind ?? 'build',
    image: recipe.name,
    message: input.eventMessage ?? `built ${recipe.name} (${built.archs.map((a) => a.arch).join(', ')}): ${built.digest}`,
    details: { ...(input.eventDetails ?? {}), digest: built.digest, builds },
  });
  return { result: { kind: 'build', scanIds, buildIds, eventIds: [event.id] }, builds };
}

export async function runBuildJob(job: BuildJob, key: string, ctx: JobContext): Promise<JobResult> {
  return (await buildAndStore(ctx, { recipe: job.recipe, ...(job.archs ? { archs: job.archs } : {}), reason: job.reason ?? 'manual', key })).result;
}

/** Runs one job; `key` is stable across retries of the same job (the queue's job id). */
export function runJob(job: JobSpec, key: string, ctx: JobContext): Promise<JobResult> {
  switch (job.kind) {
    case 'scan':
      return runScanJob(job, key, ctx);
    case 'build':
      return runBuildJob(job, key, ctx);
    case 'rescan':
      return runRescanJob(job, key, ctx);
  }
}
