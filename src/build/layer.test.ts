/** @module build/layer.test — layers from trees: fixed gzip header, reproducible across processes, GNU tar/gzip/dpkg-deb oracles. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cached } from '../../test/helpers/oracles.js';
import { readDeb } from './deb/deb-reader.js';
import { buildLayer, type FileTree, type TreeNode } from './layer.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'layer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const EPOCH = 1700000000;

const tree: FileTree = new Map<string, TreeNode>([
  ['/etc/hostname', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('distill\n'), mtime: 2_000_000_000 }],
  ['/tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0 }],
  ['/lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'usr/lib' }],
]);

describe('buildLayer', () => {
  it('gzips with a fixed header (no name, MTIME 0, OS Unix) and records digests and size', async () => {
    const layer = await buildLayer(tree, { mtime: EPOCH });
    // ID1 ID2 CM=deflate FLG=0 (no FNAME/FCOMMENT/FEXTRA) MTIME=0 XFL=0 OS=3.
    expect([...layer.blob.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(gunzipSync(layer.blob).equals(layer.tar)).toBe(true);
    expect(layer.diffId).toBe(`sha256:${createHash('sha256').update(layer.tar).digest('hex')}`);
    expect(layer.digest).toBe(`sha256:${createHash('sha256').update(layer.blob).digest('hex')}`);
    expect(layer.size).toBe(layer.blob.length);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const blobFile = join(work, 'layer.tar.gz');
    writeFileSync(blobFile, layer.blob);
    execFileSync('gzip', ['-t', blobFile]);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', blobFile], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(listing).toBe(
      [
        'drwxr-xr-x 0/0               0 2023-11-14 22:13:20 etc/', // implied parent, added by the writer
        '-rw-r--r-- 0/0               8 2023-11-14 22:13:20 etc/hostname', // mtime 2e9 clamped to the epoch
        'lrwxrwxrwx 0/0               0 2023-11-14 22:13:20 lib -> usr/lib',
        'drwxrwxrwt 0/0               0 2023-11-14 22:13:20 tmp/',
        '',
      ].join('\n'),
    );
  });

  it('gives the same digests in another process at another time', async () => {
    const layer = await buildLayer(tree, { mtime: EPOCH });
    const script = `
      import { buildLayer } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src', 'build', 'layer.ts')).href)};
      const tree = new Map([
        ['/tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0 }],
        ['/lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'usr/lib' }],
        ['/etc/hostname', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('distill\\n'), mtime: 2000000000 }],
      ]);
      const l = await buildLayer(tree, { mtime: ${EPOCH} });
      process.stdout.write(l.diffId + ' ' + l.digest);
    `;
    const file = join(work, 'repro.mts');
    writeFileSync(file, script);
    const out = execFileSync('node', ['--import', 'tsx', file], { cwd: repoRoot, encoding: 'utf8' });
    expect(out).toBe(`${layer.diffId} ${layer.digest}`);
  });

  it('a layer of a real .deb extracts (GNU tar) to what dpkg-deb -x gives', async () => {
    const dir = cached('debs-layer-v1', (tmp) => {
      mkdirSync(tmp, { recursive: true });
      execFileSync('apt-get', ['download', 'base-files'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    });
    const debPath = join(dir, readdirSync(dir).find((n) => n.endsWith('.deb'))!);
    const deb = await readDeb(debPath);
    const debTree: FileTree = new Map();
    for (const f of deb.files) {
      if (f.path === '/') continue;
      const base = { mode: f.mode, uid: f.uid, gid: f.gid, mtime: f.mtime };
      if (f.type === 'file') debTree.set(f.path, { ...base, type: 'file', content: f.content! });
      else if (f.type === 'dir') debTree.set(f.path, { ...base, type: 'dir' });
      else if (f.type === 'symlink') debTree.set(f.path, { ...base, type: 'symlink', linkTarget: f.linkTarget! });
      else if (f.type === 'hardlink') debTree.set(f.path, { ...base, type: 'hardlink', linkTarget: f.linkTarget! });
    }
    const layer = await buildLayer(debTree, { mtime: EPOCH });
    const ours = join(work, 'ours');
    const theirs = join(work, 'theirs');
    mkdirSync(ours);
    writeFileSync(join(work, 'deb-layer.tgz'), layer.blob);
    execFileSync('tar', ['--numeric-owner', '-xpzf', join(work, 'deb-layer.tgz'), '-C', ours]);
    execFileSync('dpkg-deb', ['-x', debPath, theirs]);
    const listing = (d: string): string =>
      execFileSync('sh', ['-c', `cd "$1" && find . -mindepth 1 -printf '%P %y %m %U %G %s %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum`, 'sh', d], { encoding: 'utf8' });
    expect(listing(ours)).toBe(listing(theirs));
    expect(deb.files.length).toBeGreaterThan(20);
  });
});
