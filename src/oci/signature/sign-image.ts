/** @module oci/signature/sign-image — sign an image in a registry the way `cosign sign --key` does, and verify it the way `cosign verify --key` does. */
import type { KeyObject } from 'node:crypto';
import { DistillError } from '../../errors.js';
import { MediaType } from '../media-types.js';
import { findManifest, pushBlobs, type ArtifactRegistry, type ManifestLocation, type RepositoryLocation } from '../artifacts/registry-port.js';
import { signPayload, verifyPayload } from './ecdsa.js';
import { encodeSimpleSigningPayload, MAX_PAYLOAD_SIZE, parseSimpleSigningPayload, SIMPLE_SIGNING_MEDIA_TYPE, SIMPLE_SIGNING_TYPE, type SimpleSigningPayload } from './payload.js';
import { buildSignatureManifest, parseSignatureManifest, signatureTag } from './signature-manifest.js';

export interface SignImageOptions {
  privateKey: KeyObject;
  /** `optional` claims in the payload (cosign `-a key=value`). */
  annotations?: Record<string, string>;
}

export interface SignImageResult {
  /** Digest of the signed manifest (or index). */
  digest: string;
  /** `registry/repository` written as critical.identity.docker-reference. */
  dockerReference: string;
  /** Where the signature manifest was pushed. */
  signatureReference: string;
  signatureManifestDigest: string;
  payload: Buffer;
  signature: string;
  /** Signatures in the `.sig` manifest after this one was added (other keys' included). */
  signatureCount: number;
}

export interface VerifiedSignature {
  payloadDigest: string;
  signature: string;
  claims: SimpleSigningPayload;
}

export interface VerifyImageResult {
  digest: string;
  signatureReference: string;
  /** Signatures that verify under the key and sign this digest. */
  verified: VerifiedSignature[];
  /** Why each other signature was rejected. */
  rejected: { payloadDigest: string; reason: string }[];
}

export interface VerifyImageOptions {
  publicKey: KeyObject;
  /** Claims every accepted signature must carry in `optional` (cosign verify `-a key=value`). */
  requireAnnotations?: Record<string, string>;
}

function repoOf(location: ManifestLocation): RepositoryLocation {
  return { registry: location.registry, repository: location.repository };
}

/** The repository as cosign names it in payloads (go-containerregistry spells Docker Hub `index.docker.io`). */
export function dockerReferenceOf(repo: RepositoryLocation): string {
  return `${repo.registry === 'docker.io' ? 'index.docker.io' : repo.registry}/${repo.repository}`;
}

async function resolveDigest(registry: ArtifactRegistry, image: ManifestLocation): Promise<string> {
  return (await registry.getManifest(image)).digest;
}

/**
 * Signs the manifest digest `image` resolves to: the simple-signing payload is uploaded as a layer of the
 * `sha256-<hex>.sig` manifest with its base64 ECDSA signature as the `dev.cosignproject.cosign/signature`
 * annotation. Signatures already there are kept.
 */
export async function signImage(registry: ArtifactRegistry, image: ManifestLocation, options: SignImageOptions): Promise<SignImageResult> {
  const digest = await resolveDigest(registry, image);
  const repo = repoOf(image);
  const dockerReference = dockerReferenceOf(repo);
  const payload = encodeSimpleSigningPayload({ dockerReference, manifestDigest: digest, optional: options.annotations ?? null });
  const signature = signPayload(options.privateKey, payload);
  const tag = signatureTag(digest);
  const existing = await findManifest(registry, { ...repo, tag }, [MediaType.ociManifest, MediaType.dockerManifest]);
  const signatureReference = `${repo.registry}/${repo.repository}:${tag}`;
  const layers = existing === undefined ? [] : parseSignatureManifest(existing.data, signatureReference);
  const built = buildSignatureManifest(layers, payload, signature);
  await pushBlobs(registry, repo, built.blobs);
  const signatureManifestDigest = await registry.putManifest(repo, tag, built.manifest, MediaType.ociManifest);
  const signatureCount = JSON.parse(built.manifest.toString('utf8')).layers.length as number;
  return { digest, dockerReference, signatureReference, signatureManifestDigest, payload, signature, signatureCount };
}

/**
 * Verifies `image` against `publicKey`: finds `sha256-<hex>.sig` for the digest the reference resolves to
 * now, checks each payload's signature, then that the payload signs exactly that digest with cosign's type.
 * Throws SIGNATURE_NOT_FOUND when there is no signature object, SIGNATURE_INVALID (with every reason) when
 * none passes.
 */
export async function verifyImage(registry: ArtifactRegistry, image: ManifestLocation, options: VerifyImageOptions): Promise<VerifyImageResult> {
  const digest = await resolveDigest(registry, image);
  const repo = repoOf(image);
  const tag = signatureTag(digest);
  const signatureReference = `${repo.registry}/${repo.repository}:${tag}`;
  const existing = await findManifest(registry, { ...repo, tag }, [MediaType.ociManifest, MediaType.dockerManifest]);
  if (existing === undefined) {
    throw new DistillError('SIGNATURE_NOT_FOUND', `no signature for ${repo.registry}/${repo.repository}@${digest}: ${signatureReference} does not exist`, { subject: signatureReference });
  }
  const layers = parseSignatureManifest(existing.data, signatureReference);
  const verified: VerifiedSignature[] = [];
  const rejected: { payloadDigest: string; reason: string }[] = [];
  for (const layer of layers) {
    const payloadDigest = layer.payload.digest;
    if (layer.payload.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    if (layer.signature === undefined) {
      rejected.push({ payloadDigest, reason: 'layer has no dev.cosignproject.cosign/signature annotation' });
      continue;
    }
    if (layer.payload.size > MAX_PAYLOAD_SIZE) {
      rejected.push({ payloadDigest, reason: `payload of ${layer.payload.size} bytes exceeds the ${MAX_PAYLOAD_SIZE}-byte limit` });
      continue;
    }
    const payload = await registry.readBlob(repo, layer.payload, MAX_PAYLOAD_SIZE);
    if (!verifyPayload(options.publicKey, payload, layer.signature)) {
      rejected.push({ payloadDigest, reason: 'the signature does not verify under this public key (other key, or payload/signature altered)' });
      continue;
    }
    let claims: SimpleSigningPayload;
    try {
      claims = parseSimpleSigningPayload(payload);
    } catch (error) {
      rejected.push({ payloadDigest, reason: (error as Error).message });
      continue;
    }
    if (claims.manifestDigest !== digest) {
      rejected.push({ payloadDigest, reason: `the payload signs ${claims.manifestDigest}, but ${image.tag ?? image.digest ?? ''} now resolves to ${digest}` });
      continue;
    }
    if (claims.type !== SIMPLE_SIGNING_TYPE) {
      rejected.push({ payloadDigest, reason: `payload type is ${JSON.stringify(claims.type)}, not "${SIMPLE_SIGNING_TYPE}"` });
      continue;
    }
    const missing = Object.entries(options.requireAnnotations ?? {}).filter(([key, value]) => claims.optional?.[key] !== value);
    if (missing.length > 0) {
      rejected.push({ payloadDigest, reason: `payload lacks the required annotation(s) ${missing.map(([key, value]) => `${key}=${value}`).join(', ')}` });
      continue;
    }
    verified.push({ payloadDigest, signature: layer.signature, claims });
  }
  if (verified.length === 0) {
    const reasons = rejected.length === 0 ? 'it holds no simple-signing payloads' : rejected.map((item) => `${item.payloadDigest.slice(0, 19)}…: ${item.reason}`).join('; ');
    throw new DistillError('SIGNATURE_INVALID', `no valid signature for ${repo.registry}/${repo.repository}@${digest} in ${signatureReference}: ${reasons}`, { subject: signatureReference });
  }
  return { digest, signatureReference, verified, rejected };
}
