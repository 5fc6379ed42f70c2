/** @module versions/version-scheme — the contract every version scheme (deb, apk, rpm, semver, pep440, go, maven) implements. */

export type SchemeName = 'deb' | 'apk' | 'rpm' | 'semver' | 'pep440' | 'go' | 'maven';

export interface VersionScheme {
  readonly name: SchemeName;
  /** Whether `version` is well-formed in this scheme. */
  isValid(version: string): boolean;
  /**
   * Orders two versions like a sort comparator (negative: a < b). Both must be valid; an invalid operand
   * throws DistillError VERSION_INVALID so that a bad record can never silently match or not match.
   */
  compare(a: string, b: string): number;
}
