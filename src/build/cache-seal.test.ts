/** @module build/cache-seal.test — sealed records open only under their key, kind and id; every alteration is a miss. */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheSeal, readSealed, recordId, sealedPath, writeSealed } from './cache-seal.js';

const work = mkdtempSync(join(tmpdir(), 'cache-seal-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = Buffer.alloc(32, 0x11);
const seal = cacheSeal(key);
const id = recordId('test', 'one');
const body = Buffer.from('{"packages":["libc6"]}');

describe('cache seal', () => {
  it('is HMAC-SHA256 over the kind, id and body (oracle: node:crypto createHmac), and opens to the body', () => {
    const sealed = seal.seal('resolution', id, body);
    const expected = createHmac('sha256', key).update(`distill-sealed v1\nresolution\n${id}\n`).update(body).digest('hex');
    expect(sealed.subarray(0, sealed.indexOf(0x0a)).toString()).toBe(`distill-sealed v1 ${expected}`);
    expect(seal.open('resolution', id, sealed)?.equals(body)).toBe(true);
  });

  it('refuses every alteration, another key, another kind or another id', () => {
    const sealed = seal.seal('resolution', id, body);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 2] = flipped[flipped.length - 2]! ^ 0x01;
    const cases: [string, Buffer | undefined][] = [
      ['flipped body byte', seal.open('resolution', id, flipped)],
      ['truncated', seal.open('resolution', id, sealed.subarray(0, sealed.length - 1))],
      ['extended', seal.open('resolution', id, Buffer.concat([sealed, Buffer.from(' ')]))],
      ['header only', seal.open('resolution', id, sealed.subarray(0, 83))],
      ['empty', seal.open('resolution', id, Buffer.alloc(0))],
      ['unsealed body', seal.open('resolution', id, body)],
      ['another key', cacheSeal(Buffer.alloc(32, 0x12)).open('resolution', id, sealed)],
      ['another kind', seal.open('data-tar', id, sealed)],
      ['another id', seal.open('resolution', recordId('test', 'two'), sealed)],
      ['upper-case hex mac', seal.open('resolution', id, Buffer.from(sealed.toString('latin1').replace(/ ([0-9a-f]{64})\n/, (_m, h: string) => ` ${h.toUpperCase()}\n`), 'latin1'))],
    ];
    for (const [what, opened] of cases) expect(opened, what).toBeUndefined();
  });

  it('refuses short keys and malformed names', () => {
    expect(() => cacheSeal(Buffer.alloc(8))).toThrow(/at least 16 bytes/);
    expect(() => seal.seal('Bad Kind', id, body)).toThrow(/sealed-record name/);
    expect(() => seal.seal('resolution', '../../etc/passwd', body)).toThrow(/sealed-record name/);
    expect(() => sealedPath(work, 'resolution', 'x'.repeat(64))).toThrow(/sealed-record name/);
  });

  it('record ids separate their parts (no two part lists share an id by concatenation)', () => {
    expect(recordId('ab', 'c')).not.toBe(recordId('a', 'bc'));
    expect(recordId('ab', 'c')).toBe(recordId('ab', 'c'));
    expect(recordId('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads back what it wrote atomically; a foreign, oversized or missing file is a miss', async () => {
    const dir = join(work, 'store');
    await writeSealed(dir, seal, 'inrelease', id, body);
    expect((await readSealed(dir, seal, 'inrelease', id))?.equals(body)).toBe(true);
    // No temp files are left behind.
    expect(readdirSync(join(dir, 'sealed', 'inrelease'))).toEqual([id]);
    expect(await readSealed(dir, seal, 'inrelease', id, 10)).toBeUndefined();
    expect(await readSealed(dir, cacheSeal(Buffer.alloc(16, 3)), 'inrelease', id)).toBeUndefined();
    expect(await readSealed(dir, seal, 'inrelease', recordId('absent'))).toBeUndefined();
    writeFileSync(sealedPath(dir, 'inrelease', id), readFileSync(sealedPath(dir, 'inrelease', id)).toString('latin1').replace('libc6', 'libc7'));
    expect(await readSealed(dir, seal, 'inrelease', id)).toBeUndefined();
    // An unwritable cache is not an error: the record is simply not kept.
    const notADirectory = join(work, 'a-file');
    writeFileSync(notADirectory, '');
    await writeSealed(join(notADirectory, 'cache'), seal, 'inrelease', id, body);
    expect(await readSealed(join(notADirectory, 'cache'), seal, 'inrelease', id)).toBeUndefined();
  });
});
