/** @module filesystem/tar/tar-reader.test — readTar against GNU tar (listing and extraction) and hostile inputs. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, chmodSync, chownSync, writeFileSync, utimesSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistillError, isDistillError } from '../../errors.js';
import { rejection } from '../../../test/helpers/errors.js';
import { stockImage } from '../../../test/helpers/oracles.js';
import { END, base256, handHeader, padded, paxEntry } from '../../../test/fixtures/tar/hand-made.js';
import { indexTarFile, indexTarFileSync, parseTarHeaderBlock, readTar } from './tar-reader.js';
import type { TarContentSink, TarHeader, TarReadOptions } from './tar-types.js';

interface Seen {
  header: TarHeader;
  sha256?: string;
  bytes: number;
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(i + size, data.length));
}

/** Reads a tar with a visitor that hashes every entry's content. */
async function collect(source: AsyncIterable<Buffer>, options?: TarReadOptions) {
  const seen: Seen[] = [];
  const summary = await readTar(
    source,
    {
      entry(header) {
        const record: Seen = { header, bytes: 0 };
        seen.push(record);
        const hash = createHash('sha256');
        return {
          write(chunk) {
            record.bytes += chunk.length;
            hash.update(chunk);
          },
          end() {
            record.sha256 = hash.digest('hex');
          },
        };
      },
    },
    options,
  );
  return { seen, summary };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const MTIME = 1_700_000_000;
let work: string;
let root: string;
let hasDevice = false;
let hasXattr = false;

function build(): void {
  work = mkdtempSync(join(tmpdir(), 'distill-tar-'));
  root = join(work, 'root');
  mkdirSync(root);
  const file = (name: string, content: Buffer | string, mode = 0o644) => {
    writeFileSync(join(root, name), content);
    chmodSync(join(root, name), mode);
  };
  let seed = 1;
  const bytes = (n: number) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      out[i] = seed >>> 24;
    }
    return out;
  };
  mkdirSync(join(root, 'basic'));
  file('basic/empty', '');
  file('basic/s511', bytes(511));
  file('basic/s512', bytes(512));
  file('basic/s513', bytes(513));
  file('basic/setuid', bytes(10), 0o4755);
  mkdirSync(join(root, 'basic/sticky'));
  chmodSync(join(root, 'basic/sticky'), 0o1777);
  symlinkSync('s511', join(root, 'basic/link'));
  linkSync(join(root, 'basic/s513'), join(root, 'basic/hard'));
  file('basic/with space.txt', 'spaced\n');
  file('basic/ünïcødé-日本語-😀.txt', 'unicode\n');
  mkdirSync(join(root, 'big'));
  file('big/one-mib', bytes(1 << 20));
  // 192 characters: fits ustar only through the prefix field.
  mkdirSync(join(root, 'deep', 'p'.repeat(90)), { recursive: true });
  file(`deep/${'p'.repeat(90)}/${'q'.repeat(90)}`, 'deep\n');
  execFileSync('mkfifo', [join(root, 'deep/fifo')]);
  // Longer than 255 bytes overall, with a 130-byte last component: needs GNU longname or pax.
  mkdirSync(join(root, 'long', 'd'.repeat(150)), { recursive: true });
  file(`long/${'d'.repeat(150)}/${'f'.repeat(130)}`, 'long name\n');
  file(`long/${'m'.repeat(130)}`, 'mid name\n');
  symlinkSync('t'.repeat(300), join(root, 'long/longtarget'));
  linkSync(join(root, `long/${'d'.repeat(150)}/${'f'.repeat(130)}`), join(root, `long/${'h'.repeat(120)}`));
  file('long/bigid', 'ids\n');
  chownSync(join(root, 'long/bigid'), 3_000_000, 4_000_000);
  try {
    execFileSync('mknod', [join(root, 'long/chardev'), 'c', '1', '3'], { stdio: 'ignore' });
    hasDevice = true;
  } catch {
    hasDevice = false;
  }
  hasXattr = spawnSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(root, 'basic/s512'))}, 'user.distill', b'x-value')`]).status === 0;
  // Fixed mtimes (symlinks keep theirs; GNU tar reports whatever is stored anyway).
  for (const rel of ['basic/empty', 'basic/s511', 'basic/s512', 'basic/s513', 'big/one-mib', 'long/bigid']) {
    utimesSync(join(root, rel), MTIME, MTIME);
  }
}

/** Members to archive per format (what each format can represent). */
const MEMBERS: Record<string, string[]> = {
  gnu: ['basic', 'big', 'deep', 'long'],
  oldgnu: ['basic', 'deep', 'long'],
  pax: ['basic', 'big', 'deep', 'long'],
  ustar: ['basic', 'big', 'deep'],
  v7: ['basic/empty', 'basic/s511', 'basic/s512', 'basic/s513', 'basic/setuid', 'basic/link', 'basic/hard', 'basic/ünïcødé-日本語-😀.txt', 'big'],
};

function archive(format: string, extra: string[] = []): string {
  const out = join(work, `${format}${extra.length > 0 ? '-x' : ''}.tar`);
  if (!existsSync(out)) {
    execFileSync('tar', [`--format=${format}`, ...extra, '-C', root, '-cf', out, ...(MEMBERS[format] ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  return out;
}

interface ListLine {
  mode: string;
  uid: number;
  gid: number;
  size: string;
  time: string;
  name: string;
  link?: string;
}

/** `tar -tv` in a parseable form: numeric owners, full UTC times, names printed literally. */
function gnuListing(tarFile: string | Buffer, allowFailure = false): ListLine[] {
  const args = ['--numeric-owner', '--full-time', '--quoting-style=literal', '-tvf', typeof tarFile === 'string' ? tarFile : '-'];
  const run = spawnSync('tar', args, {
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' },
    maxBuffer: 1 << 28,
    ...(typeof tarFile === 'string' ? {} : { input: tarFile }),
  });
  if (run.status !== 0 && !allowFailure) throw new Error(`tar -tv failed: ${run.stderr.toString()}`);
  return run.stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const m = /^(\S{10}) (\d+)\/(\d+) +(\d+(?:, *\d+)?) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? +(.*)$/.exec(line);
      if (!m) throw new Error(`unparsed tar listing line: ${line}`);
      let name = m[6] as string;
      let link: string | undefined;
      const mode = m[1] as string;
      if (mode.startsWith('l')) [name, link] = name.split(' -> ') as [string, string];
      if (mode.startsWith('h')) [name, link] = name.split(' link to ') as [string, string];
      return { mode, uid: Number(m[2]), gid: Number(m[3]), size: (m[4] as string).replace(/ /g, ''), time: m[5] as string, name, ...(link === undefined ? {} : { link }) };
    });
}

function modeString(h: TarHeader): string {
  const kind = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p', other: '?' }[h.type];
  const m = h.mode;
  const x = (bit: number, special: number, on: string, off: string) => (m & special ? (m & bit ? on : off) : m & bit ? 'x' : '-');
  return (
    kind +
    (m & 0o400 ? 'r' : '-') + (m & 0o200 ? 'w' : '-') + x(0o100, 0o4000, 's', 'S') +
    (m & 0o40 ? 'r' : '-') + (m & 0o20 ? 'w' : '-') + x(0o10, 0o2000, 's', 'S') +
    (m & 0o4 ? 'r' : '-') + (m & 0o2 ? 'w' : '-') + x(0o1, 0o1000, 't', 'T')
  );
}

function asListLine(h: TarHeader): ListLine {
  const time = new Date(h.mtime * 1000).toISOString().replace('T', ' ').slice(0, 19);
  const size = h.type === 'char' || h.type === 'block' ? `${h.devMajor},${h.devMinor}` : String(h.size);
  const link = h.type === 'symlink' || h.type === 'hardlink' ? { link: h.linkName } : {};
  return { mode: modeString(h), uid: h.uid, gid: h.gid, size, time, name: h.name, ...link };
}

async function rangeSha(file: string, start: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start, end: start + size - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(build);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('readTar against GNU tar', () => {
  for (const format of ['gnu', 'oldgnu', 'pax', 'ustar', 'v7']) {
    it(`lists and extracts a --format=${format} archive exactly as GNU tar does`, async () => {
      const file = archive(format);
      const { seen, summary } = await collect(createReadStream(file));
      const entries = seen.filter((s) => s.header.type !== 'other');
      const listing = gnuListing(file);
      expect(entries.map((s) => asListLine(s.header))).toEqual(listing);
      expect(summary.entries).toBe(seen.length);
      expect(summary.bytes).toBe(readFileSync(file).length);

      // Content: every regular file's stream equals what GNU tar extracts, and its byte range in the file.
      const out = join(work, `x-${format}`);
      mkdirSync(out, { recursive: true });
      execFileSync('tar', ['-xf', file, '-C', out]);
      let files = 0;
      for (const s of entries) {
        const h = s.header;
        expect(s.bytes).toBe(h.size);
        if (h.type !== 'file') continue;
        files++;
        expect(s.sha256).toBe(sha256(readFileSync(join(out, h.name))));
        if (h.size > 0) expect(await rangeSha(file, h.dataOffset, h.size)).toBe(s.sha256);
        // The block just before the content is the entry's own header; headerOffset starts its records.
        const tar = readFileSync(file);
        const own = parseTarHeaderBlock(tar.subarray(h.dataOffset - 512, h.dataOffset));
        expect(own.typeflag).toBe(h.typeflag);
        const first = parseTarHeaderBlock(tar.subarray(h.headerOffset, h.headerOffset + 512));
        expect(h.headerOffset === h.dataOffset - 512 ? h.typeflag : ['x', 'L', 'K']).toContain(first.typeflag);
      }
      expect(files).toBeGreaterThanOrEqual(format === 'v7' ? 6 : 9);
    });
  }

  it('covers long names, long link targets, big ids and devices in the GNU and pax archives', async () => {
    for (const format of ['gnu', 'pax']) {
      const { seen } = await collect(createReadStream(archive(format)));
      const byName = new Map(seen.map((s) => [s.header.name, s.header]));
      const longest = `long/${'d'.repeat(150)}/${'f'.repeat(130)}`;
      expect(byName.get(longest)?.type).toBe('file');
      expect(byName.get('long/longtarget')?.linkName).toBe('t'.repeat(300));
      expect(byName.get(`long/${'h'.repeat(120)}`)).toMatchObject({ type: 'hardlink', linkName: longest });
      expect(byName.get('long/bigid')).toMatchObject({ uid: 3_000_000, gid: 4_000_000 });
      if (format === 'gnu') {
        // GNU tar stores ids above 2097151 in base-256.
        const own = (byName.get('long/bigid') as TarHeader).dataOffset - 512;
        expect(readFileSync(archive(format))[own + 108]).toBe(0x80);
      }
      expect(byName.get('deep/fifo')?.type).toBe('fifo');
      if (hasDevice) expect(byName.get('long/chardev')).toMatchObject({ type: 'char', devMajor: 1, devMinor: 3 });
      if (format === 'pax') expect(byName.get(longest)?.pax['path']).toBe(longest);
      // The entry starts at its GNU 'L' / pax 'x' block, before the real header.
      const h = byName.get(longest) as TarHeader;
      expect(h.dataOffset - h.headerOffset).toBeGreaterThan(512);
    }
    // ustar stores the 192-byte path through the prefix field.
    const ustar = readFileSync(archive('ustar'));
    const { seen } = await collect(chunked(ustar, 65536));
    const deep = seen.find((s) => s.header.name === `deep/${'p'.repeat(90)}/${'q'.repeat(90)}`)?.header;
    expect(deep).toBeDefined();
    expect(ustar.subarray((deep as TarHeader).headerOffset + 345, (deep as TarHeader).headerOffset + 350).toString()).toBe('deep/');
  });

  it('applies pax global headers and xattr records to following entries', async () => {
    const file = archive('pax', ['--pax-option=comment=global-note', ...(hasXattr ? ['--xattrs'] : [])]);
    const { seen } = await collect(createReadStream(file));
    const global = seen[0]?.header;
    expect(global).toMatchObject({ type: 'other', typeflag: 'g' });
    expect(global?.pax['comment']).toBe('global-note');
    const entries = seen.filter((s) => s.header.type !== 'other');
    expect(entries.length).toBe(gnuListing(file).length);
    for (const s of entries) expect(s.header.pax['comment']).toBe('global-note');
    if (hasXattr) {
      expect(seen.find((s) => s.header.name === 'basic/s512')?.header.pax['SCHILY.xattr.user.distill']).toBe('x-value');
    }
  });

  it('steps over GNU sparse entries (old GNU with extension blocks, pax 1.0) without losing sync', async () => {
    const dir = join(work, 'sparse');
    mkdirSync(dir, { recursive: true });
    // 30 data segments: more than the 4 the old GNU header holds, so extension blocks follow it.
    execFileSync('python3', ['-c', `f=open(${JSON.stringify(join(dir, 'sparse'))},'wb')\nfor i in range(30):\n  f.seek(i*65536); f.write(b'x'*100)\nf.truncate(30*65536)`]);
    writeFileSync(join(dir, 'zafter'), 'after\n');
    for (const format of ['gnu', 'pax']) {
      const file = join(work, `sparse-${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--sparse', '-C', dir, '-cf', file, 'sparse', 'zafter']);
      const tar = readFileSync(file);
      if (format === 'gnu') expect([String.fromCharCode(tar[156] as number), tar[482]]).toEqual(['S', 1]);
      const { seen, summary } = await collect(chunked(tar, 700));
      expect(seen.map((s) => [s.header.name, s.header.type])).toEqual([['sparse', 'other'], ['zafter', 'file']]);
      expect(gnuListing(file).map((l) => l.name)).toEqual(['sparse', 'zafter']);
      expect(seen[1]?.sha256).toBe(sha256(Buffer.from('after\n')));
      expect(summary.bytes).toBe(tar.length);
    }
  });

  it('indexTarFile seeks over content and reports the same headers as readTar', async () => {
    for (const file of [archive('gnu'), archive('pax', ['--pax-option=comment=global-note']), archive('v7'), stockImage('nginx')]) {
      const { seen } = await collect(createReadStream(file));
      expect(await indexTarFile(file)).toEqual(seen.map((s) => s.header));
    }
    const tar = readFileSync(archive('ustar'));
    const big = (await indexTarFile(archive('ustar'))).find((h) => h.name === 'big/one-mib') as TarHeader;
    const cut = join(work, 'cut.tar');
    writeFileSync(cut, tar.subarray(0, big.dataOffset + 1000));
    const err = await rejection(indexTarFile(cut));
    expect(err.code).toBe('TAR_TRUNCATED');
    expect(err.subject).toBe(cut);
    writeFileSync(cut, tar.subarray(0, big.dataOffset + big.size + 100)); // content complete, next header cut
    expect((await rejection(indexTarFile(cut))).code).toBe('TAR_TRUNCATED');
    expect((await rejection(collect(createReadStream(cut)))).code).toBe('TAR_TRUNCATED');
    expect((await rejection(indexTarFile(join(work, 'missing.tar')))).code).toBe('IO');
  });

  it('indexTarFileSync reports what indexTarFile does, and the names GNU tar lists', async () => {
    for (const file of [archive('gnu'), archive('pax', ['--pax-option=comment=global-note']), archive('ustar'), archive('v7'), stockImage('nginx')]) {
      const headers = indexTarFileSync(file);
      expect(headers).toEqual(await indexTarFile(file));
      expect(headers.filter((h) => h.typeflag !== 'g').map((h) => h.name)).toEqual(gnuListing(file).map((l) => l.name));
    }
    const tar = readFileSync(archive('ustar'));
    const big = indexTarFileSync(archive('ustar')).find((h) => h.name === 'big/one-mib') as TarHeader;
    const cut = join(work, 'cut-sync.tar');
    writeFileSync(cut, tar.subarray(0, big.dataOffset + 1000));
    const syncFailure = (run: () => unknown): DistillError => {
      try {
        run();
      } catch (error) {
        if (error instanceof DistillError) return error;
        throw error;
      }
      throw new Error('expected a DistillError, got success');
    };
    expect(syncFailure(() => indexTarFileSync(cut)).code).toBe('TAR_TRUNCATED');
    writeFileSync(cut, Buffer.alloc(4096, 0x61));
    expect(syncFailure(() => indexTarFileSync(cut)).code).toBe('TAR_CORRUPT');
    writeFileSync(cut, '');
    expect(syncFailure(() => indexTarFileSync(cut)).code).toBe('TAR_TRUNCATED');
    expect(syncFailure(() => indexTarFileSync(join(work, 'missing.tar'))).code).toBe('IO');
  });

  it('indexTarFile stop ends the walk after the accepted header and reads nothing beyond it', async () => {
    const file = archive('pax', ['--pax-option=comment=global-note']);
    const full = await indexTarFile(file);
    const tar = readFileSync(file);
    const members = full.filter((h) => h.typeflag !== 'g');
    for (const k of [0, Math.floor(members.length / 2), members.length - 1]) {
      const target = members[k] as TarHeader;
      const prefix = full.slice(0, full.indexOf(target) + 1);
      const seen: string[] = [];
      const stop = (h: TarHeader) => {
        seen.push(h.name);
        return h.headerOffset === target.headerOffset;
      };
      expect(await indexTarFile(file, { stop })).toEqual(prefix);
      expect(indexTarFileSync(file, { stop })).toEqual(prefix);
      // Garbage right after the stopping member: GNU tar lists up to it, then fails; the early stop never sees the garbage.
      const end = target.dataOffset + Math.ceil(target.size / 512) * 512;
      const tailed = join(work, 'garbage-tail.tar');
      writeFileSync(tailed, Buffer.concat([tar.subarray(0, end), Buffer.alloc(2048, 0x61)]));
      const listed = gnuListing(tailed, true).map((l) => l.name);
      expect(listed.slice(0, k + 1)).toEqual(members.slice(0, k + 1).map((h) => h.name));
      expect((await indexTarFile(tailed, { stop })).map((h) => h.name)).toEqual(prefix.map((h) => h.name));
      expect(indexTarFileSync(tailed, { stop }).map((h) => h.name)).toEqual(prefix.map((h) => h.name));
      expect((await rejection(indexTarFile(tailed))).code).toBe('TAR_CORRUPT');
    }
    // The accepted member must still be whole.
    const big = full.find((h) => h.name === 'big/one-mib') as TarHeader;
    const cut = join(work, 'cut-stop.tar');
    writeFileSync(cut, tar.subarray(0, big.dataOffset + 1000));
    const err = await rejection(indexTarFile(cut, { stop: (h) => h.name === 'big/one-mib' }));
    expect(err.code).toBe('TAR_TRUNCATED');
    expect(err.subject).toBe(cut);
    // Exceptions from stop propagate unchanged.
    const mine = new Error('mine');
    await expect(indexTarFile(file, { stop: () => { throw mine; } })).rejects.toBe(mine);
    expect(() => indexTarFileSync(file, { stop: () => { throw mine; } })).toThrow(mine);
  });

  it('gives identical results whatever the chunk size', async () => {
    const tar = readFileSync(archive('gnu'));
    const whole = await collect(chunked(tar, tar.length));
    const small = readFileSync(archive('pax'));
    for (const size of [1, 7, 512, 65536]) {
      // 1-byte chunks over a 1 MiB file are slow only in the test's generator; use it on the full archive anyway.
      expect(await collect(chunked(tar, size))).toEqual(whole);
    }
    const smallWhole = await collect(chunked(small, small.length));
    for (const size of [1, 3, 511, 513]) expect(await collect(chunked(small, size))).toEqual(smallWhole);
  });

  it('indexes a real docker-archive and reads its layer by byte range like GNU tar', async () => {
    const outer = stockImage('nginx');
    const { seen } = await collect(createReadStream(outer, { highWaterMark: 1 << 20 }));
    expect(seen.map((s) => asListLine(s.header))).toEqual(gnuListing(outer));
    const layer = seen.find((s) => s.header.name.endsWith('.tar') || s.header.name.includes('blobs/'));
    expect(layer).toBeDefined();
    const l = (layer as Seen).header;
    const memberSha = createHash('sha256').update(execFileSync('tar', ['-xOf', outer, l.name], { maxBuffer: 1 << 30 })).digest('hex');
    expect(layer?.sha256).toBe(memberSha);
    const inner = await collect(createReadStream(outer, { start: l.dataOffset, end: l.dataOffset + l.size - 1 }));
    const innerListing = gnuListing(execFileSync('tar', ['-xOf', outer, l.name], { maxBuffer: 1 << 30 }));
    expect(inner.seen.filter((s) => s.header.type !== 'other').map((s) => asListLine(s.header))).toEqual(innerListing);
    expect(innerListing.length).toBeGreaterThan(1000);
  });
});

describe('readTar on hostile input', () => {
  it('reports truncation where GNU tar does (stricter inside a header), and only with TAR_TRUNCATED', async () => {
    const tar = readFileSync(archive('oldgnu'));
    const { seen } = await collect(chunked(tar, 4096));
    const last = seen[seen.length - 1]?.header as TarHeader;
    const contentEnd = last.dataOffset + Math.ceil(last.size / 512) * 512;
    const cuts = new Set<number>();
    for (let at = 512; at <= contentEnd; at += 512) {
      cuts.add(at);
      if (at + 100 < contentEnd) cuts.add(at + 100);
    }
    cuts.add(contentEnd + 512); // one zero block only
    let failures = 0;
    let stricter = 0;
    const mismatches: string[] = [];
    for (const at of cuts) {
      const part = tar.subarray(0, at);
      const gnu = spawnSync('tar', ['-tf', '-'], { input: part });
      // GNU tar silently takes a partial header block, or EOF between a GNU long-name record and its
      // entry, for the end of the archive; we call both truncation, so a cut-short layer never looks complete.
      const insideRecords = seen.some((s) => s.header.headerOffset < at && at <= s.header.dataOffset - 512);
      const expectOk = gnu.status === 0 && at % 512 === 0 && !insideRecords;
      if (gnu.status === 0 && !expectOk) stricter++;
      try {
        const { seen: got } = await collect(chunked(part, 1000));
        if (!expectOk) mismatches.push(`${at}: accepted, GNU tar status ${gnu.status}`);
        expect(got.filter((s) => s.header.type !== 'other').map((s) => s.header.name).join('\n')).toBe(
          gnu.stdout.toString('utf8').trimEnd(),
        );
      } catch (error) {
        if (!isDistillError(error)) throw error;
        failures++;
        if (expectOk || error.code !== 'TAR_TRUNCATED') mismatches.push(`${at}: ${error.code} ${error.message}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(failures).toBeGreaterThan(10);
    expect(stricter).toBeGreaterThan(0);
  });

  it('aborts the open sink on truncation and never ends it', async () => {
    const tar = readFileSync(archive('ustar'));
    const events: string[] = [];
    const big = (await collect(chunked(tar, 65536))).seen.find((s) => s.header.name === 'big/one-mib')?.header as TarHeader;
    const err = await rejection(
      readTar(chunked(tar.subarray(0, big.dataOffset + 1000), 300), {
        entry: (h) => (h.name === 'big/one-mib' ? { write: () => {}, end: () => void events.push('end'), abort: (e) => void events.push(`abort ${(e as DistillError).code}`) } : undefined),
      }),
    );
    expect(err.code).toBe('TAR_TRUNCATED');
    expect(events).toEqual(['abort TAR_TRUNCATED']);
  });

  it('rejects a bad checksum with TAR_CORRUPT naming the offset, as GNU tar rejects it', async () => {
    const tar = Buffer.from(readFileSync(archive('v7')));
    const { seen } = await collect(chunked(tar, 65536));
    const second = seen[1]?.header as TarHeader;
    tar[second.headerOffset + 3] = (tar[second.headerOffset + 3] as number) ^ 0x20;
    const err = await rejection(collect(chunked(tar, 512), { label: 'layer-x' }));
    expect(err.code).toBe('TAR_CORRUPT');
    expect(err.message).toContain(`offset ${second.headerOffset}`);
    expect(err.subject).toBe('layer-x');
    expect(spawnSync('tar', ['-tf', '-'], { input: tar }).status).not.toBe(0);
  });

  it('accepts signed checksums (old writers summed signed chars)', async () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1: a byte >= 0x80 makes the sums differ
    const block = handHeader({ name, size: 0 });
    let signed = 0;
    for (let i = 0; i < 512; i++) signed += i >= 148 && i < 156 ? 0x20 : (((block[i] as number) << 24) >> 24);
    block.write(signed.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const { seen } = await collect(chunked(Buffer.concat([block, END]), 512));
    expect(seen[0]?.header.name).toBe('café');
  });

  it('parses a 10 GB size field (checked against GNU tar) and refuses it over maxEntrySize before reading content', async () => {
    const header = handHeader({ name: 'huge', size: Buffer.from((10_000_000_000).toString(8).padStart(12, '0'), 'latin1') });
    expect(gnuListing(Buffer.concat([header, Buffer.alloc(10240)]), true)[0]?.size).toBe('10000000000');
    let pulled = 0;
    let visited = 0;
    async function* source() {
      pulled++;
      yield header;
      pulled++;
      yield Buffer.alloc(1 << 20);
    }
    const err = await rejection(readTar(source(), { entry: () => void visited++ }, { maxEntrySize: 1 << 30 }));
    expect(err.code).toBe('TAR_ENTRY_TOO_LARGE');
    expect({ pulled, visited }).toEqual({ pulled: 1, visited: 0 });
    // Under the default limit (64 GiB) the entry is accepted, and its missing content is a truncation.
    const sizes: number[] = [];
    const truncated = await rejection(readTar(chunked(Buffer.concat([header, Buffer.alloc(4096)]), 512), { entry: (h) => void sizes.push(h.size) }));
    expect(truncated.code).toBe('TAR_TRUNCATED');
    expect(sizes).toEqual([10_000_000_000]);
    // 100 GB in base-256 exceeds the default limit.
    const base = handHeader({ name: 'huger', size: base256(100_000_000_000n) });
    expect(gnuListing(Buffer.concat([base, Buffer.alloc(10240)]), true)[0]?.size).toBe('100000000000');
    expect((await rejection(collect(chunked(base, 512)))).code).toBe('TAR_ENTRY_TOO_LARGE');
    // Beyond 2^53 too.
    expect((await rejection(collect(chunked(handHeader({ name: 'x', size: base256(1n << 80n) }), 512)))).code).toBe('TAR_ENTRY_TOO_LARGE');
    // pax size wins over the header field.
    const paxHuge = Buffer.concat([paxEntry({ size: '99999999999999' }), handHeader({ name: 'p' })]);
    expect((await rejection(collect(chunked(paxHuge, 512)))).code).toBe('TAR_ENTRY_TOO_LARGE');
  });

  it('bounds pax and long-name records', async () => {
    let pulled = 0;
    async function* source() {
      pulled++;
      yield handHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: 2 << 20 });
      pulled++;
      yield Buffer.alloc(2 << 20, 0x41);
    }
    const err = await rejection(readTar(source(), { entry: () => undefined }));
    expect(err.code).toBe('TAR_CORRUPT');
    expect(pulled).toBe(1);
    const longName = Buffer.concat([handHeader({ name: '././@LongLink', typeflag: 'L', size: 5000, format: 'gnu' }), padded('n'.repeat(5000)), handHeader({ name: 'x' }), END]);
    expect((await rejection(collect(chunked(longName, 512), { maxMetadataSize: 4096 }))).code).toBe('TAR_CORRUPT');
    expect((await collect(chunked(longName, 512))).seen[0]?.header.name).toBe('n'.repeat(5000));
    // A record claiming more bytes than the body holds, a record without "=", a zero length.
    for (const body of ['999999999 path=x\n', '12 pathxxxx\n', '0 a=b\n', '5 a=b\n', '7 a=bc']) {
      const tar = Buffer.concat([handHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: body.length }), padded(body), handHeader({ name: 'f' }), END]);
      expect((await rejection(collect(chunked(tar, 100)))).code).toBe('TAR_CORRUPT');
    }
    // Invalid numbers in pax records.
    const badUid = Buffer.concat([paxEntry({ uid: '12ab' }), handHeader({ name: 'f' }), END]);
    expect((await rejection(collect(chunked(badUid, 512)))).code).toBe('TAR_CORRUPT');
  });

  it('rejects garbage and handles degenerate streams', async () => {
    let seed = 7;
    const garbage = Buffer.alloc(10_000);
    for (let i = 0; i < garbage.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      garbage[i] = seed >>> 24;
    }
    expect((await rejection(collect(chunked(garbage, 999)))).code).toBe('TAR_CORRUPT');
    expect((await rejection(collect(chunked(padded('hello, this is not a tar file\n'), 512)))).code).toBe('TAR_CORRUPT');
    expect((await rejection(collect(chunked(Buffer.from('short'), 512)))).code).toBe('TAR_TRUNCATED');
    // An empty stream is not a tar archive (GNU tar: "This does not look like a tar archive").
    expect((await rejection(collect(chunked(Buffer.alloc(0), 512)))).code).toBe('TAR_TRUNCATED');
    expect(spawnSync('tar', ['-tf', '-'], { input: Buffer.alloc(0) }).status).not.toBe(0);
    // A lone zero block is an empty archive.
    expect(await collect(chunked(Buffer.alloc(512), 512))).toEqual({ seen: [], summary: { entries: 0, bytes: 512 } });
    // Data after the end-of-archive marker is consumed but not parsed (GNU tar ignores it too).
    const tail = Buffer.concat([handHeader({ name: 'a', size: 1 }), padded('a'), END, garbage]);
    const got = await collect(chunked(tail, 333));
    expect(got.seen.map((s) => s.header.name)).toEqual(['a']);
    expect(got.summary.bytes).toBe(tail.length);
    expect(spawnSync('tar', ['-tf', '-'], { input: tail }).stdout.toString()).toBe('a\n');
  });

  it('keeps "../" names, latin1 names and numeric field variants without crashing', async () => {
    const tar = Buffer.concat([
      handHeader({ name: '../../etc/passwd', size: 4 }),
      padded('evil'),
      handHeader({ name: Buffer.from([0x63, 0x61, 0x66, 0xe9]), typeflag: '5' }),
      handHeader({ name: 'v7dir/', typeflag: '\0', format: 'v7' }),
      handHeader({ name: '/abs', typeflag: '2', linkName: '../../../../x' }),
      paxEntry({ path: 'pax/ünï', mtime: '1700000000.987654321', uid: '5', gid: '6', uname: 'üser', 'SCHILY.xattr.security.capability': 'caps' }),
      handHeader({ name: 'ignored', size: 0 }),
      END,
    ]);
    const { seen } = await collect(chunked(tar, 512));
    expect(seen.map((s) => [s.header.name, s.header.type])).toEqual([
      ['../../etc/passwd', 'file'],
      ['café', 'dir'],
      ['v7dir/', 'dir'],
      ['/abs', 'symlink'],
      ['pax/ünï', 'file'],
    ]);
    expect(seen[0]?.sha256).toBe(sha256(Buffer.from('evil')));
    expect(seen[4]?.header).toMatchObject({ mtime: 1_700_000_000, uid: 5, gid: 6, uname: 'üser' });
    expect(seen[4]?.header.pax['SCHILY.xattr.security.capability']).toBe('caps');
    // GNU tar lists the same five entries (it prints the latin1 byte raw, so compare the others).
    const names = gnuListing(tar).map((l) => l.name);
    expect([names[0], names[2], names[3], names[4], names.length]).toEqual(['../../etc/passwd', 'v7dir/', '/abs', 'pax/ünï', 5]);
  });

  it('reads no content for header-only types, as Go archive/tar (container runtimes) does', async () => {
    // GNU tar would skip 512 bytes after this symlink; Go's reader, which extracts layers in
    // containerd/moby/podman, reads the next header there. The scanner must see what a runtime extracts.
    const tar = Buffer.concat([handHeader({ name: 'sym', typeflag: '2', linkName: 'x', size: 512 }), handHeader({ name: 'hidden', size: 0 }), handHeader({ name: 'after' }), END]);
    const { seen } = await collect(chunked(tar, 512));
    expect(seen.map((s) => [s.header.name, s.header.size])).toEqual([['sym', 0], ['hidden', 0], ['after', 0]]);
  });

  it('survives random corruption: every run ends in success or a DistillError', async () => {
    const small = join(work, 'small.tar');
    execFileSync('tar', ['--format=gnu', '-C', root, '-cf', small, 'basic', 'deep', 'long']);
    const paxSmall = join(work, 'small-pax.tar');
    execFileSync('tar', ['--format=pax', '-C', root, '-cf', paxSmall, 'basic', 'long']);
    const inputs = [readFileSync(small), readFileSync(paxSmall)];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const codes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const input = Buffer.from(inputs[i % 2] as Buffer);
      const flips = 1 + rand(4);
      // Mostly hit header blocks (where parsing happens), sometimes anywhere.
      for (let f = 0; f < flips; f++) {
        const pos = rand(3) === 0 ? rand(input.length) : rand(input.length / 512) * 512 + rand(512);
        input[pos] = rand(256);
      }
      let outcome = 'ok';
      try {
        const { seen } = await collect(chunked(input, 1 + rand(9000)), { maxEntrySize: 1 << 30 });
        for (const s of seen) expect(s.bytes).toBe(s.header.size);
      } catch (error) {
        if (!isDistillError(error)) throw error;
        outcome = error.code;
      }
      codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
      if (i % 10 === 0) {
        const file = join(work, 'corrupt.tar');
        writeFileSync(file, input);
        try {
          await indexTarFile(file, { maxEntrySize: 1 << 30 });
        } catch (error) {
          if (!isDistillError(error)) throw error;
        }
      }
    }
    expect([...codes.keys()].every((c) => ['ok', 'TAR_CORRUPT', 'TAR_TRUNCATED', 'TAR_ENTRY_TOO_LARGE'].includes(c))).toBe(true);
    expect(codes.get('ok')).toBeGreaterThan(0);
    expect(codes.get('TAR_CORRUPT')).toBeGreaterThan(0);
  });
});

describe('readTar visitor contract', () => {
  it('awaits asynchronous sink ends before visiting the next entry', async () => {
    const tar = Buffer.concat([handHeader({ name: 'a', size: 3 }), padded('abc'), handHeader({ name: 'b', size: 0 }), handHeader({ name: 'c', size: 1 }), padded('c'), END]);
    const events: string[] = [];
    for (const size of [1, 512, tar.length]) {
      events.length = 0;
      await readTar(chunked(tar, size), {
        entry(h): TarContentSink {
          events.push(`entry ${h.name}`);
          return {
            write: (chunk) => void events.push(`write ${h.name} ${chunk.length}`),
            end: () => new Promise<void>((done) => setTimeout(() => { events.push(`end ${h.name}`); done(); }, 2)),
          };
        },
      });
      const compact = events.filter((e) => !e.startsWith('write'));
      expect(compact).toEqual(['entry a', 'end a', 'entry b', 'end b', 'entry c', 'end c']);
    }
  });

  it('passes slices of the incoming chunks rather than copies', async () => {
    const tar = Buffer.concat([handHeader({ name: 'a', size: 4000 }), padded(Buffer.alloc(4000, 7)), END]);
    const chunks: Buffer[] = [];
    await readTar(chunked(tar, 1 << 16), { entry: () => ({ write: (c) => void chunks.push(c), end: () => {} }) });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.buffer).toBe(tar.buffer);
  });

  it('reads through a real gunzip stream and reports a damaged gzip as DECOMPRESS_FAILED', async () => {
    const tar = readFileSync(archive('gnu'));
    const gz = gzipSync(tar);
    const plain = await collect(chunked(tar, 65536));
    expect(await collect(Readable.from([gz]).pipe(createGunzip()))).toEqual(plain);
    const cut = await rejection(collect(Readable.from([gz.subarray(0, gz.length >> 1)]).pipe(createGunzip())));
    expect(cut.code).toBe('DECOMPRESS_FAILED');
    const damaged = Buffer.from(gz);
    for (let i = 100; i < 140; i++) damaged[i] = 0xff;
    expect(['DECOMPRESS_FAILED', 'TAR_CORRUPT']).toContain((await rejection(collect(Readable.from([damaged]).pipe(createGunzip())))).code);
  });

  it('propagates visitor errors unchanged and wraps source errors', async () => {
    const tar = Buffer.concat([handHeader({ name: 'a' }), END]);
    const mine = new Error('visitor says no');
    await expect(readTar(chunked(tar, 512), { entry: () => { throw mine; } })).rejects.toBe(mine);
    async function* broken() {
      yield tar.subarray(0, 100);
      throw Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' });
    }
    const err = await rejection(readTar(broken(), { entry: () => undefined }, { label: 'sha256:abc' }));
    expect(err.code).toBe('DECOMPRESS_FAILED');
    expect(err.subject).toBe('sha256:abc');
    async function* io() {
      yield tar.subarray(0, 100);
      throw new Error('EIO');
    }
    expect((await rejection(readTar(io(), { entry: () => undefined }))).code).toBe('IO');
  });
});
