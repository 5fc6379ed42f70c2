/** @module oci/artifacts/attach — attach SBOM, VEX and provenance documents to an image as OCI artifacts, list them (referrers API, else the tag fallback) and fetch them back. */
import { DistillError, isDistillError } from '../../errors.js';
import type { Descriptor } from '../image.js';
import { MediaType } from '../media-types.js';
import { classifyDocument, kindOfArtifactType, MAX_DOCUMENT_SIZE, type ArtifactKind } from './artifact-kinds.js';
import { buildArtifactManifest, CREATED_ANNOTATION, KIND_ANNOTATION, parseArtifactManifest, TITLE_ANNOTATION, type ReferrerDescriptor } from './artifact-manifest.js';
import { mergeReferrersIndex, parseReferrersIndex, referrersTag } from './referrers-index.js';
import { findManifest, pushBlobs, type ArtifactRegistry, type ManifestLocation, type RepositoryLocation } from './registry-port.js';

/** How referrers were found: the registry's referrers API, or the `sha256-<hex>` tag index. */
export type Discovery = 'referrers-api' | 'tag-fallback';

export interface AttachOptions {
  kind: ArtifactKind;
  document: Buffer;
  /** File name recorded as org.opencontainers.image.title. */
  title?: string;
  /** Recorded as org.opencontainers.image.created (pin it for reproducible artifacts). */
  created?: Date;
  /** Manifest form; default tries OCI 1.1 `artifactType` and falls back to the config media type if refused. */
  form?: 'artifactType' | 'config';
}

export interface AttachResult {
  /** The image manifest (or index) the artifact refers to. */
  subject: Descriptor;
  artifact: ReferrerDescriptor;
  format: string;
  form: 'artifactType' | 'config';
  discovery: Discovery;
  /** The fallback tag that was updated, when the registry lacks the referrers API. */
  fallbackTag?: string;
}

export interface ArtifactEntry {
  digest: string;
  size: number;
  artifactType: string | undefined;
  kind: ArtifactKind | undefined;
  created: string | undefined;
  title: string | undefined;
  annotations: Record<string, string>;
}

export interface ArtifactListing {
  subject: Descriptor;
  discovery: Discovery;
  artifacts: ArtifactEntry[];
}

export interface FetchedArtifact {
  entry: ArtifactEntry;
  mediaType: string;
  document: Buffer;
}

function repoOf(location: ManifestLocation): RepositoryLocation {
  return { registry: location.registry, repository: location.repository };
}

/** The descriptor of the manifest (or index) a reference names. */
export async function resolveSubject(registry: ArtifactRegistry, image: ManifestLocation): Promise<Descriptor> {
  const manifest = await registry.getManifest(image);
  return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
}

async function fallbackEntries(registry: ArtifactRegistry, repo: RepositoryLocation, subjectDigest: string): Promise<ReferrerDescriptor[]> {
  const tag = referrersTag(subjectDigest);
  const existing = await findManifest(registry, { ...repo, tag }, [MediaType.ociIndex]);
  if (existing === undefined) return [];
  return parseReferrersIndex(existing.data, `${repo.registry}/${repo.repository}:${tag}`);
}

/** Referrers of `subjectDigest`: from the referrers API when the registry has it, else from the fallback tag. */
export async function listReferrers(registry: ArtifactRegistry, repo: RepositoryLocation, subjectDigest: string): Promise<{ discovery: Discovery; referrers: ReferrerDescriptor[] }> {
  const index = await registry.referrers(repo, subjectDigest);
  if (index !== undefined) return { discovery: 'referrers-api', referrers: parseReferrersIndex(Buffer.from(JSON.stringify(index)), `referrers of ${subjectDigest}`) };
  return { discovery: 'tag-fallback', referrers: await fallbackEntries(registry, repo, subjectDigest) };
}

/** Adds an artifact to the fallback index of its subject (only for registries without the referrers API). */
async function recordInFallbackIndex(registry: ArtifactRegistry, repo: RepositoryLocation, subjectDigest: string, descriptor: ReferrerDescriptor): Promise<string> {
  const tag = referrersTag(subjectDigest);
  const entries = await fallbackEntries(registry, repo, subjectDigest);
  await registry.putManifest(repo, tag, mergeReferrersIndex(entries, descriptor), MediaType.ociIndex);
  return tag;
}

/**
 * Pushes `document` as an artifact whose `subject` is the image's manifest descriptor, then makes it
 * discoverable: a registry with the referrers API indexes it by itself; otherwise the `sha256-<hex>` tag
 * index is updated (read, merged, written back).
 */
export async function attachArtifact(registry: ArtifactRegistry, image: ManifestLocation, options: AttachOptions): Promise<AttachResult> {
  const classified = classifyDocument(options.kind, options.document, options.title ?? options.kind);
  const subject = await resolveSubject(registry, image);
  const repo = repoOf(image);
  const annotations: Record<string, string> = { [KIND_ANNOTATION]: options.kind };
  if (options.created !== undefined) annotations[CREATED_ANNOTATION] = options.created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (options.title !== undefined) annotations[TITLE_ANNOTATION] = options.title;
  const forms: ('artifactType' | 'config')[] = options.form === undefined ? ['artifactType', 'config'] : [options.form];
  let lastError: unknown;
  for (const form of forms) {
    const built = buildArtifactManifest({ artifactType: classified.mediaType, document: options.document, subject, annotations, form });
    await pushBlobs(registry, repo, built.blobs);
    try {
      await registry.putManifest(repo, built.digest, built.manifest, MediaType.ociManifest);
    } catch (error) {
      // Registries older than OCI 1.1 may refuse the empty config or the artifactType field: retry the pre-1.1 form.
      if (isDistillError(error, 'REGISTRY_ERROR') || isDistillError(error, 'MANIFEST_INVALID')) {
        lastError = error;
        continue;
      }
      throw error;
    }
    const api = await registry.referrers(repo, subject.digest);
    if (api !== undefined) return { subject, artifact: built.descriptor, format: classified.format, form, discovery: 'referrers-api' };
    const fallbackTag = await recordInFallbackIndex(registry, repo, subject.digest, built.descriptor);
    return { subject, artifact: built.descriptor, format: classified.format, form, discovery: 'tag-fallback', fallbackTag };
  }
  throw lastError;
}

function entryOf(descriptor: ReferrerDescriptor): ArtifactEntry {
  const annotations = descriptor.annotations ?? {};
  const declared = annotations[KIND_ANNOTATION];
  const kind = declared === 'sbom' || declared === 'vex' || declared === 'provenance' ? declared : kindOfArtifactType(descriptor.artifactType);
  return { digest: descriptor.digest, size: descriptor.size, artifactType: descriptor.artifactType, kind, created: annotations[CREATED_ANNOTATION], title: annotations[TITLE_ANNOTATION], annotations };
}

/** The artifacts attached to an image, optionally only one kind. */
export async function listArtifacts(registry: ArtifactRegistry, image: ManifestLocation, filter: { kind?: ArtifactKind } = {}): Promise<ArtifactListing> {
  const subject = await resolveSubject(registry, image);
  const { discovery, referrers } = await listReferrers(registry, repoOf(image), subject.digest);
  const artifacts = referrers.map(entryOf).filter((entry) => filter.kind === undefined || entry.kind === filter.kind);
  return { subject, discovery, artifacts };
}

/**
 * Fetches one listed artifact's document. The artifact manifest must name the same subject: an index entry
 * (anyone with push access can write the fallback tag) cannot smuggle in another image's documents.
 */
export async function fetchArtifact(registry: ArtifactRegistry, image: ManifestLocation, subject: Descriptor, entry: ArtifactEntry): Promise<FetchedArtifact> {
  const repo = repoOf(image);
  const manifest = await registry.getManifest({ ...repo, digest: entry.digest }, [MediaType.ociManifest]);
  const parsed = parseArtifactManifest(manifest.data, `${repo.registry}/${repo.repository}@${entry.digest}`);
  if (parsed.subject?.digest !== subject.digest) {
    throw new DistillError('MANIFEST_INVALID', `artifact ${entry.digest} refers to ${parsed.subject?.digest ?? 'no subject'}, not to ${subject.digest}`, { subject: entry.digest });
  }
  const layer = parsed.layers[0];
  if (parsed.layers.length !== 1 || layer === undefined) throw new DistillError('MANIFEST_INVALID', `artifact ${entry.digest} has ${parsed.layers.length} layers, expected one document`, { subject: entry.digest });
  const document = await registry.readBlob(repo, layer, MAX_DOCUMENT_SIZE);
  return { entry, mediaType: layer.mediaType, document };
}

/** Every attached document of one kind (oldest first by creation annotation), e.g. all VEX documents for `scan --vex attached`. */
export async function fetchArtifactsOfKind(registry: ArtifactRegistry, image: ManifestLocation, kind: ArtifactKind): Promise<{ listing: ArtifactListing; documents: FetchedArtifact[] }> {
  const listing = await listArtifacts(registry, image, { kind });
  const ordered = [...listing.artifacts].sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''));
  const documents: FetchedArtifact[] = [];
  for (const entry of ordered) documents.push(await fetchArtifact(registry, image, listing.subject, entry));
  return { listing, documents };
}
