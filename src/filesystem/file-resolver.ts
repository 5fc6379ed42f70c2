/** @module filesystem/file-resolver — the read-only view of an image filesystem that catalogers search. */
import type { Readable } from 'node:stream';
import type { DistillError } from '../errors.js';
import type { FileEntry } from './file-entry.js';

export interface ReadOptions {
  /** Refuse files larger than this (FILE_TOO_LARGE). Defaults to 64 MiB. */
  maxBytes?: number;
}

/**
 * A filesystem view: the squashed view (what a container sees), the all-layers view (every version of
 * every file with the layer that added it), or a directory on disk. Paths are absolute image paths.
 */
export interface FileResolver {
  /** `squashed`, `all-layers` or `directory`. */
  readonly kind: string;
  /** Every visible entry, sorted by path (all-layers: every version, by path then layer). */
  entries(): Iterable<FileEntry>;
  /** The entry at exactly this path, without following a final symlink. */
  lstat(path: string): FileEntry | undefined;
  /** The entry at this path after following symlinks (bounded, confined to the root). */
  stat(path: string): FileEntry | undefined;
  /** The canonical path after resolving every symlink component, or undefined if it does not resolve. */
  realPath(path: string): string | undefined;
  /** Entries whose path matches a glob (picomatch syntax, `**` crosses directories, dotfiles included). */
  glob(pattern: string | string[]): FileEntry[];
  /** The content of a regular file (symlinks followed, hardlinks resolved). */
  readFile(path: string, options?: ReadOptions): Promise<Buffer>;
  /** The content of exactly this entry version (all-layers views hold several per path). */
  readEntry(entry: FileEntry, options?: ReadOptions): Promise<Buffer>;
  /**
   * Many entries at once: one re-stream per layer for image views. A file that cannot be read maps to its
   * DistillError; integrity failures of the image itself (digest mismatch, corrupt layer) are thrown.
   */
  readEntries(entries: readonly FileEntry[], options?: ReadOptions): Promise<Map<FileEntry, Buffer | DistillError>>;
  /** The content of a regular file as a stream. */
  openFile(path: string): Promise<Readable>;
}
