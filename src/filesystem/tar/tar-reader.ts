/** @module filesystem/tar/tar-reader — streaming push parser for ustar, GNU, pax and v7 tar streams. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DistillError, isDistillError } from '../../errors.js';
import type { FileType } from '../file-entry.js';
import {
  BLOCK_SIZE,
  isZeroBlock,
  parseLongNameBody,
  parsePaxRecords,
  parseTarHeaderBlock,
  type TarHeaderBlock,
} from './tar-header.js';
import type { TarContentSink, TarHeader, TarReadOptions, TarSummary, TarVisitor } from './tar-types.js';

export {
  BLOCK_SIZE,
  decodeTarString,
  headerChecksums,
  isZeroBlock,
  parseLongNameBody,
  parseNumericField,
  parsePaxRecords,
  parseTarHeaderBlock,
  type TarHeaderBlock,
  type TarHeaderFormat,
} from './tar-header.js';

export const DEFAULT_MAX_ENTRY_SIZE = 64 * 1024 ** 3;
export const DEFAULT_MAX_METADATA_SIZE = 1024 ** 2;

const HEADER = 0;
const DATA = 1;
const PADDING = 2;
const META = 3;
const SPARSE_EXT = 4;
const DONE = 5;

/** Wraps an exception thrown by the caller's visitor or sink, so it is rethrown untouched. */
class ForeignError {
  constructor(readonly error: unknown) {}
}

/**
 * Types whose size field does not announce content. Go's archive/tar (which containerd, moby and
 * containers/storage use to extract layers) reads no data for these, so neither do we: a scanner
 * that skipped "content" there would not see entries a runtime extracts.
 */
function isHeaderOnly(typeflag: string): boolean {
  return typeflag === '1' || typeflag === '2' || typeflag === '3' || typeflag === '4' || typeflag === '5' || typeflag === '6';
}

function mapType(typeflag: string, name: string, pax: Record<string, string>): FileType | 'other' {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      // GNU sparse files in pax form (0.x / 1.0) are stored as regular entries with a sparse map.
      if (pax['GNU.sparse.major'] !== undefined || pax['GNU.sparse.map'] !== undefined || pax['GNU.sparse.numblocks'] !== undefined) {
        return 'other';
      }
      // Old tars mark directories only by the trailing slash.
      return name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
    case 'D': // GNU incremental dump directory; its content is a listing of names.
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

const PAX_DECIMAL = /^-?\d+(\.\d*)?$/;

class TarParser {
  private state = HEADER;
  /** Absolute stream position of the next unconsumed byte. */
  private consumed = 0;
  private readonly headerBuf = Buffer.alloc(BLOCK_SIZE);
  private headerFill = 0;
  private headerStart = 0;
  private remaining = 0;
  private padding = 0;
  private sink: TarContentSink | undefined;
  private entries = 0;
  // Metadata collected for the next entry.
  private entryStart = -1;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Record<string, string> | undefined;
  private readonly globalPax: Record<string, string> = Object.create(null) as Record<string, string>;
  private metaFlag = '';
  private metaBody: Buffer = Buffer.alloc(0);
  private metaFill = 0;
  private metaHeaderOffset = 0;
  private metaHeader: TarHeaderBlock | undefined;
  private sparseHeader: TarHeaderBlock | undefined;
  private sparseHeaderOffset = 0;
  private readonly maxEntrySize: number;
  private readonly maxMetadataSize: number;
  private readonly label: string | undefined;
  /** Seek mode (indexTarFile): push() stops where skipped content begins so the caller can seek past it. */
  seekMode = false;

  constructor(
    private readonly visitor: TarVisitor,
    options: TarReadOptions,
  ) {
    this.maxEntrySize = options.maxEntrySize ?? DEFAULT_MAX_ENTRY_SIZE;
    this.maxMetadataSize = options.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE;
    this.label = options.label;
  }

  get position(): number {
    return this.consumed;
  }

  summary(): TarSummary {
    return { entries: this.entries, bytes: this.consumed };
  }

  /** Consumes one chunk; returns a promise only when a sink's end() had to be awaited. */
  push(chunk: Buffer): Promise<void> | undefined {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      switch (this.state) {
        case HEADER:
        case SPARSE_EXT: {
          let block: Buffer;
          let blockOffset: number;
          if (this.headerFill === 0 && length - pos >= BLOCK_SIZE) {
            block = chunk.subarray(pos, pos + BLOCK_SIZE);
            blockOffset = this.consumed;
            pos += BLOCK_SIZE;
            this.consumed += BLOCK_SIZE;
          } else {
            if (this.headerFill === 0) this.headerStart = this.consumed;
            const n = Math.min(BLOCK_SIZE - this.headerFill, length - pos);
            chunk.copy(this.headerBuf, this.headerFill, pos, pos + n);
            this.headerFill += n;
            pos += n;
            this.consumed += n;
            if (this.headerFill < BLOCK_SIZE) continue;
            this.headerFill = 0;
            block = this.headerBuf;
            blockOffset = this.headerStart;
          }
          const pending = this.state === HEADER ? this.onHeader(block, blockOffset) : this.onSparseExtension(block, blockOffset);
          if (pending !== undefined) return this.resumeAfter(pending, chunk, pos);
          break;
        }
        case DATA: {
          if (this.seekMode && this.sink === undefined) return undefined;
          const n = Math.min(this.remaining, length - pos);
          if (this.sink !== undefined) {
            const slice = pos === 0 && n === length ? chunk : chunk.subarray(pos, pos + n);
            try {
              this.sink.write(slice);
            } catch (error) {
              throw new ForeignError(error);
            }
          }
          pos += n;
          this.consumed += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = this.padding > 0 ? PADDING : HEADER;
            const pending = this.endSink();
            if (pending !== undefined) return this.resumeAfter(pending, chunk, pos);
          }
          break;
        }
        case PADDING: {
          const n = Math.min(this.padding, length - pos);
          pos += n;
          this.consumed += n;
          this.padding -= n;
          if (this.padding === 0) this.state = HEADER;
          break;
        }
        case META: {
          const n = Math.min(this.metaBody.length - this.metaFill, length - pos);
          chunk.copy(this.metaBody, this.metaFill, pos, pos + n);
          this.metaFill += n;
          pos += n;
          this.consumed += n;
          if (this.metaFill === this.metaBody.length) {
            const pending = this.finishMeta();
            if (pending !== undefined) return this.resumeAfter(pending, chunk, pos);
          }
          break;
        }
        default:
          // After the end-of-archive marker: count (GNU tar pads to 10 KiB records) but do not parse.
          this.consumed += length - pos;
          pos = length;
      }
    }
    return undefined;
  }

  get ended(): boolean {
    return this.state === DONE;
  }

  /** In seek mode: skips the pending unread content (and padding) without reading it. */
  skipContent(): void {
    if (this.state !== DATA || this.sink !== undefined) return;
    this.consumed += this.remaining + this.padding;
    this.remaining = 0;
    this.padding = 0;
    this.state = HEADER;
  }

  /** In seek mode: the archive ends at `size` but the parser expected more. */
  truncatedAt(size: number): DistillError {
    this.consumed = size;
    return this.truncated('inside entry content or its padding');
  }

  private async resumeAfter(pending: Promise<void>, chunk: Buffer, pos: number): Promise<void> {
    try {
      await pending;
    } catch (error) {
      throw new ForeignError(error);
    }
    if (pos < chunk.length) {
      const next = this.push(chunk.subarray(pos));
      if (next !== undefined) await next;
    }
  }

  /** Called at end of input. */
  finish(): void {
    switch (this.state) {
      case DONE:
        return;
      case HEADER:
        // GNU tar refuses an empty stream ("does not look like a tar archive").
        if (this.consumed === 0) throw this.truncated('before the first header (empty stream)');
        if (this.headerFill === 0 && this.entryStart === -1) return; // EOF at a header boundary: accepted.
        if (this.headerFill !== 0) throw this.truncated(`inside the header at offset ${this.headerStart}`);
        throw this.truncated(`after the metadata header at offset ${this.entryStart}, before its entry`);
      case SPARSE_EXT:
        throw this.truncated(`inside the sparse headers of the entry at offset ${this.sparseHeaderOffset}`);
      case META:
        throw this.truncated(`inside the metadata record at offset ${this.metaHeaderOffset}`);
      case DATA:
        throw this.truncated(`inside entry content (${this.remaining} bytes missing)`);
      default:
        throw this.truncated(`inside the padding after entry content`);
    }
  }

  abort(error: unknown): void {
    const sink = this.sink;
    this.sink = undefined;
    if (sink?.abort === undefined) return;
    try {
      sink.abort(error);
    } catch {
      // The original failure is the one to report.
    }
  }

  private truncated(where: string): DistillError {
    const label = this.label === undefined ? '' : ` in ${this.label}`;
    return new DistillError('TAR_TRUNCATED', `tar stream${label} ends ${where} (at byte ${this.consumed})`, {
      hint: 'The archive or layer was cut short; download or copy it again.',
      ...(this.label === undefined ? {} : { subject: this.label }),
    });
  }

  private corrupt(message: string, offset: number): DistillError {
    const label = this.label === undefined ? '' : ` in ${this.label}`;
    return new DistillError('TAR_CORRUPT', `tar header at offset ${offset}${label}: ${message}`, {
      hint: 'The archive or layer is damaged or is not a tar file; fetch it again or check its source.',
      ...(this.label === undefined ? {} : { subject: this.label }),
    });
  }

  private onHeader(block: Buffer, offset: number): Promise<void> | undefined {
    if (isZeroBlock(block)) {
      // GNU tar also stops at the first zero block (warning when it is alone); the rest is not parsed.
      // Metadata records waiting for an entry are dropped, as GNU tar does.
      this.entryStart = -1;
      this.state = DONE;
      return undefined;
    }
    const header = parseTarHeaderBlock(block, offset, this.label);
    switch (header.typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        return this.startMeta(header, offset);
      default:
        if (header.sparseExtended) {
          this.sparseHeader = header;
          this.sparseHeaderOffset = offset;
          if (this.entryStart === -1) this.entryStart = offset;
          this.state = SPARSE_EXT;
          return undefined;
        }
        return this.startEntry(header, offset, offset + BLOCK_SIZE);
    }
  }

  private onSparseExtension(block: Buffer, offset: number): Promise<void> | undefined {
    // Each old-GNU sparse extension block holds 21 (offset, size) pairs and an "is extended" flag at 504.
    if (block[504] !== 0) return undefined;
    const header = this.sparseHeader as TarHeaderBlock;
    this.sparseHeader = undefined;
    this.state = HEADER;
    return this.startEntry(header, this.sparseHeaderOffset, offset + BLOCK_SIZE);
  }

  private startMeta(header: TarHeaderBlock, offset: number): Promise<void> | undefined {
    if (header.size > this.maxMetadataSize) {
      throw this.corrupt(
        `${header.typeflag === 'x' || header.typeflag === 'g' ? 'pax' : 'GNU long-name'} record of ${header.size} bytes exceeds the ${this.maxMetadataSize}-byte limit`,
        offset,
      );
    }
    // A global header stands alone; the others belong to the entry that follows.
    if (header.typeflag !== 'g' && this.entryStart === -1) this.entryStart = offset;
    this.metaFlag = header.typeflag;
    this.metaHeader = header;
    this.metaHeaderOffset = offset;
    this.metaBody = Buffer.alloc(header.size);
    this.metaFill = 0;
    this.padding = (BLOCK_SIZE - (header.size % BLOCK_SIZE)) % BLOCK_SIZE;
    this.state = META;
    if (header.size === 0) return this.finishMeta();
    return undefined;
  }

  private finishMeta(): Promise<void> | undefined {
    const body = this.metaBody;
    const bodyOffset = this.metaHeaderOffset + BLOCK_SIZE;
    this.metaBody = Buffer.alloc(0);
    this.state = this.padding > 0 ? PADDING : HEADER;
    switch (this.metaFlag) {
      case 'L':
        this.longName = parseLongNameBody(body);
        return undefined;
      case 'K':
        this.longLink = parseLongNameBody(body);
        return undefined;
      case 'x': {
        const records = parsePaxRecords(body, bodyOffset, this.label);
        this.pax = this.pax === undefined ? records : Object.assign(this.pax, records);
        return undefined;
      }
      default: {
        const records = parsePaxRecords(body, bodyOffset, this.label);
        for (const [key, value] of Object.entries(records)) {
          // An empty value removes a global record (POSIX pax).
          if (value === '') delete this.globalPax[key];
          else this.globalPax[key] = value;
        }
        return this.reportGlobal(this.metaHeader as TarHeaderBlock, this.metaHeaderOffset, records, body);
      }
    }
  }

  private reportGlobal(
    block: TarHeaderBlock,
    offset: number,
    records: Record<string, string>,
    body: Buffer,
  ): Promise<void> | undefined {
    const header: TarHeader = {
      name: block.name,
      type: 'other',
      typeflag: block.typeflag,
      mode: block.mode,
      uid: block.uid,
      gid: block.gid,
      size: block.size,
      mtime: block.mtime,
      linkName: block.linkName,
      uname: block.uname,
      gname: block.gname,
      pax: Object.assign(Object.create(null) as Record<string, string>, records),
      headerOffset: offset,
      dataOffset: offset + BLOCK_SIZE,
    };
    this.entries++;
    this.sink = this.visit(header);
    if (this.sink === undefined) return undefined;
    if (body.length > 0) {
      try {
        this.sink.write(body);
      } catch (error) {
        throw new ForeignError(error);
      }
    }
    return this.endSink();
  }

  private paxNumber(pax: Record<string, string>, key: string, fallback: number, offset: number): number {
    const raw = pax[key];
    if (raw === undefined) return fallback;
    if (!PAX_DECIMAL.test(raw)) throw this.corrupt(`invalid pax ${key} value ${JSON.stringify(raw.slice(0, 40))}`, offset);
    const value = Math.trunc(Number(raw));
    if (!Number.isSafeInteger(value)) {
      if (key === 'size' && value > 0) return Infinity;
      throw this.corrupt(`pax ${key} value out of range`, offset);
    }
    return value;
  }

  private startEntry(block: TarHeaderBlock, offset: number, dataOffset: number): Promise<void> | undefined {
    const headerOffset = this.entryStart === -1 ? offset : this.entryStart;
    const pax = this.effectivePax();
    let name = pax['path'] ?? this.longName ?? block.name;
    const sparseName = pax['GNU.sparse.name'];
    if (sparseName !== undefined) name = sparseName;
    const linkName = pax['linkpath'] ?? this.longLink ?? block.linkName;
    this.entryStart = -1;
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = undefined;

    let size = this.paxNumber(pax, 'size', block.size, offset);
    if (size < 0) throw this.corrupt('negative pax size', offset);
    if (isHeaderOnly(block.typeflag)) size = 0;
    if (size > this.maxEntrySize) {
      const label = this.label === undefined ? '' : ` in ${this.label}`;
      throw new DistillError(
        'TAR_ENTRY_TOO_LARGE',
        `tar entry ${JSON.stringify(name.slice(0, 200))} at offset ${headerOffset}${label} declares ${size} bytes, over the ${this.maxEntrySize}-byte limit`,
        { hint: 'Raise the entry size limit if the image really holds such a file.', subject: this.label ?? name },
      );
    }
    const type = mapType(block.typeflag, name, pax);
    const header: TarHeader = {
      name,
      type,
      typeflag: block.typeflag,
      mode: block.mode,
      uid: this.paxNumber(pax, 'uid', block.uid, offset),
      gid: this.paxNumber(pax, 'gid', block.gid, offset),
      size,
      mtime: this.paxNumber(pax, 'mtime', block.mtime, offset),
      linkName,
      uname: pax['uname'] ?? block.uname,
      gname: pax['gname'] ?? block.gname,
      pax,
      headerOffset,
      dataOffset,
    };
    if (type === 'char' || type === 'block') {
      header.devMajor = block.devMajor;
      header.devMinor = block.devMinor;
    }
    this.entries++;
    this.sink = this.visit(header);
    this.remaining = size;
    this.padding = (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
    if (size > 0) {
      this.state = DATA;
      return undefined;
    }
    this.state = HEADER;
    return this.endSink();
  }

  private effectivePax(): Record<string, string> {
    const own = this.pax;
    // No prototype: hostile keys such as "__proto__" stay plain records.
    const result = Object.create(null) as Record<string, string>;
    for (const key in this.globalPax) result[key] = this.globalPax[key] as string;
    if (own !== undefined) {
      for (const key in own) {
        const value = own[key] as string;
        // An empty per-entry value cancels the global one.
        if (value === '') delete result[key];
        else result[key] = value;
      }
    }
    return result;
  }

  private visit(header: TarHeader): TarContentSink | undefined {
    try {
      return this.visitor.entry(header) ?? undefined;
    } catch (error) {
      throw new ForeignError(error);
    }
  }

  private endSink(): Promise<void> | undefined {
    const sink = this.sink;
    if (sink === undefined) return undefined;
    this.sink = undefined;
    let result: void | Promise<void>;
    try {
      result = sink.end();
    } catch (error) {
      throw new ForeignError(error);
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') return result;
    return undefined;
  }
}

function asBuffer(chunk: unknown, offset: number, label: string | undefined): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new DistillError('IO', `tar source${label === undefined ? '' : ` ${label}`} yielded a non-binary chunk at byte ${offset}`, {
    hint: 'Pass a binary stream (no setEncoding).',
    ...(label === undefined ? {} : { subject: label }),
  });
}

/** Turns a failure of the byte source (fs, network, decompressor) into a DistillError. */
function sourceFailure(error: unknown, offset: number, label: string | undefined): DistillError {
  if (isDistillError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const where = `${label === undefined ? '' : ` ${label}`} at byte ${offset}`;
  const subject = label === undefined ? {} : { subject: label };
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new DistillError('DECOMPRESS_FAILED', `decompressing tar stream${where} failed: ${message}`, {
      hint: 'The compressed layer is damaged; fetch it again.',
      cause: error,
      ...subject,
    });
  }
  return new DistillError('IO', `reading tar stream${where} failed: ${message}`, { cause: error, ...subject });
}

export interface TarIndexOptions extends TarReadOptions {
  /**
   * Called for every header in archive order; returning true ends the walk after that header, which
   * is the last one returned (its content must still lie within the file). What follows is not read.
   * Exceptions thrown here propagate unchanged.
   */
  stop?: (header: TarHeader) => boolean;
}

/** Thrown through the parser by the visitor when `stop` says so. */
const STOP = Symbol('stop');

/**
 * The seeking header walk shared by indexTarFile and indexTarFileSync: `reads()` asks for byte
 * counts at `position` and is handed back what was read. Seek mode never awaits, so one driver can
 * be async and the other synchronous over the same parser.
 */
class HeaderWalk {
  readonly entries: TarHeader[] = [];
  private stopped = false;
  private readonly parser: TarParser;

  constructor(
    private readonly size: number,
    options: TarIndexOptions,
    label: string,
  ) {
    const stop = options.stop;
    this.parser = new TarParser(
      {
        entry: (header) => {
          this.entries.push(header);
          if (stop !== undefined && stop(header)) throw STOP;
          return undefined;
        },
      },
      { ...options, label },
    );
    this.parser.seekMode = true;
  }

  get position(): number {
    return this.parser.position;
  }

  /** How many bytes to read next at `position` (at most `max`); 0 once the walk is over. */
  private wanted(max: number): number {
    if (this.stopped || this.parser.ended) return 0;
    const position = this.parser.position;
    if (position > this.size) throw this.parser.truncatedAt(this.size);
    return Math.min(max, this.size - position);
  }

  private feed(chunk: Buffer): void {
    try {
      // Seek mode never awaits: the visitor returns no sinks.
      void this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof ForeignError) || error.error !== STOP) throw error;
      this.stopped = true;
      const last = this.entries[this.entries.length - 1] as TarHeader;
      if (last.dataOffset + Math.ceil(last.size / BLOCK_SIZE) * BLOCK_SIZE > this.size) throw this.parser.truncatedAt(this.size);
      return;
    }
    this.parser.skipContent();
  }

  /** Yields how many bytes to read at `position` into `buffer` and takes back how many were read. */
  *reads(buffer: Buffer): Generator<number, TarHeader[], number> {
    for (let length = this.wanted(buffer.length); length > 0; length = this.wanted(buffer.length)) {
      const bytesRead = yield length;
      if (bytesRead === 0) break;
      this.feed(buffer.subarray(0, bytesRead));
    }
    return this.finish();
  }

  private finish(): TarHeader[] {
    if (!this.stopped) {
      if (this.parser.position > this.size) throw this.parser.truncatedAt(this.size);
      this.parser.finish();
    }
    return this.entries;
  }

  failure(error: unknown, label: string): unknown {
    if (error instanceof ForeignError) return error.error;
    if (isDistillError(error)) return error;
    return sourceFailure(error, this.parser.position, label);
  }
}

const INDEX_BUFFER = 32 * 1024;

/**
 * Lists the entries of a tar file by reading only its header blocks (and pax / long-name records),
 * seeking over content: cheap on multi-GB docker-archive / oci-archive files. The entries' exact
 * headerOffset / dataOffset / size let callers read a member with
 * `createReadStream(path, { start: dataOffset, end: dataOffset + size - 1 })`.
 * Stops at the end-of-archive marker, or after the header `options.stop` accepts. Same errors as
 * readTar (a member cut short is TAR_TRUNCATED).
 */
export async function indexTarFile(path: string, options: TarIndexOptions = {}): Promise<TarHeader[]> {
  const label = options.label ?? path;
  let walk: HeaderWalk | undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    walk = new HeaderWalk((await handle.stat()).size, options, label);
    const buffer = Buffer.allocUnsafe(INDEX_BUFFER);
    const reads = walk.reads(buffer);
    for (let step = reads.next(); ; ) {
      if (step.done === true) return step.value;
      step = reads.next((await handle.read(buffer, 0, step.value, walk.position)).bytesRead);
    }
  } catch (error) {
    throw walk === undefined ? sourceFailure(error, 0, label) : walk.failure(error, label);
  } finally {
    await handle?.close();
  }
}

/** indexTarFile, synchronously (positional readSync over the same walk), for synchronous callers. */
export function indexTarFileSync(path: string, options: TarIndexOptions = {}): TarHeader[] {
  const label = options.label ?? path;
  let walk: HeaderWalk | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    walk = new HeaderWalk(fstatSync(fd).size, options, label);
    const buffer = Buffer.allocUnsafe(INDEX_BUFFER);
    const reads = walk.reads(buffer);
    for (let step = reads.next(); ; ) {
      if (step.done === true) return step.value;
      step = reads.next(readSync(fd, buffer, 0, step.value, walk.position));
    }
  } catch (error) {
    throw walk === undefined ? sourceFailure(error, 0, label) : walk.failure(error, label);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads a tar stream chunk by chunk. For every entry (after pax / GNU long-name records are applied)
 * calls `visitor.entry(header)` synchronously; if it returns a sink, the content is written to it as
 * slices of the incoming chunks (not copies: a sink that keeps them keeps the chunks alive), then
 * `end()` is called and awaited when it returns a promise. The whole source is consumed, including
 * whatever follows the end-of-archive marker.
 *
 * Failures: TAR_CORRUPT (checksum, malformed field or pax record, oversized metadata), TAR_TRUNCATED,
 * TAR_ENTRY_TOO_LARGE (raised before any content is read), IO / DECOMPRESS_FAILED for source errors.
 * Exceptions thrown by the visitor or a sink propagate unchanged.
 */
export async function readTar(source: AsyncIterable<Buffer>, visitor: TarVisitor, options: TarReadOptions = {}): Promise<TarSummary> {
  const parser = new TarParser(visitor, options);
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await iterator.next();
      } catch (error) {
        done = true;
        throw sourceFailure(error, parser.position, options.label);
      }
      if (step.done === true) {
        done = true;
        break;
      }
      const pending = parser.push(asBuffer(step.value, parser.position, options.label));
      if (pending !== undefined) await pending;
    }
    parser.finish();
    return parser.summary();
  } catch (error) {
    parser.abort(error instanceof ForeignError ? error.error : error);
    if (!done && iterator.return !== undefined) {
      try {
        await iterator.return();
      } catch {
        // Closing the source is best effort; the parse failure is what matters.
      }
    }
    if (error instanceof ForeignError) throw error.error;
    if (isDistillError(error)) throw error;
    throw new DistillError('TAR_CORRUPT', `unexpected failure parsing tar stream${options.label === undefined ? '' : ` ${options.label}`} at byte ${parser.position}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      ...(options.label === undefined ? {} : { subject: options.label }),
    });
  }
}
