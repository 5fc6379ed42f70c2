/** @module catalog/owned-files — files installed by OS packages, hidden from language catalogers. */
import type { FileEntry } from '../filesystem/file-entry.js';
import { baseName, parentPath } from '../filesystem/file-entry.js';
import type { FileResolver, ReadOptions } from '../filesystem/file-resolver.js';
import type { Package } from '../sbom/package.js';
import type { Readable } from 'node:stream';
import { DistillError } from '../errors.js';

/**
 * The set of image paths owned by OS packages, canonicalised through the resolver so that a dpkg list
 * entry `/lib/x86_64-linux-gnu/libc.so.6` matches the merged-/usr file `/usr/lib/x86_64-linux-gnu/libc.so.6`.
 */
export function ownedPaths(packages: readonly Package[], resolver: FileResolver): Set<string> {
  const owned = new Set<string>();
  const canonicalDirs = new Map<string, string | undefined>();
  for (const pkg of packages) {
    if (pkg.type !== 'deb' && pkg.type !== 'apk') continue;
    for (const file of pkg.files) {
      owned.add(file);
      const dir = parentPath(file);
      let canonical = canonicalDirs.get(dir);
      if (!canonicalDirs.has(dir)) {
        canonical = resolver.realPath(dir);
        canonicalDirs.set(dir, canonical);
      }
      if (canonical !== undefined) owned.add(canonical === '/' ? `/${baseName(file)}` : `${canonical}/${baseName(file)}`);
    }
  }
  return owned;
}

/** A view of `inner` in which the `hidden` paths do not exist: language catalogers never see OS-owned files. */
export function hidePaths(inner: FileResolver, hidden: ReadonlySet<string>): FileResolver {
  if (hidden.size === 0) return inner;
  const visible = (entry: FileEntry | undefined): FileEntry | undefined =>
    entry === undefined || hidden.has(entry.path) ? undefined : entry;
  const refuse = (path: string): void => {
    if (hidden.has(path) || (inner.realPath(path) !== undefined && hidden.has(inner.realPath(path)!))) {
      throw new DistillError('FILE_NOT_FOUND', `${path} is owned by an OS package`, { subject: path });
    }
  };
  return {
    kind: inner.kind,
    *entries() {
      for (const entry of inner.entries()) if (!hidden.has(entry.path)) yield entry;
    },
    lstat: (path) => visible(inner.lstat(path)),
    stat: (path) => visible(inner.stat(path)),
    realPath: (path) => inner.realPath(path),
    glob: (pattern) => inner.glob(pattern).filter((entry) => !hidden.has(entry.path)),
    readFile: async (path: string, options?: ReadOptions) => {
      refuse(path);
      return inner.readFile(path, options);
    },
    readEntry: async (entry: FileEntry, options?: ReadOptions) => inner.readEntry(entry, options),
    readEntries: async (entries: readonly FileEntry[], options?: ReadOptions) => inner.readEntries(entries, options),
    openFile: async (path: string): Promise<Readable> => {
      refuse(path);
      return inner.openFile(path);
    },
  };
}
