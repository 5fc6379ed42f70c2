/** @module sbom/package-id — deterministic package ids, source packages, and the SBOM relationship graph. */
import { createHash } from 'node:crypto';
import type { LinuxRelease, Location, Package, Relationship, Sbom, SourcePackage } from './package.js';
import { apkOriginPurl, debSourcePurl } from './purl.js';

/** The element id of the scanned image in `Relationship.from`/`to`. */
export const SUBJECT_ID = 'image';

function shortHash(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * `pkg-<16 hex>`: sha256 of the purl and the first location (path and layer), so the same package found
 * in the same file of the same layer gets the same id in every run, and two copies at different paths differ.
 */
export function packageId(pkg: { purl: string; locations: readonly Location[] }): string {
  const first = pkg.locations[0];
  return `pkg-${shortHash(pkg.purl, first?.path ?? '', first?.layerDigest ?? '')}`;
}

/** `src-<16 hex>` from the source package purl. */
export function sourcePackageId(purl: string): string {
  return `src-${shortHash(purl)}`;
}

/**
 * Fills empty ids with packageId() and makes colliding ids unique by suffixing `-2`, `-3`, … in input
 * order. Returns new package objects; the input is not mutated.
 */
export function assignPackageIds<P extends Package>(packages: readonly P[]): P[] {
  const seen = new Set<string>();
  return packages.map((pkg) => {
    const base = pkg.id || packageId(pkg);
    let id = base;
    for (let n = 2; seen.has(id); n++) id = `${base}-${n}`;
    seen.add(id);
    return id === pkg.id ? pkg : { ...pkg, id };
  });
}

/** The source package a binary package was built from, or undefined for ecosystems without one. */
export function sourceOf(pkg: Package, release?: LinuxRelease): SourcePackage | undefined {
  if (pkg.type === 'deb') {
    const name = pkg.sourceName || pkg.name;
    const version = pkg.sourceVersion || pkg.version;
    const purl = debSourcePurl(name, version, release);
    return { id: sourcePackageId(purl), name, version, purl };
  }
  if (pkg.type === 'apk') {
    const name = pkg.origin || pkg.name;
    const purl = apkOriginPurl(name, pkg.version, release);
    return { id: sourcePackageId(purl), name, version: pkg.version, purl };
  }
  return undefined;
}

/** Source packages of all deb/apk packages, deduplicated by purl, sorted by name then version then purl. */
export function deriveSourcePackages(packages: readonly Package[], release?: LinuxRelease): SourcePackage[] {
  const byPurl = new Map<string, SourcePackage>();
  for (const pkg of packages) {
    const source = sourceOf(pkg, release);
    if (source && !byPurl.has(source.purl)) byPurl.set(source.purl, source);
  }
  return sortSources([...byPurl.values()]);
}

function sortSources(sources: SourcePackage[]): SourcePackage[] {
  return sources.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.version, b.version) || compareStrings(a.purl, b.purl));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const TYPE_ORDER: Record<Relationship['type'], number> = { contains: 0, 'built-from': 1, 'depends-on': 2 };

/** Orders relationships by type, then from, then to (the order every format writes them in). */
export function compareRelationships(a: Relationship, b: Relationship): number {
  return TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || compareStrings(a.from, b.from) || compareStrings(a.to, b.to);
}

/**
 * The relationship graph of an SBOM: `image contains <package>` for every package, `<binary> built-from
 * <source>` for deb/apk packages (source packages derived from sourceName/sourceVersion and origin,
 * deduplicated), plus the document's existing `depends-on` edges whose ends both exist. Sorted, no duplicates.
 */
export function buildRelationships(sbom: Pick<Sbom, 'packages' | 'relationships' | 'distro'>): {
  sourcePackages: SourcePackage[];
  relationships: Relationship[];
} {
  // Building a purl is the expensive part: one per distinct (type, source name, version).
  const memo = new Map<string, SourcePackage | undefined>();
  const sourceFor = (pkg: Package): SourcePackage | undefined => {
    const key = pkg.type === 'deb' ? `deb\0${pkg.sourceName || pkg.name}\0${pkg.sourceVersion || pkg.version}` : pkg.type === 'apk' ? `apk\0${pkg.origin || pkg.name}\0${pkg.version}` : '';
    if (key === '') return undefined;
    if (!memo.has(key)) memo.set(key, sourceOf(pkg, sbom.distro));
    return memo.get(key);
  };
  const edges = new Map<string, Relationship>();
  const add = (relationship: Relationship): void => {
    edges.set(`${relationship.type}\0${relationship.from}\0${relationship.to}`, relationship);
  };
  for (const pkg of sbom.packages) {
    add({ from: SUBJECT_ID, to: pkg.id, type: 'contains' });
    const source = sourceFor(pkg);
    if (source) add({ from: pkg.id, to: source.id, type: 'built-from' });
  }
  const sourcePackages = sortSources([...new Map([...memo.values()].filter((s): s is SourcePackage => s !== undefined).map((s) => [s.purl, s])).values()]);
  const ids = new Set<string>([SUBJECT_ID, ...sbom.packages.map((p) => p.id), ...sourcePackages.map((s) => s.id)]);
  for (const relationship of sbom.relationships) {
    if (relationship.type === 'depends-on' && ids.has(relationship.from) && ids.has(relationship.to)) add(relationship);
  }
  return { sourcePackages, relationships: [...edges.values()].sort(compareRelationships) };
}

/** The SBOM with ids assigned and sourcePackages/relationships rebuilt by buildRelationships(). */
export function withRelationships(sbom: Sbom): Sbom {
  const packages = assignPackageIds(sbom.packages);
  const { sourcePackages, relationships } = buildRelationships({ ...sbom, packages });
  return { ...sbom, packages, sourcePackages, relationships };
}
