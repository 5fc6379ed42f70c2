/** @module oci/artifacts/referrers-index — the referrers list: the OCI 1.1 referrers API answer and the `sha256-<hex>` tag fallback index for registries without it. */
import { DistillError } from '../../errors.js';
import { parseDigest } from '../digest.js';
import { isObject, parseDescriptor, parseJson } from '../manifest.js';
import { MediaType } from '../media-types.js';
import type { ReferrerDescriptor } from './artifact-manifest.js';

/** A fallback index listing more referrers than this is refused (a hostile or runaway registry). */
export const MAX_REFERRERS = 10_000;

/** The tag the referrers tag schema uses for `digest`: `<alg>-<hex>` (OCI distribution spec 1.1). */
export function referrersTag(digest: string): string {
  const parsed = parseDigest(digest, 'subject digest');
  return `${parsed.algorithm}-${parsed.hex}`;
}

/** Parses a referrers list (an OCI image index), keeping each entry's artifactType. */
export function parseReferrersIndex(data: Buffer, subject = 'referrers index'): ReferrerDescriptor[] {
  const object = parseJson(data, subject);
  if (!isObject(object)) throw new DistillError('MANIFEST_INVALID', `${subject}: must be a JSON object`, { subject });
  if (object.mediaType !== undefined && object.mediaType !== MediaType.ociIndex) {
    throw new DistillError('UNSUPPORTED_MEDIA_TYPE', `${subject}: media type ${String(object.mediaType)} is not an OCI image index`, { subject });
  }
  if (!Array.isArray(object.manifests)) throw new DistillError('MANIFEST_INVALID', `${subject}: manifests must be an array`, { subject });
  if (object.manifests.length > MAX_REFERRERS) throw new DistillError('MANIFEST_INVALID', `${subject}: more than ${MAX_REFERRERS} referrers`, { subject });
  return object.manifests.map((entry: unknown, i) => {
    const descriptor: ReferrerDescriptor = parseDescriptor(entry, subject, `manifests[${i}]`);
    const artifactType = isObject(entry) ? entry.artifactType : undefined;
    if (artifactType !== undefined && typeof artifactType !== 'string') throw new DistillError('MANIFEST_INVALID', `${subject}: manifests[${i}].artifactType must be a string`, { subject });
    if (artifactType !== undefined) descriptor.artifactType = artifactType;
    return descriptor;
  });
}

/** The fallback index with `added` in it (replacing an entry of the same digest), entries in a stable order. */
export function mergeReferrersIndex(existing: readonly ReferrerDescriptor[], added: ReferrerDescriptor): Buffer {
  const manifests = existing.filter((entry) => entry.digest !== added.digest);
  manifests.push(added);
  return encodeReferrersIndex(manifests);
}

/** The fallback index without the entry for `digest`. */
export function removeFromReferrersIndex(existing: readonly ReferrerDescriptor[], digest: string): Buffer {
  return encodeReferrersIndex(existing.filter((entry) => entry.digest !== digest));
}

function encodeReferrersIndex(manifests: readonly ReferrerDescriptor[]): Buffer {
  const entries = manifests.map((entry) => ({
    mediaType: entry.mediaType,
    digest: entry.digest,
    size: entry.size,
    ...(entry.artifactType === undefined ? {} : { artifactType: entry.artifactType }),
    ...(entry.annotations === undefined ? {} : { annotations: entry.annotations }),
  }));
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }), 'utf8');
}
