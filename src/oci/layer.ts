/** @module oci/layer — a Layer over any blob opener: verified stored stream and verified, decompressed tar stream. */
import type { Readable } from 'node:stream';
import { DistillError } from '../errors.js';
import type { Descriptor, ImageManifest, Layer } from './image.js';
import { VerifyingStream } from './digest.js';
import { chainStreams, createDecompressor, decompressError, type ChainStage } from './decompress.js';
import { layerCompression, type Compression } from './media-types.js';

export interface StoredLayerInit {
  digest: string;
  diffId: string | undefined;
  mediaType: string;
  size: number;
  compression: Compression;
  /** Where the blob lives, for messages (`/layout/blobs/sha256/…`, `archive.tar!abc/layer.tar`). */
  location: string;
  /** Opens the stored bytes; rejects with BLOB_NOT_FOUND when they are absent. */
  open: () => Promise<Readable>;
}

function ioError(location: string): (error: unknown) => Error {
  return (error) =>
    error instanceof DistillError
      ? error
      : new DistillError('IO', `cannot read ${location}: ${(error as Error).message}`, { subject: location, cause: error });
}

/** A layer whose streams check the blob digest and size, and the diffId of the uncompressed tar when known. */
export class StoredLayer implements Layer {
  readonly digest: string;
  readonly diffId: string | undefined;
  readonly mediaType: string;
  readonly size: number;
  /** Compression actually applied to the stored blob. */
  readonly compression: Compression;
  readonly location: string;
  private readonly opener: () => Promise<Readable>;

  constructor(init: StoredLayerInit) {
    this.digest = init.digest;
    this.diffId = init.diffId;
    this.mediaType = init.mediaType;
    this.size = init.size;
    this.compression = init.compression;
    this.location = init.location;
    this.opener = init.open;
  }

  private subject(): string {
    return `${this.digest} (${this.location})`;
  }

  private blobStages(source: Readable): ChainStage[] {
    return [
      { stream: source, mapError: ioError(this.location) },
      { stream: new VerifyingStream({ digest: this.digest, size: this.size, subject: this.subject(), what: 'layer blob' }) },
    ];
  }

  async compressed(): Promise<Readable> {
    return chainStreams(this.blobStages(await this.opener()));
  }

  async uncompressed(): Promise<Readable> {
    const stages = this.blobStages(await this.opener());
    if (this.compression !== 'none') {
      const compression = this.compression;
      const subject = this.subject();
      stages.push({ stream: createDecompressor(compression), mapError: (e) => decompressError(e, compression, subject) });
    }
    // An uncompressed blob whose digest is the diffId was already verified by the blob stage.
    const needsDiffCheck = this.diffId !== undefined && !(this.compression === 'none' && this.diffId === this.digest);
    if (needsDiffCheck || this.compression !== 'none') {
      const options = { subject: this.subject(), what: 'uncompressed layer' } as const;
      stages.push({ stream: new VerifyingStream(needsDiffCheck ? { ...options, digest: this.diffId! } : options) });
    }
    return chainStreams(stages);
  }
}

/** Where one transport keeps its layer blobs: a name for messages and an opener of the stored bytes. */
export interface LayerBlobs {
  location(descriptor: Descriptor): string;
  open(descriptor: Descriptor): Promise<Readable>;
}

/**
 * The manifest's layers paired with the config's diff_ids: MANIFEST_INVALID when the counts differ,
 * UNSUPPORTED_MEDIA_TYPE for a layer whose media type names no known compression.
 */
export function storedLayers(manifest: ImageManifest, diffIds: readonly string[], subject: string, blobs: LayerBlobs): StoredLayer[] {
  if (diffIds.length !== manifest.layers.length) {
    throw new DistillError('MANIFEST_INVALID', `${subject}: ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`, {
      subject: `${subject}#layers`,
    });
  }
  return manifest.layers.map((descriptor, i) => {
    const compression = layerCompression(descriptor.mediaType);
    if (compression === undefined) {
      throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: layers[${i}] has unsupported media type ${descriptor.mediaType}`, {
        subject: `${subject}#layers[${i}].mediaType`,
      });
    }
    return new StoredLayer({
      digest: descriptor.digest,
      diffId: diffIds[i],
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      compression,
      location: blobs.location(descriptor),
      open: () => blobs.open(descriptor),
    });
  });
}
