/** @module build/deb/deb-decompress — bounded decompression of .deb members (gzip, xz, zstd, plain). */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { Decompress } from 'fzstd';
import { DistillError } from '../../errors.js';

export type DebCompression = 'none' | 'gzip' | 'xz' | 'zstd';

const gunzipAsync = promisify(gunzip);

function invalid(label: string, message: string, cause?: unknown): DistillError {
  return new DistillError('DEB_INVALID', `${label}: ${message}`, { subject: label, ...(cause === undefined ? {} : { cause }) });
}

/** Compression named by a member's suffix (`data.tar.xz` → xz); undefined for suffixes distill does not read. */
export function memberCompression(name: string, base: 'control.tar' | 'data.tar'): DebCompression | undefined {
  const suffix = name.slice(base.length);
  switch (suffix) {
    case '':
      return 'none';
    case '.gz':
      return 'gzip';
    case '.xz':
      return 'xz';
    case '.zst':
      return 'zstd';
    default:
      return undefined;
  }
}

function readVarint(data: Buffer, pos: number, end: number): [number, number] {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 9; i++) {
    if (pos >= end) throw new Error('varint runs past the index');
    const byte = data[pos++]!;
    value += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return [value, pos];
    factor *= 128;
  }
  throw new Error('varint longer than 9 bytes');
}

/**
 * The uncompressed size an xz file declares in its stream indexes (all concatenated streams, stream padding
 * skipped). liblzma checks every index against the blocks it decodes, so a lying index fails decompression:
 * the bound taken from here holds before a single byte is inflated.
 */
export function xzUncompressedSize(data: Buffer): number {
  let end = data.length;
  let total = 0;
  while (end > 0) {
    while (end >= 4 && data.readUInt32LE(end - 4) === 0) end -= 4; // stream padding
    if (end < 24) throw new Error('too short for an xz stream');
    if (data[end - 2] !== 0x59 || data[end - 1] !== 0x5a) throw new Error('bad xz stream footer magic');
    const backwardSize = (data.readUInt32LE(end - 8) + 1) * 4;
    const indexStart = end - 12 - backwardSize;
    if (indexStart < 12) throw new Error('xz index runs before the stream header');
    if (data[indexStart] !== 0) throw new Error('bad xz index indicator');
    let pos = indexStart + 1;
    const indexEnd = end - 12;
    let count: number;
    [count, pos] = readVarint(data, pos, indexEnd);
    let blocks = 0;
    for (let i = 0; i < count; i++) {
      let unpadded: number;
      let uncompressed: number;
      [unpadded, pos] = readVarint(data, pos, indexEnd);
      [uncompressed, pos] = readVarint(data, pos, indexEnd);
      blocks += Math.ceil(unpadded / 4) * 4;
      total += uncompressed;
    }
    const streamStart = indexStart - blocks - 12;
    if (streamStart < 0) throw new Error('xz blocks run before the start of the file');
    if (data.readUInt32BE(streamStart) !== 0xfd377a58 || data.readUInt16BE(streamStart + 4) !== 0x5a00) throw new Error('bad xz stream header magic');
    end = streamStart;
  }
  return total;
}

/** Decompresses one member, refusing output larger than `maxSize`. */
export async function decompressMember(data: Buffer, compression: DebCompression, maxSize: number, label: string): Promise<Buffer> {
  const tooLarge = (): DistillError => invalid(label, `decompresses to more than ${maxSize} bytes`);
  switch (compression) {
    case 'none':
      if (data.length > maxSize) throw tooLarge();
      return data;
    case 'gzip':
      try {
        return await gunzipAsync(data, { maxOutputLength: maxSize });
      } catch (error) {
        if (error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        throw invalid(label, `gzip data is corrupt (${(error as Error).message})`, error);
      }
    case 'xz': {
      let declared: number;
      try {
        declared = xzUncompressedSize(data);
      } catch (error) {
        throw invalid(label, `xz data is corrupt (${(error as Error).message})`, error);
      }
      if (declared > maxSize) throw tooLarge();
      try {
        const out = await xz.decompress(data);
        if (out.length !== declared) throw new Error(`decoded ${out.length} bytes, the index declares ${declared}`);
        return out;
      } catch (error) {
        throw invalid(label, `xz data is corrupt (${(error as Error).message})`, error);
      }
    }
    case 'zstd': {
      const chunks: Uint8Array[] = [];
      let size = 0;
      let overflow = false;
      const stream = new Decompress((chunk) => {
        size += chunk.length;
        if (size > maxSize) overflow = true;
        else chunks.push(chunk);
      });
      try {
        // Fed in slices so a zstd bomb is stopped after at most one slice's worth of output beyond the bound.
        const step = 1 << 20;
        for (let pos = 0; pos < data.length && !overflow; pos += step) stream.push(data.subarray(pos, pos + step), pos + step >= data.length);
      } catch (error) {
        throw invalid(label, `zstd data is corrupt (${(error as Error).message})`, error);
      }
      if (overflow) throw tooLarge();
      return Buffer.concat(chunks, size);
    }
  }
}
