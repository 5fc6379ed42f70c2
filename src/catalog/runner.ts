/** @module catalog/runner — runs the release detector, OS catalogers, then language catalogers over one resolver. */
import picomatch from 'picomatch';
import { describeError, isIntegrityError, type Issue } from '../errors.js';
import type { ProgressListener } from '../events.js';
import type { FileEntry } from '../filesystem/file-entry.js';
import type { FileResolver } from '../filesystem/file-resolver.js';
import type { LinuxRelease, Package, Relationship } from '../sbom/package.js';
import type { Cataloger } from './cataloger.js';
import { detectRelease, RELEASE_GLOBS } from './linux-release.js';
import { hidePaths, ownedPaths } from './owned-files.js';

export interface RunCatalogersOptions {
  /** Layer digest that added the visible version of a path (undefined for directory sources). */
  layerDigestOf?: (path: string) => string | undefined;
  onProgress?: ProgressListener;
}

export interface RunCatalogersResult {
  release: LinuxRelease | undefined;
  packages: Package[];
  relationships: Relationship[];
  issues: Issue[];
}

/** A predicate over entries for the layer pass: true for every file some cataloger (or the release detector) reads. */
export function captureSelector(catalogers: readonly Cataloger[]): (entry: FileEntry) => boolean {
  const globs = [...RELEASE_GLOBS, ...catalogers.flatMap((cataloger) => cataloger.globs)];
  const matches = picomatch(globs, { dot: true });
  return (entry) => entry.type === 'file' && matches(entry.path);
}

export async function runCatalogers(
  resolver: FileResolver,
  catalogers: readonly Cataloger[],
  options: RunCatalogersOptions = {},
): Promise<RunCatalogersResult> {
  const issues: Issue[] = [];
  const detected = await detectRelease(resolver);
  issues.push(...detected.issues);
  const context = (view: FileResolver) => ({
    resolver: view,
    release: detected.release,
    layerDigestOf: options.layerDigestOf ?? (() => undefined),
  });

  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  const run = async (cataloger: Cataloger, view: FileResolver): Promise<Package[]> => {
    options.onProgress?.({ kind: 'catalog-start', cataloger: cataloger.name });
    try {
      const result = await cataloger.catalog(context(view));
      relationships.push(...result.relationships);
      issues.push(...result.issues.map((issue) => ({ source: cataloger.name, ...issue })));
      options.onProgress?.({ kind: 'catalog-done', cataloger: cataloger.name, packages: result.packages.length, issues: result.issues.length });
      return result.packages;
    } catch (error) {
      // A corrupt image aborts; anything else a cataloger trips over is recorded against it.
      if (isIntegrityError(error)) throw error;
      issues.push({ code: 'PARSE_FAILED', message: `${cataloger.name} failed: ${describeError(error)}`, source: cataloger.name });
      options.onProgress?.({ kind: 'catalog-done', cataloger: cataloger.name, packages: 0, issues: 1 });
      return [];
    }
  };

  for (const cataloger of catalogers.filter((c) => c.kind === 'os')) packages.push(...(await run(cataloger, resolver)));

  // Language catalogers never see files installed by OS packages, so nothing is reported twice.
  const owned = ownedPaths(packages, resolver);
  const languageView = hidePaths(resolver, owned);
  for (const cataloger of catalogers.filter((c) => c.kind === 'language')) {
    const found = await run(cataloger, languageView);
    packages.push(...found.filter((pkg) => !owned.has(pkg.locations[0]?.path ?? '')));
  }
  return { release: detected.release, packages, relationships, issues };
}
