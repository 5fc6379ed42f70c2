/** @module filesystem/all-layers-resolver — every version of every file, with the layer that added it. */
import type { Issue } from '../errors.js';
import type { FileEntry } from './file-entry.js';
import type { FileResolver } from './file-resolver.js';
import { comparePaths, imagePath } from './entry-tree.js';
import type { LayerIndex } from './layer-index.js';
import { LayerContent, type LayerReaders } from './layer-reader.js';
import { LayerTree } from './layer-tree.js';

/**
 * Whiteouts do not delete anything here: a file removed by a later layer still shows with the layer that
 * added it (that is where secrets and vulnerable packages hide). Path lookups (lstat, stat, readFile) use the
 * newest version of each path; `versions()` and `readEntry()` reach the older ones.
 */
export class AllLayersResolver extends LayerTree implements FileResolver {
  readonly kind = 'all-layers';
  private readonly newest = new Map<string, FileEntry>();
  private readonly byPath = new Map<string, FileEntry[]>();
  private readonly sorted: FileEntry[];

  constructor(layers: readonly LayerIndex[], content: LayerContent, layerIssues: readonly Issue[]) {
    super(content, layerIssues);
    const all: FileEntry[] = [];
    for (const layer of [...layers].sort((a, b) => a.layer - b.layer)) {
      for (const entry of layer.entries.values()) {
        all.push(entry);
        this.newest.set(entry.path, entry);
        const list = this.byPath.get(entry.path);
        if (list === undefined) this.byPath.set(entry.path, [entry]);
        else list.push(entry);
      }
    }
    if (!this.newest.has('/')) this.newest.set('/', { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: 0 });
    // Stable sort: versions of one path stay in layer order.
    this.sorted = all.sort((a, b) => comparePaths(a.path, b.path) || a.layer - b.layer);
  }

  protected lookup(path: string): FileEntry | undefined {
    return this.newest.get(path);
  }

  entries(): FileEntry[] {
    return this.sorted;
  }

  /** Every version of exactly this path, oldest layer first. */
  versions(path: string): FileEntry[] {
    return [...(this.byPath.get(imagePath(path)) ?? [])];
  }
}

export function allLayers(layers: readonly LayerIndex[], readers: LayerReaders): AllLayersResolver {
  const issues = layers.flatMap((layer) => layer.issues);
  return new AllLayersResolver(layers, new LayerContent(layers, readers), issues);
}
