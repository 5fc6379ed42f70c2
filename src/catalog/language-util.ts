/** @module catalog/language-util — shared plumbing of the language catalogers: bounded reads, UTF-8, ids, locations. */
import { describeError, isDistillError, isIntegrityError, type Issue } from '../errors.js';
import type { FileEntry } from '../filesystem/file-entry.js';
import type { Location } from '../sbom/package.js';
import type { CatalogContext } from './cataloger.js';

/** Only regular files (and hardlinks to them) are evidence; symlinks would duplicate their targets. */
export function isContentEntry(entry: FileEntry): boolean {
  return entry.type === 'file' || entry.type === 'hardlink';
}

/**
 * Reads one evidence file, turning size and read failures into Issues (FILE_TOO_LARGE, UNREADABLE).
 * Returns undefined when the file could not be read.
 */
export async function readEvidence(
  context: CatalogContext,
  entry: FileEntry,
  maxBytes: number,
  source: string,
  issues: Issue[],
): Promise<Buffer | undefined> {
  if (entry.type === 'file' && entry.size > maxBytes) {
    issues.push({ code: 'FILE_TOO_LARGE', message: `${entry.size} bytes exceeds the ${maxBytes}-byte limit`, path: entry.path, source });
    return undefined;
  }
  try {
    return await context.resolver.readEntry(entry, { maxBytes });
  } catch (error) {
    if (isIntegrityError(error)) throw error;
    const code = isDistillError(error, 'FILE_TOO_LARGE') ? 'FILE_TOO_LARGE' : 'UNREADABLE';
    issues.push({ code, message: describeError(error), path: entry.path, source });
    return undefined;
  }
}

/** Bytes read per batch: enough to serve many files from one layer re-stream, few enough to bound memory. */
export const EVIDENCE_BATCH_BYTES = 128 * 1024 * 1024;

/**
 * Reads evidence files in size-bounded batches (one re-stream per layer per batch, instead of one per file),
 * yielding each readable file; failures become Issues as in readEvidence.
 */
export async function* readEvidenceBatches(
  context: CatalogContext,
  entries: readonly FileEntry[],
  maxBytes: number,
  source: string,
  issues: Issue[],
): AsyncGenerator<{ entry: FileEntry; buffer: Buffer }> {
  const readable = entries.filter((entry) => {
    if (entry.type === 'file' && entry.size > maxBytes) {
      issues.push({ code: 'FILE_TOO_LARGE', message: `${entry.size} bytes exceeds the ${maxBytes}-byte limit`, path: entry.path, source });
      return false;
    }
    return true;
  });
  for (let start = 0; start < readable.length; ) {
    let end = start;
    let bytes = 0;
    while (end < readable.length && (end === start || bytes + readable[end]!.size <= EVIDENCE_BATCH_BYTES)) bytes += readable[end++]!.size;
    const batch = readable.slice(start, end);
    start = end;
    const results = await context.resolver.readEntries(batch, { maxBytes });
    for (const entry of batch) {
      const result = results.get(entry);
      if (Buffer.isBuffer(result)) {
        yield { entry, buffer: result };
      } else {
        const code = isDistillError(result, 'FILE_TOO_LARGE') ? 'FILE_TOO_LARGE' : 'UNREADABLE';
        issues.push({ code, message: result === undefined ? 'not read' : describeError(result), path: entry.path, source });
      }
    }
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

/** Decodes UTF-8 (a BOM is dropped); invalid bytes are recorded as INVALID_UTF8 and replaced by U+FFFD. */
export function decodeText(buffer: Buffer, path: string, source: string, issues: Issue[]): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(buffer), valid: true };
  } catch {
    issues.push({ code: 'INVALID_UTF8', message: 'content is not valid UTF-8', path, source });
    return { text: lossyUtf8.decode(buffer), valid: false };
  }
}

/** The package id convention of the language catalogers: purl + '#' + evidence path. */
export function packageId(purl: string, evidencePath: string): string {
  return `${purl}#${evidencePath}`;
}

/** A Location for an evidence file, with the layer that added it when the source knows it. */
export function locationOf(context: CatalogContext, path: string): Location {
  const layerDigest = context.layerDigestOf(path);
  return layerDigest === undefined ? { path } : { path, layerDigest };
}

/** Entries matching globs, restricted to readable content, deduplicated by path + layer, in resolver order. */
export function contentEntries(context: CatalogContext, globs: readonly string[]): FileEntry[] {
  if (globs.length === 0) return [];
  const seen = new Set<string>();
  const out: FileEntry[] = [];
  for (const entry of context.resolver.glob([...globs])) {
    if (!isContentEntry(entry)) continue;
    const key = `${entry.layer}\u0000${entry.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
}
