/** @module filesystem/layer-tree — an entry tree whose file content is read from layer tars (the squashed and all-layers views). */
import type { Readable } from 'node:stream';
import type { DistillError, Issue } from '../errors.js';
import type { FileEntry } from './file-entry.js';
import type { ReadOptions } from './file-resolver.js';
import { EntryTree } from './entry-tree.js';
import type { LayerContent } from './layer-reader.js';

/** The content half of a layer-backed resolver: paths resolve in the subclass's tree, bytes come from LayerContent. */
export abstract class LayerTree extends EntryTree {
  constructor(protected readonly content: LayerContent, layerIssues: readonly Issue[]) {
    super();
    this.issues.push(...layerIssues);
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

  /** Reads many entries (any version) with one re-stream per layer; failures map to their DistillError. */
  async readEntries(entries: readonly FileEntry[], options: ReadOptions = {}): Promise<Map<FileEntry, Buffer | DistillError>> {
    return this.content.readMany(entries, options.maxBytes);
  }
}
