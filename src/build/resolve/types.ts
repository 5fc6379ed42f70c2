/** @module build/resolve/types — what the resolver reads (one binary package of a Packages index) and what it returns. */

/** Where a package came from: the repository base URI and suite (for the lockfile). */
export interface PackageRepository {
  uri: string;
  suite: string;
  component?: string;
}

/**
 * One binary package stanza of a Packages index, as the resolver needs it. Relation fields are kept as the raw
 * field text; the resolver parses them only for the packages it visits.
 */
export interface ResolverPackage {
  name: string;
  version: string;
  /** `amd64`, `arm64`, … or `all`. */
  architecture: string;
  multiArch?: 'same' | 'foreign' | 'allowed' | 'no';
  depends?: string;
  preDepends?: string;
  provides?: string;
  essential?: boolean;
  priority?: string;
  /** Source package name (without the `(version)` suffix a Source field may carry). */
  source?: string;
  /** Path of the .deb below the repository URI (`pool/main/n/nginx/nginx_…_amd64.deb`). */
  filename?: string;
  sha256?: string;
  size?: number;
  repository?: PackageRepository;
}

/** A package in a resolution: the index record itself (never a copy). */
export type ResolvedPackage = ResolverPackage;

/** Why a package is in the closure: `'requested'`, or the chain from a requested package down to it (inclusive). */
export type WhyChain = 'requested' | readonly string[];

export interface ExcludedDependency {
  /** The dependency as written (`debconf (>= 0.5) | debconf-2.0`). */
  name: string;
  reason: string;
  /** Packages in the closure that declared it. */
  requiredBy: string[];
}

export interface RejectedCandidate {
  /** `name=version` (or a requested name that is not in the index). */
  candidate: string;
  reason: string;
}

export interface Resolution {
  arch: string;
  /** Sorted by name, then architecture. */
  packages: ResolvedPackage[];
  why: Map<string, WhyChain>;
  excluded: ExcludedDependency[];
  rejected: RejectedCandidate[];
}

export interface ResolveOptions {
  /** Target architecture (`amd64`, `arm64`); `all` packages count as native. */
  arch: string;
  /** The recipe's `!name` exclusions: never installed, dependencies on them are dropped. */
  exclude?: string[];
  /** Names taken back out of the default exclusion list ("asked for"). */
  include?: string[];
  /** Apply DEFAULT_EXCLUSIONS (default true). */
  defaultExclusions?: boolean;
}
