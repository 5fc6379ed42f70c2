/** @module filesystem/symlinks.test — symlink resolution against the kernel, and confinement where the kernel would escape. */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileEntry } from './file-entry.js';
import type { FileResolver } from './file-resolver.js';
import { openDirectory } from './directory-resolver.js';
import { indexLayer } from './layer-index.js';
import { squash } from './squashed-resolver.js';
import { resolvePath } from './symlinks.js';

const work = realpathSync(mkdtempSync(join(tmpdir(), 'distill-symlinks-')));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tree of relative symlinks the kernel can resolve without leaving the directory. */
function buildTree(root: string): void {
  mkdirSync(join(root, 'usr/lib/deep/er'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'image passwd\n');
  writeFileSync(join(root, 'usr/lib/deep/er/file'), 'deep\n');
  symlinkSync('usr/lib', join(root, 'lib'));
  symlinkSync('../lib/deep', join(root, 'usr/deep'));
  symlinkSync('er/../er/./file', join(root, 'usr/lib/deep/f'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  symlinkSync('self', join(root, 'self'));
  symlinkSync('nowhere/at/all', join(root, 'dangling'));
  symlinkSync('etc/passwd', join(root, 'file-link'));
  // chain-0 → chain-1 → … → chain-41 → etc/passwd: from chain-2 it takes 40 hops (ok), from chain-1 41 (ELOOP).
  for (let i = 0; i < 42; i++) symlinkSync(i === 41 ? 'etc/passwd' : `chain-${i + 1}`, join(root, `chain-${i}`));
  // Targets the kernel would resolve on the host; inside an image they must stay in the root.
  symlinkSync('/etc/passwd', join(root, 'abs-passwd'));
  symlinkSync('../../../../../../../../etc/passwd', join(root, 'climb-passwd'));
  symlinkSync('/etc/shadow', join(root, 'abs-shadow'));
  symlinkSync('/', join(root, 'to-root'));
}

const probes = [
  '/lib/deep/er/file', '/usr/deep/f', '/usr/deep/er/../f', '/lib/../etc/passwd', '/file-link', '/dangling',
  '/loop-a', '/loop-b/x', '/self', '/chain-1', '/chain-2', '/chain-0', '/etc/passwd/x', '/lib/deep/../deep/er',
];

/** The kernel's answer for a probe path inside `root`: realpath, or the errno. */
function kernel(root: string, probe: string): string {
  try {
    const real = realpathSync(root + probe);
    return real === root ? '/' : real.slice(root.length);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}

function ours(resolver: FileResolver, probe: string): string {
  const real = resolver.realPath(probe);
  if (real !== undefined) return real;
  // Tell ELOOP apart from ENOENT / ENOTDIR the way the kernel reports them.
  const lookup = (p: string): FileEntry | undefined => resolver.lstat(p);
  const result = resolvePath(lookup, probe);
  if (!result.ok) return result.reason === 'SYMLINK_LOOP' ? 'ELOOP' : 'ENOTDIR';
  return 'ENOENT';
}

describe('symlink resolution', () => {
  const root = join(work, 'tree');
  buildTree(root);
  const tar = join(work, 'tree.tar');
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);

  const views = async (): Promise<[string, FileResolver][]> => {
    const layer = await indexLayer(createReadStream(tar), { layer: 0 });
    return [
      ['squashed', squash([layer], { openLayer: async () => createReadStream(tar) })],
      ['directory', await openDirectory(root)],
    ];
  };

  it('agrees with the kernel (realpath / ELOOP / ENOENT / ENOTDIR) on relative links', async () => {
    for (const [name, resolver] of await views()) {
      const mine = probes.map((p) => [p, ours(resolver, p)]);
      const theirs = probes.map((p) => [p, kernel(root, p)]);
      expect({ name, mine }).toEqual({ name, mine: theirs });
    }
  });

  it('bounds loops and long chains at 40 hops, recording SYMLINK_LOOP and never hanging', async () => {
    for (const [, resolver] of await views()) {
      expect(resolver.stat('/loop-a')).toBeUndefined();
      expect(resolver.lstat('/loop-a')?.type).toBe('symlink');
      expect(resolver.stat('/chain-2')?.path).toBe('/etc/passwd');
      expect(resolver.stat('/chain-1')).toBeUndefined();
      await expect(resolver.readFile('/loop-a')).rejects.toMatchObject({ code: 'SYMLINK_LOOP' });
      await expect(resolver.readFile('/self')).rejects.toMatchObject({ code: 'SYMLINK_LOOP' });
      expect((resolver as unknown as { issues: { code: string; path?: string }[] }).issues.map((i) => i.code)).toContain('SYMLINK_LOOP');
    }
  });

  it('confines absolute targets and `..` to the image root, never the host', async () => {
    for (const [, resolver] of await views()) {
      expect(resolver.realPath('/abs-passwd')).toBe('/etc/passwd');
      expect(resolver.realPath('/climb-passwd')).toBe('/etc/passwd');
      expect(resolver.realPath('/to-root/to-root/lib/../etc/passwd')).toBe('/etc/passwd');
      expect(resolver.realPath('/../../../etc/passwd')).toBe('/etc/passwd');
      expect((await resolver.readFile('/abs-passwd')).toString()).toBe('image passwd\n');
      expect((await resolver.readFile('/climb-passwd')).toString()).toBe('image passwd\n');
      // The host has /etc/shadow; the image does not.
      expect(resolver.stat('/abs-shadow')).toBeUndefined();
      await expect(resolver.readFile('/abs-shadow')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    }
  });

  it('resolves deep paths without quadratic work and refuses absurdly long ones', () => {
    const lookup = (p: string): FileEntry | undefined =>
      p === '/' || p.startsWith('/a') ? { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: 0 } : undefined;
    expect(resolvePath(lookup, '/a'.repeat(1000) + '/..'.repeat(999))).toMatchObject({ ok: true, path: '/a' });
    expect(resolvePath(lookup, '/a'.repeat(500_000))).toEqual({ ok: false, reason: 'NAME_TOO_LONG' });
  });
});

describe('directory resolver confinement on disk', () => {
  it('refuses to read through a directory swapped for a symlink after the walk', async () => {
    const root = join(work, 'swap');
    mkdirSync(join(root, 'data'), { recursive: true });
    writeFileSync(join(root, 'data/passwd'), 'inside\n');
    const resolver = await openDirectory(root);
    expect((await resolver.readFile('/data/passwd')).toString()).toBe('inside\n');
    renameSync(join(root, 'data'), join(root, 'moved'));
    symlinkSync('/etc', join(root, 'data'));
    await expect(resolver.readFile('/data/passwd')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('refuses a final component swapped for a symlink (O_NOFOLLOW)', async () => {
    const root = join(work, 'swap-final');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'hostname'), 'inside\n');
    const resolver = await openDirectory(root);
    rmSync(join(root, 'hostname'));
    symlinkSync('/etc/hostname', join(root, 'hostname'));
    await expect(resolver.readFile('/hostname')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(resolver.openFile('/hostname')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('reports a missing root as SOURCE_NOT_FOUND', async () => {
    await expect(openDirectory(join(work, 'no-such-dir'))).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });
});
