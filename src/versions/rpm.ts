/** @module versions/rpm — RPM [epoch:]version[-release] ordered by rpmvercmp, with `~` (pre-release) and `^` (post-release snapshot). */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

export interface RpmVersion {
  /** Missing epoch is 0. Kept as digits without leading zeros so any length compares. */
  epoch: string;
  version: string;
  /** null when the string has no `-release`: it then sorts below any release, as rpm.vercmp does. */
  release: string | null;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Splits EVR the way rpm does (epoch before a `:` that follows only digits, release after the last `-`).
 * rpmvercmp itself accepts any bytes; distill rejects empty parts, whitespace and non-ASCII so a broken
 * record is reported instead of ordered arbitrarily.
 */
export function parseRpmVersion(input: string): RpmVersion | null {
  if (input.length === 0 || input.length > 1024) return null;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c <= 32 || c >= 127) return null;
  }
  let rest = input;
  let epoch = '0';
  const colon = input.indexOf(':');
  if (colon >= 0) {
    if (colon === 0) return null;
    for (let i = 0; i < colon; i++) if (!isDigit(input.charCodeAt(i))) return null;
    epoch = stripZeros(input.slice(0, colon));
    rest = input.slice(colon + 1);
  }
  let release: string | null = null;
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    release = rest.slice(hyphen + 1);
    rest = rest.slice(0, hyphen);
    if (release === '') return null;
  }
  if (rest === '' || rest.includes(':')) return null;
  return { epoch, version: rest, release };
}

function stripZeros(s: string): string {
  let k = 0;
  while (k < s.length - 1 && s.charCodeAt(k) === 48) k++;
  return k === 0 ? s : s.slice(k);
}

function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/** rpmvercmp: alternating digit and letter segments; separators only split; `~` sorts low, `^` high-but-below-more. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const la = a.length;
  const lb = b.length;
  while (i < la || j < lb) {
    while (i < la && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== 126 && a.charCodeAt(i) !== 94) i++;
    while (j < lb && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== 126 && b.charCodeAt(j) !== 94) j++;
    const ca = i < la ? a.charCodeAt(i) : 0;
    const cb = j < lb ? b.charCodeAt(j) : 0;
    if (ca === 126 || cb === 126) {
      if (ca !== 126) return 1;
      if (cb !== 126) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === 94 || cb === 94) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== 94) return 1;
      if (cb !== 94) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= la || j >= lb) break;
    const si = i;
    const sj = j;
    const numeric = isDigit(ca);
    if (numeric) {
      while (i < la && isDigit(a.charCodeAt(i))) i++;
      while (j < lb && isDigit(b.charCodeAt(j))) j++;
    } else {
      while (i < la && isAlpha(a.charCodeAt(i))) i++;
      while (j < lb && isAlpha(b.charCodeAt(j))) j++;
    }
    // Segment types differ: a number is newer than letters.
    if (j === sj) return numeric ? 1 : -1;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    if (numeric) {
      x = stripZeros(x);
      y = stripZeros(y);
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
  }
  if (i >= la && j >= lb) return 0;
  return i >= la ? -1 : 1;
}

export function compareRpmParsed(a: RpmVersion, b: RpmVersion): number {
  if (a.epoch !== b.epoch) {
    if (a.epoch.length !== b.epoch.length) return a.epoch.length < b.epoch.length ? -1 : 1;
    return a.epoch < b.epoch ? -1 : 1;
  }
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === null || b.release === null) return a.release === b.release ? 0 : a.release === null ? -1 : 1;
  return rpmvercmp(a.release, b.release);
}

const cache = new ParseCache(parseRpmVersion);

export const rpmScheme: VersionScheme = {
  name: 'rpm',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => compareRpmParsed(parsedOrThrow(cache, 'rpm', a), parsedOrThrow(cache, 'rpm', b)),
};
