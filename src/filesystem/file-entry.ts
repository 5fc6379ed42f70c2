/** @module filesystem/file-entry — one file of an image filesystem, as recorded by the layer index. */

export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** The metadata of one file wherever distill reads it from: an image layer, a .deb's data.tar, a directory. */
export interface FileMeta {
  /** Absolute, normalised path inside the image: `/usr/bin/env` (no trailing slash, no `.`/`..`); an archive's root `./` is `/`. */
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
}

export interface FileEntry extends FileMeta {
  /** Index of the layer that added this version of the file; -1 for a directory source. */
  layer: number;
  /** First bytes of a regular file's content (up to 4), for cheap type sniffing (ELF, zip). */
  magic?: Buffer;
}

/** Raw metadata fields as a tar header or a stat gives them. */
export interface RawMeta {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
}

/** The FileMeta of one file: mode cut to permission bits, size kept only for regular files; linkTarget is the caller's. */
export function fileMeta(path: string, type: FileType, raw: RawMeta): FileMeta {
  return {
    path,
    type,
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    size: type === 'file' ? raw.size : 0,
    mtime: raw.mtime,
  };
}

/**
 * Normalises a tar or user path to the absolute form used in FileEntry.path, or undefined if it escapes the root
 * (with `refuse`, if it has any `..` component at all).
 */
export function normalizePath(raw: string, parentRefs: 'resolve' | 'refuse' = 'resolve'): string | undefined {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // `refuse`: archive paths where any `..` is an attack (dpkg and our tar writer reject them outright).
      if (parts.length === 0 || parentRefs === 'refuse') return undefined;
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
