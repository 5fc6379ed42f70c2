/** @module oci/signature/signature-manifest — the cosign `.sig` object: an OCI manifest whose layers are signed payloads, each carrying its signature as an annotation. */
import { DistillError } from '../../errors.js';
import { digestOf, parseDigest } from '../digest.js';
import type { Descriptor } from '../image.js';
import { parseImageManifest } from '../manifest.js';
import { MediaType } from '../media-types.js';
import { SIMPLE_SIGNING_MEDIA_TYPE } from './payload.js';

/** Layer annotation holding the base64 signature (the name cosign reads). */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Most signatures one `.sig` manifest may hold before we refuse to read it (hostile registries). */
export const MAX_SIGNATURE_LAYERS = 256;

/** Tag under which cosign stores the signatures of `digest`: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  const parsed = parseDigest(digest, 'image digest');
  return `${parsed.algorithm}-${parsed.hex}.sig`;
}

export interface SignatureLayer {
  /** Descriptor of the payload blob. */
  payload: Descriptor;
  /** Base64 DER signature from the annotation; undefined when the layer carries none. */
  signature: string | undefined;
}

export interface BuiltSignatureManifest {
  manifest: Buffer;
  config: Buffer;
  /** The blobs to upload before the manifest: config and any new payloads. */
  blobs: { digest: string; data: Buffer }[];
}

/** Reads the layers of a `.sig` manifest (manifest bytes from the registry). */
export function parseSignatureManifest(data: Buffer, subject = 'signature manifest'): SignatureLayer[] {
  const manifest = parseImageManifest(data, subject);
  if (manifest.layers.length > MAX_SIGNATURE_LAYERS) {
    throw new DistillError('MANIFEST_INVALID', `${subject}: ${manifest.layers.length} layers exceeds the ${MAX_SIGNATURE_LAYERS}-signature limit`, { subject });
  }
  return manifest.layers.map((layer) => ({ payload: layer, signature: layer.annotations?.[SIGNATURE_ANNOTATION] }));
}

/**
 * The `.sig` manifest with one more signed payload. Existing layers (another key's signatures) are kept, as
 * cosign does; the same payload signed again with the same signature is not duplicated.
 */
export function buildSignatureManifest(existing: readonly SignatureLayer[], payload: Buffer, signature: string): BuiltSignatureManifest {
  const payloadDigest = digestOf(payload);
  const layers: Descriptor[] = existing.map((layer) => ({
    ...layer.payload,
    ...(layer.signature === undefined ? {} : { annotations: { ...layer.payload.annotations, [SIGNATURE_ANNOTATION]: layer.signature } }),
  }));
  const duplicate = existing.some((layer) => layer.payload.digest === payloadDigest && layer.signature === signature);
  if (!duplicate) layers.push({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: payloadDigest, annotations: { [SIGNATURE_ANNOTATION]: signature } });
  // An image config whose diff_ids are the payloads, as cosign's (go-containerregistry) signature image has:
  // tools that insist on a runnable-looking config can still read the object.
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
    'utf8',
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, size: config.length, digest: digestOf(config) },
      layers: layers.map((layer) => ({
        mediaType: layer.mediaType,
        size: layer.size,
        digest: layer.digest,
        ...(layer.annotations === undefined ? {} : { annotations: layer.annotations }),
      })),
    }),
    'utf8',
  );
  const blobs: { digest: string; data: Buffer }[] = [{ digest: digestOf(config), data: config }];
  if (!duplicate) blobs.push({ digest: payloadDigest, data: payload });
  return { manifest, config, blobs };
}
