/** @module build/layer — a file tree → deterministic layer: tar bytes, diffId, fixed-settings gzip blob, digest and size. */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import { MediaType } from '../oci/media-types.js';
import { tarChunks, type TarWriteEntry } from '../filesystem/tar/tar-writer.js';

interface NodeBase {
  /** Permission bits (setuid/setgid/sticky included). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; clamped to the layer's epoch. Default: the epoch. */
  mtime?: number;
}

/** One node of an in-memory file tree. */
export type TreeNode =
  | (NodeBase & { type: 'file'; content: Buffer })
  | (NodeBase & { type: 'dir' })
  | (NodeBase & { type: 'symlink'; linkTarget: string })
  /** `linkTarget` is the absolute path of another regular file in the same tree. */
  | (NodeBase & { type: 'hardlink'; linkTarget: string });

/** Absolute path (`/usr/bin/env`) → node. Missing parent directories are added as 0755 root:root. */
export type FileTree = Map<string, TreeNode>;

export interface LayerOptions {
  /** SOURCE_DATE_EPOCH (seconds): later mtimes are clamped to it and missing ones set to it. */
  mtime: number;
  /** Recorded in the image history for this layer. */
  comment?: string;
  createdBy?: string;
}

/** A finished layer: everything a manifest, a config and a docker archive need. */
export interface BuiltLayer {
  /** The uncompressed tar. */
  tar: Buffer;
  /** sha256 of `tar` (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** The gzip-compressed tar as stored in blobs/. */
  blob: Buffer;
  /** sha256 of `blob`. */
  digest: string;
  /** `blob.length`. */
  size: number;
  mediaType: typeof MediaType.ociLayerGzip;
  comment?: string;
  createdBy?: string;
}

/**
 * The fixed gzip settings every layer is compressed with. zlib's gzip wrapper writes no file name, MTIME 0 and
 * OS 3 (Unix), and the deflate stream is a pure function of the input for a given zlib build, so the blob bytes
 * are reproducible across runs and machines that share the Node (bundled zlib) version. XFL is 0 at level 6.
 */
export const LAYER_GZIP_OPTIONS = Object.freeze({
  level: 6,
  memLevel: 8,
  windowBits: 15,
  strategy: constants.Z_DEFAULT_STRATEGY,
  chunkSize: 1 << 20,
});

const gzipAsync = promisify(gzip);

function sha256(data: Buffer | Buffer[]): string {
  const hash = createHash('sha256');
  for (const chunk of Array.isArray(data) ? data : [data]) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** The tree as tar-writer entries. */
export function treeEntries(tree: FileTree): TarWriteEntry[] {
  const entries: TarWriteEntry[] = [];
  for (const [path, node] of tree) {
    const entry: TarWriteEntry = { path, type: node.type, mode: node.mode, uid: node.uid, gid: node.gid };
    if (node.mtime !== undefined) entry.mtime = node.mtime;
    if (node.type === 'file') entry.content = node.content;
    else if (node.type === 'symlink' || node.type === 'hardlink') entry.linkTarget = node.linkTarget;
    entries.push(entry);
  }
  return entries;
}

/** Gzips a layer tar with {@link LAYER_GZIP_OPTIONS} (off the main thread). */
export async function gzipLayerTar(tar: Buffer): Promise<Buffer> {
  return gzipAsync(tar, LAYER_GZIP_OPTIONS);
}

/** Wraps an existing uncompressed layer tar (e.g. written by another tool) into a BuiltLayer. */
export async function layerFromTar(tar: Buffer, meta: Pick<LayerOptions, 'comment' | 'createdBy'> = {}): Promise<BuiltLayer> {
  const blob = await gzipLayerTar(tar);
  const layer: BuiltLayer = { tar, diffId: sha256(tar), blob, digest: sha256(blob), size: blob.length, mediaType: MediaType.ociLayerGzip };
  if (meta.comment !== undefined) layer.comment = meta.comment;
  if (meta.createdBy !== undefined) layer.createdBy = meta.createdBy;
  return layer;
}

/**
 * Builds one layer: entries sorted byte-wise by path with parents first, numeric owners, empty uname/gname,
 * mtimes clamped to `options.mtime`, then gzip with fixed settings. The same tree and epoch always give the
 * same diffId and digest.
 */
export async function buildLayer(tree: FileTree, options: LayerOptions): Promise<BuiltLayer> {
  const tar = Buffer.concat([...tarChunks(treeEntries(tree), { mtime: options.mtime })]);
  return layerFromTar(tar, options);
}
