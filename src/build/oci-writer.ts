/** @module build/oci-writer — image config, manifest and index bytes; OCI layout, OCI archive and docker archive sinks (atomic). */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DistillError } from '../errors.js';
import type { Descriptor } from '../oci/image.js';
import { MediaType } from '../oci/media-types.js';
import type { Platform } from '../oci/platform.js';
import { tarChunks, type TarWriteEntry } from '../filesystem/tar/tar-writer.js';
import type { BuiltLayer } from './layer.js';

/** The annotation that names an image in an OCI layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** What goes into the image config's `config` object. Names follow the recipe, not the JSON. */
export interface ContainerConfigInput {
  /** Default `65532:65532` (nonroot). */
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** `NAME=value` strings, kept in the given order (PATH, SSL_CERT_FILE, …). */
  env?: string[];
  workingDir?: string;
  /** `8080/tcp`, `53/udp`; a bare number means tcp. */
  exposedPorts?: string[];
  /** Written sorted by key. */
  labels?: Record<string, string>;
  stopSignal?: string;
}

export interface ImageInput {
  platform: Platform;
  /** Bottom layer first. */
  layers: BuiltLayer[];
  config: ContainerConfigInput;
  /** SOURCE_DATE_EPOCH in seconds: the config's `created` and every history entry's date. */
  created: number;
  author?: string;
  /** Manifest annotations (written sorted by key). */
  annotations?: Record<string, string>;
}

/** One single-platform image, as bytes. */
export interface BuiltImage {
  kind: 'image';
  platform: Platform;
  layers: BuiltLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  /** The manifest's descriptor, with its platform, as an index lists it. */
  descriptor: Descriptor;
}

/** A multi-platform image index over several images. */
export interface BuiltIndex {
  kind: 'index';
  images: BuiltImage[];
  index: Buffer;
  digest: string;
  descriptor: Descriptor;
}

export type BuiltOutput = BuiltImage | BuiltIndex;

export interface WriteResult {
  path: string;
  /** Digest of what the tag names: the manifest, or the index for a multi-platform output. */
  digest: string;
  manifestDigests: string[];
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

function sortedRecord(record: Record<string, string> | undefined): Record<string, string> | undefined {
  if (record === undefined || Object.keys(record).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key]!;
  return out;
}

function iso(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new DistillError('USAGE', `invalid SOURCE_DATE_EPOCH ${seconds}`, { subject: 'created' });
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function platformJson(platform: Platform): Platform {
  const out: Platform = { architecture: platform.architecture, os: platform.os };
  if (platform.variant !== undefined && platform.variant !== '') out.variant = platform.variant;
  return out;
}

/** The image config JSON (key order fixed, so the bytes are stable). */
export function imageConfigJson(input: ImageInput): Buffer {
  const c = input.config;
  const config: Record<string, unknown> = { User: c.user ?? '65532:65532' };
  if (c.exposedPorts !== undefined && c.exposedPorts.length > 0) {
    const ports: Record<string, object> = {};
    for (const port of [...c.exposedPorts].map((p) => (p.includes('/') ? p : `${p}/tcp`)).sort()) ports[port] = {};
    config.ExposedPorts = ports;
  }
  if (c.env !== undefined && c.env.length > 0) config.Env = c.env;
  if (c.entrypoint !== undefined) config.Entrypoint = c.entrypoint;
  if (c.cmd !== undefined) config.Cmd = c.cmd;
  if (c.workingDir !== undefined) config.WorkingDir = c.workingDir;
  const labels = sortedRecord(c.labels);
  if (labels !== undefined) config.Labels = labels;
  if (c.stopSignal !== undefined) config.StopSignal = c.stopSignal;
  const created = iso(input.created);
  const json: Record<string, unknown> = { created };
  if (input.author !== undefined) json.author = input.author;
  json.architecture = input.platform.architecture;
  json.os = input.platform.os;
  if (input.platform.variant) json.variant = input.platform.variant;
  json.config = config;
  json.rootfs = { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) };
  json.history = input.layers.map((l) => {
    const entry: Record<string, unknown> = { created };
    entry.created_by = l.createdBy ?? 'distill build';
    if (l.comment !== undefined) entry.comment = l.comment;
    return entry;
  });
  return Buffer.from(JSON.stringify(json));
}

/** Config, manifest and descriptor of one image. Pure: the same input gives the same bytes. */
export function buildImage(input: ImageInput): BuiltImage {
  if (input.layers.length === 0) throw new DistillError('USAGE', 'an image needs at least one layer', { subject: 'layers' });
  const config = imageConfigJson(input);
  const configDigest = sha256(config);
  const manifestJson: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
    layers: input.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const annotations = sortedRecord(input.annotations);
  if (annotations !== undefined) manifestJson.annotations = annotations;
  const manifest = Buffer.from(JSON.stringify(manifestJson));
  const manifestDigest = sha256(manifest);
  return {
    kind: 'image',
    platform: platformJson(input.platform),
    layers: input.layers,
    config,
    configDigest,
    manifest,
    manifestDigest,
    descriptor: { mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifest.length, platform: platformJson(input.platform) },
  };
}

/** A multi-platform index over `images` (kept in the given order; platforms must differ). */
export function buildIndex(images: BuiltImage[], annotations?: Record<string, string>): BuiltIndex {
  if (images.length === 0) throw new DistillError('USAGE', 'an image index needs at least one image', { subject: 'images' });
  const platforms = new Set<string>();
  for (const image of images) {
    const key = `${image.platform.os}/${image.platform.architecture}/${image.platform.variant ?? ''}`;
    if (platforms.has(key)) throw new DistillError('USAGE', `two images for platform ${key} in one index`, { subject: key });
    platforms.add(key);
  }
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((i) => i.descriptor),
  };
  const sorted = sortedRecord(annotations);
  if (sorted !== undefined) json.annotations = sorted;
  const index = Buffer.from(JSON.stringify(json));
  const digest = sha256(index);
  return { kind: 'index', images, index, digest, descriptor: { mediaType: MediaType.ociIndex, digest, size: index.length } };
}

function imagesOf(output: BuiltOutput): BuiltImage[] {
  return output.kind === 'image' ? [output] : output.images;
}

/** Every blob of the output, deduplicated (shared base layers are stored once), in a stable order. */
function blobsOf(output: BuiltOutput): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const image of imagesOf(output)) {
    for (const layer of image.layers) blobs.set(layer.digest, layer.blob);
    blobs.set(image.configDigest, image.config);
    blobs.set(image.manifestDigest, image.manifest);
  }
  if (output.kind === 'index') blobs.set(output.digest, output.index);
  return blobs;
}

export interface LayoutOptions {
  /** The ref name (`org.opencontainers.image.ref.name`) of the output in index.json. */
  tag: string;
  /**
   * For a multi-platform output, also name each platform's manifest `<tag>-<arch>[-<variant>]` in index.json.
   * Tools that cannot follow a nested index (umoci 0.4) can then open one platform by name. Default false.
   */
  platformTags?: boolean;
}

/** The per-platform ref name {@link LayoutOptions.platformTags} adds: `1.0-arm64-v8`. */
export function platformTag(tag: string, platform: Platform): string {
  return [tag, platform.architecture, ...(platform.variant ? [platform.variant] : [])].join('-');
}

/** The layout's top-level index.json: the manifest, or the multi-platform index, named `tag` (plus platform names). */
export function layoutIndexJson(output: BuiltOutput, options: LayoutOptions): Buffer {
  const manifests: Descriptor[] = [{ ...output.descriptor, annotations: { [REF_NAME]: options.tag } }];
  if (output.kind === 'index' && options.platformTags === true) {
    for (const image of output.images) manifests.push({ ...image.descriptor, annotations: { [REF_NAME]: platformTag(options.tag, image.platform) } });
  }
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
}

const OCI_LAYOUT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

function ioError(path: string, error: unknown): DistillError {
  return new DistillError('IO', `cannot write ${path}: ${(error as Error).message}`, { subject: path, cause: error });
}

/**
 * Writes into a fresh temp name beside `target`, then renames it into place. An existing file is replaced by an
 * archive; an existing OCI layout (or empty directory) by a layout. Anything else at `target` is refused
 * before writing, so a mistyped path never deletes a user's directory.
 */
async function atomically(target: string, kind: 'file' | 'layout', write: (tmp: string) => Promise<void>): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  let replaceDir = false;
  if (existing !== undefined) {
    if (kind === 'file' && existing.isDirectory()) {
      throw new DistillError('IO', `cannot write the archive ${target}: it is a directory`, { subject: target, hint: 'give a file name for the archive' });
    }
    if (kind === 'layout') {
      if (!existing.isDirectory()) throw new DistillError('IO', `cannot write the OCI layout ${target}: a file is in the way`, { subject: target });
      const entries = await readdir(target);
      if (entries.length > 0 && !entries.includes('oci-layout')) {
        throw new DistillError('IO', `refusing to replace ${target}: it is a non-empty directory that is not an OCI layout`, {
          subject: target,
          hint: 'choose a new directory, or an existing OCI layout to replace',
        });
      }
      replaceDir = true;
    }
  }
  const parent = dirname(target);
  await mkdir(parent, { recursive: true }).catch((error: unknown) => {
    throw ioError(parent, error);
  });
  const scratch = await mkdtemp(join(parent, `.${basename(target)}.tmp-`)).catch((error: unknown) => {
    throw ioError(parent, error);
  });
  const tmp = join(scratch, 'out');
  try {
    await write(tmp);
    // rename() cannot replace a non-empty directory: the old layout is moved aside first, then dropped.
    if (replaceDir) await rename(target, join(scratch, 'old'));
    await rename(tmp, target);
  } catch (error) {
    throw error instanceof DistillError ? error : ioError(target, error);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes an OCI image layout directory (oci-layout, index.json naming `tag`, blobs/sha256/…). */
export async function writeOciLayout(dir: string, output: BuiltOutput, options: LayoutOptions): Promise<WriteResult> {
  await atomically(dir, 'layout', async (tmp) => {
    await mkdir(join(tmp, 'blobs', 'sha256'), { recursive: true });
    for (const [digest, data] of blobsOf(output)) await writeFile(join(tmp, 'blobs', 'sha256', hexOf(digest)), data);
    await writeFile(join(tmp, 'oci-layout'), OCI_LAYOUT);
    await writeFile(join(tmp, 'index.json'), layoutIndexJson(output, options));
  });
  return { path: dir, digest: output.descriptor.digest, manifestDigests: imagesOf(output).map((i) => i.manifestDigest) };
}

function archiveEpoch(output: BuiltOutput): number {
  const created = (JSON.parse(imagesOf(output)[0]!.config.toString('utf8')) as { created: string }).created;
  return Math.floor(Date.parse(created) / 1000);
}

async function writeTarFile(file: string, entries: TarWriteEntry[], mtime: number): Promise<void> {
  await atomically(file, 'file', async (tmp) => {
    await pipeline(Readable.from(tarChunks(entries, { mtime }), { objectMode: false }), createWriteStream(tmp, { flags: 'wx' }));
  });
}

function fileEntry(path: string, content: Buffer, mtime: number): TarWriteEntry {
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, content };
}

function dirEntry(path: string, mtime: number): TarWriteEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime };
}

/** Writes an OCI archive: the layout as a deterministic tar (the image's `created` as every mtime). */
export async function writeOciArchive(file: string, output: BuiltOutput, options: LayoutOptions): Promise<WriteResult> {
  const mtime = archiveEpoch(output);
  const entries: TarWriteEntry[] = [dirEntry('blobs', mtime), dirEntry('blobs/sha256', mtime)];
  for (const [digest, data] of blobsOf(output)) entries.push(fileEntry(`blobs/sha256/${hexOf(digest)}`, data, mtime));
  entries.push(fileEntry('oci-layout', OCI_LAYOUT, mtime), fileEntry('index.json', layoutIndexJson(output, options), mtime));
  await writeTarFile(file, entries, mtime);
  return { path: file, digest: output.descriptor.digest, manifestDigests: imagesOf(output).map((i) => i.manifestDigest) };
}

/** `name:tag` with `:latest` added when no tag is given (what `docker load` records). */
function repoTag(text: string): string {
  const slash = text.lastIndexOf('/');
  return text.indexOf(':', slash + 1) === -1 ? `${text}:latest` : text;
}

/**
 * Writes a docker archive (`docker save` layout: manifest.json, `<config hex>.json`, `<diffId hex>/layer.tar`
 * uncompressed) for one platform, as `docker load` and `podman load` read it.
 */
export async function writeDockerArchive(file: string, image: BuiltImage, options: { repoTags: string[] }): Promise<WriteResult> {
  const mtime = archiveEpoch(image);
  const configName = `${hexOf(image.configDigest)}.json`;
  const layerNames = image.layers.map((l) => `${hexOf(l.diffId)}/layer.tar`);
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: options.repoTags.map(repoTag), Layers: layerNames }]));
  const entries: TarWriteEntry[] = [fileEntry(configName, image.config, mtime), fileEntry('manifest.json', manifest, mtime)];
  const seen = new Set<string>();
  image.layers.forEach((layer, i) => {
    const name = layerNames[i]!;
    if (seen.has(name)) return; // the same layer twice in one image is stored once
    seen.add(name);
    entries.push(dirEntry(hexOf(layer.diffId), mtime), fileEntry(name, layer.tar, mtime));
  });
  await writeTarFile(file, entries, mtime);
  return { path: file, digest: image.manifestDigest, manifestDigests: [image.manifestDigest] };
}
