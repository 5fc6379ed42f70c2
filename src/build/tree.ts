/** @module build/tree — the in-memory image filesystem the builder assembles before it is written as layers. */
import { DistillError } from '../errors.js';
import { imagePath } from '../filesystem/entry-tree.js';
import { normalizePath, parentPath } from '../filesystem/file-entry.js';
import type { FileTree } from './layer.js';

export type TreeNodeType = 'file' | 'dir' | 'symlink' | 'hardlink';

/**
 * One path of the image. Paths are the absolute, normalised form used everywhere in distill (`/usr/bin/env`, no
 * trailing slash); the root `/` is implicit and never stored.
 */
export interface TreeNode {
  type: TreeNodeType;
  /** Permission bits including setuid/setgid/sticky (`mode & 0o7777`); file-type bits are never set here. */
  mode: number;
  uid: number;
  gid: number;
  /** Regular-file content. Absent means empty. */
  content?: Buffer;
  /** Symlink target exactly as it will be stored, or (hardlink) the absolute tree path of the linked file. */
  target?: string;
  /** Seconds since the epoch. The layer writer clamps it (SOURCE_DATE_EPOCH). */
  mtime: number;
  /** Which package (or `setup`, `recipe`) put it there, for `--explain` and conflict messages. */
  origin?: string;
}

export interface NodeInit {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  origin?: string;
}

/** Parents created implicitly: root-owned 0755, like dpkg and tar create them. */
const DEFAULT_DIR: Required<Omit<NodeInit, 'origin'>> = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
/** Symlink hops followed when a parent component is a symlink (Linux's MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;
const MAX_PATH_BYTES = 4096;

/**
 * Normalises a path to the tree's absolute form, or throws PATH_ESCAPE. `..` may not climb above the root, and NUL
 * bytes are refused: paths come from packages and recipes, both treated as hostile.
 */
export function treePath(raw: string): string {
  if (raw.includes('\0') || raw.length > MAX_PATH_BYTES) throw new DistillError('PATH_ESCAPE', `unusable path ${JSON.stringify(raw.slice(0, 200))}`, { subject: raw.slice(0, 200) });
  const path = normalizePath(raw);
  if (path === undefined) throw new DistillError('PATH_ESCAPE', `path ${JSON.stringify(raw)} climbs above the image root`, { subject: raw });
  return path;
}

/** Resolves a symlink target against the directory holding the link, clamped to the root like a chroot. */
function resolveTarget(linkDir: string, target: string): string {
  return imagePath(target.startsWith('/') ? target : `${linkDir}/${target}`);
}

/**
 * The image filesystem: a map from absolute path to {@link TreeNode}, with parents always present as directories.
 * `add` and `mkdirp` follow a symlinked parent directory inside the tree (so `/lib/x` lands in `/usr/lib/x` once
 * `/lib → usr/lib` exists), as dpkg does on a merged-/usr system; the final component is never followed.
 * `nodes` is public so a layer writer can read it directly; use `walk()` for the deterministic order.
 */
export class ImageTree {
  readonly nodes = new Map<string, TreeNode>();

  get size(): number {
    return this.nodes.size;
  }

  get(path: string): TreeNode | undefined {
    return this.nodes.get(treePath(path));
  }

  has(path: string): boolean {
    return this.nodes.has(treePath(path));
  }

  /**
   * The path with every symlinked parent directory resolved (the last component as given). Throws SYMLINK_LOOP on
   * a cycle and TREE_CONFLICT when a parent is a regular file.
   */
  resolveParents(path: string): string {
    let current = treePath(path);
    let hops = 0;
    restart: for (;;) {
      if (current === '/') return current;
      const parts = current.slice(1).split('/');
      let prefix = '';
      for (let i = 0; i < parts.length - 1; i++) {
        prefix += '/' + parts[i]!;
        const node = this.nodes.get(prefix);
        if (node === undefined) return current;
        if (node.type === 'dir') continue;
        if (node.type === 'symlink') {
          if (++hops > MAX_SYMLINK_HOPS) throw new DistillError('SYMLINK_LOOP', `too many symlinks resolving ${path}`, { subject: path });
          const base = resolveTarget(parentPath(prefix), node.target ?? '');
          current = (base === '/' ? '' : base) + '/' + parts.slice(i + 1).join('/');
          continue restart;
        }
        throw new DistillError('TREE_CONFLICT', `cannot place ${path}: ${prefix} is a ${node.type}${node.origin ? ` from ${node.origin}` : ''}, not a directory`, { subject: path });
      }
      return current;
    }
  }

  /** Creates a directory and any missing parents (parents get root 0755). An existing directory is updated with `init`'s owner/mode only when `init` is given. */
  mkdirp(path: string, init?: NodeInit): string {
    const target = this.resolveParents(path);
    if (target === '/') return target;
    this.ensureParents(target, init?.mtime ?? 0);
    const existing = this.nodes.get(target);
    if (existing !== undefined) {
      if (existing.type === 'symlink') {
        // A directory requested through a symlink to a directory (e.g. /lib64 → usr/lib64) is that directory.
        const resolved = this.lookup(target);
        if (resolved?.node.type === 'dir') return resolved.path;
      }
      if (existing.type !== 'dir') throw new DistillError('TREE_CONFLICT', `cannot make directory ${path}: it is a ${existing.type}${existing.origin ? ` from ${existing.origin}` : ''}`, { subject: path });
      if (init !== undefined) Object.assign(existing, definedOnly(init));
      return target;
    }
    this.nodes.set(target, { type: 'dir', ...DEFAULT_DIR, ...definedOnly(init ?? {}) });
    return target;
  }

  private ensureParents(path: string, mtime: number): void {
    const missing: string[] = [];
    for (let dir = parentPath(path); dir !== '/'; dir = parentPath(dir)) {
      const node = this.nodes.get(dir);
      if (node !== undefined) {
        if (node.type !== 'dir') throw new DistillError('TREE_CONFLICT', `cannot place ${path}: ${dir} is a ${node.type}, not a directory`, { subject: path });
        break;
      }
      missing.push(dir);
    }
    for (const dir of missing) this.nodes.set(dir, { type: 'dir', ...DEFAULT_DIR, mtime });
  }

  /**
   * Adds (or replaces) a non-directory node, creating parents. Replacing a directory with something else is a
   * TREE_CONFLICT (it would orphan its children); a directory added over a directory updates its metadata.
   * Returns the final path (after parent symlinks were followed).
   */
  add(path: string, node: TreeNode): string {
    if (node.type === 'dir') return this.mkdirp(path, node);
    const target = this.resolveParents(path);
    if (target === '/') throw new DistillError('TREE_CONFLICT', `cannot replace the root directory with a ${node.type}`, { subject: path });
    if (node.type === 'hardlink') {
      const linked = this.nodes.get(treePath(node.target ?? ''));
      if (linked === undefined || linked.type !== 'file') throw new DistillError('TREE_CONFLICT', `hardlink ${path} points at ${node.target ?? '(nothing)'}, which is not a regular file in the tree`, { subject: path });
      node = { ...node, target: treePath(node.target ?? '') };
    }
    const existing = this.nodes.get(target);
    if (existing?.type === 'dir') throw new DistillError('TREE_CONFLICT', `cannot replace directory ${target} with a ${node.type}${node.origin ? ` from ${node.origin}` : ''}`, { subject: target });
    this.ensureParents(target, node.mtime);
    this.nodes.set(target, { ...node, mode: node.mode & 0o7777 });
    return target;
  }

  /** Convenience: a regular file. */
  addFile(path: string, content: Buffer | string, init: NodeInit = {}): string {
    return this.add(path, { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, ...definedOnly(init), content: typeof content === 'string' ? Buffer.from(content, 'utf8') : content });
  }

  /** Convenience: a symlink (target stored as given). */
  addSymlink(path: string, target: string, init: NodeInit = {}): string {
    return this.add(path, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, ...definedOnly(init), target });
  }

  /** Removes a path and, for a directory, everything under it. Returns how many nodes went. */
  remove(path: string): number {
    const target = treePath(path);
    if (target === '/') throw new DistillError('TREE_CONFLICT', 'cannot remove the root directory', { subject: path });
    const node = this.nodes.get(target);
    if (node === undefined) return 0;
    let removed = 0;
    if (node.type === 'dir') {
      const prefix = target + '/';
      for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix) && this.nodes.delete(key)) removed++;
    }
    this.nodes.delete(target);
    return removed + 1;
  }

  /** Every node in a deterministic order ({@link comparePaths}): a directory always precedes its contents. */
  *walk(): Generator<[string, TreeNode]> {
    const keys = [...this.nodes.keys()].sort(comparePaths);
    for (const key of keys) yield [key, this.nodes.get(key)!];
  }

  /** The resolved node a path points at, following symlinks (including the last component). */
  lookup(path: string): { path: string; node: TreeNode } | undefined {
    let current = this.resolveParents(path);
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
      const node = this.nodes.get(current);
      if (node === undefined) return undefined;
      if (node.type !== 'symlink') return { path: current, node };
      current = this.resolveParents(resolveTarget(parentPath(current), node.target ?? ''));
    }
    throw new DistillError('SYMLINK_LOOP', `too many symlinks resolving ${path}`, { subject: path });
  }
}

/**
 * The tree (or the part `include` selects) in the layer writer's shape (build/layer.ts `FileTree`), in walk order:
 * `target` becomes `linkTarget`, an absent file content an empty Buffer.
 */
export function toFileTree(tree: ImageTree, include: (path: string, node: TreeNode) => boolean = () => true): FileTree {
  const out: FileTree = new Map();
  for (const [path, node] of tree.walk()) {
    if (!include(path, node)) continue;
    const base = { mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime };
    if (node.type === 'file') out.set(path, { ...base, type: 'file', content: node.content ?? Buffer.alloc(0) });
    else if (node.type === 'dir') out.set(path, { ...base, type: 'dir' });
    else out.set(path, { ...base, type: node.type, linkTarget: node.target ?? '' });
  }
  return out;
}

/** Component-wise path order: a directory always precedes its contents (`/a`, `/a/b`, `/a-b`), siblings sort by name. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    // UTF-16 code-unit order: byte order for every BMP name, and deterministic for the rest.
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  return out;
}
