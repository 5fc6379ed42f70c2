/** @module versions/go — Go module versions (golang.org/x/mod/semver semantics): vMAJOR[.MINOR[.PATCH[-pre][+build]]], pseudo-versions, +incompatible. */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

export interface GoVersion {
  major: string;
  minor: string;
  patch: string;
  /** Dot-separated prerelease identifiers (empty for a release). */
  prerelease: string[];
  /** Build metadata without the `+` (`incompatible` for pre-modules v2+ major versions); ignored by ordering. */
  build: string;
  /** `vMAJOR.MINOR.PATCH[-pre]`, as Go's semver.Canonical writes it. */
  canonical: string;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isIdentChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;
}

/** A numeric field: digits, no leading zero unless it is "0". */
function isNumber(s: string): boolean {
  if (s.length === 0 || (s.length > 1 && s.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

function isAllDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

function validIdents(s: string, numericNoLeadingZero: boolean): string[] | null {
  const parts = s.split('.');
  for (const p of parts) {
    if (p.length === 0) return null;
    for (let i = 0; i < p.length; i++) if (!isIdentChar(p.charCodeAt(i))) return null;
    if (numericNoLeadingZero && isAllDigits(p) && p.length > 1 && p.charCodeAt(0) === 48) return null;
  }
  return parts;
}

/**
 * Parses like x/mod/semver: `v1` and `v1.2` are shorthands for `v1.0.0` and `v1.2.0` (without prerelease or
 * build). The leading `v` is optional here because OSV's Go records write versions without it.
 */
export function parseGoVersion(input: string): GoVersion | null {
  if (input.length === 0 || input.length > 512) return null;
  const s = input.charCodeAt(0) === 118 ? input.slice(1) : input;
  let core = s;
  let build = '';
  const plus = core.indexOf('+');
  if (plus >= 0) {
    build = core.slice(plus + 1);
    core = core.slice(0, plus);
    if (validIdents(build, false) === null) return null;
  }
  let prerelease: string[] = [];
  const dash = core.indexOf('-');
  if (dash >= 0) {
    const pre = validIdents(core.slice(dash + 1), true);
    if (pre === null) return null;
    prerelease = pre;
    core = core.slice(0, dash);
  }
  const nums = core.split('.');
  if (nums.length > 3 || !nums.every(isNumber)) return null;
  if (nums.length < 3 && (dash >= 0 || plus >= 0)) return null;
  const [major, minor = '0', patch = '0'] = nums as [string, string?, string?];
  const canonical = `v${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`;
  return { major, minor, patch, prerelease, build, canonical };
}

function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const xn = isAllDigits(x);
    const yn = isAllDigits(y);
    // Numeric identifiers sort below alphanumeric ones and compare as numbers.
    if (xn && yn) return compareNumbers(x, y);
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareGoParsed(a: GoVersion, b: GoVersion): number {
  return (
    compareNumbers(a.major, b.major) ||
    compareNumbers(a.minor, b.minor) ||
    compareNumbers(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

const cache = new ParseCache(parseGoVersion);

export const goScheme: VersionScheme = {
  name: 'go',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => compareGoParsed(parsedOrThrow(cache, 'go', a), parsedOrThrow(cache, 'go', b)),
};

const PSEUDO_TIME = /^(?:0\.)?(\d{14})-[0-9a-f]{12}$/;

/**
 * Whether `version` is a pseudo-version (`v0.0.0-20210101000000-abcdef123456`, `v1.2.4-0.2021…-…`,
 * `v1.2.3-pre.0.2021…-…`): a prerelease whose last identifiers are a 14-digit UTC time and a 12-hex commit.
 */
export function isGoPseudoVersion(version: string): boolean {
  return goPseudoVersionTime(version) !== null;
}

/** The commit time of a pseudo-version as an ISO string, or null. */
export function goPseudoVersionTime(version: string): string | null {
  const v = cache.get(version);
  if (v === null || v.prerelease.length === 0) return null;
  const pre = v.prerelease;
  // The time-revision part is the last identifier (`yyyymmddhhmmss-abcdefabcdef`), preceded by `0` when based on a release.
  const tail = pre.length >= 2 && pre[pre.length - 2] === '0' ? `0.${pre[pre.length - 1]}` : pre[pre.length - 1]!;
  const m = PSEUDO_TIME.exec(tail);
  if (!m) return null;
  if (tail.startsWith('0.') === false && pre.length !== 1) return null;
  if (tail.startsWith('0.') === false && (v.minor !== '0' || v.patch !== '0')) return null;
  const t = m[1]!;
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}Z`;
}

/** Go's semver.Canonical: `v1.2` → `v1.2.0`, build metadata dropped; null when invalid. */
export function canonicalGoVersion(version: string): string | null {
  return cache.get(version)?.canonical ?? null;
}
