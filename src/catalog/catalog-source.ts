/** @module catalog/catalog-source — reference → image or directory → layer index → resolver → catalogers → Sbom. */
import type { Issue } from '../errors.js';
import type { ProgressListener } from '../events.js';
import type { FileEntry } from '../filesystem/file-entry.js';
import type { FileResolver } from '../filesystem/file-resolver.js';
import { openDirectory } from '../filesystem/directory-resolver.js';
import { indexLayer, type LayerIndex } from '../filesystem/layer-index.js';
import { squash } from '../filesystem/squashed-resolver.js';
import { allLayers } from '../filesystem/all-layers-resolver.js';
import type { Image, Layer } from '../oci/image.js';
import { openImage } from '../oci/open-image.js';
import { parseReference } from '../oci/reference.js';
import type { Platform } from '../oci/platform.js';
import { cpesFor } from '../sbom/cpe.js';
import { withRelationships } from '../sbom/package-id.js';
import type { Package, Sbom, SbomSubject } from '../sbom/package.js';
import type { Cataloger } from './cataloger.js';
import { apkCataloger } from './apk/apk-cataloger.js';
import { dpkgCataloger } from './dpkg/dpkg-cataloger.js';
import { languageCatalogers } from './language.js';
import { captureSelector, runCatalogers } from './runner.js';

/** Every cataloger distill ships, OS ones first. */
export const defaultCatalogers: readonly Cataloger[] = [dpkgCataloger, apkCataloger, ...languageCatalogers];

export interface CatalogSourceOptions {
  /** Image to pick from a multi-platform index. */
  platform?: Platform;
  /** Used when the index holds several platforms and none was asked for (the CLI passes the host's). */
  defaultPlatform?: Platform;
  /** `squashed` (default): what a container sees. `all-layers`: also files that later layers deleted. */
  scope?: 'squashed' | 'all-layers';
  catalogers?: readonly Cataloger[];
  onProgress?: ProgressListener;
  /** SBOM timestamp (pin it for reproducible output). */
  now?: Date;
  tool?: { name: string; version: string };
  /** Layers indexed at once; decompression runs on libuv threads, so 2 keeps both cores busy. */
  concurrency?: number;
}

/** Catalogs whatever the reference names: `oci:`, `oci-archive:`, `docker-archive:`, `dir:` or a bare path. */
export async function catalogSource(reference: string, options: CatalogSourceOptions = {}): Promise<Sbom> {
  const parsed = parseReference(reference);
  if (parsed.transport === 'dir') {
    const resolver = await openDirectory(parsed.path);
    options.onProgress?.({ kind: 'source-opened', reference, transport: 'dir' });
    return catalogResolver(resolver, { reference, transport: 'dir', layers: [], tags: [] }, () => undefined, [], options);
  }
  const image = await openImage(reference, { platform: options.platform, defaultPlatform: options.defaultPlatform });
  try {
    return await catalogImage(image, options);
  } finally {
    await image.close();
  }
}

/** Catalogs an opened image: one streaming pass per layer, then the catalogers over the squashed (or all-layers) view. */
export async function catalogImage(image: Image, options: CatalogSourceOptions = {}): Promise<Sbom> {
  const catalogers = options.catalogers ?? defaultCatalogers;
  options.onProgress?.({ kind: 'source-opened', reference: image.reference, transport: image.transport });
  const [layers, config, digest, tags] = await Promise.all([image.layers(), image.config(), image.digest(), image.tags()]);
  const manifest = await image.manifest();
  const capture = captureSelector(catalogers);
  const indexes = await indexLayers(layers, capture, options);
  const openLayer = async (index: number) => layers[index]!.uncompressed();
  const resolver = options.scope === 'all-layers' ? allLayers(indexes, { openLayer }) : squash(indexes, { openLayer });
  const layerDigests = layers.map((layer) => layer.diffId ?? layer.digest);
  const layerDigestOf = (path: string) => {
    const entry = resolver.lstat(path);
    return entry === undefined || entry.layer < 0 ? undefined : layerDigests[entry.layer];
  };
  const platform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  const subject: SbomSubject = { reference: image.reference, transport: image.transport, digest, configDigest: manifest.config.digest, platform, layers: layerDigests, tags };
  const layerIssues = indexes.flatMap((index) => index.issues);
  return catalogResolver(resolver, subject, layerDigestOf, layerIssues, options);
}

async function indexLayers(layers: readonly Layer[], capture: (entry: FileEntry) => boolean, options: CatalogSourceOptions): Promise<LayerIndex[]> {
  const results: LayerIndex[] = new Array(layers.length);
  let next = 0;
  const worker = async () => {
    while (next < layers.length) {
      const index = next++;
      const layer = layers[index]!;
      options.onProgress?.({ kind: 'layer-start', index, count: layers.length, digest: layer.digest, size: layer.size });
      const tar = await layer.uncompressed();
      results[index] = await indexLayer(countBytes(tar, index, layer.size, options.onProgress), { layer: index, capture, label: layer.digest });
      options.onProgress?.({ kind: 'layer-done', index, entries: results[index]!.entries.size });
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 2, layers.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Passes chunks through while reporting progress (progress is by uncompressed bytes against the stored size). */
async function* countBytes(source: AsyncIterable<Buffer>, index: number, size: number, onProgress: ProgressListener | undefined): AsyncIterable<Buffer> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.length;
    onProgress?.({ kind: 'layer-progress', index, bytes, size });
    yield chunk;
  }
}

async function catalogResolver(
  resolver: FileResolver,
  subject: SbomSubject,
  layerDigestOf: (path: string) => string | undefined,
  sourceIssues: Issue[],
  options: CatalogSourceOptions,
): Promise<Sbom> {
  const result = await runCatalogers(resolver, options.catalogers ?? defaultCatalogers, { layerDigestOf, onProgress: options.onProgress });
  // CPEs are derived in one place for every ecosystem, after the catalogers: they only know their own format.
  const packages = sortPackages(result.packages).map((pkg) => (pkg.cpes.length > 0 ? pkg : { ...pkg, cpes: cpesFor(pkg) }));
  return withRelationships({
    subject,
    ...(result.release ? { distro: result.release } : {}),
    packages,
    sourcePackages: [],
    relationships: result.relationships,
    issues: [...sourceIssues, ...result.issues],
    createdAt: (options.now ?? new Date()).toISOString(),
    tool: options.tool ?? { name: 'distill', version: '0.0.0' },
  });
}

function sortPackages(packages: Package[]): Package[] {
  const key = (pkg: Package) => `${pkg.type}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.locations[0]?.path ?? ''}`;
  return [...packages].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
