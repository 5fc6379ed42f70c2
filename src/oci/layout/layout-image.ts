/** @module oci/layout/layout-image — selecting one image from an OCI layout (tags, nested indexes, platforms) and reading it. */
import { DistillError } from '../../errors.js';
import type { Descriptor, Image, ImageConfig, ImageManifest, Layer } from '../image.js';
import { formatPlatform, platformMatches, type Platform } from '../platform.js';
import { isImageManifestType, isIndexType, MediaType } from '../media-types.js';
import {
  assertImageConfigType,
  isObject,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseJson,
} from '../manifest.js';
import { storedLayers } from '../layer.js';
import { blobPath, openBlob, readBlob, type LayoutStore } from './layout-store.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Fallback platform when several match and the caller gave none (as go-containerregistry does). */
export const FALLBACK_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };
const MAX_INDEX_DEPTH = 8;
const MAX_LEAVES = 10_000;

export interface SelectImageOptions {
  /** `org.opencontainers.image.ref.name` of a top-level index entry. */
  tag?: string;
  /** The platform the caller asked for explicitly. */
  platform?: Platform;
  /** Used when several platforms are available and none was asked for; default linux/amd64. */
  defaultPlatform?: Platform;
}

interface Leaf {
  descriptor: Descriptor;
  /** Top-level tag(s) the leaf was reached from. */
  tags: string[];
  /** Platform from the referring index entry, if any. */
  platform?: Platform;
}

/** Reads and checks the `oci-layout` marker file. */
export async function checkLayoutMarker(store: LayoutStore): Promise<void> {
  const data = await store.read('oci-layout', 64 * 1024);
  if (data === undefined) {
    throw new DistillError('SOURCE_UNRECOGNIZED', `${store.location} is not an OCI image layout: no oci-layout file`, {
      hint: 'for a docker save/podman save tar use docker-archive:FILE; for a root filesystem directory use dir:PATH',
      subject: store.describe('oci-layout'),
    });
  }
  const marker = parseJson(data, store.describe('oci-layout'));
  const version = isObject(marker) ? marker.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new DistillError('MANIFEST_INVALID', `${store.describe('oci-layout')}: imageLayoutVersion ${JSON.stringify(version)} is not a supported 1.x version`, {
      subject: `${store.describe('oci-layout')}#imageLayoutVersion`,
    });
  }
}

function describeLeaf(leaf: Leaf, platform: Platform | undefined): string {
  const tag = leaf.tags.length > 0 ? ` (${leaf.tags.join(', ')})` : '';
  return `${leaf.descriptor.digest}${tag}${platform ? ` ${formatPlatform(platform)}` : ''}`;
}

/** Lists the tags of the layout's top-level entries. */
function topTags(descriptors: Descriptor[]): string[] {
  const tags = new Set<string>();
  for (const d of descriptors) {
    const tag = d.annotations?.[REF_NAME_ANNOTATION];
    if (tag !== undefined) tags.add(tag);
  }
  return [...tags];
}

/** True for buildx attestation manifests and similar non-runnable entries of an index. */
function isAuxiliary(descriptor: Descriptor): boolean {
  if (descriptor.annotations?.['vnd.docker.reference.type'] !== undefined) return true;
  return descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown';
}

/** Opens the image of an OCI layout that `options` select. */
export async function openLayoutImage(
  store: LayoutStore,
  reference: string,
  transport: string,
  options: SelectImageOptions = {},
): Promise<LayoutImage> {
  await checkLayoutMarker(store);
  const indexData = await store.read('index.json', MAX_MANIFEST_SIZE);
  if (indexData === undefined) {
    throw new DistillError('MANIFEST_INVALID', `${store.location}: index.json is missing`, { subject: store.describe('index.json') });
  }
  const index = parseImageIndex(indexData, store.describe('index.json'));
  let top = index.manifests;
  if (options.tag !== undefined) {
    top = top.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === options.tag);
    if (top.length === 0) {
      const tags = topTags(index.manifests);
      throw new DistillError('TAG_NOT_FOUND', `tag "${options.tag}" not found in ${store.location}`, {
        hint: tags.length > 0 ? `available tags: ${tags.join(', ')}` : 'the layout has no tagged images; omit the tag',
        subject: reference,
      });
    }
  }

  const leaves: Leaf[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const visit = async (descriptor: Descriptor, tags: string[], depth: number): Promise<void> => {
    if (isImageManifestType(descriptor.mediaType)) {
      if (isAuxiliary(descriptor)) return;
      if (seen.has(descriptor.digest)) {
        const existing = leaves.find((l) => l.descriptor.digest === descriptor.digest);
        for (const tag of tags) if (existing && !existing.tags.includes(tag)) existing.tags.push(tag);
        return;
      }
      seen.add(descriptor.digest);
      if (leaves.length >= MAX_LEAVES) throw new DistillError('MANIFEST_INVALID', `${store.location}: more than ${MAX_LEAVES} manifests`);
      const leaf: Leaf = { descriptor, tags: [...tags] };
      if (descriptor.platform !== undefined) leaf.platform = descriptor.platform;
      leaves.push(leaf);
      return;
    }
    if (isIndexType(descriptor.mediaType)) {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new DistillError('MANIFEST_INVALID', `${store.location}: indexes nested deeper than ${MAX_INDEX_DEPTH}`, {
          subject: store.describe(blobPath(descriptor.digest)),
        });
      }
      const data = await readBlob(store, descriptor, MAX_MANIFEST_SIZE);
      const child = parseImageIndex(data, store.describe(blobPath(descriptor.digest)), descriptor.mediaType);
      for (const entry of child.manifests) await visit(entry, tags, depth + 1);
      return;
    }
    skipped.push(`${descriptor.digest} (${descriptor.mediaType})`);
  };
  for (const descriptor of top) {
    const tag = descriptor.annotations?.[REF_NAME_ANNOTATION];
    await visit(descriptor, tag === undefined ? [] : [tag], 0);
  }
  if (leaves.length === 0) {
    throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${store.location} holds no image manifest${skipped.length ? `; unsupported entries: ${skipped.join(', ')}` : ''}`, {
      subject: reference,
    });
  }

  const images = new Map<string, LayoutImage>();
  const imageOf = (leaf: Leaf): LayoutImage => {
    let image = images.get(leaf.descriptor.digest);
    if (image === undefined) {
      image = new LayoutImage(store, reference, transport, leaf.descriptor, leaf.tags);
      images.set(leaf.descriptor.digest, image);
    }
    return image;
  };
  const platformOf = async (leaf: Leaf): Promise<Platform> => {
    if (leaf.platform !== undefined) return leaf.platform;
    const config = await imageOf(leaf).config();
    const platform: Platform = { os: config.os, architecture: config.architecture };
    if (config.variant) platform.variant = config.variant;
    return platform;
  };

  if (leaves.length === 1 && options.platform === undefined) return imageOf(leaves[0]!);
  const platforms = await Promise.all(leaves.map(platformOf));
  const available = (): string => [...new Set(platforms.map(formatPlatform))].join(', ');
  const ambiguous = (candidates: number[]): DistillError =>
    new DistillError(
      'AMBIGUOUS_IMAGE',
      `${store.location} holds several images${options.tag === undefined ? ' and no tag was given' : ` tagged "${options.tag}"`}: ${candidates
        .map((i) => describeLeaf(leaves[i]!, platforms[i]))
        .join('; ')}`,
      {
        hint: topTags(index.manifests).length > 0 ? `name one: ${reference}:<tag> (tags: ${topTags(index.manifests).join(', ')})` : 'tag the image you want in index.json',
        subject: reference,
      },
    );

  const pick = (wanted: Platform, explicit: boolean): LayoutImage => {
    const matching = leaves.map((_, i) => i).filter((i) => platformMatches(platforms[i]!, wanted));
    if (matching.length === 0) {
      throw new DistillError(
        'PLATFORM_NOT_FOUND',
        `no image for platform ${formatPlatform(wanted)}${explicit ? '' : ' (the default)'} in ${store.location}; available: ${available()}`,
        { hint: `choose one of: ${available()}`, subject: reference },
      );
    }
    if (matching.length > 1) throw ambiguous(matching);
    return imageOf(leaves[matching[0]!]!);
  };

  if (options.platform !== undefined) return pick(options.platform, true);
  const distinct = new Set(platforms.map(formatPlatform));
  if (distinct.size === 1) throw ambiguous(leaves.map((_, i) => i));
  return pick(options.defaultPlatform ?? FALLBACK_PLATFORM, false);
}

function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= compute();
    return value;
  };
}

/** One image of an OCI layout, read lazily through its store. */
export class LayoutImage implements Image {
  readonly rawManifest: () => Promise<Buffer>;
  readonly manifest: () => Promise<ImageManifest>;
  readonly rawConfig: () => Promise<Buffer>;
  readonly config: () => Promise<ImageConfig>;
  readonly layers: () => Promise<Layer[]>;

  constructor(
    private readonly store: LayoutStore,
    readonly reference: string,
    readonly transport: string,
    readonly descriptor: Descriptor,
    private readonly refNames: string[],
  ) {
    const subject = store.describe(blobPath(descriptor.digest));
    this.rawManifest = memo(() => readBlob(store, descriptor, MAX_MANIFEST_SIZE));
    this.manifest = memo(async () => parseImageManifest(await this.rawManifest(), subject, descriptor.mediaType));
    this.rawConfig = memo(async () => {
      const { config } = await this.manifest();
      assertImageConfigType(config, subject);
      return readBlob(store, config, MAX_CONFIG_SIZE);
    });
    this.config = memo(async () => parseImageConfig(await this.rawConfig(), store.describe(blobPath((await this.manifest()).config.digest))));
    this.layers = memo(async () =>
      storedLayers(await this.manifest(), (await this.config()).rootfs.diff_ids, subject, {
        location: (descriptor) => store.describe(blobPath(descriptor.digest)),
        open: (descriptor) => openBlob(store, descriptor),
      }),
    );
  }

  async digest(): Promise<string> {
    return this.descriptor.digest;
  }

  async tags(): Promise<string[]> {
    return [...this.refNames];
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
