/** @module oci/artifacts/registry-port — the part of the registry client that attaching and signing use (oci/registry's RegistryClient provides it), plus not-found-as-undefined helpers. */
import { isDistillError } from '../../errors.js';
import type { Descriptor } from '../image.js';
import type { ImageIndex } from '../manifest.js';

export interface RepositoryLocation {
  registry: string;
  repository: string;
}

export interface ManifestLocation extends RepositoryLocation {
  tag?: string;
  digest?: string;
}

export interface FetchedManifestBytes {
  digest: string;
  mediaType: string;
  size: number;
  data: Buffer;
}

/** What artifacts and signatures need from a distribution client; `RegistryClient` satisfies it structurally. */
export interface ArtifactRegistry {
  /** Throws TAG_NOT_FOUND / MANIFEST_NOT_FOUND when absent; digest-verified. */
  getManifest(reference: ManifestLocation, accept?: readonly string[]): Promise<FetchedManifestBytes>;
  putManifest(repo: RepositoryLocation, reference: string, data: Buffer, mediaType: string): Promise<string>;
  /** Digest-verified, at most `maxSize` bytes. */
  readBlob(repo: RepositoryLocation, descriptor: Pick<Descriptor, 'digest' | 'size'>, maxSize: number): Promise<Buffer>;
  pushBlob(repo: RepositoryLocation, descriptor: Pick<Descriptor, 'digest' | 'size'>, content: Buffer): Promise<unknown>;
  /** The referrers API answer, or undefined when the registry lacks the API. */
  referrers(repo: RepositoryLocation, digest: string, artifactType?: string): Promise<ImageIndex | undefined>;
}

/** A manifest by tag or digest, or undefined when the registry has none there. */
export async function findManifest(registry: ArtifactRegistry, reference: ManifestLocation, accept?: readonly string[]): Promise<FetchedManifestBytes | undefined> {
  try {
    return await registry.getManifest(reference, accept);
  } catch (error) {
    if (isDistillError(error, 'TAG_NOT_FOUND') || isDistillError(error, 'MANIFEST_NOT_FOUND')) return undefined;
    throw error;
  }
}

/** Uploads blobs (the client skips those the repository has). */
export async function pushBlobs(registry: ArtifactRegistry, repo: RepositoryLocation, blobs: readonly { digest: string; data: Buffer }[]): Promise<void> {
  for (const blob of blobs) await registry.pushBlob(repo, { digest: blob.digest, size: blob.data.length }, blob.data);
}
