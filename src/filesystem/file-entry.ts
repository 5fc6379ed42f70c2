/** @module filesystem/file-entry — one file of an image filesystem, as recorded by the layer index. */

export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface FileEntry {
  /** Absolute, normalised path inside the image: `/usr/bin/env` (no trailing slash, no `.`/`..`). */
  path: string;
  type: FileType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes for regular files, 0 otherwise. */
  size: number;
  /** Symlink target as stored, or the absolute path a hardlink points at. */
  linkTarget?: string;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  /** Index of the layer that added this version of the file; -1 for a directory source. */
  layer: number;
  /** First bytes of a regular file's content (up to 4), for cheap type sniffing (ELF, zip). */
  magic?: Buffer;
}

/** Normalises a tar or user path to the absolute form used in FileEntry.path, or undefined if it escapes the root. */
export function normalizePath(raw: string): string | undefined {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Parent directory of a normalised path (`/` for `/x`, `/` for `/`). */
export function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
