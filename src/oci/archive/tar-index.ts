/** @module oci/archive/tar-index — an image archive's member offsets (from a seeking header walk), then byte-range reads. */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DistillError } from '../../errors.js';
import { walkOuterTar } from './outer-tar.js';

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

/** Regular-file members of an archive, by normalised name, and positional reads of them. */
export class TarIndex {
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    private readonly members: Map<string, TarMember>,
    /** Size of the archive file. */
    readonly fileSize: number,
  ) {}

  /** Indexes `path` by walking its headers and seeking over content (a few reads for a docker save). */
  static async build(path: string): Promise<TarIndex> {
    const members = new Map<string, TarMember>();
    const links: { name: string; target: string }[] = [];
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new DistillError('SOURCE_NOT_FOUND', `cannot open ${path}: ${(error as Error).message}`, { subject: path, cause: error });
    }
    let fileSize: number;
    try {
      fileSize = (await handle.stat()).size;
      const walker = walkOuterTar(path, fileSize, (member) => {
        const isFile = member.typeflag === '0' || member.typeflag === '7';
        const isLink = member.typeflag === '1';
        if (!isFile && !isLink && member.typeflag !== '5') return;
        const name = normaliseMemberName(member.name);
        if (name === undefined) throw pathEscape(path, member.name);
        if (isFile && !member.name.endsWith('/')) members.set(name, { name, offset: member.dataOffset, size: member.size });
        else if (isLink) {
          const target = normaliseMemberName(member.linkName);
          if (target === undefined) throw pathEscape(path, member.linkName);
          links.push({ name, target });
        }
      });
      let request = walker.next();
      while (request.done !== true) {
        const buffer = Buffer.alloc(request.value.length);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, request.value.offset);
        request = walker.next(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
    // Hard links share their target's content (in archive order, so a link to a later member is unresolved).
    for (const link of links) {
      const target = members.get(link.target);
      if (target !== undefined) members.set(link.name, { ...target, name: link.name });
    }
    return new TarIndex(path, members, fileSize);
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
    this.handle ??= await open(this.path, 'r');
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
    return createReadStream(this.path, {
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
    if (handle !== undefined) await handle.close();
  }
}
