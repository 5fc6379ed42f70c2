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

/** What a lazy index reads: names, and a name's packages and Provides candidates on demand. */
export interface LazyIndexSource {
  /** Every package name (those with no package of the architecture are dropped on lookup). */
  names(): Iterable<string>;
  /** The packages named `name`, in the order {@link buildIndex} would see them. */
  packages(name: string): readonly ResolverPackage[];
  /** Every name some package may Provide. */
  providedNames(): Iterable<string>;
  /** Packages that may Provide `name` (each one's Provides field is checked here), sorted by package name. */
  providerCandidates(name: string): readonly ResolverPackage[];
}

class LazyMap<V> implements ReadonlyMap<string, V> {
  readonly #cache = new Map<string, V | null>();
  constructor(private readonly keyList: () => Iterable<string>, private readonly compute: (key: string) => V | undefined) {}
  get(key: string): V | undefined {
    let v = this.#cache.get(key);
    if (v === undefined) this.#cache.set(key, (v = this.compute(key) ?? null));
    return v ?? undefined;
  }
  has(key: string): boolean { return this.get(key) !== undefined; }
  get size(): number { return [...this.keys()].length; }
  *keys(): MapIterator<string> { for (const k of this.keyList()) if (this.has(k)) yield k; }
  *values(): MapIterator<V> { for (const k of this.keys()) yield this.get(k)!; }
  *entries(): MapIterator<[string, V]> { for (const k of this.keys()) yield [k, this.get(k)!]; }
  [Symbol.iterator](): MapIterator<[string, V]> { return this.entries(); }
  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void { for (const [k, v] of this.entries()) fn(v, k, this); }
}

/**
 * The same index as {@link buildIndex}, computed per name on first lookup: a resolution visits a few dozen names
 * of ~64 000, so neither the records nor their Provides are parsed for the rest. Iterating the maps (only "did
 * you mean" does) computes every entry.
 */
export function lazyIndex(source: LazyIndexSource, arch: string): PackageIndex {
  const issues: Issue[] = [];
  const ofArch = (p: ResolverPackage): boolean => p.architecture === arch || p.architecture === 'all';
  const byName = new LazyMap<readonly ResolverPackage[]>(() => source.names(), (name) => {
    const list = source.packages(name).filter(ofArch);
    if (list.length > 1) list.sort((a, b) => debScheme.compare(b.version, a.version));
    return list.length === 0 ? undefined : list;
  });
  const providers = new LazyMap<readonly Provider[]>(() => source.providedNames(), (name) => {
    const out: Provider[] = [];
    for (const pkg of source.providerCandidates(name)) {
      if (!ofArch(pkg) || pkg.provides === undefined || pkg.provides.trim() === '') continue;
      try {
        for (const p of parseProvides(pkg.provides, `${pkg.name} ${pkg.version}: Provides`)) {
          if (p.name === name) out.push(p.version === undefined ? { pkg } : { pkg, version: p.version });
        }
      } catch (error) {
        if (issues.length < 100) issues.push({ code: 'PARSE_FAILED', message: describeError(error), source: 'resolver' });
      }
    }
    return out.length === 0 ? undefined : out;
  });
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
