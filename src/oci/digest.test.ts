import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drain, rejectsWith } from '../../test/fixtures/oci/streams.js';
import { chainStreams, createDecompressor, decompressError } from './decompress.js';
import { digestOf, isDigest, parseDigest, VerifyingStream } from './digest.js';
import { sniffCompression } from './media-types.js';

// Hex of chained hashes: deterministic and only partly compressible, so blobs are a few hundred KiB.
const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => digestOf(`chunk ${i}`)).join('\n'));
const sha256sum = (input: Buffer, tool = 'sha256sum'): string => execFileSync(tool, { input, encoding: 'utf8' }).split(' ')[0]!;

describe('digests', () => {
  it('parses strictly', () => {
    expect(parseDigest(`sha256:${'a'.repeat(64)}`)).toEqual({ algorithm: 'sha256', hex: 'a'.repeat(64) });
    expect(parseDigest(`sha512:${'0'.repeat(128)}`).algorithm).toBe('sha512');
    for (const bad of ['sha256:../../x', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(65)}`, `sha384:${'a'.repeat(96)}`, 'sha256:', `SHA256:${'a'.repeat(64)}`, 42, undefined]) {
      expect(isDigest(bad), String(bad)).toBe(false);
    }
  });

  it('hashes like sha256sum / sha512sum', () => {
    expect(digestOf(data)).toBe(`sha256:${sha256sum(data)}`);
    expect(digestOf(data, 'sha512')).toBe(`sha512:${sha256sum(data, 'sha512sum')}`);
  });

  it('VerifyingStream passes good content and fails bad digest or size', async () => {
    const good = new VerifyingStream({ digest: digestOf(data), size: data.length, subject: 'x' });
    expect(await drain(Readable.from([data]).pipe(good))).toEqual({ digest: digestOf(data), bytes: data.length });
    const wrong = chainStreams([{ stream: Readable.from([data]) }, { stream: new VerifyingStream({ digest: digestOf('other'), size: data.length, subject: 'blob-x' }) }]);
    const error = await rejectsWith(drain(wrong), 'DIGEST_MISMATCH');
    expect(error.message).toContain(digestOf('other'));
    expect(error.message).toContain(digestOf(data));
    expect(error.message).toContain('blob-x');
    await rejectsWith(drain(chainStreams([{ stream: Readable.from([data]) }, { stream: new VerifyingStream({ size: data.length - 1, subject: 'x' }) }])), 'SIZE_MISMATCH');
    await rejectsWith(drain(chainStreams([{ stream: Readable.from([data]) }, { stream: new VerifyingStream({ size: data.length + 1, subject: 'x' }) }])), 'SIZE_MISMATCH');
  });
});

describe('decompression', () => {
  const gz = execFileSync('gzip', ['-c'], { input: data });
  const zst = execFileSync('zstd', ['-q', '-c'], { input: data });

  it('sniffs magic bytes', () => {
    expect(sniffCompression(gz)).toBe('gzip');
    expect(sniffCompression(zst)).toBe('zstd');
    expect(sniffCompression(execFileSync('xz', ['-c'], { input: data }))).toBe('xz');
    expect(sniffCompression(data)).toBe('unknown');
  });

  it('decodes gzip and zstd CLI output, including concatenated zstd frames', async () => {
    const gunzip = chainStreams([{ stream: Readable.from([gz]) }, { stream: createDecompressor('gzip') }]);
    expect((await drain(gunzip)).digest).toBe(digestOf(data));
    const twoFrames = Buffer.concat([zst, zst]);
    const chunks = Array.from({ length: Math.ceil(twoFrames.length / 7) }, (_, i) => twoFrames.subarray(i * 7, i * 7 + 7));
    expect((await drain(Readable.from(chunks).pipe(createDecompressor('zstd')))).digest).toBe(digestOf(Buffer.concat([data, data])));
  });

  it('maps truncation and corruption to ARCHIVE_TRUNCATED / DECOMPRESS_FAILED', async () => {
    for (const [compression, blob] of [['gzip', gz], ['zstd', zst]] as const) {
      const truncated = chainStreams([
        { stream: Readable.from([blob.subarray(0, blob.length - 8)]) },
        { stream: createDecompressor(compression), mapError: (e) => decompressError(e, compression, 'layer-t') },
        { stream: new VerifyingStream({ subject: 'layer-t' }) },
      ]);
      await rejectsWith(drain(truncated), 'ARCHIVE_TRUNCATED');
      const garbage = Buffer.from(blob);
      garbage.fill(0x55, 40, 400);
      const corrupt = chainStreams([
        { stream: Readable.from([garbage]) },
        { stream: createDecompressor(compression), mapError: (e) => decompressError(e, compression, 'layer-c') },
        { stream: new VerifyingStream({ subject: 'layer-c' }) },
      ]);
      await rejectsWith(drain(corrupt), 'DECOMPRESS_FAILED');
    }
  });
});
