/** @module versions/semver — npm semver versions and npm range syntax, implemented by npm's own `semver` package. */
import semver from 'semver';
import { DistillError } from '../errors.js';
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

// Loose parsing accepts what package.json files and advisories really contain: `v1.2.3`, `=1.2.3`, spaces.
const LOOSE = { loose: true } as const;

/** semver's own MAX_LENGTH (not in its type definitions). */
const MAX_LENGTH = 256;

const versions = new ParseCache<semver.SemVer>((v) => {
  if (v.length > MAX_LENGTH) return null;
  return semver.parse(v, LOOSE);
});

export function parseSemver(version: string): semver.SemVer | null {
  return versions.get(version);
}

export const semverScheme: VersionScheme = {
  name: 'semver',
  isValid: (version) => versions.get(version) !== null,
  // SemVer precedence: build metadata is ignored, prereleases sort below their release.
  compare: (a, b) => parsedOrThrow(versions, 'semver', a).compare(parsedOrThrow(versions, 'semver', b)),
};

export interface NpmRangeOptions {
  /**
   * Let prerelease versions match ranges whose bounds have none (`2.0.0-rc.1` satisfies `<2.0.0`). On by
   * default: an advisory's `<2.0.0` is meant to cover its prereleases too. Off gives npm install's stricter rule.
   */
  includePrerelease?: boolean;
}

const ranges = new Map<string, semver.Range | null>();
const rangesStrict = new Map<string, semver.Range | null>();

function rangeFor(range: string, includePrerelease: boolean): semver.Range | null {
  const map = includePrerelease ? ranges : rangesStrict;
  const hit = map.get(range);
  if (hit !== undefined) return hit;
  let parsed: semver.Range | null = null;
  if (range.length <= 4096) {
    try {
      parsed = new semver.Range(range, { loose: true, includePrerelease });
    } catch {
      parsed = null;
    }
  }
  if (map.size >= 20_000) map.clear();
  map.set(range, parsed);
  return parsed;
}

/** Whether `range` is valid npm range syntax (`^ ~ >= < || hyphen x-ranges`). */
export function isValidNpmRange(range: string): boolean {
  return rangeFor(range, true) !== null;
}

/**
 * Whether `version` satisfies the npm `range`, as in the nodejs-security-wg advisories' `vulnerable_versions`
 * and `patched_versions`. Throws VERSION_INVALID for an invalid version or range.
 */
export function satisfiesNpmRange(version: string, range: string, options: NpmRangeOptions = {}): boolean {
  const v = parsedOrThrow(versions, 'semver', version);
  const r = rangeFor(range, options.includePrerelease ?? true);
  if (r === null) {
    throw new DistillError('VERSION_INVALID', `invalid npm version range ${JSON.stringify(range.slice(0, 200))}`, {
      subject: range.slice(0, 200),
      hint: 'npm ranges look like ">=1.2.0 <1.4.5 || ^2.0.0"; the advisory that carries it was not matched',
    });
  }
  return r.test(v);
}

/** The canonical form npm gives a range (`>= 1.x` → `>=1.0.0`), or null when invalid. */
export function normalizeNpmRange(range: string): string | null {
  return rangeFor(range, false)?.range ?? null;
}

