/** @module oci/decompress — streaming gzip (node:zlib) and zstd (fzstd) decoders, and error-mapping stream chains. */
import { Transform, type Readable, type TransformCallback, type Duplex } from 'node:stream';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { DistillError } from '../errors.js';
import type { Compression } from './media-types.js';

/** zstd through fzstd's push API, as a Transform. */
class ZstdDecompressStream extends Transform {
  private readonly decoder: Decompress;

  constructor() {
    super();
    this.decoder = new Decompress((data) => {
      if (data.length > 0) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** A decoder stream for the given compression (a pass-through is not created for `none`). */
export function createDecompressor(compression: Exclude<Compression, 'none'>): Duplex {
  if (compression === 'gzip') return createGunzip({ chunkSize: 128 * 1024 });
  return new ZstdDecompressStream();
}

function isTruncation(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown };
  if (e.code === 'Z_BUF_ERROR' || e.errno === zlibConstants.Z_BUF_ERROR) return true;
  // fzstd: ZstdErrorCode.UnexpectedEOF = 5
  return e.code === 5 && typeof e.message === 'string';
}

/** Maps a decoder's native error to DECOMPRESS_FAILED, or ARCHIVE_TRUNCATED when the input ended early. */
export function decompressError(error: unknown, compression: Compression, subject: string): DistillError {
  if (error instanceof DistillError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isTruncation(error)) {
    return new DistillError('ARCHIVE_TRUNCATED', `${compression} data of ${subject} ends early: ${message}`, {
      hint: 'the layer blob is truncated; re-export the image',
      subject,
      cause: error,
    });
  }
  return new DistillError('DECOMPRESS_FAILED', `cannot decompress ${compression} data of ${subject}: ${message}`, {
    hint: 'the layer is corrupt or its media type does not match its content',
    subject,
    cause: error,
  });
}

export interface ChainStage {
  stream: Duplex | Readable;
  /** Turns this stage's native errors into DistillErrors. */
  mapError?: (error: unknown) => Error;
}

/**
 * Pipes stages together and returns the last one. The first failure anywhere destroys every stage
 * and is re-emitted, mapped, on the returned stream; destroying the returned stream early releases
 * the upstream stages (closing files).
 */
export function chainStreams(stages: ChainStage[]): Readable {
  const streams = stages.map((stage) => stage.stream);
  const last = streams[streams.length - 1];
  if (last === undefined) throw new Error('chainStreams: no stages');
  if (streams.length === 1) return last;
  let settled = false;
  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    for (const stream of streams) if (stream !== last) stream.destroy();
    last.destroy(error);
  };
  stages.forEach((stage, index) => {
    const stream = stage.stream;
    stream.on('error', (error: unknown) => {
      if (stream === last && settled) return;
      fail(stage.mapError ? stage.mapError(error) : (error as Error));
    });
    const next = streams[index + 1];
    if (next !== undefined) stream.pipe(next as Duplex);
  });
  last.on('end', () => {
    settled = true;
  });
  last.on('close', () => {
    if (!settled) {
      settled = true;
      for (const stream of streams) if (stream !== last) stream.destroy();
    }
  });
  return last;
}
