/** @module storage/vuln-db-update — `db import` and `db update`: feed files (brought in or downloaded) → atomic DB replacement. */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistillError, type Issue } from '../errors.js';
import { download, downloadNvdPages, type DownloadOptions } from '../feeds/fetch.js';
import { importFeedFiles } from '../feeds/import-files.js';
import { classifyFile, detectFeedFiles, type DetectedFeedFile, type UnknownFeedFile } from '../feeds/import-dir.js';
import { planDownloads, type FeedUrls } from '../feeds/sources.js';
import type { FeedName } from '../vuln/vulnerability.js';
import { replaceVulnDb, type ReplaceVulnDbResult } from './vuln-db-lifecycle.js';

export type UpdateEvent =
  | { kind: 'download'; feed: FeedName; url: string }
  | { kind: 'download-progress'; url: string; bytes: number; total?: number }
  | { kind: 'import'; feed: FeedName; path: string; index: number; count: number };

export interface ImportPathsResult extends ReplaceVulnDbResult {
  files: DetectedFeedFile[];
  unknown: UnknownFeedFile[];
  issues: Issue[];
}

/** Files and directories → the feed files they hold (a file is classified by content; unknown files reported). */
export async function findFeedFiles(paths: readonly string[]): Promise<{ files: DetectedFeedFile[]; unknown: UnknownFeedFile[] }> {
  const files: DetectedFeedFile[] = [];
  const unknown: UnknownFeedFile[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((error: Error) => {
      throw new DistillError('SOURCE_NOT_FOUND', `cannot read ${path}: ${error.message}`, { subject: path, hint: 'give feed files or a directory holding them' });
    });
    if (info.isDirectory()) {
      const found = await detectFeedFiles(path);
      files.push(...found.files);
      unknown.push(...found.unknown);
      continue;
    }
    const classified = await classifyFile(path);
    if ('reason' in classified) unknown.push({ path, reason: classified.reason });
    else files.push({ feed: feedOf(classified.format), path, format: classified.format, compression: classified.compression });
  }
  return { files, unknown };
}

function feedOf(format: DetectedFeedFile['format']): FeedName {
  if (format.startsWith('osv-')) return 'osv';
  if (format === 'debian-tracker-json') return 'debian-tracker';
  if (format === 'alpine-secdb-json') return 'alpine-secdb';
  if (format === 'nvd-json') return 'nvd';
  if (format === 'epss-csv') return 'epss';
  return 'kev';
}

export interface ImportOptions {
  now: Date;
  owner?: string;
  onEvent?: (event: UpdateEvent) => void;
  originOf?: (file: DetectedFeedFile) => string;
}

/** `distill db import PATH…`: the feeds found replace their previous data; other feeds stay. Atomic. */
export async function importPaths(dbPath: string, paths: readonly string[], options: ImportOptions): Promise<ImportPathsResult> {
  const { files, unknown } = await findFeedFiles(paths);
  if (files.length === 0) {
    throw new DistillError('FEED_INVALID', `no feed files found in ${paths.join(', ')}`, {
      hint: 'db import reads Debian tracker JSON, OSV zip/JSON/YAML, Alpine secdb, NVD API pages, EPSS CSV(.gz) and CISA KEV JSON (see docs/db.md)',
    });
  }
  const feeds = [...new Set(files.map((file) => file.feed))].sort();
  let issues: Issue[] = [];
  const result = await replaceVulnDb(
    dbPath,
    async (writer) => {
      const imported = await importFeedFiles(files, writer, {
        fetchedAt: options.now,
        originOf: options.originOf,
        onFile: (file, index, count) => options.onEvent?.({ kind: 'import', feed: file.feed, path: file.path, index, count }),
      });
      issues = imported.issues;
    },
    { feeds, owner: options.owner },
  );
  return { ...result, files, unknown, issues };
}

export interface UpdateOptions extends ImportOptions {
  urls: FeedUrls;
  /** Feeds to fetch (default: all). */
  feeds?: readonly FeedName[];
  /** OSV ecosystems to fetch (default: all distill matches). */
  ecosystems?: readonly string[];
  nvdApiKey?: string;
  /** Proxy environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) as given by the CLI. */
  proxy?: DownloadOptions['proxy'];
  /** Download directory (default: a temp dir removed afterwards). */
  downloadDir?: string;
  download?: Pick<DownloadOptions, 'fetchImpl' | 'retries' | 'timeoutMs' | 'backoffMs' | 'sleep'> & { nvdDelayMs?: number };
}

/**
 * `distill db update`: downloads every chosen feed into a temp directory, then imports them in one atomic
 * replacement. A download failure (no network, HTTP error, truncation) stops before the DB is touched.
 */
export async function updateFromNetwork(dbPath: string, options: UpdateOptions): Promise<ImportPathsResult> {
  const wanted = new Set<FeedName>(options.feeds ?? ['debian-tracker', 'alpine-secdb', 'osv', 'nvd', 'epss', 'kev']);
  const dir = options.downloadDir ?? (await mkdtemp(join(tmpdir(), 'distill-feeds-')));
  const origins = new Map<string, string>();
  const common: DownloadOptions = { ...options.download, proxy: options.proxy, onProgress: (progress) => options.onEvent?.({ kind: 'download-progress', url: progress.url, bytes: progress.received, total: progress.total }) };
  try {
    for (const planned of planDownloads(options.urls, { ecosystems: options.ecosystems })) {
      if (!wanted.has(planned.feed)) continue;
      options.onEvent?.({ kind: 'download', feed: planned.feed, url: planned.url });
      const path = join(dir, planned.fileName);
      await download(planned.url, path, common);
      origins.set(path, planned.url);
    }
    if (wanted.has('nvd')) {
      options.onEvent?.({ kind: 'download', feed: 'nvd', url: options.urls.nvdApi });
      const pages = await downloadNvdPages(options.urls.nvdApi, join(dir, 'nvd'), { ...common, apiKey: options.nvdApiKey, delayMs: options.download?.nvdDelayMs });
      for (const page of pages) origins.set(page, options.urls.nvdApi);
    }
    return await importPaths(dbPath, [dir], { ...options, originOf: (file) => origins.get(file.path) ?? file.path });
  } finally {
    if (options.downloadDir === undefined) await rm(dir, { recursive: true, force: true });
  }
}
