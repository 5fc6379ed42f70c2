/** @module feeds/import-files — imports a set of detected feed files, several files per feed, with one provenance per feed. */
import { createHash } from 'node:crypto';
import type { Issue } from '../errors.js';
import type { FeedName, FeedProvenance } from '../vuln/vulnerability.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import { importAlpineSecdb } from './alpine-secdb.js';
import { importDebianTracker } from './debian-tracker.js';
import { importEpss } from './epss.js';
import type { FeedImportOptions, FeedImportResult, FeedInput } from './feed-input.js';
import type { DetectedFeedFile, FeedFileFormat } from './import-dir.js';
import { importKev } from './kev.js';
import { importNvd } from './nvd.js';
import { importOsv } from './osv.js';

type Importer = (input: FeedInput, writer: VulnStoreWriter, options: FeedImportOptions) => Promise<FeedImportResult>;

const IMPORTERS: Record<FeedFileFormat, Importer> = {
  'debian-tracker-json': importDebianTracker,
  'osv-zip': importOsv,
  'osv-json': importOsv,
  'osv-yaml': importOsv,
  'alpine-secdb-json': importAlpineSecdb,
  'nvd-json': importNvd,
  'epss-csv': importEpss,
  'kev-json': importKev,
};

export interface ImportFilesOptions {
  fetchedAt: Date;
  /** The URL a file was downloaded from, for provenance (default: its path). */
  originOf?: (file: DetectedFeedFile) => string;
  onFile?: (file: DetectedFeedFile, index: number, count: number) => void;
}

export interface ImportFilesResult {
  provenance: FeedProvenance[];
  results: FeedImportResult[];
  issues: Issue[];
}

/**
 * Imports every file into `writer`. Files of one feed are combined: the writer is expected to have that
 * feed cleared already (the DB lifecycle does it), each file is imported with `replaceFeed: false`, and one
 * provenance per feed sums the records, takes the newest record date and digests the per-file digests.
 * Parse failures of a file propagate (the lifecycle then keeps the previous DB).
 */
export async function importFeedFiles(files: readonly DetectedFeedFile[], writer: VulnStoreWriter, options: ImportFilesOptions): Promise<ImportFilesResult> {
  const byFeed = new Map<FeedName, { file: DetectedFeedFile; result: FeedImportResult }[]>();
  const results: FeedImportResult[] = [];
  const ordered = [...files].sort((a, b) => (a.feed < b.feed ? -1 : a.feed > b.feed ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const [index, file] of ordered.entries()) {
    options.onFile?.(file, index, ordered.length);
    const origin = options.originOf?.(file) ?? file.path;
    const result = await IMPORTERS[file.format](file.path, writer, { origin, fetchedAt: options.fetchedAt, replaceFeed: false });
    results.push(result);
    const list = byFeed.get(file.feed) ?? [];
    list.push({ file, result });
    byFeed.set(file.feed, list);
  }
  const provenance: FeedProvenance[] = [];
  for (const [feed, list] of byFeed) {
    const digest = createHash('sha256');
    for (const { result } of list) digest.update(result.digest).update('\n');
    const dates = list.flatMap(({ result }) => (result.recordDate ? [result.recordDate] : [])).sort();
    const origins = [...new Set(list.map(({ file }) => options.originOf?.(file) ?? file.path))];
    const entry: FeedProvenance = {
      feed,
      origin: origins.length === 1 ? origins[0]! : `${commonPrefix(origins)} (${origins.length} files)`,
      fetchedAt: options.fetchedAt.toISOString(),
      digest: list.length === 1 ? list[0]!.result.digest : `sha256:${digest.digest('hex')}`,
      records: list.reduce((sum, { result }) => sum + result.records, 0),
    };
    const newest = dates.at(-1);
    if (newest !== undefined) entry.recordDate = newest;
    writer.setProvenance(entry);
    provenance.push(entry);
  }
  return { provenance, results, issues: results.flatMap((result) => result.issues) };
}

/** The longest shared leading path (or URL) of several origins, cut at a `/`: `/feeds/pypa/vulns`. */
function commonPrefix(origins: readonly string[]): string {
  let prefix = origins[0]!;
  for (const origin of origins) while (!origin.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('/');
  return cut > 0 && !origins.every((origin) => origin === prefix) ? prefix.slice(0, cut) : prefix;
}
