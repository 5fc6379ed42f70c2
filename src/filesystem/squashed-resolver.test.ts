/** @module filesystem/squashed-resolver.test — squashed, all-layers and directory views against `umoci unpack`. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, chmodSync, chownSync, symlinkSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cached, hasCommand, ociLayoutOf, stockImage, umociRootfs } from '../../test/helpers/oracles.js';
import type { FileEntry } from './file-entry.js';
import type { FileResolver } from './file-resolver.js';
import { allLayers } from './all-layers-resolver.js';
import { openDirectory } from './directory-resolver.js';
import { indexLayer, type LayerIndex } from './layer-index.js';
import { squash, type SquashedResolver } from './squashed-resolver.js';

interface Rec {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  link?: string;
  sha?: string;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The oracle side: an unpacked rootfs read with plain lstat, independent of the code under test. */
function walkRootfs(root: string): Map<string, Rec> {
  const out = new Map<string, Rec>();
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    for (const name of readdirSync(root + rel)) {
      const path = `${rel}/${name}`;
      const st = lstatSync(root + path);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
      const rec: Rec = { type, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0 };
      if (type === 'symlink') rec.link = readlinkSync(root + path);
      if (type === 'file') rec.sha = sha256(readFileSync(root + path));
      if (type === 'dir') stack.push(path);
      out.set(path, rec);
    }
  }
  return out;
}

/** The same records from a resolver; hardlinks show as the file they share an inode with, as on disk. */
async function recordsOf(resolver: FileResolver): Promise<Map<string, Rec>> {
  const out = new Map<string, Rec>();
  const files: FileEntry[] = [];
  for (const raw of resolver.entries()) {
    if (raw.path === '/') continue;
    const entry = raw.type === 'hardlink' ? (resolver.stat(raw.path) ?? raw) : raw;
    const rec: Rec = { type: entry.type, mode: entry.mode.toString(8), uid: entry.uid, gid: entry.gid, size: entry.size };
    if (entry.type === 'symlink') rec.link = entry.linkTarget as string;
    if (entry.type === 'file') files.push(raw);
    out.set(raw.path, rec);
  }
  const squashed = resolver as Partial<SquashedResolver>;
  if (typeof squashed.readFiles === 'function') {
    const contents = await squashed.readFiles(files.map((f) => f.path), { maxBytes: 1 << 30 });
    for (const file of files) {
      const content = contents.get(file.path);
      if (!Buffer.isBuffer(content)) throw content ?? new Error(`no content for ${file.path}`);
      (out.get(file.path) as Rec).sha = sha256(content);
    }
  } else {
    for (const file of files) (out.get(file.path) as Rec).sha = sha256(await resolver.readEntry(file, { maxBytes: 1 << 30 }));
  }
  return out;
}

function expectSameTree(actual: Map<string, Rec>, expected: Map<string, Rec>): void {
  const missing = [...expected.keys()].filter((p) => !actual.has(p)).sort();
  const extra = [...actual.keys()].filter((p) => !expected.has(p)).sort();
  expect({ missing: missing.slice(0, 20), extra: extra.slice(0, 20) }).toEqual({ missing: [], extra: [] });
  const differing: { path: string; actual: Rec; expected: Rec }[] = [];
  for (const [path, rec] of expected) {
    const mine = actual.get(path) as Rec;
    if (JSON.stringify(mine) !== JSON.stringify(rec)) differing.push({ path, actual: mine, expected: rec });
  }
  expect(differing.slice(0, 10)).toEqual([]);
}

const fileStream = (path: string) => async () => createReadStream(path, { highWaterMark: 256 * 1024 });

// ---------------------------------------------------------------------------------------------------------------
// (a) a multi-layer image built here: GNU tar layers, a hand-written OCI layout, umoci as the oracle.

function put(root: string, rel: string, content: string | Buffer, mode = 0o644, owner?: [number, number]): void {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
  if (owner !== undefined) chownSync(path, owner[0], owner[1]);
}

function buildLayerDirs(work: string): string[] {
  const l0 = join(work, 'l0');
  put(l0, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  put(l0, 'etc/hostname', 'base\n');
  put(l0, 'var/lib/dpkg/status', 'Package: base-files\nStatus: install ok installed\nVersion: 12.4\n');
  put(l0, 'usr/bin/tool', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(5000, 7)]), 0o755);
  linkSync(join(l0, 'usr/bin/tool'), join(l0, 'usr/bin/tool-hard'));
  put(l0, 'usr/bin/passwd', 'setuid\n', 0o4755);
  put(l0, 'usr/lib/x/a', 'a\n');
  put(l0, 'usr/lib/x/sub/b', 'b\n');
  put(l0, 'opt/gone/one', '1\n');
  put(l0, 'opt/gone/deeper/two', '2\n');
  put(l0, 'opt/kept', 'kept\n');
  put(l0, 'srv/thing', 'was a file\n');
  put(l0, 'data/dir/child', 'child\n');
  put(l0, 'home/user/.profile', 'export A=1\n', 0o600, [1000, 1000]);
  put(l0, 'big.bin', Buffer.alloc(300_000, 0x5a));
  mkdirSync(join(l0, 'tmp'));
  chmodSync(join(l0, 'tmp'), 0o1777);
  symlinkSync('usr/bin', join(l0, 'bin'));
  symlinkSync('/usr/bin/tool', join(l0, 'etc/alt'));
  symlinkSync('../../../../../etc/passwd', join(l0, 'etc/escape'));
  put(l0, 'empty', '');
  put(l0, 'usr/sbin/keep', 'k\n');
  symlinkSync('usr/sbin', join(l0, 'sbin'));
  put(l0, 'usr/lib/libc.so', 'libc\n');
  symlinkSync('usr/lib', join(l0, 'lib'));

  const l1 = join(work, 'l1');
  put(l1, 'etc/.wh.hostname', '');
  put(l1, 'var/lib/dpkg/status', 'Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u1\n\nPackage: nginx\nStatus: install ok installed\nVersion: 1.22.1-9\n');
  put(l1, 'usr/lib/x/.wh..wh..opq', '');
  put(l1, 'usr/lib/x/new', 'new\n');
  put(l1, 'opt/.wh.gone', '');
  put(l1, 'srv/thing/inner', 'now a dir\n');
  put(l1, 'data/dir', 'now a file\n');
  put(l1, 'etc/newfile', 'added\n');
  put(l1, 'usr/bin/tool2', 'tool two\n', 0o755);
  linkSync(join(l1, 'usr/bin/tool2'), join(l1, 'usr/bin/tool2-hard'));

  const l2 = join(work, 'l2');
  put(l2, 'etc/hostname', 'top\n');
  put(l2, 'usr/lib/x/.wh.new', '');
  put(l2, 'usr/bin/.wh.tool2', '');
  // Layer 3 is tarred by explicit member list: `sbin/` has no entry of its own (the lower symlink is followed
  // to usr/sbin), while `lib/` comes as a real directory entry (it replaces the lower symlink).
  const l3 = join(work, 'l3');
  put(l3, 'sbin/tool3', 'three\n', 0o755);
  put(l3, 'lib/extra.so', 'extra\n');
  return [l0, l1, l2, l3];
}

const LAYER3_MEMBERS = ['--no-recursion', './lib', './lib/extra.so', './sbin/tool3'];

function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = sha256(data);
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** A synthetic three-layer image: layer tars, OCI layout and umoci's unpack of it (cached). */
function syntheticImage(): { tars: string[]; rootfs: string } {
  const dir = cached('fs-synthetic-v4', (tmp) => {
    mkdirSync(tmp, { recursive: true });
    const layerDirs = buildLayerDirs(join(tmp, 'src'));
    const layout = join(tmp, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const tars = layerDirs.map((d, i) => {
      const tar = join(tmp, `layer${i}.tar`);
      execFileSync('tar', ['--numeric-owner', '--sort=name', '-C', d, '-cf', tar, ...(i === 3 ? LAYER3_MEMBERS : ['.'])]);
      return tar;
    });
    const diffIds = tars.map((t) => `sha256:${sha256(readFileSync(t))}`);
    const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...writeBlob(layout, gzipSync(readFileSync(t))) }));
    const config = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } };
    const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...writeBlob(layout, Buffer.from(JSON.stringify(config))) };
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers };
    const manifestDesc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...writeBlob(layout, Buffer.from(JSON.stringify(manifest))) };
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': 'test' } }] }));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    execFileSync('umoci', ['unpack', '--image', `${layout}:test`, join(tmp, 'bundle')], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
  return { tars: [0, 1, 2, 3].map((i) => join(dir, `layer${i}.tar`)), rootfs: join(dir, 'bundle', 'rootfs') };
}

async function indexTars(tars: string[], capture?: (i: number) => ((e: FileEntry) => boolean) | undefined): Promise<LayerIndex[]> {
  const out: LayerIndex[] = [];
  for (const [i, tar] of tars.entries()) {
    const fn = capture?.(i);
    out.push(await indexLayer(createReadStream(tar), { layer: i, label: `layer${i}`, ...(fn === undefined ? {} : { capture: fn }) }));
  }
  return out;
}

describe.skipIf(!hasCommand('umoci'))('squash of a synthetic multi-layer image', () => {
  it('matches umoci unpack (type, mode, owner, size, link target, content) for every path', async () => {
    const { tars, rootfs } = syntheticImage();
    // Layer 0 fully captured, layers 1-2 read back by re-streaming their tars.
    const layers = await indexTars(tars, (i) => (i === 0 ? () => true : undefined));
    const resolver = squash(layers, { openLayer: async (i) => createReadStream(tars[i] as string) });
    expectSameTree(await recordsOf(resolver), walkRootfs(rootfs));
  });

  it('applies whiteouts, opaque dirs and replacements the way the oracle shows them', async () => {
    const { tars } = syntheticImage();
    const layers = await indexTars(tars);
    expect(layers[1]?.whiteouts.sort()).toEqual(['/etc/hostname', '/opt/gone']);
    expect(layers[1]?.opaques).toEqual(['/usr/lib/x']);
    expect([...(layers[1]?.entries.keys() ?? [])].some((p) => p.includes('.wh.'))).toBe(false);
    const resolver = squash(layers, { openLayer: async (i) => createReadStream(tars[i] as string) });
    expect((await resolver.readFile('/var/lib/dpkg/status')).toString()).toContain('Package: nginx');
    expect(resolver.lstat('/opt/gone')).toBeUndefined();
    expect(resolver.lstat('/opt/gone/deeper/two')).toBeUndefined();
    expect(resolver.lstat('/opt/kept')?.layer).toBe(0);
    expect(resolver.glob('/usr/lib/x/**').map((e) => e.path)).toEqual(['/usr/lib/x']);
    expect(resolver.lstat('/usr/lib/x')?.type).toBe('dir');
    expect(resolver.lstat('/data/dir')?.type).toBe('file');
    expect(resolver.lstat('/data/dir/child')).toBeUndefined();
    expect(resolver.lstat('/srv/thing')?.type).toBe('dir');
    expect((await resolver.readFile('/etc/hostname')).toString()).toBe('top\n');
    expect(resolver.layerOf('/etc/hostname')).toBe(2);
    // Through a lower symlink parent vs a directory entry replacing a lower symlink.
    expect(resolver.lstat('/usr/sbin/tool3')?.layer).toBe(3);
    expect(resolver.lstat('/sbin')?.type).toBe('symlink');
    expect(resolver.lstat('/lib')?.type).toBe('dir');
    expect(resolver.lstat('/lib/libc.so')).toBeUndefined();
    expect((await resolver.readFile('/sbin/tool3')).toString()).toBe('three\n');
    // Symlinks: relative, absolute, and one climbing above the root that must stay inside the image.
    expect(resolver.realPath('/bin/tool')).toBe('/usr/bin/tool');
    expect(resolver.stat('/etc/alt')?.path).toBe('/usr/bin/tool');
    expect((await resolver.readFile('/etc/escape')).toString()).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(resolver.stat('/bin/tool-hard')?.magic?.toString('hex')).toBe('7f454c46');
    expect((await resolver.readFile('/bin/tool-hard')).equals(await resolver.readFile('/usr/bin/tool'))).toBe(true);
    expect(resolver.glob('/home/**').map((e) => e.path)).toEqual(['/home', '/home/user', '/home/user/.profile']);
    expect(resolver.glob(['/home/*/.*', '/etc/host*']).map((e) => e.path)).toEqual(['/etc/hostname', '/home/user/.profile']);
    const stream = await resolver.openFile('/big.bin');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(Buffer.alloc(300_000, 0x5a))).toBe(true);
    await expect(resolver.readFile('/big.bin', { maxBytes: 1000 })).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    await expect(resolver.readFile('/opt/gone/one')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(resolver.readFile('/etc')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('all-layers view keeps every version with its layer, whiteouts not applied', async () => {
    const { tars } = syntheticImage();
    const layers = await indexTars(tars);
    const view = allLayers(layers, { openLayer: async (i) => createReadStream(tars[i] as string) });
    const statusVersions = view.versions('/var/lib/dpkg/status');
    expect(statusVersions.map((e) => e.layer)).toEqual([0, 1]);
    expect((await view.readEntry(statusVersions[0] as FileEntry)).toString()).toContain('Version: 12.4\n');
    expect((await view.readFile('/var/lib/dpkg/status')).toString()).toContain('nginx');
    expect(view.versions('/etc/hostname').map((e) => e.layer)).toEqual([0, 2]);
    expect(view.lstat('/opt/gone/deeper/two')?.layer).toBe(0);
    expect((await view.readFile('/usr/bin/tool2-hard')).toString()).toBe('tool two\n');
    const all = [...view.entries()];
    const sorted = [...all].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.layer - b.layer));
    expect(all).toEqual(sorted);
    const expectedCount = layers.reduce((n, l) => n + l.entries.size, 0);
    expect(all.length).toBe(expectedCount);
    const batch = await view.readEntries(view.glob('/etc/hostname'));
    expect([...batch.values()].map((b) => (Buffer.isBuffer(b) ? b.toString() : b.code))).toEqual(['base\n', 'top\n']);
  });

  it('directory resolver over the umoci rootfs gives the oracle entries', async () => {
    const { rootfs } = syntheticImage();
    const dir = await openDirectory(rootfs);
    expectSameTree(await recordsOf(dir), walkRootfs(rootfs));
    expect(dir.lstat('/usr/bin/tool')?.magic?.toString('hex')).toBe('7f454c46');
    expect(dir.lstat('/usr/bin/tool')?.layer).toBe(-1);
    expect((await dir.readFile('/etc/escape')).toString()).toBe('root:x:0:0:root:/root:/bin/sh\n');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// (b, c) the stock nginx image against umoci's unpack of the same image.

function dockerArchiveLayers(archive: string, key: string): string[] {
  const dir = cached(`fs-layers-${key}`, (tmp) => {
    mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['-xf', archive, '-C', tmp]);
  });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  return (manifest[0]?.Layers ?? []).map((layer) => join(dir, layer));
}

describe.skipIf(!hasCommand('umoci') || !hasCommand('skopeo'))('stock nginx image', () => {
  it('squashed view equals umoci unpack for every path', async () => {
    const archive = stockImage('nginx');
    const rootfs = umociRootfs(ociLayoutOf(archive, 'nginx'), 'latest', 'nginx');
    const tars = dockerArchiveLayers(archive, 'nginx');
    expect(tars.length).toBeGreaterThan(0);
    const layers = await indexTars(tars, () => (e) => e.path.startsWith('/var/lib/dpkg/'));
    expect(layers.flatMap((l) => l.issues)).toEqual([]);
    const resolver = squash(layers, { openLayer: async (i) => createReadStream(tars[i] as string, { highWaterMark: 1 << 20 }) });
    const expected = walkRootfs(rootfs);
    expect(expected.size).toBeGreaterThan(1000);
    expectSameTree(await recordsOf(resolver), expected);
    expect((await resolver.readFile('/var/lib/dpkg/status')).toString()).toContain('Package: nginx');
    expect(resolver.stat('/usr/sbin/nginx')?.magic?.toString('hex')).toBe('7f454c46');
  });

  it('directory resolver on the umoci rootfs gives the same entries', async () => {
    const archive = stockImage('nginx');
    const rootfs = umociRootfs(ociLayoutOf(archive, 'nginx'), 'latest', 'nginx');
    const dir = await openDirectory(rootfs);
    expect(dir.issues).toEqual([]);
    expectSameTree(await recordsOf(dir), walkRootfs(rootfs));
    expect(dir.glob('/usr/share/doc/*/copyright').length).toBeGreaterThan(50);
  });
});
