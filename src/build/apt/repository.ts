/** @module build/apt/repository — opens several verified repositories into one index (highest version per package). */
import { DistillError, type Issue } from '../../errors.js';
import { debScheme } from '../../versions/deb.js';
import type { HttpOptions } from './http.js';
import { fetchPackages, type PackageRecord } from './packages.js';
import { fetchRelease, loadKeyring, parseKeyring, type Keyring, type Release } from './release.js';
import { indexCache } from './fetch-deb.js';
import type { Repository } from './sources.js';

/** The host keyring apt itself uses for Debian; the default when neither the recipe nor Signed-By names one. */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface OpenRepositoriesOptions extends HttpOptions {
  /** Debian architecture (`amd64`, `arm64`). */
  arch: string;
  /** Keyring for repositories without their own Signed-By. */
  keyringPath: string;
  /** Content-addressed download cache (Packages indices and .debs). */
  cacheDir: string;
  /** The clock Valid-Until and key validity are checked against. */
  now: Date;
  /** Called with each index URL actually downloaded (or `cache:<hex>`). */
  onFetch?: (url: string) => void;
}

/** A package record and the repository it came from (where its .deb is fetched). */
export interface IndexedPackage {
  record: PackageRecord;
  repository: Repository;
}

export interface OpenedRepository {
  repository: Repository;
  release: Release;
  /** Key IDs whose signatures verified. */
  signers: string[];
  packages: number;
}

export interface PackageIndex {
  arch: string;
  repositories: OpenedRepository[];
  /** Non-fatal problems in the indices (malformed paragraphs that were skipped). */
  issues: Issue[];
  /** Number of distinct package names. */
  size: number;
  /** The highest version of a package across all repositories. */
  get(name: string): IndexedPackage | undefined;
  /** Every version of a package across repositories, highest first. */
  versions(name: string): IndexedPackage[];
  /** The highest-version packages that Provide a (virtual) name, sorted by package name. */
  providers(name: string): IndexedPackage[];
  /** The highest version of every package, sorted by name. */
  packages(): IndexedPackage[];
}

function compareRecords(a: IndexedPackage, b: IndexedPackage): number {
  // Highest version first; ties (same version in two suites) keep the earlier repository.
  return debScheme.compare(b.record.version, a.record.version);
}

/**
 * Verifies each repository's InRelease, downloads and checks its Packages indices for `arch` (every component),
 * and merges them: per package name, the highest version wins (debScheme order); equal versions keep the
 * repository listed first. Repositories restricted to other architectures are skipped.
 */
export async function openRepositories(repos: readonly Repository[], options: OpenRepositoriesOptions): Promise<PackageIndex> {
  if (repos.length === 0) throw new DistillError('USAGE', 'no repositories to open', { subject: 'repositories' });
  const keyrings = new Map<string, Promise<Keyring>>();
  const keyringFor = (repo: Repository): Promise<Keyring> => {
    const key = repo.inlineKey !== undefined ? `inline:${repo.inlineKey}` : repo.keyring ?? options.keyringPath;
    let k = keyrings.get(key);
    if (k === undefined) {
      k = repo.inlineKey !== undefined ? parseKeyring(repo.inlineKey, `Signed-By of ${repo.uri} ${repo.suite}`) : loadKeyring(repo.keyring ?? options.keyringPath);
      keyrings.set(key, k);
    }
    return k;
  };
  const cache = indexCache(options.cacheDir);
  const selected = repos.filter((r) => r.archs === undefined || r.archs.includes(options.arch));
  // Repositories are independent: verify and download them concurrently, merge in the given order.
  const opened = await Promise.all(selected.map(async (repository) => {
    const keyring = await keyringFor(repository);
    const { release, signers } = await fetchRelease(repository, keyring, options);
    const parts = await Promise.all(repository.components.map((component) => fetchPackages(repository, release, component, options.arch, { ...options, cache })));
    return { repository, release, signers, parts };
  }));

  const byName = new Map<string, IndexedPackage[]>();
  const issues: Issue[] = [];
  const repositories: OpenedRepository[] = [];
  for (const o of opened) {
    let count = 0;
    for (const part of o.parts) {
      issues.push(...part.issues);
      for (const record of part.records) {
        // An arch-specific index may still list other architectures (`all` is expected); anything else is skipped.
        if (record.architecture !== options.arch && record.architecture !== 'all') continue;
        count++;
        const entry = { record, repository: o.repository };
        const list = byName.get(record.package);
        if (list === undefined) byName.set(record.package, [entry]);
        else list.push(entry);
      }
    }
    repositories.push({ repository: o.repository, release: o.release, signers: o.signers, packages: count });
  }
  for (const list of byName.values()) if (list.length > 1) list.sort(compareRecords);

  let providerIndex: Map<string, IndexedPackage[]> | undefined;
  let sortedNames: string[] | undefined;
  const best = (name: string): IndexedPackage | undefined => byName.get(name)?.[0];
  return {
    arch: options.arch,
    repositories,
    issues,
    size: byName.size,
    get: best,
    versions: (name) => [...(byName.get(name) ?? [])],
    providers(name) {
      if (providerIndex === undefined) {
        providerIndex = new Map();
        for (const list of byName.values()) {
          const top = list[0]!;
          for (const p of top.record.provides) {
            const l = providerIndex.get(p.name);
            if (l === undefined) providerIndex.set(p.name, [top]);
            else l.push(top);
          }
        }
        for (const l of providerIndex.values()) l.sort((a, b) => (a.record.package < b.record.package ? -1 : a.record.package > b.record.package ? 1 : 0));
      }
      return [...(providerIndex.get(name) ?? [])];
    },
    packages() {
      sortedNames ??= [...byName.keys()].sort();
      return sortedNames.map((n) => best(n)!);
    },
  };
}
