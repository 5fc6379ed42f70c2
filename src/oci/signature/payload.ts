/** @module oci/signature/payload — cosign's simple-signing payload: what a container image signature signs, written byte-for-byte as cosign writes it. */
import { DistillError } from '../../errors.js';
import { parseDigest } from '../digest.js';

/** The `critical.type` cosign writes and checks. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
/** Media type of the payload layer in a `.sig` manifest. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Signed payloads larger than this are refused (real ones are a few hundred bytes). */
export const MAX_PAYLOAD_SIZE = 128 * 1024;

export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: the repository the image was signed in, e.g. `127.0.0.1:5000/team/app`. */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`: the digest of the signed manifest. */
  manifestDigest: string;
  /** `critical.type`. */
  type: string;
  /** `optional`: free-form annotations (cosign `-a key=value`), null when none. */
  optional: Record<string, unknown> | null;
}

/**
 * JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, map keys sorted. cosign
 * marshals the payload with Go, so the same claims give the same bytes (and the same signature input).
 */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => goJson(item)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${goJson(key)}:${goJson(item)}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode ${typeof value} as JSON`);
}

/** The payload bytes to sign for an image manifest digest in a repository (field order as cosign's struct). */
export function encodeSimpleSigningPayload(input: { dockerReference: string; manifestDigest: string; optional?: Record<string, unknown> | null }): Buffer {
  parseDigest(input.manifestDigest, 'manifest digest');
  const optional = input.optional === undefined || input.optional === null || Object.keys(input.optional).length === 0 ? null : input.optional;
  // Struct fields keep their declaration order in Go (only maps are sorted), so `critical` is spelled out.
  const critical =
    `{"identity":{"docker-reference":${goJson(input.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJson(input.manifestDigest)}},` +
    `"type":${goJson(SIMPLE_SIGNING_TYPE)}}`;
  return Buffer.from(`{"critical":${critical},"optional":${goJson(optional)}}`, 'utf8');
}

function invalid(message: string): DistillError {
  return new DistillError('SIGNATURE_INVALID', `signed payload: ${message}`, { subject: 'payload' });
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${path} must be an object`);
  return value as Record<string, unknown>;
}

/** Parses a signed payload (only after its signature verified); shape errors are SIGNATURE_INVALID. */
export function parseSimpleSigningPayload(data: Buffer): SimpleSigningPayload {
  if (data.length > MAX_PAYLOAD_SIZE) throw invalid(`${data.length} bytes exceeds the ${MAX_PAYLOAD_SIZE}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  const root = objectAt(json, 'payload');
  const critical = objectAt(root.critical, 'critical');
  const identity = objectAt(critical.identity, 'critical.identity');
  const image = objectAt(critical.image, 'critical.image');
  const dockerReference = identity['docker-reference'];
  const manifestDigest = image['docker-manifest-digest'];
  const type = critical.type;
  if (typeof dockerReference !== 'string') throw invalid('critical.identity.docker-reference must be a string');
  if (typeof manifestDigest !== 'string') throw invalid('critical.image.docker-manifest-digest must be a string');
  if (typeof type !== 'string') throw invalid('critical.type must be a string');
  const optional = root.optional === undefined || root.optional === null ? null : objectAt(root.optional, 'optional');
  return { dockerReference, manifestDigest, type, optional };
}
