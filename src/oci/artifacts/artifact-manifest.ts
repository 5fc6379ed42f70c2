/** @module oci/artifacts/artifact-manifest — OCI 1.1 artifact manifests (artifactType, empty config, subject) and the referrers descriptors they are listed by. */
import { DistillError } from '../../errors.js';
import { digestOf } from '../digest.js';
import type { Descriptor } from '../image.js';
import { isObject, parseDescriptor, parseJson } from '../manifest.js';
import { MediaType } from '../media-types.js';

/** The OCI 1.1 empty descriptor's media type and content (`{}`), used as the config of artifacts. */
export const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
export const EMPTY_CONFIG = Buffer.from('{}', 'utf8');
/** Annotation that says which distill kind (sbom, vex, provenance) an artifact is. */
export const KIND_ANNOTATION = 'dev.distill.artifact.kind';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** A descriptor as the referrers API lists it: the manifest's digest, size, artifactType and annotations. */
export interface ReferrerDescriptor extends Descriptor {
  artifactType?: string;
}

export interface ArtifactManifestInput {
  /** Media type of the document (and the artifactType). */
  artifactType: string;
  /** The document bytes (one layer). */
  document: Buffer;
  /** The image manifest the artifact refers to. */
  subject: Descriptor;
  annotations?: Record<string, string>;
  /**
   * `artifactType` writes OCI 1.1 (`artifactType` field, empty config); `config` writes the pre-1.1 form some
   * registries need, the artifact type as the config media type.
   */
  form?: 'artifactType' | 'config';
}

export interface BuiltArtifactManifest {
  manifest: Buffer;
  digest: string;
  /** Blobs to upload first: the config (empty `{}`) and the document. */
  blobs: { digest: string; data: Buffer; mediaType: string }[];
  /** The descriptor to list the artifact by in a referrers index. */
  descriptor: ReferrerDescriptor;
}

export function buildArtifactManifest(input: ArtifactManifestInput): BuiltArtifactManifest {
  const form = input.form ?? 'artifactType';
  const configDigest = digestOf(EMPTY_CONFIG);
  const documentDigest = digestOf(input.document);
  const layer: Descriptor = { mediaType: input.artifactType, digest: documentDigest, size: input.document.length };
  if (input.annotations?.[TITLE_ANNOTATION] !== undefined) layer.annotations = { [TITLE_ANNOTATION]: input.annotations[TITLE_ANNOTATION] };
  const subject: Descriptor = { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size };
  const body: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociManifest };
  if (form === 'artifactType') body.artifactType = input.artifactType;
  body.config = { mediaType: form === 'artifactType' ? EMPTY_MEDIA_TYPE : input.artifactType, digest: configDigest, size: EMPTY_CONFIG.length };
  body.layers = [layer];
  body.subject = subject;
  if (input.annotations !== undefined && Object.keys(input.annotations).length > 0) body.annotations = input.annotations;
  const manifest = Buffer.from(JSON.stringify(body), 'utf8');
  const digest = digestOf(manifest);
  const descriptor: ReferrerDescriptor = { mediaType: MediaType.ociManifest, digest, size: manifest.length, artifactType: input.artifactType };
  if (input.annotations !== undefined && Object.keys(input.annotations).length > 0) descriptor.annotations = { ...input.annotations };
  return {
    manifest,
    digest,
    blobs: [
      { digest: configDigest, data: EMPTY_CONFIG, mediaType: form === 'artifactType' ? EMPTY_MEDIA_TYPE : input.artifactType },
      { digest: documentDigest, data: input.document, mediaType: input.artifactType },
    ],
    descriptor,
  };
}

export interface ParsedArtifactManifest {
  /** `artifactType`, else the config media type when that is not an image config (pre-1.1 artifacts). */
  artifactType: string | undefined;
  subject: Descriptor | undefined;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

function stringRecord(value: unknown, subject: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new DistillError('MANIFEST_INVALID', `${subject}: annotations must be an object`, { subject });
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw new DistillError('MANIFEST_INVALID', `${subject}: annotations.${key} must be a string`, { subject });
    out[key] = entry;
  }
  return out;
}

/** Reads an artifact manifest back (hostile-input safe: bounded, every descriptor validated). */
export function parseArtifactManifest(data: Buffer, subject = 'artifact manifest'): ParsedArtifactManifest {
  const object = parseJson(data, subject);
  if (!isObject(object)) throw new DistillError('MANIFEST_INVALID', `${subject}: must be a JSON object`, { subject });
  if (object.mediaType !== undefined && object.mediaType !== MediaType.ociManifest) {
    throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: media type ${String(object.mediaType)} is not an OCI image manifest`, { subject });
  }
  const config = parseDescriptor(object.config, subject, 'config');
  if (!Array.isArray(object.layers) || object.layers.length > 1000) throw new DistillError('MANIFEST_INVALID', `${subject}: layers must be an array of at most 1000`, { subject });
  const layers = object.layers.map((layer, i) => parseDescriptor(layer, subject, `layers[${i}]`));
  const artifactType =
    typeof object.artifactType === 'string'
      ? object.artifactType
      : config.mediaType !== MediaType.ociConfig && config.mediaType !== MediaType.dockerConfig && config.mediaType !== EMPTY_MEDIA_TYPE
        ? config.mediaType
        : undefined;
  const parsedSubject = object.subject === undefined ? undefined : parseDescriptor(object.subject, subject, 'subject');
  return { artifactType, subject: parsedSubject, layers, annotations: stringRecord(object.annotations, subject) };
}
