/** @module filesystem/layer-reader — file content from layer indexes: captured buffers, else a re-stream of the layer tar. */
import { PassThrough, Readable } from 'node:stream';
import { DistillError } from '../errors.js';
import type { FileEntry } from './file-entry.js';
import type { LayerIndex } from './layer-index.js';
import { readTar } from './tar/tar-reader.js';
import type { TarContentSink, TarHeader } from './tar/tar-types.js';

export const DEFAULT_MAX_READ_BYTES = 64 * 1024 * 1024;

/** Re-opens layer `index` (FileEntry.layer) as an uncompressed tar stream. */
export type OpenLayer = (index: number) => Promise<AsyncIterable<Buffer>>;

export interface LayerReaders {
  openLayer: OpenLayer;
}

/** Hardlink chains longer than this are treated as broken (tar hardlinks normally point at a file directly). */
const MAX_HARDLINK_HOPS = 8;

/** Thrown inside the tar visitor to stop a re-stream once every wanted file was seen. */
class StopReading extends Error {}

function isStop(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof StopReading) return true;
  }
  return false;
}

/** A regular file's content location: which layer, which path in it, and its size. */
export interface ContentRef {
  layer: LayerIndex;
  /** The regular-file entry holding the bytes (the hardlink target for hardlinks). */
  entry: FileEntry;
}

export class LayerContent {
  private readonly byLayer = new Map<number, LayerIndex>();

  constructor(layers: readonly LayerIndex[], private readonly readers: LayerReaders) {
    for (const layer of layers) this.byLayer.set(layer.layer, layer);
  }

  layers(): LayerIndex[] {
    return [...this.byLayer.values()];
  }

  /** Entries shown under another path than their tar name (placed through a symlinked parent) → the original. */
  private readonly originals = new WeakMap<FileEntry, FileEntry>();

  alias(shown: FileEntry, original: FileEntry): void {
    this.originals.set(shown, this.originals.get(original) ?? original);
  }

  /** Where the bytes of a (file or hardlink) entry live, or a FILE_NOT_FOUND error. */
  locate(requested: FileEntry): ContentRef {
    const entry = this.originals.get(requested) ?? requested;
    const layer = this.byLayer.get(entry.layer);
    if (layer === undefined) throw new DistillError('FILE_NOT_FOUND', `layer ${entry.layer} of ${entry.path} is not indexed`, { subject: entry.path });
    let current = entry;
    for (let hops = 0; current.type === 'hardlink'; hops++) {
      const target = current.linkTarget === undefined ? undefined : layer.entries.get(current.linkTarget);
      if (target === undefined || hops >= MAX_HARDLINK_HOPS) {
        throw new DistillError('FILE_NOT_FOUND', `hardlink ${entry.path} points at ${current.linkTarget ?? '?'}, which its layer does not contain`, {
          subject: entry.path,
          hint: 'the layer tar is malformed: a hardlink must follow the file it links to',
        });
      }
      current = target;
    }
    if (current.type !== 'file') {
      throw new DistillError('FILE_NOT_FOUND', `${entry.path} is a ${current.type}, not a regular file`, { subject: entry.path });
    }
    return { layer, entry: current };
  }

  private checkSize(ref: ContentRef, requested: FileEntry, maxBytes: number): void {
    if (ref.entry.size > maxBytes) {
      throw new DistillError('FILE_TOO_LARGE', `${requested.path} is ${ref.entry.size} bytes, over the ${maxBytes}-byte limit`, {
        subject: requested.path,
        hint: 'raise maxBytes or use openFile() to stream it',
      });
    }
  }

  async read(entry: FileEntry, maxBytes = DEFAULT_MAX_READ_BYTES): Promise<Buffer> {
    const ref = this.locate(entry);
    this.checkSize(ref, entry, maxBytes);
    if (ref.entry.size === 0) return Buffer.alloc(0);
    const captured = ref.layer.captured.get(ref.entry.path);
    if (captured !== undefined) return captured;
    const results = await this.streamLayer(ref.layer, [ref]);
    const content = results.get(ref.entry.path);
    if (content === undefined) throw this.vanished(ref);
    return content;
  }

  /** Reads many entries, one re-stream per layer; per-entry failures are returned, not thrown. */
  async readMany(entries: readonly FileEntry[], maxBytes = DEFAULT_MAX_READ_BYTES): Promise<Map<FileEntry, Buffer | DistillError>> {
    const out = new Map<FileEntry, Buffer | DistillError>();
    const pending = new Map<LayerIndex, { requested: FileEntry; ref: ContentRef }[]>();
    for (const requested of entries) {
      try {
        const ref = this.locate(requested);
        this.checkSize(ref, requested, maxBytes);
        const captured = ref.entry.size === 0 ? Buffer.alloc(0) : ref.layer.captured.get(ref.entry.path);
        if (captured !== undefined) {
          out.set(requested, captured);
          continue;
        }
        const list = pending.get(ref.layer) ?? [];
        list.push({ requested, ref });
        pending.set(ref.layer, list);
      } catch (error) {
        if (!(error instanceof DistillError)) throw error;
        out.set(requested, error);
      }
    }
    // Layers one after the other: each re-stream already decompresses at full speed, and memory stays bounded.
    for (const [layer, list] of pending) {
      const results = await this.streamLayer(layer, list.map((item) => item.ref));
      for (const { requested, ref } of list) out.set(requested, results.get(ref.entry.path) ?? this.vanished(ref));
    }
    return out;
  }

  /** A stream of an entry's content: captured buffer, or piped straight out of the layer tar. */
  async open(entry: FileEntry): Promise<Readable> {
    const ref = this.locate(entry);
    const captured = ref.entry.size === 0 ? Buffer.alloc(0) : ref.layer.captured.get(ref.entry.path);
    if (captured !== undefined) return Readable.from([captured], { objectMode: false });
    const offset = ref.layer.dataOffsets.get(ref.entry.path);
    if (offset === undefined) throw this.vanished(ref);
    // The tar sink API is synchronous, so a slow consumer buffers in `out` (bounded by the file's size).
    const out = new PassThrough();
    const finish = (): void => {
      if (!out.writableEnded) out.end();
    };
    let found = false;
    const visitor = {
      entry: (header: TarHeader): TarContentSink | undefined => {
        // Stop re-streaming once the file was delivered or the consumer gave up on it.
        if (found || out.destroyed) throw new StopReading();
        if (header.dataOffset !== offset) return undefined;
        found = true;
        return {
          write: (chunk: Buffer) => {
            if (out.destroyed) throw new StopReading();
            out.write(chunk);
          },
          end: finish,
        };
      },
    };
    const tar = await this.readers.openLayer(ref.layer.layer);
    readTar(tar, visitor, this.tarOptions(ref.layer)).then(
      () => (found ? finish() : out.destroy(this.vanished(ref))),
      (error: unknown) => (isStop(error) ? finish() : out.destroy(error instanceof Error ? error : new Error(String(error)))),
    );
    return out;
  }

  private tarOptions(layer: LayerIndex): { label?: string } {
    return layer.label === undefined ? {} : { label: layer.label };
  }

  private vanished(ref: ContentRef): DistillError {
    return new DistillError('FILE_NOT_FOUND', `${ref.entry.path} was not found when re-reading layer ${ref.layer.label ?? ref.layer.layer}`, {
      subject: ref.entry.path,
      hint: 'the layer changed since it was indexed',
    });
  }

  /** One pass over a layer tar collecting the wanted files, stopping after the last one. */
  private async streamLayer(layer: LayerIndex, refs: readonly ContentRef[]): Promise<Map<string, Buffer>> {
    const wanted = new Map<number, FileEntry>();
    for (const ref of refs) {
      const offset = layer.dataOffsets.get(ref.entry.path);
      if (offset !== undefined) wanted.set(offset, ref.entry);
    }
    const results = new Map<string, Buffer>();
    if (wanted.size === 0) return results;
    let remaining = wanted.size;
    const visitor = {
      entry: (header: TarHeader): TarContentSink | undefined => {
        if (remaining === 0) throw new StopReading();
        const entry = wanted.get(header.dataOffset);
        if (entry === undefined) return undefined;
        wanted.delete(header.dataOffset);
        const buffer = Buffer.allocUnsafe(entry.size);
        let received = 0;
        return {
          write(chunk: Buffer) {
            if (received < buffer.length) chunk.copy(buffer, received, 0, Math.min(chunk.length, buffer.length - received));
            received += chunk.length;
          },
          end() {
            remaining -= 1;
            if (received === buffer.length) results.set(entry.path, buffer);
          },
        };
      },
    };
    try {
      await readTar(await this.readers.openLayer(layer.layer), visitor, this.tarOptions(layer));
    } catch (error) {
      if (!isStop(error)) throw error;
    }
    return results;
  }
}
