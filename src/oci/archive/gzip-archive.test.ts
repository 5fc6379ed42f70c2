import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { inflateArchive, inflateToFile, isGzip, isGzipFile } from './gzip-archive.js';
import { TarIndex } from './tar-index.js';

const run = promisify(execFile);
let dir: string;
let scratch: string;
let tar: string;
let gz: string;
const previousTmp = process.env.TMPDIR;

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isDistillError(error) ? error.code : `not a DistillError: ${String(error)}`;
  }
  return 'resolved';
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gzip-archive-'));
  // TarIndex inflates into the OS temp dir: point it at a private one so leftovers can be counted exactly.
  scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  process.env.TMPDIR = scratch;
  const content = join(dir, 'content');
  mkdirSync(content);
  writeFileSync(join(content, 'manifest.json'), '[]');
  writeFileSync(join(content, 'blob'), Buffer.alloc(300_000, 'distill '));
  tar = join(dir, 'plain.tar');
  await run('tar', ['cf', tar, '-C', content, 'manifest.json', 'blob']);
  // GNU gzip is the oracle for the format; `gzip -dc` for the bytes.
  gz = join(dir, 'plain.tar.gz');
  const { stdout } = await run('gzip', ['-c', tar], { encoding: 'buffer', maxBuffer: 1 << 26 });
  writeFileSync(gz, stdout);
});

afterAll(() => {
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  rmSync(dir, { recursive: true, force: true });
});

describe('gzip detection by magic bytes', () => {
  it('recognises 1f 8b whatever the name, and nothing else', async () => {
    expect(isGzip(Buffer.from([0x1f, 0x8b]))).toBe(true);
    expect(isGzip(Buffer.from([0x1f]))).toBe(false);
    expect(isGzip(Buffer.from('ustar'))).toBe(false);
    const renamed = join(dir, 'image.tar');
    writeFileSync(renamed, readFileSync(gz));
    expect(await isGzipFile(renamed)).toBe(true);
    expect(await isGzipFile(tar)).toBe(false);
    expect(await isGzipFile(join(dir, 'missing'))).toBe(false);
  });
});

describe('inflateToFile', () => {
  it('produces exactly the bytes `gzip -dc` does, and counts them', async () => {
    const out = join(dir, 'inflated.tar');
    const bytes = await inflateToFile(createReadStream(gz), out, { subject: gz });
    expect(bytes).toBe(readFileSync(tar).length);
    expect(sha(out)).toBe(sha(tar));
    rmSync(out);
  });

  it('reads concatenated gzip members as one stream (as gzip -dc does)', async () => {
    const joined = join(dir, 'joined.gz');
    const half = readFileSync(tar).length / 2;
    const a = (await run('sh', ['-c', `head -c ${half} ${tar} | gzip -c`], { encoding: 'buffer' })).stdout;
    const b = (await run('sh', ['-c', `tail -c +${half + 1} ${tar} | gzip -c`], { encoding: 'buffer' })).stdout;
    writeFileSync(joined, Buffer.concat([a, b]));
    const out = join(dir, 'joined.tar');
    await inflateToFile(createReadStream(joined), out, { subject: joined });
    expect(sha(out)).toBe(sha(tar));
    rmSync(out);
  });

  it('fails with DECOMPRESS_FAILED on a truncated stream, garbage after the magic and trailing garbage', async () => {
    const whole = readFileSync(gz);
    const cases = {
      truncated: whole.subarray(0, Math.floor(whole.length / 2)),
      garbage: Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not a deflate stream at all')]),
      trailing: Buffer.concat([whole, Buffer.from('trailing garbage')]),
    };
    for (const [name, data] of Object.entries(cases)) {
      const input = join(dir, `${name}.gz`);
      writeFileSync(input, data);
      try {
        await inflateToFile(createReadStream(input), join(dir, `${name}.out`), { subject: input });
        expect.unreachable(`${name} inflated`);
      } catch (error) {
        expect(isDistillError(error) && error.code, name).toBe('DECOMPRESS_FAILED');
        expect(isDistillError(error) && error.hint, name).toMatch(/truncated or damaged/);
        expect(isDistillError(error) && error.message, name).toContain(input);
      }
    }
  });

  it('stops a gzip bomb at the limit on DECOMPRESSED bytes, with the caller\'s error', async () => {
    // 64 MiB of zeros compress to ~64 KiB; the limit is 1 MiB.
    const bomb = join(dir, 'bomb.gz');
    writeFileSync(bomb, (await run('sh', ['-c', 'head -c 67108864 /dev/zero | gzip -c'], { encoding: 'buffer', maxBuffer: 1 << 24 })).stdout);
    expect(readFileSync(bomb).length).toBeLessThan(1 << 20);
    const limit = 1 << 20;
    await expect(inflateToFile(createReadStream(bomb), join(dir, 'bomb.out'), { subject: bomb, maxBytes: limit })).rejects.toMatchObject({ code: 'DECOMPRESS_FAILED', message: expect.stringContaining(`more than ${limit} bytes`) });
    const { DistillError } = await import('../../errors.js');
    await expect(inflateToFile(createReadStream(bomb), join(dir, 'bomb2.out'), { subject: bomb, maxBytes: limit, tooLarge: (n) => new DistillError('PAYLOAD_TOO_LARGE', `over ${n}`) })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('inflateArchive and TarIndex on a gzip-wrapped archive', () => {
  it('inflates to a private temp file and disposes of it', async () => {
    const inflated = await inflateArchive(gz, { tempDir: scratch });
    expect(sha(inflated.path)).toBe(sha(tar));
    expect(inflated.path.startsWith(scratch)).toBe(true);
    await inflated.dispose();
    await inflated.dispose();
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('indexes the inflated tar like the plain one, names the original file, and removes the temp copy on close', async () => {
    const plain = await TarIndex.build(tar);
    const wrapped = await TarIndex.build(gz);
    expect(readdirSync(scratch)).toHaveLength(1);
    expect(wrapped.names().sort()).toEqual(plain.names().sort());
    expect(wrapped.fileSize).toBe(plain.fileSize);
    expect(wrapped.path).toBe(gz);
    expect(wrapped.describe('blob')).toBe(`${gz}!blob`);
    const member = wrapped.get('blob')!;
    expect((await wrapped.read(member)).equals(await plain.read(plain.get('blob')!))).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of wrapped.stream(member)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(300_000);
    await plain.close();
    await wrapped.close();
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('leaves no temp file when the gzip is corrupt or the inflated bytes are not a tar', async () => {
    const truncated = join(dir, 'cut.tar.gz');
    const whole = readFileSync(gz);
    writeFileSync(truncated, whole.subarray(0, whole.length - 12));
    expect(await code(TarIndex.build(truncated))).toBe('DECOMPRESS_FAILED');
    const notTar = join(dir, 'text.gz');
    writeFileSync(notTar, (await run('sh', ['-c', 'yes not a tar | head -c 4096 | gzip -c'], { encoding: 'buffer' })).stdout);
    expect(await code(TarIndex.build(notTar))).toMatch(/^ARCHIVE_(CORRUPT|TRUNCATED)$/);
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(join(dir, 'missing.tar.gz'))).toBe(false);
    expect(await code(TarIndex.build(join(dir, 'missing.tar.gz')))).toBe('SOURCE_NOT_FOUND');
  });
});
