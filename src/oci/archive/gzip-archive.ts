/** @module oci/archive/gzip-archive — gzip-wrapped image archives (`docker save | gzip`): sniffed by magic bytes, inflated by streaming into a private temp file. */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DistillError, isDistillError } from '../../errors.js';

/** True when the bytes start with the gzip magic (1f 8b); the file name is never consulted. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Reads the first two bytes of `path`; a missing or unreadable file answers false (the caller's open reports it). */
export async function isGzipFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return isGzip(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

export interface InflateOptions {
  /** Names the input in errors (a path, or "request body"). */
  subject: string;
  /** Refuse once the DECOMPRESSED output passes this many bytes (a gzip bomb stops here, not at the disk's end). */
  maxBytes?: number;
  /** The error for passing `maxBytes`; default DECOMPRESS_FAILED. */
  tooLarge?: (limit: number) => DistillError;
}

const DAMAGED_HINT = 'the gzip stream is truncated or damaged; compress the archive again (e.g. `docker save IMAGE | gzip > IMAGE.tar.gz`) or pass the plain .tar';

function damaged(subject: string, error: unknown): DistillError {
  const why = error instanceof Error ? error.message : String(error);
  return new DistillError('DECOMPRESS_FAILED', `${subject}: cannot decompress the gzip stream: ${why}`, { hint: DAMAGED_HINT, subject, cause: error });
}

/**
 * Streams `source` through gunzip into `dest` (created exclusively, mode 0600) and returns the number of
 * decompressed bytes. Concatenated gzip members are one stream; trailing bytes that are not a gzip member,
 * a truncated stream and a corrupt one fail with DECOMPRESS_FAILED. Memory stays at a few zlib windows.
 * On failure `dest` may be left partial: the caller owns its directory and removes it.
 */
export async function inflateToFile(source: Readable | AsyncIterable<Uint8Array>, dest: string, options: InflateOptions): Promise<number> {
  let bytes = 0;
  const limit = options.maxBytes;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (limit !== undefined && bytes > limit) {
        done(options.tooLarge?.(limit) ?? new DistillError('DECOMPRESS_FAILED', `${options.subject}: decompresses to more than ${limit} bytes`, { hint: 'the archive expands past the limit; pass the plain .tar', subject: options.subject }));
        return;
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, createGunzip(), count, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    if (isDistillError(error)) throw error;
    // zlib's errors carry Z_* codes; anything else (disk full, permissions) is the machine's, not the input's.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw damaged(options.subject, error);
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') throw damaged(options.subject, error);
    throw new DistillError('IO', `${options.subject}: cannot write the decompressed archive to ${dest}: ${(error as Error).message}`, { subject: options.subject, cause: error });
  }
  return bytes;
}

export interface InflatedArchive {
  /** The decompressed tar, in a private directory under the OS temp dir. */
  path: string;
  bytes: number;
  /** Removes the temp directory; safe to call more than once. */
  dispose(): Promise<void>;
}

/** Decompresses a gzip-wrapped archive file to a private temp file (mkdtemp: mode 0700; removed again if anything fails). */
export async function inflateArchive(path: string, options: { tempDir?: string } = {}): Promise<InflatedArchive> {
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'distill-gunzip-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const out = join(dir, 'archive.tar');
  try {
    const bytes = await inflateToFile(createReadStream(path, { highWaterMark: 256 * 1024 }), out, { subject: path });
    return { path: out, bytes, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
