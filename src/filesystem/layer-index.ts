/** @module filesystem/layer-index — one streaming pass over a layer tar: entries, whiteouts, magic, captured content. */
import type { Issue } from '../errors.js';
import { baseName, fileMeta, normalizePath, parentPath, type FileEntry } from './file-entry.js';
import { readTar } from './tar/tar-reader.js';
import type { TarContentSink, TarHeader, TarSummary } from './tar/tar-types.js';

export const DEFAULT_MAX_CAPTURE_BYTES = 8 * 1024 * 1024;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

export interface IndexLayerOptions {
  /** Position of the layer in the image (0 = base); stored in every FileEntry.layer. */
  layer: number;
  /** Regular files whose content should be kept in memory (decided from metadata; `magic` is not known yet). */
  capture?: (entry: FileEntry) => boolean;
  /** Captured files larger than this are not held but listed in `oversized`. Default 8 MiB. */
  maxCaptureBytes?: number;
  /** Used in issues and tar errors (e.g. the layer digest). */
  label?: string;
  /** Passed to the tar reader: entries declaring more fail with TAR_ENTRY_TOO_LARGE. */
  maxEntrySize?: number;
}

/** Everything one layer contributes, recorded without holding more than the captured content. */
export interface LayerIndex {
  layer: number;
  label: string | undefined;
  /** path → entry; a later entry with the same path in the tar replaced the earlier one. Whiteouts excluded. */
  entries: Map<string, FileEntry>;
  /** Paths this layer deletes from lower layers (`.wh.NAME`). */
  whiteouts: string[];
  /** Directories whose lower-layer contents this layer hides (`.wh..wh..opq`). */
  opaques: string[];
  /** Content of captured regular files, by path. */
  captured: Map<string, Buffer>;
  /** Files `capture` asked for that exceed maxCaptureBytes: read them on demand. */
  oversized: Set<string>;
  /** Byte offset of each regular file's content in the uncompressed tar, for picking it on a re-stream. */
  dataOffsets: Map<string, number>;
  issues: Issue[];
  summary: TarSummary;
}

/** Collects content into an exactly sized buffer and the first 4 bytes into `magic`. */
class EntrySink implements TarContentSink {
  private received = 0;
  private readonly magic: Buffer;

  constructor(
    private readonly entry: FileEntry,
    private readonly buffer: Buffer | undefined,
    private readonly done: (content: Buffer) => void,
  ) {
    this.magic = Buffer.alloc(Math.min(4, entry.size));
  }

  write(chunk: Buffer): void {
    const at = this.received;
    if (at < this.magic.length) chunk.copy(this.magic, at, 0, Math.min(chunk.length, this.magic.length - at));
    if (this.buffer !== undefined && at < this.buffer.length) chunk.copy(this.buffer, at, 0, Math.min(chunk.length, this.buffer.length - at));
    this.received = at + chunk.length;
  }

  end(): void {
    const filled = Math.min(this.received, this.magic.length);
    this.entry.magic = filled === this.magic.length ? this.magic : this.magic.subarray(0, filled);
    if (this.buffer !== undefined && this.received === this.buffer.length) this.done(this.buffer);
  }
}

/** Streams a layer tar once and records it. Tar errors (TAR_TRUNCATED, TAR_ENTRY_TOO_LARGE, …) propagate. */
export async function indexLayer(tar: AsyncIterable<Buffer>, options: IndexLayerOptions): Promise<LayerIndex> {
  const maxCapture = options.maxCaptureBytes ?? DEFAULT_MAX_CAPTURE_BYTES;
  const source = options.label === undefined ? 'layer-index' : `layer-index ${options.label}`;
  const entries = new Map<string, FileEntry>();
  const whiteouts = new Set<string>();
  const opaques = new Set<string>();
  const captured = new Map<string, Buffer>();
  const oversized = new Set<string>();
  const dataOffsets = new Map<string, number>();
  const issues: Issue[] = [];

  const visit = (header: TarHeader): TarContentSink | undefined => {
    if (header.type === 'other') {
      // pax globals are applied by the reader; sparse files and volume labels have no faithful content here.
      if (header.typeflag === 'S') {
        issues.push({ code: 'UNSUPPORTED', message: `GNU sparse file skipped: ${header.name}`, path: header.name, source });
      }
      return undefined;
    }
    const path = normalizePath(header.name);
    if (path === undefined) {
      issues.push({ code: 'PATH_ESCAPE', message: `tar entry escapes the root and was dropped: ${header.name}`, path: header.name, source });
      return undefined;
    }
    const name = baseName(path);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_MARKER) opaques.add(parentPath(path));
      else if (!name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        const deleted = name.slice(WHITEOUT_PREFIX.length);
        const parent = parentPath(path);
        if (deleted !== '' && deleted !== '.' && deleted !== '..') whiteouts.add((parent === '/' ? '' : parent) + '/' + deleted);
      }
      // Other `.wh..wh.*` names are AUFS bookkeeping (hardlink dirs), never content.
      return undefined;
    }
    const entry: FileEntry = { ...fileMeta(path, header.type, header), layer: options.layer };
    if (header.type === 'hardlink') {
      const target = normalizePath(header.linkName);
      if (target === undefined) {
        issues.push({ code: 'PATH_ESCAPE', message: `hardlink ${path} points outside the root and was dropped: ${header.linkName}`, path, source });
        return undefined;
      }
      entry.linkTarget = target;
    } else if (header.type === 'symlink') {
      entry.linkTarget = header.linkName;
    }
    if (entries.has(path)) {
      // Tar extraction semantics: the later entry replaces the earlier one (and its position in tar order).
      entries.delete(path);
      captured.delete(path);
      oversized.delete(path);
      dataOffsets.delete(path);
    }
    entries.set(path, entry);
    if (entry.type !== 'file') return undefined;
    dataOffsets.set(path, header.dataOffset);
    if (entry.size === 0) {
      entry.magic = Buffer.alloc(0);
      if (options.capture?.(entry) === true) captured.set(path, Buffer.alloc(0));
      return undefined;
    }
    let buffer: Buffer | undefined;
    if (options.capture?.(entry) === true) {
      if (entry.size <= maxCapture) buffer = Buffer.allocUnsafe(entry.size);
      else oversized.add(path);
    }
    return new EntrySink(entry, buffer, (content) => {
      // Only keep it if this entry is still the current version of the path.
      if (entries.get(path) === entry) captured.set(path, content);
    });
  };

  const summary = await readTar(tar, { entry: visit }, {
    ...(options.label === undefined ? {} : { label: options.label }),
    ...(options.maxEntrySize === undefined ? {} : { maxEntrySize: options.maxEntrySize }),
  });

  for (const entry of entries.values()) {
    if (entry.type === 'hardlink' && entry.linkTarget !== undefined) {
      const target = entries.get(entry.linkTarget);
      if (target === undefined) {
        issues.push({ code: 'UNREADABLE', message: `hardlink ${entry.path} points at ${entry.linkTarget}, which this layer does not contain`, path: entry.path, source });
      } else if (target.type === 'file') {
        entry.magic = target.magic;
      }
    }
  }

  return {
    layer: options.layer,
    label: options.label,
    entries,
    whiteouts: [...whiteouts],
    opaques: [...opaques],
    captured,
    oversized,
    dataOffsets,
    issues,
    summary,
  };
}
