/** @module filesystem/entry-tree — shared path lookups (lstat, stat, realPath, glob) over an in-memory entry map. */
import picomatch from 'picomatch';
import { DistillError, type Issue } from '../errors.js';
import { normalizePath, type FileEntry } from './file-entry.js';
import { resolvePath, type Resolution } from './symlinks.js';

export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalises a caller's path; `..` above the root is clamped to the root, as inside a container. */
export function imagePath(path: string): string {
  const normal = normalizePath(path);
  if (normal !== undefined) return normal;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

const matcherCache = new Map<string, (path: string) => boolean>();

export function globMatcher(pattern: string | string[]): (path: string) => boolean {
  const key = Array.isArray(pattern) ? pattern.join('\u0000') : pattern;
  let matcher = matcherCache.get(key);
  if (matcher === undefined) {
    matcher = picomatch(pattern, { dot: true });
    if (matcherCache.size > 1000) matcherCache.clear();
    matcherCache.set(key, matcher);
  }
  return matcher;
}

/**
 * Path semantics shared by the squashed, all-layers and directory views: `lookup` gives the entry a path
 * names (the visible version), the rest is symlink resolution confined to the root.
 */
export abstract class EntryTree {
  /** Problems met while answering lookups (symlink loops), deduplicated by path. */
  readonly issues: Issue[] = [];
  private readonly reported = new Set<string>();

  protected abstract lookup(path: string): FileEntry | undefined;
  abstract entries(): Iterable<FileEntry>;

  protected resolve(path: string, followFinal: boolean): Resolution {
    const result = resolvePath((p) => this.lookup(p), imagePath(path), { followFinal });
    if (!result.ok && result.reason === 'SYMLINK_LOOP' && !this.reported.has(path)) {
      this.reported.add(path);
      this.issues.push({ code: 'SYMLINK_LOOP', message: `too many levels of symbolic links resolving ${path}`, path, source: 'filesystem' });
    }
    return result;
  }

  lstat(path: string): FileEntry | undefined {
    // Fast path: an exact hit needs no resolution (parents of a stored entry are directories).
    const direct = this.lookup(imagePath(path));
    if (direct !== undefined) return direct;
    const result = this.resolve(path, false);
    return result.ok ? result.entry : undefined;
  }

  stat(path: string): FileEntry | undefined {
    const direct = this.lookup(imagePath(path));
    if (direct !== undefined && direct.type !== 'symlink') return direct;
    const result = this.resolve(path, true);
    return result.ok ? result.entry : undefined;
  }

  realPath(path: string): string | undefined {
    const result = this.resolve(path, true);
    return result.ok && result.entry !== undefined ? result.path : undefined;
  }

  /** stat() for readers: the entry a path names after symlinks, or FILE_NOT_FOUND / SYMLINK_LOOP. */
  protected resolveRegular(path: string): FileEntry {
    const direct = this.lookup(imagePath(path));
    let entry = direct !== undefined && direct.type !== 'symlink' ? direct : undefined;
    if (entry === undefined) {
      const result = this.resolve(path, true);
      if (!result.ok && result.reason === 'SYMLINK_LOOP') {
        throw new DistillError('SYMLINK_LOOP', `too many levels of symbolic links resolving ${path}`, { subject: path });
      }
      entry = result.ok ? result.entry : undefined;
    }
    if (entry === undefined) throw new DistillError('FILE_NOT_FOUND', `${path} does not exist`, { subject: path });
    if (entry.type !== 'file' && entry.type !== 'hardlink') {
      throw new DistillError('FILE_NOT_FOUND', `${path} is a ${entry.type}, not a regular file`, { subject: path });
    }
    return entry;
  }

  glob(pattern: string | string[]): FileEntry[] {
    const matches = globMatcher(pattern);
    const found: FileEntry[] = [];
    for (const entry of this.entries()) if (matches(entry.path)) found.push(entry);
    return found;
  }
}
