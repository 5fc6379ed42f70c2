/** @module filesystem/tar/tar-types — the streaming tar reader's contract (headers in, content sinks out). */
import type { FileType } from '../file-entry.js';

/** One tar entry after pax / GNU long-name records have been applied. */
export interface TarHeader {
  /** Entry name exactly as stored (after pax `path` / GNU longname), not yet normalised. */
  name: string;
  /** Mapped entry type; `other` for pax globals, GNU sparse and other types distill does not model. */
  type: FileType | 'other';
  /** The raw typeflag character ('0', '5', 'L', …). */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes (pax `size` wins over the octal field). */
  size: number;
  /** Seconds since the epoch (pax `mtime` may be fractional; truncated). */
  mtime: number;
  /** Symlink or hardlink target as stored (after pax `linkpath` / GNU longlink). */
  linkName: string;
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
