/** @module filesystem/squashed-resolver — the filesystem a container sees: layers applied in order with whiteouts. */
import { DistillError, type Issue } from '../errors.js';
import { baseName, parentPath, type FileEntry } from './file-entry.js';
import type { FileResolver, ReadOptions } from './file-resolver.js';
import { comparePaths } from './entry-tree.js';
import type { LayerIndex } from './layer-index.js';
import { LayerContent, type LayerReaders } from './layer-reader.js';
import { LayerTree } from './layer-tree.js';
import { resolvePath } from './symlinks.js';

function implicitDir(path: string, layer: number): FileEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer };
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? '/' + name : parent + '/' + name;
}

/** A mutable tree of entries with a child index, so deleting a subtree costs its size, not the image's. */
class MutableTree {
  readonly entries = new Map<string, FileEntry>();
  private readonly children = new Map<string, Set<string>>();

  constructor() {
    this.entries.set('/', implicitDir('/', 0));
  }

  get(path: string): FileEntry | undefined {
    return this.entries.get(path);
  }

  /** Stores an entry whose parent already exists as a directory. */
  set(entry: FileEntry): void {
    if (!this.entries.has(entry.path) && entry.path !== '/') {
      const parent = parentPath(entry.path);
      let siblings = this.children.get(parent);
      if (siblings === undefined) this.children.set(parent, (siblings = new Set()));
      siblings.add(entry.path);
    }
    this.entries.set(entry.path, entry);
  }

  /** Removes everything below `path` (iteratively: hostile trees can be very deep). */
  clearChildren(path: string): void {
    const stack = [path];
    while (stack.length > 0) {
      const dir = stack.pop() as string;
      const kids = this.children.get(dir);
      if (kids === undefined) continue;
      this.children.delete(dir);
      for (const kid of kids) {
        this.entries.delete(kid);
        stack.push(kid);
      }
    }
  }

  delete(path: string): void {
    if (path === '/' ) {
      this.clearChildren('/');
      return;
    }
    if (!this.entries.has(path)) return;
    this.clearChildren(path);
    this.entries.delete(path);
    this.children.get(parentPath(path))?.delete(path);
  }
}

/**
 * Applies one layer's entries to the tree the way an OCI unpacker does: parents that are symlinks are
 * followed inside the root (securejoin semantics), missing parents are created, non-directories in the way
 * are replaced, and anything other than a directory replacing a directory removes the lower children.
 */
function place(tree: MutableTree, entry: FileEntry, content: LayerContent): void {
  if (entry.path === '/') {
    if (entry.type === 'dir') tree.set(entry);
    return;
  }
  let parent = parentPath(entry.path);
  let target = entry;
  if (tree.get(parent)?.type !== 'dir') {
    const resolved = resolvePath((p) => tree.get(p), parent);
    // A parent loop or a file in the way: fall back to the literal path and replace what blocks it.
    const realParent = resolved.ok ? resolved.path : parent;
    if (realParent !== parent) {
      parent = realParent;
      target = { ...entry, path: childPath(parent, baseName(entry.path)) };
      content.alias(target, entry);
    }
    ensureDirectory(tree, parent, entry.layer);
  }
  const existing = tree.get(target.path);
  if (existing !== undefined && !(existing.type === 'dir' && target.type === 'dir')) tree.delete(target.path);
  tree.set(target);
}

/** Makes `path` and its ancestors directories, replacing non-directories (and dangling parts) on the way. */
function ensureDirectory(tree: MutableTree, path: string, layer: number): void {
  const missing: string[] = [];
  for (let p = path; ; p = parentPath(p)) {
    const existing = tree.get(p);
    if (existing?.type === 'dir') break;
    if (existing !== undefined) tree.delete(p);
    missing.push(p);
    if (p === '/') break;
  }
  for (let i = missing.length - 1; i >= 0; i--) tree.set(implicitDir(missing[i] as string, layer));
}

export class SquashedResolver extends LayerTree implements FileResolver {
  readonly kind = 'squashed';
  private sorted: FileEntry[] | undefined;

  constructor(
    private readonly visible: Map<string, FileEntry>,
    content: LayerContent,
    layerIssues: readonly Issue[],
  ) {
    super(content, layerIssues);
  }

  protected lookup(path: string): FileEntry | undefined {
    return this.visible.get(path);
  }

  entries(): FileEntry[] {
    this.sorted ??= [...this.visible.values()].sort((a, b) => comparePaths(a.path, b.path));
    return this.sorted;
  }

  /** Hardlinks report their target's metadata under their own path (they share its inode once unpacked). */
  override stat(path: string): FileEntry | undefined {
    const entry = super.stat(path);
    if (entry?.type !== 'hardlink') return entry;
    try {
      const ref = this.content.locate(entry);
      return { ...ref.entry, path: entry.path, layer: entry.layer, linkTarget: ref.entry.path };
    } catch {
      return entry;
    }
  }

  /** Reads many files with one re-stream per layer; a missing or oversized file maps to its DistillError. */
  async readFiles(paths: readonly string[], options: ReadOptions = {}): Promise<Map<string, Buffer | DistillError>> {
    const out = new Map<string, Buffer | DistillError>();
    const byEntry = new Map<FileEntry, string[]>();
    for (const path of paths) {
      try {
        const entry = this.resolveRegular(path);
        const list = byEntry.get(entry) ?? [];
        list.push(path);
        byEntry.set(entry, list);
      } catch (error) {
        if (!(error instanceof DistillError)) throw error;
        out.set(path, error);
      }
    }
    const results = await this.content.readMany([...byEntry.keys()], options.maxBytes);
    for (const [entry, list] of byEntry) {
      const result = results.get(entry);
      for (const path of list) if (result !== undefined) out.set(path, result);
    }
    return out;
  }

  /** The layer that added the visible version of a path (after following symlinks), for layer digests. */
  layerOf(path: string): number | undefined {
    return super.stat(path)?.layer;
  }
}

/** Squashes layer indexes (base first) into the container's view. */
export function squash(layers: readonly LayerIndex[], readers: LayerReaders): SquashedResolver {
  const ordered = [...layers].sort((a, b) => a.layer - b.layer);
  const tree = new MutableTree();
  const content = new LayerContent(ordered, readers);
  const issues: Issue[] = [];
  for (const layer of ordered) {
    // Whiteouts and opaque markers only hide lower layers, so they apply before this layer's own entries.
    for (const dir of layer.opaques) tree.clearChildren(dir);
    for (const path of layer.whiteouts) tree.delete(path);
    for (const entry of layer.entries.values()) place(tree, entry, content);
    issues.push(...layer.issues);
  }
  return new SquashedResolver(tree.entries, content, issues);
}
