/** @module cli/docker-archive-writer — the copy destination `docker-archive:FILE`: writes one Image as a `docker save`-style tar (manifest.json, `<hex>.json` config, layer blobs as stored), streaming, verified, atomic. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarHeaderBlocks } from '../filesystem/tar/tar-writer.js';
import { DistillError } from '../errors.js';
import type { Image } from '../oci/image.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { layerCompression } from '../oci/media-types.js';
import type { Platform } from '../oci/platform.js';
import { parseRegistryReference, type RegistryReference } from '../oci/registry/registry-reference.js';

const BLOCK = 512;

/** `docker-archive:FILE[:REPO[:TAG]]` as a destination. */
export interface DockerArchiveDestination {
  path: string;
  /** The name to record in RepoTags, fully qualified (`docker.io/library/nginx:1.22`). */
  repoTag?: string;
}

/**
 * The name recorded in RepoTags: fully qualified (`docker.io/library/nginx:1.22`), as skopeo and podman
 * write it. `docker load` reads that as `nginx:1.22`, while podman would read a short `team/app:2` as
 * `localhost/team/app:2`, so only the qualified spelling means the same image to both.
 */
export function qualifiedRepoTag(reference: RegistryReference): string {
  if (reference.tag === undefined) throw new DistillError('BAD_REFERENCE', `${reference.registry}/${reference.repository} has no tag to record`, { subject: reference.repository });
  return `${reference.registry}/${reference.repository}:${reference.tag}`;
}

/**
 * Parses `docker-archive:FILE[:REFERENCE]`. As for skopeo, the path ends at the first `:` and the rest is
 * a Docker reference without digest (`nginx:1.22`; a name alone gets `:latest`), the same `REPO:TAG` that
 * `docker-archive:FILE:REPO:TAG` picks when the archive is read back.
 */
export function parseDockerArchiveDestination(text: string): DockerArchiveDestination {
  const rest = text.startsWith('docker-archive:') ? text.slice('docker-archive:'.length) : text;
  const colon = rest.indexOf(':');
  const path = colon >= 0 ? rest.slice(0, colon) : rest;
  if (path === '') throw new DistillError('BAD_REFERENCE', `no file after "docker-archive:" in ${JSON.stringify(text)}`, { hint: 'e.g. docker-archive:nginx.tar:nginx:1.22', subject: text });
  if (colon < 0) return { path };
  const name = rest.slice(colon + 1);
  const reference = parseRegistryReference(name);
  if (reference.digest !== undefined) {
    throw new DistillError('BAD_REFERENCE', `${JSON.stringify(name)}: a docker archive records names with tags, not digests`, { hint: 'write docker-archive:FILE:REPO:TAG', subject: text });
  }
  return { path, repoTag: qualifiedRepoTag(reference) };
}

/**
 * The names among an image's recorded tags that can go into RepoTags, spelled as recorded (a docker
 * archive's `stock/nginx:latest` means to each loader what it meant before). A bare OCI ref name
 * (`latest`) names no repository and is left out.
 */
export function recordedRepoTags(tags: readonly string[]): string[] {
  const names: string[] = [];
  for (const tag of tags) {
    if (!tag.includes(':') && !tag.includes('/')) continue;
    try {
      const reference = parseRegistryReference(tag);
      if (reference.digest === undefined && reference.tag !== undefined) names.push(tag);
    } catch {
      // not a reference: an annotation like "v1.0" or a path-like name
    }
  }
  return [...new Set(names)];
}

export interface DockerArchiveWriteOptions {
  /** Names for manifest.json's RepoTags (see qualifiedRepoTag); none → the archive loads untagged. */
  repoTags?: readonly string[];
  /** mtime of every tar entry, seconds since the epoch (default 0: the output depends only on the image). */
  mtime?: number;
}

export interface DockerArchiveWriteResult {
  path: string;
  /** Digest of the source's manifest (a docker archive stores no manifest; loaders synthesize one). */
  manifestDigest: string;
  configDigest: string;
  platform: Platform;
  repoTags: string[];
  /** Layer blobs written (a layer repeated in the image is stored once). */
  layers: number;
  /** Bytes of config and layer blobs written. */
  bytes: number;
  /** Size of the archive file. */
  size: number;
}

/** The header block(s) of one entry, owned 0:0 (the filesystem tar writer's: long names split or pax, large sizes pax). */
function header(name: string, typeflag: '0' | '5', size: number, mtime: number): Buffer {
  return Buffer.concat(tarHeaderBlocks({ name, typeflag, mode: typeflag === '5' ? 0o755 : 0o644, uid: 0, gid: 0, size, mtime, linkName: '' }));
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function ioError(file: string, error: unknown): DistillError {
  if (error instanceof DistillError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'the directory is not writable' : (error as Error).message;
  return new DistillError('IO', `cannot write the docker archive ${file}: ${why}`, { hint: 'choose a file in an existing, writable directory', subject: file, cause: error });
}

/** A layer's path in the archive: Docker ≥25's `blobs/<alg>/<hex>`, so readers take the digest from the name. */
function layerPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/**
 * Writes `image` to `file` as a docker archive that `docker load`, `podman load` and `skopeo` read:
 * `<config hex>.json`, each layer blob byte for byte under `blobs/<alg>/<hex>` (gzip stays gzip: loaders
 * decompress by content), then `manifest.json` ([{Config, RepoTags, Layers}]). No legacy `repositories`
 * file: it names v1 layer ids, which this archive has no directories for. Every blob is checked against its
 * digest while it streams; the tar goes to a temp name beside `file` and is renamed only when complete.
 */
export async function writeImageDockerArchive(image: Image, file: string, options: DockerArchiveWriteOptions = {}): Promise<DockerArchiveWriteResult> {
  const mtime = options.mtime ?? 0;
  const manifest = await image.manifest();
  const rawConfig = await image.rawConfig();
  const configDigest = manifest.config.digest;
  const { algorithm, hex: configHex } = parseDigest(configDigest, `${image.reference} config`);
  if (digestOf(rawConfig, algorithm) !== configDigest) {
    throw new DistillError('DIGEST_MISMATCH', `${image.reference}: config does not match ${configDigest}`, { subject: image.reference });
  }
  const config = await image.config();
  const layers = await image.layers();
  if (config.rootfs.diff_ids.length !== layers.length) {
    throw new DistillError('MANIFEST_INVALID', `${image.reference}: the config lists ${config.rootfs.diff_ids.length} diff_ids for ${layers.length} layers`, { subject: image.reference });
  }
  for (const layer of layers) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${image.reference}: layer ${layer.digest} is ${layer.mediaType}, which docker archives cannot hold`, { subject: layer.digest });
    }
  }
  const repoTags = [...new Set(options.repoTags ?? [])];
  // sha512 configs cannot use the `<hex>.json` name readers check as sha256; they go under blobs/ too.
  const configName = algorithm === 'sha256' ? `${configHex}.json` : layerPath(configDigest);
  const archiveManifest = Buffer.from(`${JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layers.map((l) => layerPath(l.digest)) }])}\n`);

  const target = resolve(file);
  const directory = dirname(target);
  const where = await stat(directory).catch((error: unknown) => {
    throw ioError(file, error);
  });
  if (!where.isDirectory()) throw new DistillError('IO', `cannot write the docker archive ${file}: ${directory} is not a directory`, { subject: file });
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new DistillError('IO', `cannot write the docker archive ${file}: a directory is in the way`, { subject: file });

  let bytes = 0;
  let written = 0;
  async function* entries(): AsyncGenerator<Buffer> {
    yield header(configName, '0', rawConfig.length, mtime);
    yield rawConfig;
    yield padding(rawConfig.length);
    bytes += rawConfig.length;
    const directories = [...new Set(layers.map((l) => `blobs/${parseDigest(l.digest).algorithm}/`))].sort();
    if (directories.length > 0) yield header('blobs/', '5', 0, mtime);
    for (const dir of directories) yield header(dir, '5', 0, mtime);
    const seen = new Set<string>();
    for (const layer of layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      yield header(layerPath(layer.digest), '0', layer.size, mtime);
      // compressed() fails the stream (DIGEST_MISMATCH / SIZE_MISMATCH) before its end if the bytes are wrong.
      for await (const chunk of await layer.compressed()) yield chunk as Buffer;
      yield padding(layer.size);
      bytes += layer.size;
      written++;
    }
    yield header('manifest.json', '0', archiveManifest.length, mtime);
    yield archiveManifest;
    yield padding(archiveManifest.length);
    yield Buffer.alloc(BLOCK * 2);
  }

  const tmp = join(directory, `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    await pipeline(entries(), out);
    const size = (await stat(tmp)).size;
    await rename(tmp, target);
    return { path: file, manifestDigest: await image.digest(), configDigest, platform: platformOf(config), repoTags, layers: written, bytes, size };
  } catch (error) {
    await rm(tmp, { force: true });
    throw ioError(file, error);
  }
}

function platformOf(config: { os: string; architecture: string; variant?: string }): Platform {
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  return platform;
}
