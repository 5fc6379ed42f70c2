/** @module jobs/job-types — what a job asks for (scan, build, rescan), what it produced, and the worker's progress events. */
import { DistillError } from '../errors.js';
import type { Sbom } from '../sbom/package.js';
import type { ScanRole } from '../storage/app-store.js';

export const JOB_KINDS = ['scan', 'build', 'rescan'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Scan an image reference (`docker-archive:…`, `oci:…`, `sbom:FILE`, …) or an SBOM carried in the job itself. */
export interface ScanJob {
  kind: 'scan';
  /** A reference the worker can read (a shared path or a registry). Exactly one of reference and sbom. */
  reference?: string;
  /** An SBOM (an upload), so the worker needs no shared disk. */
  sbom?: Sbom;
  /** What to call it in lists when sbom is given (the upload's file name); default the reference. */
  subject?: string;
  image?: string;
  role?: ScanRole;
  reason?: string;
}

/** Build a recipe (a path the worker can read), store each architecture's build, scan what was built. */
export interface BuildJob {
  kind: 'build';
  recipe: string;
  archs?: string[];
  reason?: string;
}

/** Re-run a stored scan's SBOM against the worker's current vulnerability DB, without rebuilding. */
export interface RescanJob {
  kind: 'rescan';
  scanId: string;
  reason?: string;
}

export type JobSpec = ScanJob | BuildJob | RescanJob;

export interface JobResult {
  kind: JobKind;
  /** Scans stored (one per scan job, one per built architecture, one per rescan). */
  scanIds: string[];
  buildIds: string[];
  eventIds: string[];
  /** True when a rescan found the scan already at the current DB and wrote nothing. */
  skipped?: boolean;
}

export type WorkerEvent =
  | { kind: 'job-start'; id: string; job: JobKind; attempt: number; worker: number }
  | { kind: 'job-done'; id: string; job: JobKind; worker: number; ms: number; result: JobResult }
  | { kind: 'job-failed'; id: string; job: JobKind; worker: number; ms: number; code: string; message: string };

const MAX_TEXT = 4096;

function text(value: unknown, field: string, optional: boolean): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT) {
    throw new DistillError('USAGE', `job field ${field} must be a non-empty string of at most ${MAX_TEXT} characters`, { subject: field });
  }
  return value;
}

/** Checks a job's data (it crossed a database, so it is input like any other). */
export function parseJobSpec(value: unknown): JobSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DistillError('USAGE', 'job data must be an object', { subject: 'job' });
  const data = value as Record<string, unknown>;
  const optional = (field: string) => text(data[field], field, true);
  const role = optional('role');
  if (role !== undefined && !['minimal', 'stock', 'upload', 'other'].includes(role)) throw new DistillError('USAGE', `unknown scan role ${JSON.stringify(role)}`, { subject: 'role' });
  switch (data.kind) {
    case 'scan': {
      const reference = optional('reference');
      const sbom = data.sbom;
      if ((reference === undefined) === (sbom === undefined)) throw new DistillError('USAGE', 'a scan job takes exactly one of reference and sbom', { subject: 'job' });
      if (sbom !== undefined && (typeof sbom !== 'object' || sbom === null || !Array.isArray((sbom as Sbom).packages))) throw new DistillError('SBOM_INVALID', 'the job SBOM has no package list', { subject: 'sbom' });
      return defined<ScanJob>({ kind: 'scan', reference, sbom: sbom as Sbom | undefined, subject: optional('subject'), image: optional('image'), role: role as ScanRole | undefined, reason: optional('reason') });
    }
    case 'build': {
      const archs = data.archs;
      if (archs !== undefined && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string' && /^[a-z0-9]+$/.test(a)))) throw new DistillError('USAGE', 'job field archs must be a list of architecture names', { subject: 'archs' });
      return defined<BuildJob>({ kind: 'build', recipe: text(data.recipe, 'recipe', false)!, archs: archs as string[] | undefined, reason: optional('reason') });
    }
    case 'rescan':
      return defined<RescanJob>({ kind: 'rescan', scanId: text(data.scanId, 'scanId', false)!, reason: optional('reason') });
    default:
      throw new DistillError('USAGE', `unknown job kind ${JSON.stringify(data.kind)}`, { subject: 'kind', hint: `one of ${JOB_KINDS.join(', ')}` });
  }
}

function defined<T>(object: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
