/** @module oci/image — the read-only Image and Layer contracts every image source implements. */
import type { Readable } from 'node:stream';
import type { Platform } from './platform.js';

/** An OCI content descriptor (also used for Docker manifests, which share the shape). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** Parsed image manifest (OCI image manifest or Docker schema 2 manifest). */
export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The parts of an image config distill reads; the raw JSON stays available through `rawConfig()`. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: unknown;
    Volumes?: Record<string, object> | null;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** One filesystem layer. Streams are verified while read: a digest mismatch fails the stream. */
export interface Layer {
  /** Digest of the blob as stored (compressed when the media type says so). */
  readonly digest: string;
  /** Digest of the uncompressed tar, from the config's rootfs.diff_ids. */
  readonly diffId: string | undefined;
  readonly mediaType: string;
  /** Stored blob size in bytes. */
  readonly size: number;
  /** The stored blob, digest- and size-checked while streaming. */
  compressed(): Promise<Readable>;
  /** The layer as a plain tar stream, decompressed and verified (blob digest, and diffId when known). */
  uncompressed(): Promise<Readable>;
}

/** A single-platform image. Accessors are lazy and memoised by implementations. */
export interface Image {
  /** The reference the user gave, e.g. `oci:./layout:tag`. */
  readonly reference: string;
  /** Transport name: `oci`, `oci-archive`, `docker-archive`. */
  readonly transport: string;
  /** Manifest digest (sha256:…); for docker-archive sources, the digest of the synthesized manifest. */
  digest(): Promise<string>;
  rawManifest(): Promise<Buffer>;
  manifest(): Promise<ImageManifest>;
  rawConfig(): Promise<Buffer>;
  config(): Promise<ImageConfig>;
  layers(): Promise<Layer[]>;
  /** Repository tags or ref names recorded with the image (RepoTags, ref.name annotations). */
  tags(): Promise<string[]>;
  /** Releases resources held by the source (open archive handles, temp files). */
  close(): Promise<void>;
}
