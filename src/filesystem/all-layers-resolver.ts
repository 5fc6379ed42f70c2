/** @module filesystem/all-layers-resolver — every version of every file, with the layer that added it. */
import type { Readable } from 'node:stream';
import { DistillError, type Issue } from '../errors.js';
import type { FileEntry } from './file-entry.js';
import type { FileResolver, ReadOptions } from './file-resolver.js';
import { comparePaths, EntryTree, imagePath } from './entry-tree.js';
import type { LayerIndex } from './layer-index.js';
import { LayerContent, type LayerReaders } from './layer-reader.js';

/**
 * Whiteouts do not delete anything here: a file removed by a later layer still shows with the layer that
 * added it (that is where secrets and vulnerable packages hide). Path lookups (lstat, stat, readFile) use the
 * newest version of each path; `versions()` and `readEntry()` reach the older ones.
 */
export class AllLayersResolver extends EntryTree implements FileResolver {
  readonly kind = 'all-layers';
  private readonly newest = new Map<string, FileEntry>();
  private readonly byPath = new Map<string, FileEntry[]>();
  private readonly sorted: FileEntry[];

  constructor(layers: readonly LayerIndex[], private readonly content: LayerContent, layerIssues: readonly Issue[]) {
    super();
    this.issues.push(...layerIssues);
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

  async readFile(path: string, options: ReadOptions = {}): Promise<Buffer> {
    return this.content.read(this.resolveRegular(path), options.maxBytes);
  }

  async readEntry(entry: FileEntry, options: ReadOptions = {}): Promise<Buffer> {
    return this.content.read(entry, options.maxBytes);
  }

  async openFile(path: string): Promise<Readable> {
    return this.content.open(this.resolveRegular(path));
  }

  /** Reads many entry versions with one re-stream per layer; failures map to their DistillError. */
  async readEntries(entries: readonly FileEntry[], options: ReadOptions = {}): Promise<Map<FileEntry, Buffer | DistillError>> {
    return this.content.readMany(entries, options.maxBytes);
  }
}

export function allLayers(layers: readonly LayerIndex[], readers: LayerReaders): AllLayersResolver {
  const issues = layers.flatMap((layer) => layer.issues);
  return new AllLayersResolver(layers, new LayerContent(layers, readers), issues);
}
