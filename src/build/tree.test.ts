/** @module build/tree.test — the in-memory image tree: parents, merged-/usr symlinked parents, conflicts, order, hostile paths. */
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { comparePaths, ImageTree, toFileTree, treePath } from './tree.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isDistillError(error) ? error.code : `not a DistillError: ${String(error)}`;
  }
  return undefined;
}

describe('ImageTree', () => {
  it('creates root-owned 0755 parents and keeps the node it was given', () => {
    const tree = new ImageTree();
    tree.addFile('/etc/nginx/nginx.conf', 'user www-data;\n', { mode: 0o100644, uid: 0, gid: 0, mtime: 5 });
    expect(tree.get('/etc')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(tree.get('/etc/nginx')).toMatchObject({ type: 'dir', mode: 0o755 });
    const file = tree.get('etc/nginx/./nginx.conf');
    expect(file?.mode).toBe(0o644); // file-type bits are stripped
    expect(file?.content?.toString()).toBe('user www-data;\n');
  });

  it('follows a symlinked parent directory the way dpkg does under merged /usr', () => {
    const tree = new ImageTree();
    tree.mkdirp('/usr/lib');
    tree.addSymlink('/lib', 'usr/lib');
    const placed = tree.addFile('/lib/x86_64-linux-gnu/libc.so.6', 'ELF');
    expect(placed).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(tree.has('/lib/x86_64-linux-gnu')).toBe(false);
    expect(tree.lookup('/lib/x86_64-linux-gnu/libc.so.6')?.path).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    // mkdirp through the link lands in the real directory too.
    expect(tree.mkdirp('/lib')).toBe('/usr/lib');
  });

  it('clamps absolute and ../ symlink targets to the tree root (no escape through a hostile link)', () => {
    const tree = new ImageTree();
    tree.addSymlink('/evil', '../../../../etc');
    tree.addFile('/evil/passwd', 'x');
    expect(tree.has('/etc/passwd')).toBe(true);
    tree.addSymlink('/abs', '/opt');
    expect(tree.addFile('/abs/f', 'y')).toBe('/opt/f');
  });

  it('refuses paths that climb above the root or carry NUL', () => {
    const tree = new ImageTree();
    expect(codeOf(() => tree.addFile('../etc/passwd', 'x'))).toBe('PATH_ESCAPE');
    expect(codeOf(() => tree.addFile('/a/../../b', 'x'))).toBe('PATH_ESCAPE');
    expect(codeOf(() => tree.addFile('/a\0b', 'x'))).toBe('PATH_ESCAPE');
    expect(treePath('./usr//bin/./x')).toBe('/usr/bin/x');
  });

  it('detects symlink loops instead of spinning', () => {
    const tree = new ImageTree();
    tree.addSymlink('/a', 'b');
    tree.addSymlink('/b', 'a');
    expect(codeOf(() => tree.addFile('/a/x', 'x'))).toBe('SYMLINK_LOOP');
    expect(codeOf(() => tree.lookup('/a'))).toBe('SYMLINK_LOOP');
  });

  it('reports conflicts: a file under a file, a directory replaced by a file, a hardlink to nothing', () => {
    const tree = new ImageTree();
    tree.addFile('/etc/hosts', '127.0.0.1 localhost\n', { origin: 'netbase' });
    expect(codeOf(() => tree.addFile('/etc/hosts/x', 'x'))).toBe('TREE_CONFLICT');
    expect(codeOf(() => tree.mkdirp('/etc/hosts'))).toBe('TREE_CONFLICT');
    expect(codeOf(() => tree.addFile('/etc', 'x'))).toBe('TREE_CONFLICT');
    expect(codeOf(() => tree.add('/usr/bin/pigz-link', { type: 'hardlink', mode: 0o755, uid: 0, gid: 0, mtime: 0, target: '/usr/bin/pigz' }))).toBe('TREE_CONFLICT');
    tree.addFile('/usr/bin/pigz', 'ELF', { mode: 0o755 });
    tree.add('/usr/bin/unpigz', { type: 'hardlink', mode: 0o755, uid: 0, gid: 0, mtime: 0, target: 'usr/bin/pigz' });
    expect(tree.get('/usr/bin/unpigz')?.target).toBe('/usr/bin/pigz');
  });

  it('walks in a deterministic order with every directory before its contents', () => {
    const tree = new ImageTree();
    for (const p of ['/a-b/f', '/a/b/c', '/a.x', '/a/b', '/A', '/a/z']) tree.addFile(p === '/a/b' ? '/a/b/d' : p, 'x');
    const order = [...tree.walk()].map(([p]) => p);
    expect(order).toEqual(['/A', '/a', '/a/b', '/a/b/c', '/a/b/d', '/a/z', '/a-b', '/a-b/f', '/a.x']);
    for (const [i, p] of order.entries()) {
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (parent !== '') expect(order.indexOf(parent)).toBeLessThan(i);
    }
    expect(comparePaths('/a', '/a/b')).toBeLessThan(0);
  });

  it('removes a directory with everything below it, and updates an existing directory only when asked', () => {
    const tree = new ImageTree();
    tree.addFile('/usr/share/doc/x/README', 'x');
    tree.addFile('/usr/share/doc/x/copyright', 'c');
    tree.addFile('/usr/share/docs', 'not under doc/');
    expect(tree.remove('/usr/share/doc')).toBe(4);
    expect(tree.has('/usr/share/docs')).toBe(true);
    tree.mkdirp('/var/lib/nginx', { mode: 0o700 });
    tree.mkdirp('/var/lib/nginx');
    expect(tree.get('/var/lib/nginx')?.mode).toBe(0o700);
    tree.mkdirp('/var/lib/nginx', { uid: 65532, gid: 65532, mode: 0o755 });
    expect(tree.get('/var/lib/nginx')).toMatchObject({ uid: 65532, gid: 65532, mode: 0o755 });
  });

  it('converts to the layer writer\'s FileTree shape, optionally a subset', () => {
    const tree = new ImageTree();
    tree.addFile('/usr/bin/env', 'ELF', { mode: 0o755, mtime: 7 });
    tree.addSymlink('/bin', 'usr/bin');
    tree.add('/usr/bin/env2', { type: 'hardlink', mode: 0o755, uid: 0, gid: 0, mtime: 7, target: '/usr/bin/env' });
    const all = toFileTree(tree);
    expect([...all.keys()]).toEqual(['/bin', '/usr', '/usr/bin', '/usr/bin/env', '/usr/bin/env2']);
    expect(all.get('/bin')).toEqual({ type: 'symlink', linkTarget: 'usr/bin', mode: 0o777, uid: 0, gid: 0, mtime: 0 });
    expect(all.get('/usr/bin/env2')).toMatchObject({ type: 'hardlink', linkTarget: '/usr/bin/env' });
    expect([...toFileTree(tree, (p) => p.startsWith('/usr')).keys()]).toEqual(['/usr', '/usr/bin', '/usr/bin/env', '/usr/bin/env2']);
  });
});
