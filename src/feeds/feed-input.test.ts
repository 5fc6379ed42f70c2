/** @module feeds/feed-input.test — the shared feed input helpers: splitter edge cases across chunk boundaries, gzip, bounds. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { TopLevelObjectSplitter, decodedChunks, isGzip, isZip, parseJsonBounded, readFeedBytes } from './feed-input.js';

function split(text: string, size: number): Array<[string, unknown]> {
  const bytes = Buffer.from(text);
  const splitter = new TopLevelObjectSplitter('t');
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const [k, v] of splitter.push(Buffer.from(bytes.subarray(i, i + size)))) out.push([k, JSON.parse(v.toString())]);
  }
  splitter.end();
  return out;
}

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isDistillError(error) ? error.code : 'not-a-distill-error';
  }
  return undefined;
}

describe('TopLevelObjectSplitter', () => {
  // Escapes, backslash runs, braces inside strings, unicode keys, every value kind.
  const doc = JSON.stringify({
    'a"b': { x: 'q\\"}{', y: ['\\\\', '\\', '"'] },
    'ключ\u2028': { nested: { deep: [1, { z: '}' }] } },
    s: 'string value with \\"quotes\\" and \\\\',
    n: -12.5e3,
    t: true,
    z: null,
    arr: [1, [2, [3]]],
    empty: {},
  });
  const expected = Object.entries(JSON.parse(doc) as Record<string, unknown>);

  it('yields every member exactly as JSON.parse does, whatever the chunk size', () => {
    for (const size of [1, 2, 3, 5, 8, 13, 64, 10_000]) expect(split(doc, size)).toEqual(expected);
    expect(split(' \n{ }\n ', 1)).toEqual([]);
    expect(split(doc.replace(/,/g, ' ,\n\t'), 3).length).toBe(expected.length);
  });

  it('rejects what is not one closed top-level object', () => {
    for (const bad of ['', '[1]', '{"a" 1}', '{"a":1,}', '{"a":1', '{"a":{"b":1}', '{"a":1} {"b":2}', '{1:2}', '{"a":}', '{"a":1 "b":2}']) {
      expect(errorCode(() => split(bad, 2)), bad).toBe('FEED_INVALID');
    }
  });

  it('bounds one member', () => {
    const splitter = new TopLevelObjectSplitter('t', 100);
    expect(errorCode(() => splitter.push(Buffer.from(`{"a": "${'x'.repeat(200)}"}`)))).toBe('FEED_TOO_LARGE');
  });
});

describe('input helpers', () => {
  it('detects gzip and zip by magic', () => {
    expect(isGzip(gzipSync(Buffer.from('x')))).toBe(true);
    expect(isGzip(Buffer.from('{}'))).toBe(false);
    expect(isZip(Buffer.from([0x50, 0x4b, 3, 4, 0]))).toBe(true);
    expect(isZip(Buffer.from([0x50, 0x4b, 5, 6]))).toBe(true);
    expect(isZip(Buffer.from('PK'))).toBe(false);
  });

  it('gunzips transparently, digests the raw bytes, and bounds both sizes', async () => {
    const raw = Buffer.from('{"a": 1}'.repeat(1000));
    const gz = gzipSync(raw);
    const read = await readFeedBytes(gz, { subject: 't' });
    expect(read.bytes.equals(raw)).toBe(true);
    expect(read.raw.equals(gz)).toBe(true);
    const stream = decodedChunks(gz, { subject: 't' });
    const parts: Buffer[] = [];
    for await (const chunk of stream.chunks) parts.push(chunk);
    expect(Buffer.concat(parts).equals(raw)).toBe(true);
    expect(stream.digest()).toBe(read.digest);

    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
    await expect(readFeedBytes(bomb, { subject: 't', maxDecodedBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'FEED_TOO_LARGE' });
    const streamed = decodedChunks(bomb, { subject: 't', maxDecodedBytes: 1024 * 1024 });
    await expect((async () => { for await (const _ of streamed.chunks); })()).rejects.toMatchObject({ code: 'FEED_TOO_LARGE' });
    await expect(readFeedBytes(raw, { subject: 't', maxInputBytes: 10 })).rejects.toMatchObject({ code: 'FEED_TOO_LARGE' });
    await expect(readFeedBytes(gz.subarray(0, gz.length - 8), { subject: 't' })).rejects.toMatchObject({ code: 'FEED_INVALID' });
    const cut = decodedChunks(gz.subarray(0, 20), { subject: 't' });
    await expect((async () => { for await (const _ of cut.chunks); })()).rejects.toMatchObject({ code: 'FEED_INVALID' });
  });

  it('parses JSON under a cap', () => {
    expect(parseJsonBounded(Buffer.from('{"a":[1]}'), { subject: 't' })).toEqual({ a: [1] });
    expect(errorCode(() => parseJsonBounded(Buffer.from('{"a":'), { subject: 't' }))).toBe('FEED_INVALID');
    expect(errorCode(() => parseJsonBounded(Buffer.from('[1,2,3]'), { subject: 't', maxBytes: 3 }))).toBe('FEED_TOO_LARGE');
  });
});
