/** @module filesystem/layer-index.test — indexing GNU tar layers, including hostile and broken ones. */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync, linkSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexLayer } from './layer-index.js';
import { squash } from './squashed-resolver.js';

const work = mkdtempSync(join(tmpdir(), 'distill-layer-index-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let counter = 0;
function layerDir(files: Record<string, string>): string {
  const dir = join(work, `d${counter++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function gnuTar(dir: string, args: string[] = ['.']): string {
  const out = join(work, `t${counter++}.tar`);
  execFileSync('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', out, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
  return out;
}

const stream = (path: string) => createReadStream(path);
const open = (tars: string[]) => ({ openLayer: async (i: number) => stream(tars[i] as string) });

/** Rewrites one field of the header at `at` and fixes its checksum, as a hostile producer would. */
function patchHeader(data: Buffer, at: number, field: number, width: number, value: string): void {
  data.fill(0, at + field, at + field + width);
  data.write(value, at + field, width, 'latin1');
  data.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += data[i] as number;
  data.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 8, 'latin1');
}

function withDeclaredSize(tar: string, size: number): string {
  const data = readFileSync(tar).subarray(0, 1024);
  patchHeader(data, 0, 124, 12, size.toString(8).padStart(11, '0') + '\0');
  const out = join(work, `s${counter++}.tar`);
  writeFileSync(out, data);
  return out;
}

describe('indexLayer', () => {
  it('records entries, magic bytes and captured content in one pass', async () => {
    const dir = layerDir({ 'usr/bin/elf': '\x7fELF rest', 'etc/os-release': 'ID=debian\n', 'etc/motd': 'hello\n', 'two': 'ab' });
    linkSync(join(dir, 'usr/bin/elf'), join(dir, 'usr/bin/elf-link'));
    symlinkSync('../etc/os-release', join(dir, 'usr/os-release'));
    const tar = gnuTar(dir);
    const layer = await indexLayer(stream(tar), { layer: 3, label: 'sha256:test', capture: (e) => e.path.startsWith('/etc/') });
    expect(layer.layer).toBe(3);
    expect(layer.summary.entries).toBe([...layer.entries.keys()].length);
    expect(layer.entries.get('/')?.type).toBe('dir');
    expect(layer.entries.get('/usr/bin/elf')?.magic?.toString('latin1')).toBe('\x7fELF');
    expect(layer.entries.get('/two')?.magic?.toString()).toBe('ab');
    expect(layer.entries.get('/usr/bin/elf-link')).toMatchObject({ type: 'hardlink', linkTarget: '/usr/bin/elf', size: 0, layer: 3 });
    expect(layer.entries.get('/usr/os-release')).toMatchObject({ type: 'symlink', linkTarget: '../etc/os-release' });
    expect([...layer.captured.keys()].sort()).toEqual(['/etc/motd', '/etc/os-release']);
    expect(layer.captured.get('/etc/os-release')?.toString()).toBe('ID=debian\n');
    expect(layer.issues).toEqual([]);
  });

  it('keeps oversized captures out of memory and reads them back on demand', async () => {
    const big = 'x'.repeat(100_000);
    const tar = gnuTar(layerDir({ 'var/big': big, 'var/small': 's' }));
    const layer = await indexLayer(stream(tar), { layer: 0, capture: () => true, maxCaptureBytes: 1000 });
    expect(layer.captured.has('/var/big')).toBe(false);
    expect([...layer.oversized]).toEqual(['/var/big']);
    const view = squash([layer], open([tar]));
    expect((await view.readFile('/var/big')).toString()).toBe(big);
    const many = await view.readFiles(['/var/big', '/var/small', '/var/none']);
    expect(many.get('/var/big')?.toString()).toBe(big);
    expect(many.get('/var/small')?.toString()).toBe('s');
    expect(many.get('/var/none')).toMatchObject({ code: 'FILE_NOT_FOUND' });
    // A consumer that stops early ends the re-stream instead of leaving it running.
    const early = await view.openFile('/var/big');
    const first = await new Promise<Buffer>((resolve) => early.once('data', resolve));
    early.destroy();
    expect(first.length).toBeGreaterThan(0);
    const full: Buffer[] = [];
    for await (const chunk of await view.openFile('/var/big')) full.push(chunk as Buffer);
    expect(Buffer.concat(full).toString()).toBe(big);
  });

  it('lets a later entry with the same path replace the earlier one, as extraction does', async () => {
    const dir = layerDir({ a: 'first\n' });
    const tar = gnuTar(dir, ['./a']);
    writeFileSync(join(dir, 'a'), 'second version\n');
    execFileSync('tar', ['-C', dir, '-rf', tar, './a']);
    const layer = await indexLayer(stream(tar), { layer: 0, capture: () => true });
    expect(layer.entries.get('/a')?.size).toBe('second version\n'.length);
    expect(layer.captured.get('/a')?.toString()).toBe('second version\n');
    const uncaptured = await indexLayer(stream(tar), { layer: 0 });
    expect((await squash([uncaptured], open([tar])).readFile('/a')).toString()).toBe('second version\n');
  });

  it('drops `..` escapes as PATH_ESCAPE issues and makes absolute names relative to the root', async () => {
    const dir = layerDir({ a: 'escaping\n', b: 'absolute\n', c: 'link me\n' });
    const tar = join(work, 'evil.tar');
    execFileSync('tar', ['-C', dir, '-cPf', tar, '--transform', 's,^\\./a$,../../escape-a,;s,^\\./b$,/abs/b,', './a', './b'], { stdio: 'ignore' });
    linkSync(join(dir, 'c'), join(dir, 'c-link'));
    // GNU tar refuses to write a hardlink target climbing out of the root, so patch one in.
    const links = readFileSync(gnuTar(dir, ['./c', './c-link']));
    patchHeader(links, 1024, 157, 100, '../../../etc/passwd');
    writeFileSync(tar, Buffer.concat([readFileSync(tar).subarray(0, 2048), links]));
    const listing = execFileSync('tar', ['-tvPf', tar], { encoding: 'utf8' });
    expect(listing).toContain('../../escape-a');
    expect(listing).toContain('link to ../../../etc/passwd');
    const layer = await indexLayer(stream(tar), { layer: 0 });
    expect([...layer.entries.keys()].sort()).toEqual(['/abs/b', '/c']);
    expect(layer.issues.map((i) => i.code)).toEqual(['PATH_ESCAPE', 'PATH_ESCAPE']);
    expect(layer.issues.map((i) => i.path)).toEqual(['../../escape-a', '/c-link']);
  });

  it('records whiteouts and opaque markers apart from entries', async () => {
    const tar = gnuTar(layerDir({ 'etc/.wh.passwd': '', 'usr/share/.wh..wh..opq': '', '.wh.top': '', 'x/.wh..wh.plnk': '', 'x/.wh.': '' }));
    const layer = await indexLayer(stream(tar), { layer: 1 });
    expect(layer.whiteouts.sort()).toEqual(['/etc/passwd', '/top']);
    expect(layer.opaques).toEqual(['/usr/share']);
    expect([...layer.entries.keys()].sort()).toEqual(['/', '/etc', '/usr', '/usr/share', '/x']);
  });

  it('records a hardlink to a missing file as an issue; reading it fails with FILE_NOT_FOUND', async () => {
    const dir = layerDir({ a: 'target\n' });
    linkSync(join(dir, 'a'), join(dir, 'h'));
    const tar = gnuTar(dir, ['./a', './h']);
    execFileSync('tar', ['--delete', '-f', tar, './a']);
    const layer = await indexLayer(stream(tar), { layer: 0 });
    expect(layer.entries.get('/h')).toMatchObject({ type: 'hardlink', linkTarget: '/a' });
    expect(layer.issues.map((i) => [i.code, i.path])).toEqual([['UNREADABLE', '/h']]);
    const view = squash([layer], open([tar]));
    await expect(view.readFile('/h')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('rejects a 10 GB declared size with TAR_ENTRY_TOO_LARGE, or TAR_TRUNCATED, without allocating it', async () => {
    const tar = withDeclaredSize(gnuTar(layerDir({ huge: 'tiny' }), ['./huge']), 10 * 1024 ** 3);
    await expect(indexLayer(stream(tar), { layer: 0, capture: () => true, maxEntrySize: 1024 ** 3 })).rejects.toMatchObject({ code: 'TAR_ENTRY_TOO_LARGE' });
    await expect(indexLayer(stream(tar), { layer: 0, capture: () => true })).rejects.toMatchObject({ code: 'TAR_TRUNCATED' });
  });

  it('fails a truncated layer with TAR_TRUNCATED', async () => {
    const full = readFileSync(gnuTar(layerDir({ a: 'a'.repeat(5000), b: 'b'.repeat(5000) })));
    const cut = join(work, 'cut.tar');
    writeFileSync(cut, full.subarray(0, 512 * 5 + 100));
    await expect(indexLayer(stream(cut), { layer: 0 })).rejects.toMatchObject({ code: 'TAR_TRUNCATED' });
  });

  it('fails a re-read of a layer that was truncated after indexing with a stable code', async () => {
    const dir = layerDir({ a: 'a'.repeat(5000), z: 'z'.repeat(50_000) });
    const tar = gnuTar(dir);
    const layer = await indexLayer(stream(tar), { layer: 0 });
    const cut = join(work, 'cut-later.tar');
    writeFileSync(cut, readFileSync(tar).subarray(0, 512 * 20));
    const view = squash([layer], open([cut]));
    await expect(view.readFile('/z')).rejects.toMatchObject({ code: 'TAR_TRUNCATED' });
    const streamed = await view.openFile('/z');
    await expect((async () => { for await (const _ of streamed) { /* drain */ } })()).rejects.toMatchObject({ code: 'TAR_TRUNCATED' });
  });
});
