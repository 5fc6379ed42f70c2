/** @module filesystem/tar/tar-writer.test — the writer against GNU tar (listing, extraction) and the project's own reader. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { readTar } from './tar-reader.js';
import { parsePaxRecords, parseTarHeaderBlock } from './tar-header.js';
import type { TarHeader } from './tar-types.js';
import { tarHeaderBlocks, writeTar, type TarWriteEntry } from './tar-writer.js';

const work = mkdtempSync(join(tmpdir(), 'tar-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EPOCH = 1700000000;
const longDir = 'usr/share/' + 'deep-directory-name/'.repeat(8);
const nonAscii = 'usr/share/zoneinfo/Amérique/São_Paulo-日本';
const bigContent = Buffer.alloc(70_000, 0x61);
bigContent.write('not just a', 0);

const entries: TarWriteEntry[] = [
  // Given out of order and without some parents: the writer sorts and adds them.
  { path: '/usr/bin/hello', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH + 1000, content: Buffer.from('#!/bin/true\n') },
  { path: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 10, content: Buffer.from('root:x:0:0::/root:/sbin/nologin\n') },
  { path: './home/nonroot', type: 'dir', mode: 0o700, uid: 65532, gid: 65532 },
  { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0 },
  { path: 'usr/lib/big.bin', type: 'file', mode: 0o644, uid: 3000000, gid: 4000000, content: bigContent },
  { path: 'usr/bin/sh-link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: '../lib/' + 'x'.repeat(120) },
  { path: 'usr/bin/hello-hard', type: 'hardlink', mode: 0o755, uid: 0, gid: 0, linkTarget: '/usr/bin/hello' },
  // A hardlink that sorts before its target: the writer stores the content under "usr/bin/a-first".
  { path: 'usr/bin/a-first', type: 'hardlink', mode: 0o755, uid: 0, gid: 0, linkTarget: 'usr/bin/hello' },
  { path: longDir + 'file-with-a-long-name.txt', type: 'file', mode: 0o600, uid: 1, gid: 2, content: Buffer.from('long\n') },
  { path: nonAscii, type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('TZif') },
  { path: 'usr/bin/setcap', type: 'file', mode: 0o4755, uid: 0, gid: 0, content: Buffer.from('x'), pax: { 'SCHILY.xattr.user.test': 'v' } },
  { path: 'empty', type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.alloc(0) },
];

const tarBytes = writeTar(entries, { mtime: EPOCH });
const tarFile = join(work, 'out.tar');
writeFileSync(tarFile, tarBytes);

async function readBack(data: Buffer): Promise<{ header: TarHeader; content: Buffer }[]> {
  const out: { header: TarHeader; content: Buffer }[] = [];
  async function* source(): AsyncIterable<Buffer> {
    for (let i = 0; i < data.length; i += 1000) yield data.subarray(i, i + 1000);
  }
  await readTar(source(), {
    entry(header) {
      const chunks: Buffer[] = [];
      const item = { header, content: Buffer.alloc(0) };
      out.push(item);
      return { write: (c) => chunks.push(Buffer.from(c)), end: () => { item.content = Buffer.concat(chunks); } };
    },
  });
  return out;
}

describe('tar writer', () => {
  it('is deterministic: the same entries in another order give identical bytes', () => {
    const again = writeTar([...entries].reverse(), { mtime: EPOCH });
    expect(again.equals(tarBytes)).toBe(true);
    expect(tarBytes.length % 512).toBe(0);
  });

  it('GNU tar lists exactly what was written (numeric owners, modes, sorted, parents first)', () => {
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', tarFile], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
    const lines = listing.trim().split('\n');
    const names = lines.map((l) => l.replace(/^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+/, ''));
    expect(names).toEqual([
      'empty',
      'etc/',
      'etc/passwd',
      'home/',
      'home/nonroot/',
      'tmp/',
      'usr/',
      'usr/bin/',
      'usr/bin/a-first',
      'usr/bin/hello link to usr/bin/a-first',
      'usr/bin/hello-hard link to usr/bin/a-first',
      'usr/bin/setcap',
      `usr/bin/sh-link -> ../lib/${'x'.repeat(120)}`,
      'usr/lib/',
      'usr/lib/big.bin',
      'usr/share/',
      ...Array.from({ length: 8 }, (_, i) => 'usr/share/' + 'deep-directory-name/'.repeat(i + 1)),
      longDir + 'file-with-a-long-name.txt',
      'usr/share/zoneinfo/',
      'usr/share/zoneinfo/Amérique/',
      nonAscii,
    ]);
    const line = (name: string): string => lines[names.indexOf(name)]!;
    expect(line('tmp/')).toMatch(/^drwxrwxrwt 0\/0 +0 2023-11-14 22:13:20 tmp\/$/);
    expect(line('home/nonroot/')).toMatch(/^drwx------ 65532\/65532 /);
    expect(line('usr/lib/big.bin')).toMatch(/^-rw-r--r-- 3000000\/4000000 +70000 /);
    expect(line('usr/bin/setcap')).toMatch(/^-rwsr-xr-x 0\/0 /);
    // mtime 10 is kept, EPOCH+1000 is clamped to EPOCH.
    expect(line('etc/passwd')).toContain(' 1970-01-01 00:00:10 ');
    expect(line('usr/bin/a-first')).toContain(' 2023-11-14 22:13:20 ');
    expect(execFileSync('tar', ['-tvf', tarFile], { encoding: 'utf8' })).toMatch(/^drwxr-xr-x 0\/0 /m); // no uname/gname to map
  });

  it('GNU tar extracts the same content, links and modes', () => {
    const dir = join(work, 'x');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['--numeric-owner', '-xpf', tarFile, '-C', dir]);
    const sha = (p: string): string => createHash('sha256').update(readFileSync(join(dir, p))).digest('hex');
    expect(sha('usr/lib/big.bin')).toBe(createHash('sha256').update(bigContent).digest('hex'));
    expect(readFileSync(join(dir, nonAscii), 'utf8')).toBe('TZif');
    expect(readFileSync(join(dir, longDir, 'file-with-a-long-name.txt'), 'utf8')).toBe('long\n');
    expect(readlinkSync(join(dir, 'usr/bin/sh-link'))).toBe('../lib/' + 'x'.repeat(120));
    const a = lstatSync(join(dir, 'usr/bin/a-first'));
    expect(lstatSync(join(dir, 'usr/bin/hello')).ino).toBe(a.ino);
    expect(lstatSync(join(dir, 'usr/bin/hello-hard')).ino).toBe(a.ino);
    expect(a.nlink).toBe(3);
    expect(readFileSync(join(dir, 'usr/bin/hello'), 'utf8')).toBe('#!/bin/true\n');
    expect(lstatSync(join(dir, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(dir, 'usr/lib/big.bin')).uid).toBe(3000000);
    expect(lstatSync(join(dir, 'usr/bin/setcap')).mode & 0o7777).toBe(0o4755);
  });

  it('round-trips through the project reader (pax path/linkpath/uid/gid and xattrs)', async () => {
    const back = await readBack(tarBytes);
    const byName = new Map(back.map((e) => [e.header.name, e]));
    expect(byName.get(nonAscii)?.content.toString()).toBe('TZif');
    expect(byName.get(longDir + 'file-with-a-long-name.txt')?.header.uid).toBe(1);
    const big = byName.get('usr/lib/big.bin')!;
    expect([big.header.uid, big.header.gid, big.header.size]).toEqual([3000000, 4000000, 70000]);
    expect(big.content.equals(bigContent)).toBe(true);
    expect(byName.get('usr/bin/sh-link')?.header.linkName).toBe('../lib/' + 'x'.repeat(120));
    expect(byName.get('usr/bin/setcap')?.header.pax['SCHILY.xattr.user.test']).toBe('v');
    expect(byName.get('usr/bin/hello')?.header.type).toBe('hardlink');
    expect(back.every((e) => e.header.uname === '' && e.header.gname === '')).toBe(true);
  });

  it('encodes sizes from 8 GiB with a pax size record', () => {
    const size = 9 * 1024 ** 3;
    const blocks = tarHeaderBlocks({ name: 'huge', typeflag: '0', mode: 0o644, uid: 0, gid: 0, size, mtime: 0, linkName: '' });
    const pax = parsePaxRecords(blocks[1]!);
    expect(pax.size).toBe(String(size));
    expect(parseTarHeaderBlock(blocks[0]!).typeflag).toBe('x');
    expect(parseTarHeaderBlock(blocks.at(-1)!).name).toBe('huge');
  });

  it('refuses unsafe or inconsistent entries', () => {
    const bad = (e: TarWriteEntry[]): unknown => {
      try {
        writeTar(e);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const f = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, content: Buffer.from('x') };
    expect(isDistillError(bad([{ ...f, path: '../etc/passwd' }]), 'PATH_ESCAPE')).toBe(true);
    expect(isDistillError(bad([{ ...f, path: 'a\0b' }]), 'PATH_ESCAPE')).toBe(true);
    expect(isDistillError(bad([{ ...f, path: 'a' }, { ...f, path: '/a' }]), 'PATH_ESCAPE')).toBe(true);
    expect(isDistillError(bad([{ ...f, path: 'a' }, { ...f, path: 'a/b' }]), 'PATH_ESCAPE')).toBe(true);
    expect(isDistillError(bad([{ path: 'l', type: 'hardlink', mode: 0, uid: 0, gid: 0, linkTarget: 'missing' }]), 'PATH_ESCAPE')).toBe(true);
  });
});
