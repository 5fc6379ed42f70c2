/** @module build/apt/repository — opens several verified repositories into one index (highest version per package). */
import { DistillError, type Issue } from '../../errors.js';
import { debScheme } from '../../versions/deb.js';
import type { HttpOptions } from './http.js';
import { fetchPackagesText, packagesPath, type PackageRecord } from './packages.js';
import { indexPackages, type PackagesPart } from './packages-index.js';
import { bytesKeyringSource, distsUrl, fetchRelease, keyringSource, type KeyringSource, type Release, type VerificationCache } from './release.js';
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
  /** Remember verified InReleases (sealed records in the cache), so unchanged ones are not verified again. */
  verificationCache?: VerificationCache;
}

/** A repository whose InRelease verified: what its indices are checked against. */
export interface VerifiedRepository {
  repository: Repository;
  release: Release;
  signers: string[];
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
  /** Paragraphs in its indices for the architecture. */
  packages: number;
}

export interface PackageIndex {
  arch: string;
  repositories: OpenedRepository[];
  /** Non-fatal problems in the indices (malformed paragraphs skipped), for the paragraphs read so far. */
  issues: Issue[];
  /** Number of distinct package names. */
  size: number;
  /** Every package name in the indices, sorted (records are parsed only when asked for). */
  names(): string[];
  /** Every name some package Provides, sorted. */
  providedNames(): string[];
  /**
   * The packages (highest version, or with `allVersions` every version, highest first) one of whose paragraphs
   * Provides `name`, sorted by package name; a candidate may not provide it in the version returned: check its record.
   */
  providerCandidates(name: string, allVersions?: boolean): IndexedPackage[];
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
 * Fetches and verifies the InRelease of each repository that serves `arch` (signature, Valid-Until, suite), in the
 * given order. A bad signature, an unknown key or an expired Release refuses the whole set.
 */
export async function verifyRepositories(repos: readonly Repository[], options: Omit<OpenRepositoriesOptions, 'cacheDir'>): Promise<VerifiedRepository[]> {
  if (repos.length === 0) throw new DistillError('USAGE', 'no repositories to open', { subject: 'repositories' });
  const keyrings = new Map<string, Promise<KeyringSource>>();
  const keyringFor = (repo: Repository): Promise<KeyringSource> => {
    const key = repo.inlineKey !== undefined ? `inline:${repo.inlineKey}` : repo.keyring ?? options.keyringPath;
    let k = keyrings.get(key);
    if (k === undefined) {
      k = repo.inlineKey !== undefined ? Promise.resolve(bytesKeyringSource(repo.inlineKey, `Signed-By of ${repo.uri} ${repo.suite}`)) : keyringSource(repo.keyring ?? options.keyringPath);
      keyrings.set(key, k);
    }
    return k;
  };
  const selected = repos.filter((r) => r.archs === undefined || r.archs.includes(options.arch));
  // Repositories are independent: verify them concurrently, keep the given order.
  return Promise.all(selected.map(async (repository) => {
    const { release, signers } = await fetchRelease(repository, await keyringFor(repository), options);
    return { repository, release, signers };
  }));
}

/**
 * Verifies each repository's InRelease (or takes them from `verified`), downloads and checks its Packages indices
 * for `arch` (every component), and merges them: per package name, the highest version wins (debScheme order); equal
 * versions keep the repository listed first. Repositories restricted to other architectures are skipped.
 */
export async function openRepositories(repos: readonly Repository[], options: OpenRepositoriesOptions & { verified?: readonly VerifiedRepository[] }): Promise<PackageIndex> {
  const verified = options.verified ?? await verifyRepositories(repos, options);
  const cache = indexCache(options.cacheDir);
  const opened = await Promise.all(verified.map(async ({ repository, release, signers }) => {
    const parts = await Promise.all(repository.components.map(async (component) => {
      const text = await fetchPackagesText(repository, release, component, options.arch, { ...options, cache });
      return indexPackages(text, distsUrl(repository, packagesPath(component, options.arch)));
    }));
    return { repository, release, signers, parts };
  }));

  const parts: { part: PackagesPart; repository: Repository }[] = opened.flatMap((o) => o.parts.map((part) => ({ part, repository: o.repository })));
  const repositories: OpenedRepository[] = opened.map((o) => ({ repository: o.repository, release: o.release, signers: o.signers, packages: o.parts.reduce((n, p) => n + p.paragraphs, 0) }));
  const issues: Issue[] = [];
  const versionsOf = new Map<string, IndexedPackage[]>();
  const versions = (name: string): IndexedPackage[] => {
    let list = versionsOf.get(name);
    if (list === undefined) {
      list = [];
      for (const { part, repository } of parts) {
        const before = part.issues.length;
        for (const record of part.records(name)) {
          // An arch-specific index may still list other architectures (`all` is expected); anything else is skipped.
          if (record.architecture !== options.arch && record.architecture !== 'all') continue;
          list.push({ record, repository });
        }
        issues.push(...part.issues.slice(before));
      }
      // Highest version first; the sort is stable, so equal versions keep the repository listed first.
      if (list.length > 1) list.sort(compareRecords);
      versionsOf.set(name, list);
    }
    return list;
  };
  const best = (name: string): IndexedPackage | undefined => versions(name)[0];
  const union = (lists: Iterable<string>[]): string[] => {
    const all = new Set<string>();
    for (const l of lists) for (const n of l) all.add(n);
    return [...all].sort();
  };
  let sortedNames: string[] | undefined;
  const names = (): string[] => (sortedNames ??= union(parts.map((p) => p.part.names())));
  const candidates = (name: string, allVersions = false): IndexedPackage[] => {
    const owners = union(parts.map((p) => p.part.providerNames(name)));
    return owners.flatMap((n) => (allVersions ? versions(n) : versions(n).slice(0, 1)));
  };
  return {
    arch: options.arch,
    repositories,
    issues,
    get size() {
      // Counted without sorting: the progress event reads it on every build, the sorted list only "did you mean".
      if (sortedNames !== undefined) return sortedNames.length;
      // The largest index (the base suite's) is counted as a whole; only the smaller ones' names are looked up.
      const sizes = parts.map((p) => p.part.nameCount);
      const largest = sizes.indexOf(Math.max(0, ...sizes));
      let count = largest < 0 ? 0 : sizes[largest]!;
      parts.forEach((p, i) => {
        if (i === largest) return;
        for (const n of p.part.names()) if (!parts.some((q, j) => j !== i && q.part.has(n) && (j === largest || j < i))) count++;
      });
      return count;
    },
    get: best,
    versions: (name) => [...versions(name)],
    names: () => [...names()],
    providedNames: () => union(parts.map((p) => p.part.providedNames())),
    providerCandidates: candidates,
    providers: (name) => candidates(name).filter((ip) => ip.record.provides.some((p) => p.name === name)),
    packages() {
      return names().map((n) => best(n)).filter((ip): ip is IndexedPackage => ip !== undefined);
    },
  };
}
