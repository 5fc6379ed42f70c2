/** @module oci/registry/copy — copies an image graph (index → manifests → blobs) from a layout, archive, Image or registry into a registry or an OCI layout directory. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DistillError } from '../../errors.js';
import type { Descriptor, Image } from '../image.js';
import { digestOf, parseDigest } from '../digest.js';
import { MAX_MANIFEST_SIZE, parseImageIndex, parseImageManifest } from '../manifest.js';
import { isImageManifestType, isIndexType, MediaType } from '../media-types.js';
import { blobPath, readBlob, type LayoutStore } from '../layout/layout-store.js';
import { REF_NAME_ANNOTATION } from '../layout/layout-image.js';
import { verified, type BlobPushOutcome, type RegistryClient } from './client.js';
import { formatRegistryReference, type RegistryReference, type RepositoryRef } from './registry-reference.js';

/** A manifest or index with its bytes. */
export interface ManifestNode {
  mediaType: string;
  digest: string;
  data: Buffer;
}

/** Where an image graph is read from. Every read is digest-verified by the source. */
export interface ContentSource {
  /** For messages (`oci:out/nginx:latest`, `registry:host/repo:tag`). */
  readonly name: string;
  /** Set for registry sources, so a sink on the same registry can mount blobs instead of uploading. */
  readonly repository?: RepositoryRef;
  /** The manifest or index to copy. */
  root(): Promise<ManifestNode>;
  /** A child manifest or index of the root, by descriptor. */
  manifest(descriptor: Descriptor): Promise<Buffer>;
  /** A blob (config or layer), verified while streaming. */
  blob(descriptor: Descriptor): Promise<Readable>;
  close?(): Promise<void>;
}

/** Where an image graph is written. */
export interface ContentSink {
  readonly name: string;
  putBlob(descriptor: Descriptor, open: () => Promise<Readable>, from: RepositoryRef | undefined): Promise<BlobPushOutcome>;
  /** Stores a manifest; `tag` is set for the root only. */
  putManifest(node: ManifestNode, tag: string | undefined): Promise<void>;
  /** Makes the written content visible (layouts write index.json last). */
  commit?(root: ManifestNode, tag: string | undefined): Promise<void>;
}

export type CopyEvent =
  | { kind: 'blob'; digest: string; size: number; mediaType: string; outcome: BlobPushOutcome }
  | { kind: 'manifest'; digest: string; mediaType: string };

export interface CopyOptions {
  /** Tag for the root at the destination; omitted → stored by digest only. */
  tag?: string;
  /** Blobs copied at once (default 3). */
  concurrency?: number;
  onEvent?: (event: CopyEvent) => void;
}

export interface CopyResult {
  /** Digest of the root manifest or index, identical at source and destination. */
  digest: string;
  mediaType: string;
  /** Digests of the image manifests copied (one per platform for an index). */
  manifests: string[];
  blobs: Record<BlobPushOutcome, number>;
  /** Bytes of blobs actually uploaded or written. */
  bytes: number;
}

const MAX_DEPTH = 4;
const MAX_NODES = 10_000;

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/** Copies the source's root and everything it references into the sink, children before parents. */
export async function copyContent(source: ContentSource, sink: ContentSink, options: CopyOptions = {}): Promise<CopyResult> {
  const root = await source.root();
  const result: CopyResult = { digest: root.digest, mediaType: root.mediaType, manifests: [], blobs: { exists: 0, mounted: 0, uploaded: 0 }, bytes: 0 };
  const blobsDone = new Map<string, Promise<void>>();
  const manifestsDone = new Set<string>();
  let nodes = 0;
  const copyBlob = (descriptor: Descriptor): Promise<void> => {
    let done = blobsDone.get(descriptor.digest);
    if (done === undefined) {
      done = sink.putBlob(descriptor, () => source.blob(descriptor), source.repository).then((outcome) => {
        result.blobs[outcome]++;
        if (outcome === 'uploaded') result.bytes += descriptor.size;
        options.onEvent?.({ kind: 'blob', digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType, outcome });
      });
      blobsDone.set(descriptor.digest, done);
    }
    return done;
  };
  const visit = async (node: ManifestNode, depth: number, tag: string | undefined): Promise<void> => {
    if (++nodes > MAX_NODES) throw new DistillError('MANIFEST_INVALID', `${source.name}: more than ${MAX_NODES} manifests`, { subject: source.name });
    const subject = `${source.name}@${node.digest}`;
    if (isIndexType(node.mediaType)) {
      if (depth >= MAX_DEPTH) throw new DistillError('MANIFEST_INVALID', `${source.name}: indexes nested deeper than ${MAX_DEPTH}`, { subject });
      const index = parseImageIndex(node.data, subject, node.mediaType);
      for (const child of index.manifests) {
        if (manifestsDone.has(child.digest)) continue;
        if (!isIndexType(child.mediaType) && !isImageManifestType(child.mediaType)) {
          throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: entry ${child.digest} has media type ${child.mediaType}`, { subject });
        }
        const data = await source.manifest(child);
        await visit({ mediaType: child.mediaType, digest: child.digest, data }, depth + 1, undefined);
      }
    } else if (isImageManifestType(node.mediaType)) {
      const manifest = parseImageManifest(node.data, subject, node.mediaType);
      const blobs = [manifest.config, ...manifest.layers];
      await runLimited(blobs, options.concurrency ?? 3, copyBlob);
      result.manifests.push(node.digest);
    } else {
      throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject} is a ${node.mediaType}, not an image manifest or index`, { subject });
    }
    await sink.putManifest(node, tag);
    manifestsDone.add(node.digest);
    options.onEvent?.({ kind: 'manifest', digest: node.digest, mediaType: node.mediaType });
  };
  await visit(root, 0, options.tag);
  await sink.commit?.(root, options.tag);
  return result;
}

/** The media type a manifest declares, or the descriptor's. */
function declaredType(data: Buffer, fallback: string): string {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : fallback;
  } catch {
    return fallback;
  }
}

/**
 * An OCI layout (directory or archive store) as a source: the index.json entry named `tag`, else the
 * only entry, else the one named `latest`; AMBIGUOUS_IMAGE otherwise.
 */
export function layoutSource(store: LayoutStore, name: string, tag?: string): ContentSource {
  return {
    name,
    async root() {
      const data = await store.read('index.json', MAX_MANIFEST_SIZE);
      if (data === undefined) throw new DistillError('MANIFEST_INVALID', `${store.location}: index.json is missing`, { subject: store.describe('index.json') });
      const index = parseImageIndex(data, store.describe('index.json'));
      const named = (t: string) => index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === t);
      const tags = index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((t): t is string => t !== undefined);
      let entry: Descriptor | undefined;
      if (tag !== undefined) {
        entry = named(tag)[0];
        if (entry === undefined) throw new DistillError('TAG_NOT_FOUND', `tag "${tag}" not found in ${store.location}`, { hint: tags.length ? `available tags: ${tags.join(', ')}` : 'omit the tag', subject: name });
      } else if (index.manifests.length === 1) entry = index.manifests[0];
      else entry = named('latest')[0];
      if (entry === undefined) {
        throw new DistillError('AMBIGUOUS_IMAGE', `${store.location} holds ${index.manifests.length} entries and no tag was given`, { hint: `name one: ${name}:<tag> (tags: ${tags.join(', ') || 'none'})`, subject: name });
      }
      const raw = await readBlob(store, entry, MAX_MANIFEST_SIZE);
      return { mediaType: declaredType(raw, entry.mediaType), digest: entry.digest, data: raw };
    },
    async manifest(descriptor) {
      return readBlob(store, descriptor, MAX_MANIFEST_SIZE);
    },
    async blob(descriptor) {
      const path = blobPath(descriptor.digest);
      const stream = await store.stream(path);
      if (stream === undefined) {
        throw new DistillError('BLOB_NOT_FOUND', `blob ${descriptor.digest} is missing from ${store.location}`, { hint: 'the layout is incomplete', subject: store.describe(path) });
      }
      return verified(stream, { digest: descriptor.digest, size: descriptor.size, subject: store.describe(path) });
    },
    close: () => store.close(),
  };
}

/** Any opened Image (docker archive, layout, registry) as a source of its single manifest. */
export function imageSource(image: Image): ContentSource {
  return {
    name: image.reference,
    async root() {
      const data = await image.rawManifest();
      const manifest = await image.manifest();
      return { mediaType: manifest.mediaType ?? declaredType(data, MediaType.ociManifest), digest: await image.digest(), data };
    },
    async manifest(descriptor) {
      throw new DistillError('MANIFEST_INVALID', `${image.reference}: a single image has no child manifest ${descriptor.digest}`);
    },
    async blob(descriptor) {
      const manifest = await image.manifest();
      if (descriptor.digest === manifest.config.digest) return Readable.from([await image.rawConfig()]);
      const layer = (await image.layers()).find((l) => l.digest === descriptor.digest);
      if (layer === undefined) throw new DistillError('BLOB_NOT_FOUND', `${image.reference}: no blob ${descriptor.digest}`, { subject: image.reference });
      return layer.compressed();
    },
    close: () => image.close(),
  };
}

/** A registry image (manifest or whole index) as a source. */
export function registrySource(client: RegistryClient, reference: RegistryReference): ContentSource {
  return {
    name: `registry:${formatRegistryReference(reference)}`,
    repository: { registry: reference.registry, repository: reference.repository },
    async root() {
      const fetched = await client.getManifest(reference);
      return { mediaType: fetched.mediaType, digest: fetched.digest, data: fetched.data };
    },
    async manifest(descriptor) {
      return (await client.getManifest({ registry: reference.registry, repository: reference.repository, digest: descriptor.digest })).data;
    },
    blob: (descriptor) => client.openBlob(reference, descriptor),
  };
}

/** A registry repository as a sink; blobs from another repository of the same registry are mounted. */
export function registrySink(client: RegistryClient, target: RegistryReference): ContentSink {
  return {
    name: `registry:${formatRegistryReference(target)}`,
    putBlob(descriptor, open, from) {
      const mountFrom = from !== undefined && from.registry === target.registry ? from.repository : undefined;
      return client.pushBlob(target, descriptor, open, mountFrom !== undefined ? { mountFrom } : {});
    },
    async putManifest(node, tag) {
      const digest = await client.putManifest(target, tag ?? node.digest, node.data, node.mediaType);
      if (digest !== node.digest) throw new DistillError('DIGEST_MISMATCH', `manifest ${node.digest} hashed to ${digest} on upload`, { subject: node.digest });
    },
  };
}

/**
 * An OCI layout directory as a sink: blobs go in as they arrive (temp name, verified, renamed), index.json
 * is rewritten last with the root under `tag` (replacing an entry of that name, keeping the others).
 */
export function layoutSink(dir: string): ContentSink {
  const ensure = (async () => {
    const existing = await stat(dir).catch(() => undefined);
    if (existing !== undefined && !existing.isDirectory()) throw new DistillError('IO', `cannot write the OCI layout ${dir}: a file is in the way`, { subject: dir });
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  })();
  // The content is opened only once the temp file can take it: a stream left unread could fail unobserved.
  const write = async (digest: string, content: () => Promise<Readable | Buffer>): Promise<void> => {
    await ensure;
    const path = join(dir, blobPath(digest));
    await mkdir(dirname(path), { recursive: true });
    const scratch = await mkdtemp(join(dir, '.blob-'));
    try {
      const tmp = join(scratch, 'blob');
      const data = await content();
      await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : data, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, path);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
  return {
    name: `oci:${dir}`,
    async putBlob(descriptor, open) {
      await ensure;
      const existing = await stat(join(dir, blobPath(descriptor.digest))).catch(() => undefined);
      if (existing?.size === descriptor.size) return 'exists';
      await write(descriptor.digest, async () => verified(await open(), { digest: descriptor.digest, size: descriptor.size, subject: descriptor.digest }));
      return 'uploaded';
    },
    async putManifest(node) {
      parseDigest(node.digest);
      if (digestOf(node.data, parseDigest(node.digest).algorithm) !== node.digest) throw new DistillError('DIGEST_MISMATCH', `manifest ${node.digest} does not match its bytes`, { subject: node.digest });
      await write(node.digest, async () => node.data);
    },
    async commit(root, tag) {
      const indexPath = join(dir, 'index.json');
      let manifests: Descriptor[] = [];
      const old = await readFile(indexPath).catch(() => undefined);
      if (old !== undefined) manifests = parseImageIndex(old, indexPath).manifests;
      const name = tag ?? 'latest';
      manifests = manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      manifests.push({ mediaType: root.mediaType, digest: root.digest, size: root.data.length, annotations: { [REF_NAME_ANNOTATION]: name } });
      const tmp = `${indexPath}.tmp-${randomBytes(6).toString('hex')}`;
      await writeFile(tmp, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
      await rename(tmp, indexPath);
    },
  };
}
