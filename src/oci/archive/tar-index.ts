/** @module oci/archive/tar-index — an image archive's member offsets (from a seeking header walk), then byte-range reads. */
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DistillError, isDistillError } from '../../errors.js';
import { indexTarFile, type TarIndexOptions } from '../../filesystem/tar/tar-reader.js';
import type { TarHeader } from '../../filesystem/tar/tar-types.js';
import { inflateArchive, isGzipFile, type InflatedArchive } from './gzip-archive.js';

export interface TarMember {
  /** Normalised name: no leading `./` or `/`, no trailing `/`. */
  name: string;
  /** Byte offset of the content in the archive file. */
  offset: number;
  size: number;
}

/**
 * Normalises an archive member name, or returns undefined when it escapes the archive root
 * (`..` segments, absolute paths) so that callers can reject the archive.
 */
export function normaliseMemberName(raw: string): string | undefined {
  if (raw.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.join('/');
}

function pathEscape(archive: string, name: string): DistillError {
  return new DistillError('PATH_ESCAPE', `${archive}: member name ${JSON.stringify(name)} escapes the archive root`, {
    hint: 'the archive is malformed or hostile; it was not read',
    subject: `${archive}!${name}`,
  });
}

/** Bounds the work a hostile archive can cause; a docker save or OCI archive has a few hundred members. */
const MAX_ENTRIES = 1_000_000;
const CORRUPT_HINT = 'the file is not a valid tar archive, or it is damaged';

function corrupt(archive: string, offset: number, why: string): DistillError {
  return new DistillError('ARCHIVE_CORRUPT', `${archive}: ${why} at byte ${offset}`, { hint: CORRUPT_HINT, subject: archive });
}

function isSparse(header: TarHeader): boolean {
  return header.typeflag === 'S' || header.pax['GNU.sparse.major'] !== undefined || header.pax['GNU.sparse.map'] !== undefined || header.pax['GNU.sparse.numblocks'] !== undefined;
}

/**
 * Options for walking an image archive (the outer tar) with the shared tar reader: refuses GNU sparse
 * members (their stored bytes are not the member's content) and bounds the member count; `stop` ends
 * the walk early. Member sizes are bounded by the file only.
 */
export function outerTarOptions(archive: string, stop: (header: TarHeader) => boolean = () => false): TarIndexOptions {
  let entries = 0;
  return {
    label: archive,
    maxEntrySize: Number.MAX_SAFE_INTEGER,
    stop: (header) => {
      if (++entries > MAX_ENTRIES) throw corrupt(archive, header.headerOffset, `more than ${MAX_ENTRIES} members`);
      if (isSparse(header)) throw corrupt(archive, header.headerOffset, 'GNU sparse members are not supported in image archives');
      return stop(header);
    },
  };
}

/** Restates the tar reader's failures as failures of the image archive (the tar error stays as `cause`). */
export function outerTarError(archive: string, error: unknown): unknown {
  if (!isDistillError(error)) return error;
  switch (error.code) {
    case 'TAR_CORRUPT':
    case 'TAR_ENTRY_TOO_LARGE':
      return new DistillError('ARCHIVE_CORRUPT', error.message, { hint: CORRUPT_HINT, subject: archive, cause: error });
    case 'TAR_TRUNCATED':
      return new DistillError('ARCHIVE_TRUNCATED', error.message, {
        hint: 'the archive was not written completely; export the image again',
        subject: archive,
        cause: error,
      });
    case 'IO':
      if ((error.cause as { syscall?: unknown } | undefined)?.syscall === 'open') {
        return new DistillError('SOURCE_NOT_FOUND', `cannot open ${archive}: ${(error.cause as Error).message}`, { subject: archive, cause: error.cause });
      }
      return error;
    default:
      return error;
  }
}

/** Regular-file members of an archive, by normalised name, and positional reads of them. */
export class TarIndex {
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    private readonly members: Map<string, TarMember>,
    /** Size of the (decompressed) archive file. */
    readonly fileSize: number,
    /** The file read by byte ranges: `path` itself, or the temp copy a gzip-wrapped archive was inflated to. */
    private readonly dataPath: string = path,
    private readonly inflated?: InflatedArchive,
  ) {}

  /**
   * Indexes `path` by walking its headers and seeking over content (a few reads for a docker save). A
   * gzip-wrapped archive (magic 1f 8b) is first inflated to a private temp file, removed by `close()`.
   */
  static async build(path: string): Promise<TarIndex> {
    try {
      await stat(path);
    } catch (error) {
      throw new DistillError('SOURCE_NOT_FOUND', `cannot open ${path}: ${(error as Error).message}`, { subject: path, cause: error });
    }
    // Byte-range reads need a seekable tar, so the gzip stream is inflated once rather than re-read per member.
    const inflated = (await isGzipFile(path)) ? await inflateArchive(path) : undefined;
    try {
      return await TarIndex.index(path, inflated);
    } catch (error) {
      await inflated?.dispose();
      throw error;
    }
  }

  private static async index(path: string, inflated: InflatedArchive | undefined): Promise<TarIndex> {
    const dataPath = inflated?.path ?? path;
    const fileSize = (await stat(dataPath)).size;
    let headers: TarHeader[];
    try {
      headers = await indexTarFile(dataPath, outerTarOptions(path));
    } catch (error) {
      throw outerTarError(path, error);
    }
    const members = new Map<string, TarMember>();
    const links: { name: string; target: string }[] = [];
    for (const header of headers) {
      // Link, device, directory and fifo headers carry no content whatever their size field says (the reader sets size 0).
      if (header.type !== 'file' && header.type !== 'hardlink' && header.type !== 'dir') continue;
      const name = normaliseMemberName(header.name);
      if (name === undefined) throw pathEscape(path, header.name);
      if (header.type === 'file') members.set(name, { name, offset: header.dataOffset, size: header.size });
      else if (header.type === 'hardlink') {
        const target = normaliseMemberName(header.linkName);
        if (target === undefined) throw pathEscape(path, header.linkName);
        links.push({ name, target });
      }
    }
    // Hard links share their target's content (in archive order, so a link to a later member is unresolved).
    for (const link of links) {
      const target = members.get(link.target);
      if (target !== undefined) members.set(link.name, { ...target, name: link.name });
    }
    return new TarIndex(path, members, fileSize, dataPath, inflated);
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  get(name: string): TarMember | undefined {
    return this.members.get(name);
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  private async fileHandle(): Promise<FileHandle> {
    this.handle ??= await open(this.dataPath, 'r');
    return this.handle;
  }

  /** Reads up to `length` bytes from the start of a member. */
  async head(member: TarMember, length: number): Promise<Buffer> {
    const wanted = Math.min(length, member.size);
    const buffer = Buffer.alloc(wanted);
    const { bytesRead } = await (await this.fileHandle()).read(buffer, 0, wanted, member.offset);
    return buffer.subarray(0, bytesRead);
  }

  /** Reads a whole member (the caller bounds its size). Short reads mean the archive is truncated. */
  async read(member: TarMember): Promise<Buffer> {
    const data = await this.head(member, member.size);
    if (data.length !== member.size) {
      throw new DistillError('ARCHIVE_TRUNCATED', `${this.path}: member ${member.name} is cut short`, { subject: `${this.path}!${member.name}` });
    }
    return data;
  }

  /** Streams a member by byte range (no extraction). */
  stream(member: TarMember): Readable {
    if (member.size === 0) return Readable.from([]);
    return createReadStream(this.dataPath, {
      start: member.offset,
      end: member.offset + member.size - 1,
      highWaterMark: 256 * 1024,
    });
  }

  describe(name: string): string {
    return `${this.path}!${name}`;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    try {
      if (handle !== undefined) await handle.close();
    } finally {
      await this.inflated?.dispose();
    }
  }
}
