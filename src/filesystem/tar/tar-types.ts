/** @module filesystem/tar/tar-types — the streaming tar reader's contract (headers in, content sinks out). */
import type { FileType } from '../file-entry.js';

/** The fields of a tar header at every stage: a raw block as parsed, an entry as read, an entry as written. */
export interface TarHeaderFields {
  name: string;
  /** The raw typeflag character ('0', '5', 'L', …). */
  typeflag: string;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes. */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink or hardlink target as stored. */
  linkName: string;
}

/**
 * One tar entry after pax / GNU long-name records have been applied: `name` and `linkName` are exactly as stored
 * after pax `path` / `linkpath` and GNU longname / longlink (not yet normalised); pax `size`, `uid`, `gid` and
 * `mtime` win over the octal fields (a fractional pax mtime is truncated).
 */
export interface TarHeader extends TarHeaderFields {
  /** Mapped entry type; `other` for pax globals, GNU sparse and other types distill does not model. */
  type: FileType | 'other';
  uname: string;
  gname: string;
  /** pax extended header records that applied to this entry (including SCHILY.xattr.*). */
  pax: Record<string, string>;
  /** Byte offset of the entry's first header block (including pax/longname blocks) in the tar stream. */
  headerOffset: number;
  /** Byte offset of the content in the tar stream. */
  dataOffset: number;
  /** Device numbers, for char and block entries. */
  devMajor?: number;
  devMinor?: number;
}

/** Receives one entry's content, chunk by chunk, in order. */
export interface TarContentSink {
  write(chunk: Buffer): void;
  /** Called once after the last chunk; may be async (e.g. a spill to disk finishing). */
  end(): void | Promise<void>;
  /** Called instead of end() when reading fails before the content is complete (e.g. truncation). */
  abort?(error: unknown): void;
}

export interface TarVisitor {
  /** Called for every entry; return a sink to receive its content, or undefined to skip the content. */
  entry(header: TarHeader): TarContentSink | undefined;
}

export interface TarReadOptions {
  /** Entries declaring a larger size fail with TAR_ENTRY_TOO_LARGE. Default 64 GiB. */
  maxEntrySize?: number;
  /** Bound for pax / GNU long-name record sizes. Default 1 MiB. */
  maxMetadataSize?: number;
  /** Used in error messages (e.g. the layer digest). */
  label?: string;
}

export interface TarSummary {
  entries: number;
  /** Total bytes consumed, including padding and end-of-archive blocks. */
  bytes: number;
}
