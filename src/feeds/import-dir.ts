/** @module feeds/import-dir — classifies feed files a user brought in by hand (name and content sniffing) for `db import`. */
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { DistillError, describeError } from '../errors.js';
import type { FeedName } from '../vuln/vulnerability.js';

export type FeedFileFormat =
  | 'debian-tracker-json'
  | 'osv-zip'
  | 'osv-json'
  | 'osv-yaml'
  | 'alpine-secdb-json'
  | 'nvd-json'
  | 'epss-csv'
  | 'kev-json';

export interface DetectedFeedFile {
  feed: FeedName;
  path: string;
  format: FeedFileFormat;
  /** The file is gzip-compressed (importers gunzip it themselves). */
  compression: 'gzip' | 'none';
}

export interface UnknownFeedFile {
  path: string;
  reason: string;
}

export interface DetectedFeeds {
  /** Sorted by path. */
  files: DetectedFeedFile[];
  /** Files that are not a feed distill reads; reported, not fatal. */
  unknown: UnknownFeedFile[];
}

export interface DetectOptions {
  /** Directory levels below `dir` searched. Default 8. */
  maxDepth?: number;
  /** Bytes looked at per file (after gunzip for .gz). Default 64 KiB. */
  sniffBytes?: number;
}

const FEED_OF: Record<FeedFileFormat, FeedName> = {
  'debian-tracker-json': 'debian-tracker',
  'osv-zip': 'osv',
  'osv-json': 'osv',
  'osv-yaml': 'osv',
  'alpine-secdb-json': 'alpine-secdb',
  'nvd-json': 'nvd',
  'epss-csv': 'epss',
  'kev-json': 'kev',
};

/** Walks `dir` (symlinks are not followed) and classifies every regular file. */
export async function detectFeedFiles(dir: string, options: DetectOptions = {}): Promise<DetectedFeeds> {
  const maxDepth = options.maxDepth ?? 8;
  const sniff = options.sniffBytes ?? 64 * 1024;
  const out: DetectedFeeds = { files: [], unknown: [] };
  try {
    if (!(await lstat(dir)).isDirectory()) throw new DistillError('USAGE', `${dir} is not a directory`, { subject: dir, hint: 'pass the directory holding the feed files' });
  } catch (error) {
    if (error instanceof DistillError) throw error;
    throw new DistillError('FILE_NOT_FOUND', `cannot read ${dir}: ${describeError(error)}`, { subject: dir, cause: error });
  }
  const walk = async (current: string, depth: number): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth) await walk(path, depth + 1);
        else out.unknown.push({ path, reason: `deeper than ${maxDepth} levels; not searched` });
      } else if (entry.isFile()) {
        const found = await classifyFile(path, sniff).catch((error: unknown) => ({ reason: `unreadable: ${describeError(error)}` }));
        if ('format' in found) out.files.push({ feed: FEED_OF[found.format], path, format: found.format, compression: found.compression });
        else out.unknown.push({ path, reason: found.reason });
      } else {
        out.unknown.push({ path, reason: entry.isSymbolicLink() ? 'symbolic link; not followed' : 'not a regular file' });
      }
    }
  };
  await walk(dir, 0);
  out.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  out.unknown.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

type Classified = { format: FeedFileFormat; compression: 'gzip' | 'none' } | { reason: string };

/** Classifies one file from its first bytes; the name only breaks ties (YAML, CSV). */
export async function classifyFile(path: string, sniffBytes = 64 * 1024): Promise<Classified> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(sniffBytes);
    const { bytesRead } = await handle.read(buffer, 0, sniffBytes, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head.length === 0) return { reason: 'empty file' };
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return { format: 'osv-zip', compression: 'none' };
  let compression: 'gzip' | 'none' = 'none';
  if (head[0] === 0x1f && head[1] === 0x8b) {
    compression = 'gzip';
    try {
      // A prefix of a gzip stream: sync flush decodes what is there instead of failing on the missing end.
      head = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: sniffBytes * 64 }).subarray(0, sniffBytes);
    } catch (error) {
      return { reason: `gzip data that cannot be decoded: ${describeError(error)}` };
    }
  }
  if (head.length > 262 && head.toString('latin1', 257, 262) === 'ustar') return { reason: 'a tar archive: unpack it into the import directory first' };
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const format = sniffText(text, path.toLowerCase());
  if (format !== undefined) return { format, compression };
  return { reason: compression === 'gzip' ? 'gzip file whose content is not a known feed' : 'not a known feed format' };
}

function sniffText(text: string, lowerName: string): FeedFileFormat | undefined {
  const trimmed = text.trimStart();
  if (/^#model_version:/.test(trimmed) || /^cve,epss,percentile\s*$/m.test(trimmed.slice(0, 256))) return 'epss-csv';
  if (trimmed.startsWith('{')) {
    if (/"catalogVersion"\s*:/.test(trimmed) && /"vulnerabilities"\s*:/.test(trimmed)) return 'kev-json';
    if (/"format"\s*:\s*"NVD_CVE"/.test(trimmed) || /"vulnerabilities"\s*:\s*\[\s*\{\s*"cve"\s*:/.test(trimmed)) return 'nvd-json';
    if (/"secfixes"\s*:/.test(trimmed) || (/"apkurl"\s*:/.test(trimmed) && /"packages"\s*:/.test(trimmed))) return 'alpine-secdb-json';
    // The tracker: { "<source package>": { "CVE-…" | "TEMP-…": { "releases": … } } }
    if (/^\{\s*"[^"]+"\s*:\s*\{\s*"(CVE|TEMP|DSA|DLA)-[^"]*"\s*:\s*\{/.test(trimmed) || (/"releases"\s*:\s*\{/.test(trimmed) && /"(fixed_version|urgency)"\s*:/.test(trimmed) && /"status"\s*:/.test(trimmed))) return 'debian-tracker-json';
    if (/"id"\s*:/.test(trimmed) && (/"schema_version"\s*:/.test(trimmed) || /"affected"\s*:/.test(trimmed) || /"modified"\s*:/.test(trimmed))) return 'osv-json';
    return undefined;
  }
  if (trimmed.startsWith('[') && /"id"\s*:/.test(trimmed) && /"(affected|modified)"\s*:/.test(trimmed)) return 'osv-json';
  if (/\.ya?ml(\.gz)?$/.test(lowerName) && /^id:\s*\S/m.test(trimmed) && /^(affected|modified|aliases):/m.test(trimmed)) return 'osv-yaml';
  return undefined;
}
