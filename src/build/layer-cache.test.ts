import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildLayerCached } from './build.js';
import { cacheSeal, sealedPath } from './cache-seal.js';
import { buildLayer, type FileTree } from './layer.js';

function tree(text: string): FileTree {
  const t: FileTree = new Map();
  t.set('/etc', { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 100 });
  t.set('/etc/motd', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 200, content: Buffer.from(text.repeat(5000)) });
  t.set('/etc/link', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'motd' });
  return t;
}

describe('layer blob cache', () => {
  it('gives buildLayer\'s exact bytes cold, warm, and after the entry is damaged or replaced', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'distill-layer-cache-'));
    try {
      const options = { mtime: 150, comment: 'c', createdBy: 'b' };
      const expected = await buildLayer(tree('hello\n'), options);
      const cold = await buildLayerCached(tree('hello\n'), options, cacheDir);
      const [name] = readdirSync(join(cacheDir, 'sha256'));
      expect(name).toBe(`${expected.diffId.slice(7)}.layer.gz`);
      const entry = join(cacheDir, 'sha256', name!);
      const warm = await buildLayerCached(tree('hello\n'), options, cacheDir);
      for (const l of [cold, warm]) {
        expect([l.diffId, l.digest, l.size, l.comment, l.createdBy]).toEqual([expected.diffId, expected.digest, expected.size, 'c', 'b']);
        expect(l.blob.equals(expected.blob)).toBe(true);
        expect(l.tar.equals(expected.tar)).toBe(true);
      }
      // Damaged (one flipped byte), truncated, another layer's blob, a gzip bomb: each is ignored and rewritten.
      const other = (await buildLayer(tree('other\n'), options)).blob;
      const flipped = Buffer.from(expected.blob);
      flipped[flipped.length >> 1] = flipped[flipped.length >> 1]! ^ 0xff;
      for (const bad of [flipped, expected.blob.subarray(0, 40), other, gzipSync(Buffer.alloc(64 << 20)), Buffer.from('not gzip')]) {
        writeFileSync(entry, bad);
        const again = await buildLayerCached(tree('hello\n'), options, cacheDir);
        expect(again.digest).toBe(expected.digest);
        expect(again.blob.equals(expected.blob)).toBe(true);
        expect(readFileSync(entry).equals(expected.blob)).toBe(true);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('with a seal, a warm hit is the sealed record plus one hash of the blob; a blob the record does not name, or a record under another key, is recompressed', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'distill-layer-cache-'));
    try {
      const seal = cacheSeal(Buffer.alloc(32, 4));
      const options = { mtime: 150 };
      const expected = await buildLayer(tree('hello\n'), options);
      await buildLayerCached(tree('hello\n'), options, cacheDir, seal);
      const diffHex = expected.diffId.slice(7);
      const entry = join(cacheDir, 'sha256', `${diffHex}.layer.gz`);
      const recordPath = sealedPath(cacheDir, 'layer', diffHex);
      expect(seal.open('layer', diffHex, readFileSync(recordPath))?.toString()).toBe(`sha256:${expected.digest.slice(7)} ${expected.size}\n`);
      const warm = await buildLayerCached(tree('hello\n'), options, cacheDir, seal);
      expect([warm.digest, warm.blob.equals(expected.blob), warm.tar.equals(expected.tar)]).toEqual([expected.digest, true, true]);

      const other = (await buildLayer(tree('other\n'), options)).blob;
      const otherHex = (await buildLayer(tree('other\n'), options)).digest.slice(7);
      const forgedBody = Buffer.from(`sha256:${otherHex} ${other.length}\n`);
      const attempts: [string, Buffer, Buffer][] = [
        ['another layer\'s blob under the genuine record', other, readFileSync(recordPath)],
        ['another layer\'s blob, record sealed under another key', other, cacheSeal(Buffer.alloc(32, 5)).seal('layer', diffHex, forgedBody)],
        ['another layer\'s blob, unsealed record', other, forgedBody],
      ];
      for (const [what, blob, record] of attempts) {
        writeFileSync(entry, blob);
        writeFileSync(recordPath, record);
        const again = await buildLayerCached(tree('hello\n'), options, cacheDir, seal);
        expect(again.digest, what).toBe(expected.digest);
        expect(readFileSync(entry).equals(expected.blob), what).toBe(true);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
