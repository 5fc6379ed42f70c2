/** @module oci/registry/registry-image — `registry:HOST/REPO:TAG|@DIGEST` as an Image: manifest and config fetched and verified, layers streamed on demand. */
import { DistillError } from '../../errors.js';
import type { Descriptor, Image, ImageConfig, ImageManifest, Layer } from '../image.js';
import { storedLayers } from '../layer.js';
import { assertImageConfigType, MAX_CONFIG_SIZE, parseImageConfig, parseImageIndex, parseImageManifest } from '../manifest.js';
import { isImageManifestType, isIndexType, MediaType } from '../media-types.js';
import { formatPlatform, platformMatches, type Platform } from '../platform.js';
import { RegistryClient, type FetchedManifest, type RegistryClientOptions } from './client.js';
import { formatRegistryReference, type RegistryReference } from './registry-reference.js';

export interface OpenRegistryImageOptions {
  /** Shared client (tokens, connections); a private one is made (and closed with the image) when omitted. */
  client?: RegistryClient;
  /** Settings for the private client made when `client` is omitted. */
  clientOptions?: RegistryClientOptions;
  /** Platform asked for explicitly: PLATFORM_NOT_FOUND when the image has none that matches. */
  platform?: Platform;
  /** Used for an index when no platform was asked for (default linux/amd64). */
  defaultPlatform?: Platform;
  /** The reference text to report (default `registry:HOST/REPO:TAG`). */
  text?: string;
}

const MAX_INDEX_DEPTH = 4;
const FALLBACK: Platform = { os: 'linux', architecture: 'amd64' };

function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

/** buildx attestations and other `unknown/unknown` entries are not runnable images. */
function isAuxiliary(descriptor: Descriptor): boolean {
  return descriptor.annotations?.['vnd.docker.reference.type'] !== undefined || (descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown');
}

/** A single-platform image in a registry. */
export class RegistryImage implements Image {
  readonly transport = 'registry';
  readonly manifest: () => Promise<ImageManifest>;
  readonly rawConfig: () => Promise<Buffer>;
  readonly config: () => Promise<ImageConfig>;
  readonly layers: () => Promise<Layer[]>;

  constructor(
    readonly client: RegistryClient,
    readonly reference: string,
    /** Repository and tag the image was reached by, with `digest` set to the manifest's. */
    readonly target: RegistryReference,
    private readonly fetched: FetchedManifest,
    private readonly ownsClient: boolean,
  ) {
    const subject = formatRegistryReference(target);
    this.manifest = memo(async () => parseImageManifest(fetched.data, subject, fetched.mediaType));
    this.rawConfig = memo(async () => {
      const { config } = await this.manifest();
      assertImageConfigType(config, subject);
      return client.readBlob(target, config, MAX_CONFIG_SIZE);
    });
    this.config = memo(async () => parseImageConfig(await this.rawConfig(), `${target.registry}/${target.repository}@${(await this.manifest()).config.digest}`));
    this.layers = memo(async () =>
      storedLayers(await this.manifest(), (await this.config()).rootfs.diff_ids, subject, {
        location: (descriptor) => `${target.registry}/${target.repository}@${descriptor.digest}`,
        // StoredLayer checks digest and size itself; the raw stream still resumes dropped connections.
        open: (descriptor) => client.openBlob(target, descriptor, { verify: false }),
      }),
    );
  }

  async digest(): Promise<string> {
    return this.fetched.digest;
  }

  async rawManifest(): Promise<Buffer> {
    return this.fetched.data;
  }

  /** The manifest's media type as the registry served it. */
  get mediaType(): string {
    return this.fetched.mediaType;
  }

  async tags(): Promise<string[]> {
    return this.target.tag !== undefined ? [`${this.target.registry}/${this.target.repository}:${this.target.tag}`] : [];
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

async function platformOf(client: RegistryClient, reference: RegistryReference, fetched: FetchedManifest): Promise<Platform> {
  const manifest = parseImageManifest(fetched.data, formatRegistryReference(reference), fetched.mediaType);
  const config = parseImageConfig(await client.readBlob(reference, manifest.config, MAX_CONFIG_SIZE), formatRegistryReference(reference));
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

/**
 * Opens an image in a registry by tag or digest. An index (or Docker manifest list) is resolved to the
 * entry for `platform` (or `defaultPlatform`, else linux/amd64).
 */
export async function openRegistryImage(reference: RegistryReference, options: OpenRegistryImageOptions = {}): Promise<RegistryImage> {
  const ownsClient = options.client === undefined;
  const client = options.client ?? new RegistryClient(options.clientOptions);
  const text = options.text ?? `registry:${formatRegistryReference(reference)}`;
  try {
    let fetched = await client.getManifest(reference);
    for (let depth = 0; isIndexType(fetched.mediaType); depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new DistillError('MANIFEST_INVALID', `${text}: indexes nested deeper than ${MAX_INDEX_DEPTH}`, { subject: text });
      const index = parseImageIndex(fetched.data, text, fetched.mediaType);
      const candidates = index.manifests.filter((d) => (isImageManifestType(d.mediaType) || isIndexType(d.mediaType)) && !isAuxiliary(d));
      const wanted = options.platform ?? options.defaultPlatform ?? FALLBACK;
      const available = candidates.map((d) => (d.platform ? formatPlatform(d.platform) : d.digest)).join(', ');
      const match = candidates.find((d) => d.platform !== undefined && platformMatches(d.platform, wanted)) ?? (candidates.length === 1 && candidates[0]!.platform === undefined ? candidates[0] : undefined);
      if (match === undefined) {
        throw new DistillError('PLATFORM_NOT_FOUND', `no image for platform ${formatPlatform(wanted)}${options.platform ? '' : ' (the default)'} in ${text}; available: ${available || 'none'}`, {
          hint: `choose one with --platform: ${available}`,
          subject: text,
        });
      }
      fetched = await client.getManifest({ ...reference, digest: match.digest });
    }
    if (!isImageManifestType(fetched.mediaType)) {
      throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${text} is a ${fetched.mediaType}, not an image manifest or index`, { subject: text });
    }
    const target: RegistryReference = { ...reference, digest: fetched.digest };
    if (options.platform !== undefined) {
      const platform = await platformOf(client, target, fetched);
      if (!platformMatches(platform, options.platform)) {
        throw new DistillError('PLATFORM_NOT_FOUND', `${text} is ${formatPlatform(platform)}, not ${formatPlatform(options.platform)}`, { hint: `available: ${formatPlatform(platform)}`, subject: text });
      }
    }
    return new RegistryImage(client, text, target, fetched, ownsClient);
  } catch (error) {
    if (ownsClient) await client.close();
    throw error;
  }
}
