/** @module compliance/image-evidence — one pass per layer (layer index and secret search on the same stream), the squashed view, the SBOM and the account files a compliance check reads. */
import { PassThrough, type Readable } from 'node:stream';
import { describeError, type Issue } from '../errors.js';
import { catalogImage } from '../catalog/catalog-source.js';
import { normalizePath, parentPath } from '../filesystem/file-entry.js';
import { indexLayer, type LayerIndex } from '../filesystem/layer-index.js';
import { squash, type SquashedResolver } from '../filesystem/squashed-resolver.js';
import { readTar } from '../filesystem/tar/tar-reader.js';
import type { TarContentSink, TarHeader } from '../filesystem/tar/tar-types.js';
import type { Image, ImageConfig } from '../oci/image.js';
import type { Sbom } from '../sbom/package.js';
import { findSecrets, looksBinary, type SecretMatch } from './secret-rules.js';

/** Files larger than this are not searched for secrets (keys and credential files are small). */
export const DEFAULT_MAX_SECRET_FILE_BYTES = 1024 * 1024;

export interface LayerRef {
  index: number;
  /** diffId when known, else the blob digest. */
  digest: string;
}

/** A secret in a file of some layer, with the layer that removed or replaced it when a later one did. */
export interface FileSecret extends SecretMatch {
  path: string;
  addedIn: LayerRef;
  /** The first later layer that deletes the file (whiteout, opaque directory) or replaces it. */
  removedIn?: LayerRef & { how: 'whiteout' | 'opaque-directory' | 'replaced' };
  /** Whether the file is still visible in the container's filesystem. */
  visible: boolean;
}

export interface SecretScanStats {
  filesSearched: number;
  bytesSearched: number;
  skippedBinary: number;
  skippedLarge: number;
}

export interface ImageEvidence {
  reference: string;
  digest: string;
  tags: string[];
  config: ImageConfig;
  layers: LayerRef[];
  indexes: LayerIndex[];
  squashed: SquashedResolver;
  sbom: Sbom;
  fileSecrets: FileSecret[];
  secretStats: SecretScanStats;
  /** Account files and package-manager configuration read from the squashed view (captured in the index pass), by path. */
  files: Map<string, string>;
  issues: Issue[];
}

export interface CollectOptions {
  maxSecretFileBytes?: number;
}

/** Account and package-manager files the checks read; captured during the index pass, so never re-streamed. */
export const CAPTURED_FILES: readonly string[] = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow'];

/** Package-manager configuration (repositories, apt.conf.d): read for unverified-install settings. */
export function isPackageConfig(path: string): boolean {
  return path.startsWith('/etc/apt/') || path.startsWith('/etc/yum.repos.d/') || path === '/etc/dnf/dnf.conf' || path === '/etc/yum.conf' || path === '/etc/apk/repositories';
}

const MAX_CAPTURED_CONFIG = 256 * 1024;

interface RawSecret extends SecretMatch {
  path: string;
  layer: number;
}

/** Searches one layer tar for secrets: content of regular files up to the bound, one file in memory at a time. */
async function searchLayer(tar: AsyncIterable<Buffer>, layer: number, maxBytes: number, stats: SecretScanStats, out: RawSecret[], label: string): Promise<void> {
  const visit = (header: TarHeader): TarContentSink | undefined => {
    if (header.type !== 'file' || header.size === 0) return undefined;
    const path = normalizePath(header.name);
    if (path === undefined || path.slice(path.lastIndexOf('/') + 1).startsWith('.wh.')) return undefined;
    if (header.size > maxBytes) {
      stats.skippedLarge++;
      return undefined;
    }
    const buffer = Buffer.allocUnsafe(header.size);
    let at = 0;
    return {
      write(chunk) {
        if (at < buffer.length) chunk.copy(buffer, at, 0, Math.min(chunk.length, buffer.length - at));
        at += chunk.length;
      },
      end() {
        if (at !== buffer.length) return;
        if (looksBinary(buffer)) {
          stats.skippedBinary++;
          return;
        }
        stats.filesSearched++;
        stats.bytesSearched += buffer.length;
        for (const match of findSecrets(buffer.toString('latin1'), 'file')) out.push({ ...match, path, layer });
      },
    };
  };
  await readTar(tar, { entry: visit }, { label });
}

/** Feeds one stream to two consumers with back-pressure; a failure of either stops both. */
async function tee<A, B>(source: Readable, left: (s: Readable) => Promise<A>, right: (s: Readable) => Promise<B>): Promise<[A, B]> {
  const a = new PassThrough({ highWaterMark: 1 << 20 });
  const b = new PassThrough({ highWaterMark: 1 << 20 });
  const stop = (error: unknown) => {
    source.destroy();
    a.destroy(error as Error);
    b.destroy(error as Error);
  };
  source.on('error', stop);
  source.pipe(a);
  source.pipe(b);
  const guard = <T>(p: Promise<T>) => p.catch((error: unknown) => {
    stop(error);
    throw error;
  });
  return Promise.all([guard(left(a)), guard(right(b))]);
}

/** Where (if anywhere) a later layer removes or replaces the file at `path` added by layer `from`. */
function removal(indexes: readonly LayerIndex[], refs: readonly LayerRef[], path: string, from: number): FileSecret['removedIn'] {
  const ancestors: string[] = [];
  for (let p = path; p !== '/'; p = parentPath(p)) ancestors.push(p);
  for (const index of indexes) {
    if (index.layer <= from) continue;
    const ref = refs[index.layer]!;
    if (index.whiteouts.some((w) => ancestors.includes(w))) return { ...ref, how: 'whiteout' };
    if (index.opaques.some((o) => ancestors.slice(1).includes(o))) return { ...ref, how: 'opaque-directory' };
    if (index.entries.has(path)) return { ...ref, how: 'replaced' };
  }
  return undefined;
}

/** Opens everything the checks need from an image: one decompression per layer for index + secrets, plus the catalogers' pass. */
export async function collectEvidence(image: Image, options: CollectOptions = {}): Promise<ImageEvidence> {
  const maxBytes = options.maxSecretFileBytes ?? DEFAULT_MAX_SECRET_FILE_BYTES;
  const [layers, config, digest, tags] = await Promise.all([image.layers(), image.config(), image.digest(), image.tags()]);
  const refs: LayerRef[] = layers.map((layer, index) => ({ index, digest: layer.diffId ?? layer.digest }));
  const stats: SecretScanStats = { filesSearched: 0, bytesSearched: 0, skippedBinary: 0, skippedLarge: 0 };
  const raw: RawSecret[] = [];
  const indexes: LayerIndex[] = [];
  const capture = new Set(CAPTURED_FILES);
  for (const [index, layer] of layers.entries()) {
    const stream = await layer.uncompressed();
    const [layerIndex] = await tee(
      stream,
      (s) => indexLayer(s, { layer: index, label: layer.digest, capture: (entry) => capture.has(entry.path) || (entry.size <= MAX_CAPTURED_CONFIG && isPackageConfig(entry.path)), maxCaptureBytes: 1024 * 1024 }),
      (s) => searchLayer(s, index, maxBytes, stats, raw, layer.digest),
    );
    indexes.push(layerIndex);
  }
  const squashed = squash(indexes, { openLayer: async (index) => layers[index]!.uncompressed() });
  const fileSecrets: FileSecret[] = raw.map((secret) => {
    const removedIn = removal(indexes, refs, secret.path, secret.layer);
    const current = squashed.lstat(secret.path);
    return {
      rule: secret.rule,
      title: secret.title,
      line: secret.line,
      match: secret.match,
      path: secret.path,
      addedIn: refs[secret.layer]!,
      ...(removedIn !== undefined ? { removedIn } : {}),
      visible: current !== undefined && current.layer === secret.layer,
    };
  });
  const issues: Issue[] = indexes.flatMap((i) => i.issues);
  const files = new Map<string, string>();
  const wanted = [...CAPTURED_FILES, ...[...squashed.entries()].filter((e) => e.type === 'file' && e.size <= MAX_CAPTURED_CONFIG && isPackageConfig(e.path)).map((e) => e.path)];
  for (const path of wanted) {
    const entry = squashed.stat(path);
    if (entry === undefined || entry.type !== 'file') continue;
    try {
      files.set(path, (await squashed.readFile(path, { maxBytes: 1024 * 1024 })).toString('utf8'));
    } catch (error) {
      issues.push({ code: 'UNREADABLE', message: `cannot read ${path}: ${describeError(error)}`, path, source: 'compliance' });
    }
  }
  const sbom = await catalogImage(image, { now: new Date(0) });
  issues.push(...sbom.issues);
  return { reference: image.reference, digest, tags, config, layers: refs, indexes, squashed, sbom, fileSecrets, secretStats: stats, files, issues };
}
