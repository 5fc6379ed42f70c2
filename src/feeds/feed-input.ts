/** @module feeds/feed-input — shared input handling for feed parsers: bounded reading, digests, gzip detection, capped JSON parsing, issue collection. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { DistillError, describeError, type Issue, type IssueCode } from '../errors.js';
import type { FeedName, FeedProvenance } from '../vuln/vulnerability.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';

/** A feed as bytes, a stream of byte chunks, or a local path. */
export type FeedInput = Buffer | Uint8Array | AsyncIterable<Buffer | Uint8Array> | string;

/** Options every feed importer takes. */
export interface FeedImportOptions {
  /** URL or path the data came from (stored as provenance). */
  origin: string;
  fetchedAt: Date;
  /**
   * When true (default) the importer calls `writer.clearFeed(feed)` first and `writer.setProvenance()` last, so one
   * call replaces the feed as a whole. Pass false to combine several inputs of one feed under a caller-managed import.
   */
  replaceFeed?: boolean;
  /** Bound on the raw input bytes (default 1 GiB). */
  maxInputBytes?: number;
  /** Bound on the decompressed bytes of a gzip'd input (default 2 GiB). */
  maxDecodedBytes?: number;
}

export interface FeedImportResult {
  feed: FeedName;
  /** Affected rules written. */
  records: number;
  /** Vulnerability records written. */
  vulnerabilities: number;
  /** The data's own date (newest record `modified`), when the format carries one. */
  recordDate?: string;
  /** sha256:<hex> of the input bytes as given (before decompression); for a directory, of its sorted file digests. */
  digest: string;
  /** Entries deliberately not written, by reason (notAffected, gitRange, unknownEcosystem, invalidVersion, …). */
  skipped: Record<string, number>;
  issues: Issue[];
}

export const MiB = 1024 * 1024;
export const DEFAULT_MAX_INPUT_BYTES = 1024 * MiB;
export const DEFAULT_MAX_DECODED_BYTES = 2048 * MiB;
/**
 * Cap for one JSON.parse call. V8 strings top out near 512 MiB, and the parsed tree costs several times the text, so
 * bigger single documents are refused instead of exhausting the heap. The Debian tracker importer never parses the
 * whole file at once (it splits per source package), so this caps one package's JSON there.
 */
export const DEFAULT_MAX_JSON_BYTES = 512 * MiB;
/** Recorded issues are capped so a hostile feed cannot grow the result without bound; the rest are only counted. */
export const MAX_ISSUES = 1000;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function isZip(bytes: Uint8Array): boolean {
  // Local file header, or the end-of-central-directory record of an empty archive.
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

export function sha256Digest(hash: Hash): string {
  return `sha256:${hash.digest('hex')}`;
}

/** Collects issues up to MAX_ISSUES, counting the rest in one final issue. */
export class IssueCollector {
  readonly issues: Issue[] = [];
  private dropped = 0;

  constructor(private readonly source: string) {}

  add(code: IssueCode, message: string, path?: string): void {
    if (this.issues.length >= MAX_ISSUES) {
      this.dropped++;
      return;
    }
    const issue: Issue = { code, message, source: this.source };
    if (path !== undefined) issue.path = path;
    this.issues.push(issue);
  }

  list(): Issue[] {
    if (this.dropped === 0) return this.issues;
    return [...this.issues, { code: 'PARSE_FAILED', message: `${this.dropped} more issues not listed`, source: this.source }];
  }
}

/** Counts skipped entries by reason. */
export class SkipCounter {
  readonly counts: Record<string, number> = {};
  add(reason: string, n = 1): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + n;
  }
}

function tooLarge(subject: string, limit: number, what: string): DistillError {
  return new DistillError('FEED_TOO_LARGE', `${subject}: ${what} exceeds the limit of ${Math.round(limit / MiB)} MiB`, {
    subject,
    hint: 'check that this is the right feed file; the limit can be raised with the importer options',
  });
}

async function* rawChunks(input: FeedInput, subject: string): AsyncGenerator<Buffer> {
  if (typeof input === 'string') {
    try {
      const info = await stat(input);
      if (!info.isFile()) throw new DistillError('FEED_INVALID', `${input} is not a regular file`, { subject: input });
    } catch (error) {
      if (error instanceof DistillError) throw error;
      throw new DistillError('FILE_NOT_FOUND', `cannot read feed ${input}: ${describeError(error)}`, { subject: input, cause: error });
    }
    for await (const chunk of createReadStream(input, { highWaterMark: 4 * MiB })) yield chunk as Buffer;
    return;
  }
  if (input instanceof Uint8Array) {
    yield Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return;
  }
  for await (const chunk of input) {
    if (!(chunk instanceof Uint8Array)) throw new DistillError('FEED_INVALID', `${subject}: the input stream yielded a non-byte chunk`, { subject });
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

export interface DecodedStream {
  chunks: AsyncGenerator<Buffer>;
  /** Available once `chunks` is exhausted: sha256 of the raw input bytes. */
  digest(): string;
}

/**
 * Streams the input's bytes, gunzipping transparently when it starts with the gzip magic. Raw and decoded sizes are
 * bounded; the digest covers the raw bytes as given.
 */
export function decodedChunks(input: FeedInput, options: { subject: string; maxInputBytes?: number; maxDecodedBytes?: number }): DecodedStream {
  const { subject } = options;
  const maxInput = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const maxDecoded = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  const hash = createHash('sha256');
  let digest: string | undefined;

  async function* counted(): AsyncGenerator<Buffer> {
    let total = 0;
    for await (const chunk of rawChunks(input, subject)) {
      total += chunk.length;
      if (total > maxInput) throw tooLarge(subject, maxInput, 'the input');
      hash.update(chunk);
      yield chunk;
    }
    digest = sha256Digest(hash);
  }

  async function* decoded(): AsyncGenerator<Buffer> {
    const source = counted();
    const first = await source.next();
    if (first.done) return;
    if (!isGzip(first.value)) {
      yield first.value;
      yield* source;
      return;
    }
    async function* again(): AsyncGenerator<Buffer> {
      yield first.value as Buffer;
      yield* source;
    }
    const gunzip = createGunzip();
    const stream = Readable.from(again()).pipe(gunzip);
    let total = 0;
    try {
      for await (const chunk of stream) {
        total += (chunk as Buffer).length;
        if (total > maxDecoded) throw tooLarge(subject, maxDecoded, 'the decompressed input');
        yield chunk as Buffer;
      }
    } catch (error) {
      if (error instanceof DistillError) throw error;
      const code = (error as { code?: string }).code;
      const truncated = code === 'Z_BUF_ERROR' || /unexpected end/i.test(describeError(error));
      throw new DistillError('FEED_INVALID', `${subject}: gzip data is ${truncated ? 'truncated' : 'corrupt'}: ${describeError(error)}`, {
        subject,
        cause: error,
        hint: 'download the feed again',
      });
    } finally {
      stream.destroy();
    }
  }

  return {
    chunks: decoded(),
    digest: () => {
      if (digest === undefined) throw new Error('digest read before the input was consumed');
      return digest;
    },
  };
}

/** Reads a whole (bounded) input into memory, gunzipped if needed. */
export async function readFeedBytes(
  input: FeedInput,
  options: { subject: string; maxInputBytes?: number; maxDecodedBytes?: number },
): Promise<{ bytes: Buffer; raw: Buffer; digest: string }> {
  const maxInput = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of rawChunks(input, options.subject)) {
    total += chunk.length;
    if (total > maxInput) throw tooLarge(options.subject, maxInput, 'the input');
    parts.push(chunk);
  }
  const raw = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  if (!isGzip(raw)) return { bytes: raw, raw, digest };
  const maxDecoded = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  try {
    return { bytes: gunzipSync(raw, { maxOutputLength: Math.min(maxDecoded, 0x7fffffff) }), raw, digest };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(options.subject, maxDecoded, 'the decompressed input');
    throw new DistillError('FEED_INVALID', `${options.subject}: gzip data is truncated or corrupt: ${describeError(error)}`, {
      subject: options.subject,
      cause: error,
      hint: 'download the feed again',
    });
  }
}

/** JSON.parse with a size cap and a FEED_INVALID error naming the subject. */
export function parseJsonBounded(bytes: Buffer, options: { subject: string; maxBytes?: number }): unknown {
  const max = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  if (bytes.length > max) throw tooLarge(options.subject, max, 'one JSON document');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new DistillError('FEED_INVALID', `${options.subject}: malformed JSON: ${describeError(error)}`, {
      subject: options.subject,
      cause: error,
      hint: 'the file is truncated or not JSON; download it again',
    });
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Starts an import: clears the feed when the caller asked for a whole-feed replacement. */
export function beginImport(writer: VulnStoreWriter, feed: FeedName, options: FeedImportOptions): void {
  if (options.replaceFeed !== false) writer.clearFeed(feed);
}

/** Finishes an import: writes provenance (when replacing the feed) and builds the result. */
export function finishImport(
  writer: VulnStoreWriter,
  options: FeedImportOptions,
  result: FeedImportResult,
): FeedImportResult {
  if (options.replaceFeed !== false) {
    const provenance: FeedProvenance = {
      feed: result.feed,
      origin: options.origin,
      fetchedAt: options.fetchedAt.toISOString(),
      digest: result.digest,
      records: result.records,
    };
    if (result.recordDate !== undefined) provenance.recordDate = result.recordDate;
    writer.setProvenance(provenance);
  }
  return result;
}

/** Writes records in batches so a large feed never sits in memory as one array. */
export class BatchWriter<T> {
  private batch: T[] = [];
  count = 0;
  constructor(
    private readonly flushTo: (records: T[]) => void,
    private readonly size = 5000,
  ) {}
  push(record: T): void {
    this.batch.push(record);
    this.count++;
    if (this.batch.length >= this.size) this.flush();
  }
  flush(): void {
    if (this.batch.length === 0) return;
    const out = this.batch;
    this.batch = [];
    this.flushTo(out);
  }
}

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

const enum SplitState {
  BeforeOpen,
  FirstKeyOrClose,
  Key,
  Colon,
  ValueStart,
  Value,
  CommaOrClose,
  NextKey,
  Done,
}

/**
 * Splits a top-level JSON object into (key, value bytes) pairs as chunks arrive, so a feed shaped
 * `{ name: {...}, ... }` is parsed one member at a time with JSON.parse: memory stays bounded by one member, and the
 * per-byte scan only tracks strings and nesting (string bodies are skipped with indexOf).
 */
export class TopLevelObjectSplitter {
  private state = SplitState.BeforeOpen;
  private keyParts: Buffer[] = [];
  private valueParts: Buffer[] = [];
  private valueBytes = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private scalar = false;
  private offset = 0;

  constructor(
    private readonly subject: string,
    private readonly maxMemberBytes = DEFAULT_MAX_JSON_BYTES,
  ) {}

  private invalid(message: string): DistillError {
    return new DistillError('FEED_INVALID', `${this.subject}: malformed JSON at byte ${this.offset}: ${message}`, {
      subject: this.subject,
      hint: 'the file is truncated or not the expected JSON; download it again',
    });
  }

  /** Feeds one chunk; returns the members completed in it. */
  push(chunk: Buffer): Array<[string, Buffer]> {
    const out: Array<[string, Buffer]> = [];
    const n = chunk.length;
    let i = 0;
    let start = -1; // start of the key or value bytes inside this chunk
    while (i < n) {
      switch (this.state) {
        case SplitState.BeforeOpen:
        case SplitState.FirstKeyOrClose:
        case SplitState.Colon:
        case SplitState.CommaOrClose:
        case SplitState.NextKey:
        case SplitState.Done:
        case SplitState.ValueStart: {
          const c = chunk[i] as number;
          if (WS[c] === 1) {
            i++;
            continue;
          }
          this.structural(c, i);
          const next = this.state as SplitState;
          if (next === SplitState.Value) {
            start = i; // the value's first byte belongs to the value scan
            continue;
          }
          if (next === SplitState.Key) start = i + 1;
          i++;
          continue;
        }
        case SplitState.Key: {
          if (start < 0) start = i;
          const end = this.scanString(chunk, i);
          if (end < 0) {
            this.keyParts.push(chunk.subarray(start, n));
            if (this.keyParts.reduce((s, p) => s + p.length, 0) > 1 * MiB) throw this.invalid('an object key longer than 1 MiB');
            i = n;
            continue;
          }
          this.keyParts.push(chunk.subarray(start, end));
          start = -1;
          this.state = SplitState.Colon;
          i = end + 1;
          continue;
        }
        case SplitState.Value: {
          if (start < 0) start = i;
          const end = this.scanValue(chunk, i);
          if (end < 0) {
            this.addValuePart(chunk.subarray(start, n));
            i = n;
            continue;
          }
          this.addValuePart(chunk.subarray(start, end));
          start = -1;
          out.push(this.takeMember());
          this.state = SplitState.CommaOrClose;
          i = end;
          continue;
        }
      }
    }
    this.offset += n;
    return out;
  }

  /** Call after the last chunk: the object must be closed. */
  end(): void {
    if (this.state === SplitState.Value && this.scalar) throw this.invalid('the input ends inside a value');
    if (this.state !== SplitState.Done) throw this.invalid(this.state === SplitState.BeforeOpen ? 'the input is empty' : 'the input ends before the top-level object is closed');
  }

  private structural(c: number, i: number): void {
    const at = (what: string) => this.invalid(`${what}, found ${JSON.stringify(String.fromCharCode(c))} (offset ${this.offset + i})`);
    switch (this.state) {
      case SplitState.BeforeOpen:
        if (c !== 0x7b) throw at('expected a top-level object');
        this.state = SplitState.FirstKeyOrClose;
        return;
      case SplitState.FirstKeyOrClose:
      case SplitState.NextKey:
        if (c === 0x22) this.state = SplitState.Key;
        else if (c === 0x7d && this.state === SplitState.FirstKeyOrClose) this.state = SplitState.Done;
        else throw at('expected an object key');
        return;
      case SplitState.Colon:
        if (c !== 0x3a) throw at('expected ":"');
        this.state = SplitState.ValueStart;
        return;
      case SplitState.ValueStart:
        this.state = SplitState.Value;
        this.depth = 0;
        this.inString = false;
        this.escape = false;
        this.scalar = c !== 0x7b && c !== 0x5b && c !== 0x22;
        if (c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) throw at('expected a value');
        return;
      case SplitState.CommaOrClose:
        if (c === 0x2c) this.state = SplitState.NextKey;
        else if (c === 0x7d) this.state = SplitState.Done;
        else throw at('expected "," or "}"');
        return;
      case SplitState.Done:
        throw at('unexpected data after the top-level object');
      default:
        return;
    }
  }

  /** Scans a string body from i; returns the index of the closing quote, or -1 (state kept for the next chunk). */
  private scanString(chunk: Buffer, i: number): number {
    const n = chunk.length;
    if (this.escape) {
      this.escape = false;
      i++;
    }
    while (i < n) {
      const q = chunk.indexOf(0x22, i);
      if (q < 0) {
        let run = 0;
        for (let j = n - 1; j >= i && chunk[j] === 0x5c; j--) run++;
        this.escape = run % 2 === 1;
        return -1;
      }
      let run = 0;
      for (let j = q - 1; j >= i && chunk[j] === 0x5c; j--) run++;
      if (run % 2 === 0) return q;
      i = q + 1;
    }
    return -1;
  }

  /** Scans a value from i; returns the index just past its end, or -1. */
  private scanValue(chunk: Buffer, i: number): number {
    const n = chunk.length;
    if (this.scalar) {
      for (; i < n; i++) {
        const c = chunk[i] as number;
        if (c === 0x2c || c === 0x7d || WS[c] === 1) return i;
      }
      return -1;
    }
    while (i < n) {
      if (this.inString) {
        const q = this.scanString(chunk, i);
        if (q < 0) return -1;
        this.inString = false;
        i = q + 1;
        if (this.depth === 0) return i;
        continue;
      }
      const c = chunk[i] as number;
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }

  private addValuePart(part: Buffer): void {
    this.valueBytes += part.length;
    if (this.valueBytes > this.maxMemberBytes) throw tooLarge(this.subject, this.maxMemberBytes, 'one top-level member');
    this.valueParts.push(part);
  }

  private takeMember(): [string, Buffer] {
    const keyBytes = this.keyParts.length === 1 ? (this.keyParts[0] as Buffer) : Buffer.concat(this.keyParts);
    let key: string;
    try {
      key = JSON.parse(`"${keyBytes.toString('utf8')}"`) as string;
    } catch {
      throw this.invalid('an object key is not a valid JSON string');
    }
    // Parts are views into chunks the caller may reuse: copy when joining, and copy a lone part too.
    const value = Buffer.concat(this.valueParts, this.valueBytes);
    this.keyParts = [];
    this.valueParts = [];
    this.valueBytes = 0;
    return [key, value];
  }
}

/** Format check for OSV SEMVER range versions, which are strict SemVer 2.0.0 (no leading "v", no loose forms). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
export function isValidSemver(version: string): boolean {
  return version.length <= 256 && SEMVER.test(version);
}

export function sizeOptions(options: FeedImportOptions): { maxInputBytes?: number; maxDecodedBytes?: number } {
  const out: { maxInputBytes?: number; maxDecodedBytes?: number } = {};
  if (options.maxInputBytes !== undefined) out.maxInputBytes = options.maxInputBytes;
  if (options.maxDecodedBytes !== undefined) out.maxDecodedBytes = options.maxDecodedBytes;
  return out;
}
