/** @module catalog/cataloger — the cataloger contract: which files it reads, and a parser over a resolver. */
import type { Issue } from '../errors.js';
import type { FileEntry } from '../filesystem/file-entry.js';
import type { FileResolver } from '../filesystem/file-resolver.js';
import type { LinuxRelease, Package, Relationship } from '../sbom/package.js';

export interface CatalogContext {
  resolver: FileResolver;
  /** The image's OS, found before language catalogers run. */
  release: LinuxRelease | undefined;
  /** Maps an image path to the layer digest that added the visible version (for Location.layerDigest). */
  layerDigestOf(path: string): string | undefined;
}

export interface CatalogResult {
  packages: Package[];
  relationships: Relationship[];
  issues: Issue[];
}

/**
 * A small declarative unit: the globs it needs content for (captured during the single layer pass), an
 * optional metadata selector for files that no glob can name (e.g. ELF executables), and a parser.
 * A parse failure is an Issue tied to its file, never an abort.
 */
export interface Cataloger {
  readonly name: string;
  /** `os` catalogers run first; `language` catalogers skip files owned by OS packages. */
  readonly kind: 'os' | 'language';
  /** Globs (picomatch, absolute image paths) whose content this cataloger reads. */
  readonly globs: readonly string[];
  /** Extra files to read, chosen from metadata only (path, mode, size, magic). */
  selects?(entry: FileEntry): boolean;
  catalog(context: CatalogContext): Promise<CatalogResult>;
}
