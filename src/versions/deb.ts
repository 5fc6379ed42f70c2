/** @module versions/deb — Debian package versions ([epoch:]upstream[-revision]) ordered exactly as dpkg orders them. */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow, sign } from './version-cache.js';

export interface DebVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no `-revision` (dpkg treats that like revision "0"). */
  revision: string;
}

const INT_MAX = 2147483647;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Parses like dpkg's parseversion, but strict: what dpkg only warns about (upstream not starting with a
 * digit, characters outside the policy's sets) is invalid here too, so nothing odd silently orders.
 * Surrounding whitespace is ignored, as dpkg does; embedded whitespace is invalid.
 */
export function parseDebVersion(input: string): DebVersion | null {
  let start = 0;
  let end = input.length;
  while (start < end && isSpace(input.charCodeAt(start))) start++;
  while (end > start && isSpace(input.charCodeAt(end - 1))) end--;
  if (start === end) return null;
  const s = start === 0 && end === input.length ? input : input.slice(start, end);

  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    if (colon === 0) return null;
    for (let i = 0; i < colon; i++) if (!isDigit(s.charCodeAt(i))) return null;
    epoch = Number(s.slice(0, colon));
    if (epoch > INT_MAX) return null;
    rest = s.slice(colon + 1);
    if (rest === '') return null;
  }
  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '' || upstream === '') return null;
  }
  if (!isDigit(upstream.charCodeAt(0))) return null;
  for (let i = 0; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    // . + ~ - : (colons can only remain when an epoch was split off, hyphens only before the revision)
    if (!isDigit(c) && !isAlpha(c) && c !== 46 && c !== 43 && c !== 126 && c !== 45 && c !== 58) return null;
  }
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && c !== 46 && c !== 43 && c !== 126) return null;
  }
  return { epoch, upstream, revision };
}

/** dpkg's character weight: `~` below the end of the string, letters below everything else. */
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/**
 * dpkg's verrevcmp: alternate non-digit runs (compared by `order`) and digit runs (compared as numbers of
 * any length, leading zeros ignored).
 */
export function compareDebFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const la = a.length;
  const lb = b.length;
  while (i < la || j < lb) {
    while ((i < la && !isDigit(a.charCodeAt(i))) || (j < lb && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a, i);
      const bc = order(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < la && a.charCodeAt(i) === 48) i++;
    while (j < lb && b.charCodeAt(j) === 48) j++;
    let firstDiff = 0;
    while (i < la && j < lb && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < la && isDigit(a.charCodeAt(i))) return 1;
    if (j < lb && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

export function compareDebParsed(a: DebVersion, b: DebVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const u = compareDebFragment(a.upstream, b.upstream);
  if (u !== 0) return sign(u);
  return sign(compareDebFragment(a.revision, b.revision));
}

const cache = new ParseCache(parseDebVersion);

export const debScheme: VersionScheme = {
  name: 'deb',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => compareDebParsed(parsedOrThrow(cache, 'deb', a), parsedOrThrow(cache, 'deb', b)),
};

/** Formats a parsed version back to its canonical string (epoch 0 omitted). */
export function formatDebVersion(v: DebVersion): string {
  return `${v.epoch > 0 ? `${v.epoch}:` : ''}${v.upstream}${v.revision ? `-${v.revision}` : ''}`;
}
