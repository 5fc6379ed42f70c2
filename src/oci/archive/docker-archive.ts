/** @module oci/archive/docker-archive — `docker-archive:FILE[:REPO:TAG|@N]`: docker/podman save tars (manifest.json, docker ≥25 layout, legacy v1). */
import { createHash } from 'node:crypto';
import { DistillError } from '../../errors.js';
import type { Descriptor, Image, ImageConfig, ImageManifest, Layer } from '../image.js';
import { formatPlatform, platformMatches, type Platform } from '../platform.js';
import { digestOf, parseDigest } from '../digest.js';
import { chainStreams, createDecompressor, decompressError } from '../decompress.js';
import { MediaType, dockerLayerMediaType, sniffCompression, type Compression } from '../media-types.js';
import { isObject, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, parseImageConfig, parseJson } from '../manifest.js';
import { StoredLayer } from '../layer.js';
import { normaliseMemberName, TarIndex, type TarMember } from './tar-index.js';

export interface DockerArchiveOptions {
  /** `REPO:TAG` as recorded in RepoTags (docker.io/library/ prefixes and a missing :latest are normalised). */
  tag?: string;
  /** 0-based position in manifest.json (skopeo's `@N`). */
  index?: number;
  platform?: Platform;
}

interface ArchiveEntry {
  config: string;
  repoTags: string[];
  layers: string[];
}

const BLOB_NAME = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/;
const JSON_CONFIG_NAME = /^([0-9a-f]{64})\.json$/;

function invalid(subject: string, field: string, problem: string): DistillError {
  return new DistillError('MANIFEST_INVALID', `${subject}: ${field} ${problem}`, {
    hint: 'the archive is not a valid docker save / podman save archive',
    subject: `${subject}#${field}`,
  });
}

function memberName(archive: string, raw: string): string {
  const name = normaliseMemberName(raw);
  if (name === undefined || name === '') {
    throw new DistillError('PATH_ESCAPE', `${archive}: manifest.json names ${JSON.stringify(raw)}, which escapes the archive`, {
      subject: `${archive}!manifest.json`,
    });
  }
  return name;
}

/** `docker.io/library/nginx:latest`, `nginx`, `nginx:latest` all normalise to `nginx:latest`. */
export function normaliseRepoTag(text: string): string {
  let ref = text.trim();
  const slash = ref.lastIndexOf('/');
  if (!ref.slice(slash + 1).includes(':')) ref += ':latest';
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'localhost/']) {
    if (ref.startsWith(prefix)) {
      ref = ref.slice(prefix.length);
      break;
    }
  }
  return ref;
}

function parseArchiveManifest(data: Buffer, archive: string): ArchiveEntry[] {
  const subject = `${archive}!manifest.json`;
  const root = parseJson(data, subject);
  if (!Array.isArray(root)) throw invalid(subject, '(root)', 'must be an array');
  if (root.length === 0) throw invalid(subject, '(root)', 'lists no images');
  return root.map((value, i) => {
    if (!isObject(value)) throw invalid(subject, `[${i}]`, 'must be an object');
    if (typeof value.Config !== 'string') throw invalid(subject, `[${i}].Config`, 'must be a string');
    if (!Array.isArray(value.Layers) || !value.Layers.every((l) => typeof l === 'string')) {
      throw invalid(subject, `[${i}].Layers`, 'must be an array of strings');
    }
    const tags = value.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalid(subject, `[${i}].RepoTags`, 'must be an array of strings');
    return {
      config: memberName(archive, value.Config),
      repoTags: tags as string[],
      layers: (value.Layers as string[]).map((l) => memberName(archive, l)),
    };
  });
}

function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

interface Prepared {
  rawConfig: Buffer;
  config: ImageConfig;
  rawManifest: Buffer;
  manifest: ImageManifest;
  layers: StoredLayer[];
}

/** The source of one image in the archive: either a manifest.json entry or a legacy v1 layer chain. */
type ImageSource = { kind: 'manifest'; entry: ArchiveEntry } | { kind: 'legacy'; topId: string; repoTags: string[] };

/** Hashes a member's stored bytes, and (optionally) its decompressed bytes, in one pass. */
async function hashMember(index: TarIndex, member: TarMember, compression: Compression, withDiff: boolean): Promise<{ digest: string; diffId?: string }> {
  const stored = createHash('sha256');
  const source = index.stream(member);
  if (!withDiff || compression === 'none') {
    for await (const chunk of source) stored.update(chunk as Buffer);
    const digest = `sha256:${stored.digest('hex')}`;
    return withDiff ? { digest, diffId: digest } : { digest };
  }
  const plain = createHash('sha256');
  source.on('data', (chunk: Buffer) => stored.update(chunk));
  const subject = index.describe(member.name);
  const out = chainStreams([{ stream: source }, { stream: createDecompressor(compression), mapError: (e) => decompressError(e, compression, subject) }]);
  for await (const chunk of out) plain.update(chunk as Buffer);
  return { digest: `sha256:${stored.digest('hex')}`, diffId: `sha256:${plain.digest('hex')}` };
}

export class DockerArchiveImage implements Image {
  readonly transport = 'docker-archive';
  private readonly prepared: () => Promise<Prepared>;

  constructor(
    private readonly index: TarIndex,
    readonly reference: string,
    private readonly source: ImageSource,
  ) {
    this.prepared = memo(() => this.prepare());
  }

  private member(name: string, what: string): TarMember {
    const member = this.index.get(name);
    if (member === undefined) {
      throw new DistillError('BLOB_NOT_FOUND', `${what} ${name} is missing from ${this.index.path}`, {
        hint: 'the archive is incomplete; save the image again',
        subject: this.index.describe(name),
      });
    }
    return member;
  }

  private async readSmall(name: string, what: string, max: number): Promise<Buffer> {
    const member = this.member(name, what);
    if (member.size > max) throw invalid(this.index.describe(name), '(file)', `is ${member.size} bytes, over the ${max}-byte limit`);
    return this.index.read(member);
  }

  private async compressionOf(member: TarMember): Promise<Compression> {
    const sniffed = sniffCompression(await this.index.head(member, 512));
    if (sniffed === 'bzip2' || sniffed === 'xz') {
      throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `layer ${this.index.describe(member.name)} is ${sniffed}-compressed, which images do not use`, {
        subject: this.index.describe(member.name),
      });
    }
    // Empty tars (only zero blocks) and v7 tars carry no ustar magic: they are still plain tars.
    return sniffed === 'unknown' ? 'none' : sniffed;
  }

  private async prepare(): Promise<Prepared> {
    const { rawConfig, layerNames } = this.source.kind === 'manifest' ? await this.manifestSource(this.source.entry) : await this.legacySource(this.source.topId);
    const configName = this.source.kind === 'manifest' ? this.index.describe(this.source.entry.config) : `${this.index.path} (synthesized config)`;
    const config = parseImageConfig(rawConfig, configName);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== layerNames.length) {
      throw invalid(configName, 'rootfs.diff_ids', `lists ${diffIds.length} layers but the archive has ${layerNames.length}`);
    }
    const layers: StoredLayer[] = [];
    for (const [i, name] of layerNames.entries()) {
      const member = this.member(name, 'layer');
      const compression = await this.compressionOf(member);
      const diffId = diffIds[i]!;
      const blob = BLOB_NAME.exec(name);
      let digest: string;
      if (blob !== null) digest = `${blob[1]}:${blob[2]}`;
      else if (compression === 'none') digest = diffId; // checked against the bytes whenever the layer is read
      else digest = (await hashMember(this.index, member, compression, false)).digest;
      parseDigest(digest, this.index.describe(name));
      layers.push(
        new StoredLayer({
          digest,
          diffId,
          mediaType: dockerLayerMediaType(compression),
          size: member.size,
          compression,
          location: this.index.describe(name),
          open: async () => this.index.stream(member),
        }),
      );
    }
    const configDigest = digestOf(rawConfig);
    const oci = layers.some((l) => l.compression === 'zstd');
    // Same field order as skopeo's synthesized manifest, so gzip-layer archives get skopeo's digest.
    const manifest = {
      schemaVersion: 2,
      mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
      config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, size: rawConfig.length, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    };
    const rawManifest = Buffer.from(JSON.stringify(manifest));
    const parsed: ImageManifest = {
      schemaVersion: 2,
      mediaType: manifest.mediaType,
      config: manifest.config as Descriptor,
      layers: manifest.layers as Descriptor[],
    };
    return { rawConfig, config, rawManifest, manifest: parsed, layers };
  }

  private async manifestSource(entry: ArchiveEntry): Promise<{ rawConfig: Buffer; layerNames: string[] }> {
    const rawConfig = await this.readSmall(entry.config, 'config', MAX_CONFIG_SIZE);
    // Names that state the digest (docker ≥25 `blobs/sha256/<hex>`, older `<hex>.json`) must agree with it.
    const blob = BLOB_NAME.exec(entry.config);
    const named = blob !== null ? `${blob[1]}:${blob[2]}` : JSON_CONFIG_NAME.test(entry.config) ? `sha256:${entry.config.slice(0, 64)}` : undefined;
    if (named !== undefined) {
      const actual = digestOf(rawConfig, parseDigest(named, this.index.describe(entry.config)).algorithm);
      if (actual !== named) {
        throw new DistillError('DIGEST_MISMATCH', `config ${this.index.describe(entry.config)}: expected digest ${named}, actual ${actual}`, {
          subject: this.index.describe(entry.config),
        });
      }
    }
    return { rawConfig, layerNames: entry.layers };
  }

  /** Legacy (pre-1.10) saves: `<id>/json` chains by `parent`; the v2 config is synthesized as docker load does. */
  private async legacySource(topId: string): Promise<{ rawConfig: Buffer; layerNames: string[] }> {
    const chain: { id: string; json: Record<string, unknown> }[] = [];
    const seen = new Set<string>();
    for (let id: string | undefined = topId; id !== undefined; ) {
      if (seen.has(id) || chain.length > 1000) throw invalid(this.index.describe(`${id}/json`), 'parent', 'forms a cycle or a chain over 1000 layers');
      seen.add(id);
      if (!/^[0-9a-f]{64}$/.test(id)) throw invalid(this.index.path, 'layer id', `${JSON.stringify(id)} is not a 64-hex v1 id`);
      const subject = this.index.describe(`${id}/json`);
      const json = parseJson(await this.readSmall(`${id}/json`, 'layer json', MAX_CONFIG_SIZE), subject);
      if (!isObject(json)) throw invalid(subject, '(root)', 'must be an object');
      chain.push({ id, json });
      const parent = json.parent;
      if (parent !== undefined && parent !== '' && typeof parent !== 'string') throw invalid(subject, 'parent', 'must be a string');
      id = typeof parent === 'string' && parent !== '' ? parent : undefined;
    }
    chain.reverse();
    const diffIds: string[] = [];
    const history: Record<string, unknown>[] = [];
    for (const { id, json } of chain) {
      const member = this.member(`${id}/layer.tar`, 'layer');
      const compression = await this.compressionOf(member);
      diffIds.push((await hashMember(this.index, member, compression, true)).diffId!);
      const containerConfig = isObject(json.container_config) ? json.container_config : undefined;
      const cmd = containerConfig && Array.isArray(containerConfig.Cmd) ? containerConfig.Cmd.filter((c) => typeof c === 'string').join(' ') : undefined;
      const entry: Record<string, unknown> = {};
      if (typeof json.created === 'string') entry.created = json.created;
      if (typeof json.author === 'string' && json.author !== '') entry.author = json.author;
      if (cmd) entry.created_by = cmd;
      if (typeof json.comment === 'string' && json.comment !== '') entry.comment = json.comment;
      history.push(entry);
    }
    const top = { ...chain[chain.length - 1]!.json };
    for (const key of ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway']) delete top[key];
    top.rootfs = { type: 'layers', diff_ids: diffIds };
    top.history = history;
    return { rawConfig: Buffer.from(JSON.stringify(top)), layerNames: chain.map((c) => `${c.id}/layer.tar`) };
  }

  async digest(): Promise<string> {
    return digestOf((await this.prepared()).rawManifest);
  }
  async rawManifest(): Promise<Buffer> {
    return (await this.prepared()).rawManifest;
  }
  async manifest(): Promise<ImageManifest> {
    return (await this.prepared()).manifest;
  }
  async rawConfig(): Promise<Buffer> {
    return (await this.prepared()).rawConfig;
  }
  async config(): Promise<ImageConfig> {
    return (await this.prepared()).config;
  }
  async layers(): Promise<Layer[]> {
    return (await this.prepared()).layers;
  }
  async tags(): Promise<string[]> {
    return this.source.kind === 'manifest' ? [...this.source.entry.repoTags] : [...this.source.repoTags];
  }
  async close(): Promise<void> {
    await this.index.close();
  }

  /** os/arch[/variant] of the config, for platform checks. */
  async platform(): Promise<Platform> {
    const config = await this.config();
    const platform: Platform = { os: config.os, architecture: config.architecture };
    if (config.variant) platform.variant = config.variant;
    return platform;
  }
}

function parseRepositories(data: Buffer, archive: string): Map<string, string> {
  const subject = `${archive}!repositories`;
  const root = parseJson(data, subject);
  if (!isObject(root)) throw invalid(subject, '(root)', 'must be an object');
  const tags = new Map<string, string>();
  for (const [repo, value] of Object.entries(root)) {
    if (!isObject(value)) throw invalid(subject, repo, 'must be an object of tag → layer id');
    for (const [tag, id] of Object.entries(value)) {
      if (typeof id !== 'string') throw invalid(subject, `${repo}.${tag}`, 'must be a layer id string');
      tags.set(`${repo}:${tag}`, id);
    }
  }
  return tags;
}

/** Opens one image of a docker-archive; the archive is indexed once and read by byte ranges. */
export async function openDockerArchive(path: string, reference: string, options: DockerArchiveOptions = {}): Promise<DockerArchiveImage> {
  const index = await TarIndex.build(path);
  try {
    return await selectImage(index, reference, options);
  } catch (error) {
    await index.close();
    throw error;
  }
}

async function selectImage(index: TarIndex, reference: string, options: DockerArchiveOptions): Promise<DockerArchiveImage> {
  const sources: { source: ImageSource; tags: string[] }[] = [];
  const manifestMember = index.get('manifest.json');
  if (manifestMember !== undefined) {
    if (manifestMember.size > MAX_MANIFEST_SIZE) throw invalid(`${index.path}!manifest.json`, '(file)', 'is over 4 MiB');
    for (const entry of parseArchiveManifest(await index.read(manifestMember), index.path)) {
      sources.push({ source: { kind: 'manifest', entry }, tags: entry.repoTags });
    }
  } else {
    const repositories = index.get('repositories');
    if (repositories === undefined) {
      throw new DistillError('SOURCE_UNRECOGNIZED', `${index.path} is not a docker archive: no manifest.json or repositories file`, {
        hint: 'transports: oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:PATH',
        subject: index.path,
      });
    }
    if (repositories.size > MAX_MANIFEST_SIZE) throw invalid(`${index.path}!repositories`, '(file)', 'is over 4 MiB');
    const byId = new Map<string, string[]>();
    for (const [tag, id] of parseRepositories(await index.read(repositories), index.path)) {
      byId.set(id, [...(byId.get(id) ?? []), tag]);
    }
    for (const [topId, repoTags] of byId) sources.push({ source: { kind: 'legacy', topId, repoTags }, tags: repoTags });
    if (sources.length === 0) throw invalid(`${index.path}!repositories`, '(root)', 'lists no images');
  }
  const allTags = sources.flatMap((s) => s.tags);
  let chosen: typeof sources;
  if (options.tag !== undefined) {
    const wanted = normaliseRepoTag(options.tag);
    chosen = sources.filter((s) => s.tags.some((t) => normaliseRepoTag(t) === wanted));
    if (chosen.length === 0) {
      throw new DistillError('TAG_NOT_FOUND', `${options.tag} not found in ${index.path}`, {
        hint: allTags.length > 0 ? `available tags: ${allTags.join(', ')}` : `the archive has no tags; use @0…@${sources.length - 1}`,
        subject: reference,
      });
    }
  } else if (options.index !== undefined) {
    const source = sources[options.index];
    if (source === undefined) {
      throw new DistillError('TAG_NOT_FOUND', `no image @${options.index} in ${index.path}, which holds ${sources.length}`, {
        hint: `use @0…@${sources.length - 1}`,
        subject: reference,
      });
    }
    chosen = [source];
  } else {
    chosen = sources;
  }
  const images = chosen.map((s) => new DockerArchiveImage(index, reference, s.source));
  if (options.platform !== undefined) {
    const wanted = options.platform;
    const platforms = await Promise.all(images.map((image) => image.platform()));
    const matching = images.filter((_, i) => platformMatches(platforms[i]!, wanted));
    if (matching.length === 0) {
      throw new DistillError('PLATFORM_NOT_FOUND', `no image for platform ${formatPlatform(wanted)} in ${index.path}; available: ${[...new Set(platforms.map(formatPlatform))].join(', ')}`, {
        subject: reference,
      });
    }
    if (matching.length === 1) return matching[0]!;
  } else if (images.length === 1) {
    return images[0]!;
  }
  throw new DistillError('AMBIGUOUS_IMAGE', `${index.path} holds ${chosen.length} images${allTags.length ? ` (${allTags.join(', ')})` : ''}`, {
    hint: `name one: docker-archive:${index.path}:REPO:TAG or docker-archive:${index.path}@N`,
    subject: reference,
  });
}
