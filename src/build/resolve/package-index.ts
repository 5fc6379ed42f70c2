/** @module build/resolve/package-index — one architecture's view of a package index: real packages by name, virtual packages by provider. */
import { describeError, type Issue } from '../../errors.js';
import { debScheme } from '../../versions/deb.js';
import { parseProvides, parseRelations, relationsFor, type RelationGroup } from './relations.js';
import type { ResolverPackage } from './types.js';

export interface Provider {
  pkg: ResolverPackage;
  /** The provided version (`Provides: foo (= 1.2)`), absent for an unversioned provide. */
  version?: string;
}

export interface PackageIndex {
  readonly arch: string;
  /** Real packages by name, highest version first (ties keep input order). */
  readonly byName: ReadonlyMap<string, readonly ResolverPackage[]>;
  /** Provided (virtual or real) names → their providers, in input order. */
  readonly providers: ReadonlyMap<string, readonly Provider[]>;
  /** Records whose Provides could not be parsed (they stay installable, they just provide nothing). */
  readonly issues: readonly Issue[];
}

/** Builds the index for `arch`: packages of that architecture and `all`; others are ignored. */
export function buildIndex(packages: Iterable<ResolverPackage>, arch: string): PackageIndex {
  const byName = new Map<string, ResolverPackage[]>();
  const providers = new Map<string, Provider[]>();
  const issues: Issue[] = [];
  for (const pkg of packages) {
    if (pkg.architecture !== arch && pkg.architecture !== 'all') continue;
    let list = byName.get(pkg.name);
    if (list === undefined) byName.set(pkg.name, (list = []));
    list.push(pkg);
    if (pkg.provides !== undefined && pkg.provides.trim() !== '') {
      try {
        for (const p of parseProvides(pkg.provides, `${pkg.name} ${pkg.version}: Provides`)) {
          let pl = providers.get(p.name);
          if (pl === undefined) providers.set(p.name, (pl = []));
          pl.push(p.version === undefined ? { pkg } : { pkg, version: p.version });
        }
      } catch (error) {
        if (issues.length < 100) issues.push({ code: 'PARSE_FAILED', message: describeError(error), source: 'resolver' });
      }
    }
  }
  for (const list of byName.values()) if (list.length > 1) list.sort((a, b) => debScheme.compare(b.version, a.version));
  return { arch, byName, providers, issues };
}

/**
 * Merges several suites' packages (bookworm, bookworm-updates, bookworm-security) keeping, per name and
 * architecture, the highest version — what apt's candidate selection does with equal pins. On equal versions the
 * first source wins. Output order: first appearance.
 */
export function mergeHighestVersions(sources: Iterable<Iterable<ResolverPackage>>): ResolverPackage[] {
  const best = new Map<string, ResolverPackage>();
  for (const source of sources) {
    for (const pkg of source) {
      const key = `${pkg.name}\0${pkg.architecture}`;
      const prev = best.get(key);
      if (prev === undefined || debScheme.compare(pkg.version, prev.version) > 0) {
        if (prev !== undefined) best.delete(key);
        best.set(key, pkg);
      }
    }
  }
  return [...best.values()];
}

const relationCache = new WeakMap<ResolverPackage, RelationGroup[]>();

/** Pre-Depends then Depends of a package, filtered for `arch`; parsed once per record. Throws RELATION_INVALID. */
export function dependenciesOf(pkg: ResolverPackage, arch: string): RelationGroup[] {
  // The unfiltered parse is cached: an `all` record is shared by the indices of several architectures.
  let groups = relationCache.get(pkg);
  if (groups === undefined) {
    groups = [];
    if (pkg.preDepends !== undefined) groups.push(...parseRelations(pkg.preDepends, `${pkg.name} ${pkg.version}: Pre-Depends`));
    if (pkg.depends !== undefined) groups.push(...parseRelations(pkg.depends, `${pkg.name} ${pkg.version}: Depends`));
    relationCache.set(pkg, groups);
  }
  return relationsFor(groups, arch);
}
