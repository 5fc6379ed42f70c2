/** @module oci/manifest — hostile-input-safe parsing of OCI/Docker manifests, indexes, configs and descriptors. */
import { DistillError } from '../errors.js';
import type { Descriptor, ImageConfig, ImageManifest } from './image.js';
import type { Platform } from './platform.js';
import { parseDigest } from './digest.js';
import { isImageManifestType, isIndexType, MediaType } from './media-types.js';

/** Manifests, indexes and configs larger than this are refused (real ones are a few KiB). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
/** Image configs can carry long histories; still bounded. */
export const MAX_CONFIG_SIZE = 16 * 1024 * 1024;

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(subject: string, field: string, problem: string): DistillError {
  return new DistillError('MANIFEST_INVALID', `${subject}: ${field} ${problem}`, {
    hint: 'the image metadata is malformed; re-export the image with a conforming tool',
    subject: `${subject}#${field}`,
  });
}

/** Parses JSON with a size bound; the top level must be an object (or an array when `array` is set). */
export function parseJson(data: Buffer, subject: string, maxSize = MAX_MANIFEST_SIZE): unknown {
  if (data.length > maxSize) {
    throw new DistillError('MANIFEST_INVALID', `${subject}: ${data.length} bytes exceeds the ${maxSize}-byte limit`, {
      subject,
    });
  }
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new DistillError('MANIFEST_INVALID', `${subject}: not valid JSON (${(error as Error).message})`, {
      hint: 'the file is corrupt or truncated',
      subject,
      cause: error,
    });
  }
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectObject(value: unknown, subject: string, field: string): Json {
  if (!isObject(value)) throw invalid(subject, field, 'must be an object');
  return value;
}

function optionalString(value: unknown, subject: string, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(subject, field, 'must be a string');
  return value;
}

function stringMap(value: unknown, subject: string, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const object = expectObject(value, subject, field);
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(object)) {
    if (typeof entry !== 'string') throw invalid(subject, `${field}.${key}`, 'must be a string');
    out[key] = entry;
  }
  return out;
}

function parsePlatformField(value: unknown, subject: string, field: string): Platform | undefined {
  if (value === undefined) return undefined;
  const object = expectObject(value, subject, field);
  const os = object.os;
  const architecture = object.architecture;
  if (typeof os !== 'string' || os === '') throw invalid(subject, `${field}.os`, 'must be a non-empty string');
  if (typeof architecture !== 'string' || architecture === '') {
    throw invalid(subject, `${field}.architecture`, 'must be a non-empty string');
  }
  const platform: Platform = { os, architecture };
  const variant = optionalString(object.variant, subject, `${field}.variant`);
  if (variant !== undefined && variant !== '') platform.variant = variant;
  const osVersion = optionalString(object['os.version'], subject, `${field}.os.version`);
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  const features = object['os.features'];
  if (features !== undefined) {
    if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) {
      throw invalid(subject, `${field}.os.features`, 'must be an array of strings');
    }
    platform['os.features'] = features as string[];
  }
  return platform;
}

/** Validates one descriptor: media type string, strict digest, non-negative safe integer size. */
export function parseDescriptor(value: unknown, subject: string, field: string): Descriptor {
  const object = expectObject(value, subject, field);
  const mediaType = object.mediaType;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(subject, `${field}.mediaType`, 'must be a non-empty string');
  parseDigest(object.digest, `${subject}#${field}.digest`);
  const size = object.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(subject, `${field}.size`, 'must be a non-negative integer');
  }
  const descriptor: Descriptor = { mediaType, digest: object.digest as string, size };
  const annotations = stringMap(object.annotations, subject, `${field}.annotations`);
  if (annotations !== undefined) descriptor.annotations = annotations;
  const platform = parsePlatformField(object.platform, subject, `${field}.platform`);
  if (platform !== undefined) descriptor.platform = platform;
  if (object.urls !== undefined) {
    if (!Array.isArray(object.urls) || !object.urls.every((u) => typeof u === 'string')) {
      throw invalid(subject, `${field}.urls`, 'must be an array of strings');
    }
    descriptor.urls = object.urls as string[];
  }
  return descriptor;
}

function schemaVersion(object: Json, subject: string): number {
  if (object.schemaVersion !== 2) throw invalid(subject, 'schemaVersion', `must be 2 (got ${JSON.stringify(object.schemaVersion)})`);
  return 2;
}

/**
 * The root object of a manifest or index, its schemaVersion and its own mediaType. The type that counts is
 * its own, else the referring descriptor's, else `fallback`; UNSUPPORTED_MEDIA_TYPE unless `accepts` it.
 */
function parseRoot(data: Buffer, subject: string, descriptorType: string | undefined, fallback: string, accepts: (mediaType: string) => boolean, kind: string) {
  const object = expectObject(parseJson(data, subject), subject, '(root)');
  const version = schemaVersion(object, subject);
  const mediaType = optionalString(object.mediaType, subject, 'mediaType');
  const effective = mediaType ?? descriptorType ?? fallback;
  if (!accepts(effective)) {
    throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: media type ${effective} is not ${kind}`, { subject });
  }
  return { object, version, mediaType };
}

/**
 * Parses an image manifest. `descriptorType` is the media type the referring descriptor declared; the
 * manifest's own mediaType, when present, must agree with it.
 */
export function parseImageManifest(data: Buffer, subject: string, descriptorType?: string): ImageManifest {
  const { object, version, mediaType } = parseRoot(data, subject, descriptorType, MediaType.ociManifest, isImageManifestType, 'an image manifest');
  if (mediaType !== undefined && descriptorType !== undefined && mediaType !== descriptorType) {
    throw invalid(subject, 'mediaType', `is ${mediaType} but the descriptor says ${descriptorType}`);
  }
  if (object.manifests !== undefined) throw invalid(subject, 'manifests', 'is not allowed in an image manifest');
  const config = parseDescriptor(object.config, subject, 'config');
  if (!Array.isArray(object.layers)) throw invalid(subject, 'layers', 'must be an array');
  if (object.layers.length > 10_000) throw invalid(subject, 'layers', 'has more than 10000 entries');
  const layers = object.layers.map((layer, i) => parseDescriptor(layer, subject, `layers[${i}]`));
  const manifest: ImageManifest = { schemaVersion: version, config, layers };
  if (mediaType !== undefined) manifest.mediaType = mediaType;
  const annotations = stringMap(object.annotations, subject, 'annotations');
  if (annotations !== undefined) manifest.annotations = annotations;
  return manifest;
}

/** Parses an OCI image index or a Docker manifest list. */
export function parseImageIndex(data: Buffer, subject: string, descriptorType?: string): ImageIndex {
  const { object, version, mediaType } = parseRoot(data, subject, descriptorType, MediaType.ociIndex, isIndexType, 'an image index');
  if (!Array.isArray(object.manifests)) throw invalid(subject, 'manifests', 'must be an array');
  if (object.manifests.length > 10_000) throw invalid(subject, 'manifests', 'has more than 10000 entries');
  const manifests = object.manifests.map((entry, i) => parseDescriptor(entry, subject, `manifests[${i}]`));
  const index: ImageIndex = { schemaVersion: version, manifests };
  if (mediaType !== undefined) index.mediaType = mediaType;
  const annotations = stringMap(object.annotations, subject, 'annotations');
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}

function stringArray(value: unknown, subject: string, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(subject, field, 'must be an array of strings');
  return value as string[];
}

/** Parses an image config: checks the fields distill relies on, keeps the rest as given. */
export function parseImageConfig(data: Buffer, subject: string): ImageConfig {
  const object = expectObject(parseJson(data, subject, MAX_CONFIG_SIZE), subject, '(root)');
  if (typeof object.architecture !== 'string') throw invalid(subject, 'architecture', 'must be a string');
  if (typeof object.os !== 'string') throw invalid(subject, 'os', 'must be a string');
  optionalString(object.variant, subject, 'variant');
  optionalString(object.created, subject, 'created');
  optionalString(object.author, subject, 'author');
  const rootfs = expectObject(object.rootfs, subject, 'rootfs');
  if (typeof rootfs.type !== 'string') throw invalid(subject, 'rootfs.type', 'must be a string');
  const diffIds = stringArray(rootfs.diff_ids, subject, 'rootfs.diff_ids');
  diffIds.forEach((id, i) => parseDigest(id, `${subject}#rootfs.diff_ids[${i}]`));
  if (object.config !== undefined && object.config !== null) {
    const config = expectObject(object.config, subject, 'config');
    optionalString(config.User, subject, 'config.User');
    optionalString(config.WorkingDir, subject, 'config.WorkingDir');
    if (config.Env !== undefined && config.Env !== null) stringArray(config.Env, subject, 'config.Env');
    for (const key of ['Entrypoint', 'Cmd'] as const) {
      if (config[key] !== undefined && config[key] !== null) stringArray(config[key], subject, `config.${key}`);
    }
    if (config.Labels !== undefined) stringMap(config.Labels, subject, 'config.Labels');
  }
  if (object.history !== undefined && object.history !== null) {
    if (!Array.isArray(object.history)) throw invalid(subject, 'history', 'must be an array');
    object.history.forEach((entry, i) => expectObject(entry, subject, `history[${i}]`));
  }
  return object as unknown as ImageConfig;
}

/** Refuses a manifest whose config is not a container image config (an artifact: SBOM, signature, Helm chart). */
export function assertImageConfigType(config: Descriptor, subject: string): void {
  if (config.mediaType !== MediaType.ociConfig && config.mediaType !== MediaType.dockerConfig) {
    throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: config media type ${config.mediaType} is not a container image config`, {
      hint: 'this manifest describes an artifact (an SBOM, signature, Helm chart), not a container image',
      subject,
    });
  }
}
