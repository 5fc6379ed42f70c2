/** @module versions/apk — Alpine apk-tools versions: digit{.digit}{letter}{_suffix{N}}{~hash}{-rN}, ordered as apk-tools orders them. */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

/** Token kinds in the order apk-tools ranks them (a later kind where the other version ends sorts lower). */
const enum T {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  CommitHash = 5,
  RevisionNo = 6,
  End = 7,
}

/** Suffix ranks: pre-release suffixes below "no suffix" (5), post-release ones above. */
const SUFFIX_RANK: ReadonlyMap<string, number> = new Map([
  ['alpha', 1],
  ['beta', 2],
  ['pre', 3],
  ['rc', 4],
  ['cvs', 6],
  ['svn', 7],
  ['git', 8],
  ['hg', 9],
  ['p', 10],
]);
const SUFFIX_NONE = 5;

export interface ApkToken {
  kind: T;
  /** The token's text (digits as written, the letter, the suffix name, the hash). */
  text: string;
  /** Numeric tokens: the digits without leading zeros, compared by length then lexically (no overflow). */
  digits: string;
  /** Suffix tokens: the suffix rank. */
  rank: number;
}

export type ApkVersion = readonly ApkToken[];

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102);
}

function stripZeros(s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}

/** Tokenises with apk-tools' validity rules; null when apk would call the version invalid. */
export function parseApkVersion(s: string): ApkVersion | null {
  const tokens: ApkToken[] = [];
  const n = s.length;
  let i = 0;
  const digitsFrom = (kind: T): boolean => {
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
    const text = s.slice(start, i);
    tokens.push({ kind, text, digits: stripZeros(text), rank: 0 });
    return true;
  };
  if (!digitsFrom(T.InitialDigit)) return null;
  let last: T = T.InitialDigit;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isLower(c)) {
      if (last > T.Digit) return null;
      tokens.push({ kind: T.Letter, text: s[i]!, digits: '', rank: 0 });
      i++;
      last = T.Letter;
    } else if (c === 46 || isDigit(c)) {
      // A digit directly after a digit token cannot happen (digit runs are read whole); after a suffix it is its number.
      let kind: T;
      if (last === T.InitialDigit || last === T.Digit) kind = T.Digit;
      else if (last === T.Suffix && c !== 46) kind = T.SuffixNo;
      else return null;
      if (c === 46) {
        if (last > T.Digit) return null;
        i++;
      }
      if (!digitsFrom(kind)) return null;
      last = kind;
    } else if (c === 95) {
      if (last > T.SuffixNo) return null;
      i++;
      const start = i;
      while (i < n && isLower(s.charCodeAt(i))) i++;
      const name = s.slice(start, i);
      const rank = SUFFIX_RANK.get(name);
      if (rank === undefined) return null;
      tokens.push({ kind: T.Suffix, text: name, digits: '', rank });
      last = T.Suffix;
    } else if (c === 126) {
      if (last >= T.CommitHash) return null;
      i++;
      const start = i;
      while (i < n && isHex(s.charCodeAt(i))) i++;
      if (i === start) return null;
      tokens.push({ kind: T.CommitHash, text: s.slice(start, i), digits: '', rank: 0 });
      last = T.CommitHash;
    } else if (c === 45) {
      if (last >= T.RevisionNo || s.charCodeAt(i + 1) !== 114) return null;
      i += 2;
      if (!digitsFrom(T.RevisionNo)) return null;
      last = T.RevisionNo;
    } else {
      return null;
    }
  }
  return tokens;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function numeric(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return byteOrder(a, b);
}

function tokenCompare(a: ApkToken, b: ApkToken): number {
  switch (a.kind) {
    case T.Digit:
      // A leading zero after a dot makes the component a string, as in Gentoo's rules (1.02 < 1.1).
      if (a.text.charCodeAt(0) === 48 || b.text.charCodeAt(0) === 48) return byteOrder(a.text, b.text);
      return numeric(a.digits, b.digits);
    case T.InitialDigit:
    case T.SuffixNo:
    case T.RevisionNo:
      return numeric(a.digits, b.digits);
    case T.Letter:
      return byteOrder(a.text, b.text);
    case T.Suffix:
      return a.rank - b.rank;
    default:
      return byteOrder(a.text, b.text);
  }
}

export function compareApkParsed(a: ApkVersion, b: ApkVersion): number {
  const n = Math.min(a.length, b.length);
  let k = 0;
  for (; k < n; k++) {
    const ta = a[k]!;
    const tb = b[k]!;
    if (ta.kind !== tb.kind) break;
    const r = tokenCompare(ta, tb);
    if (r !== 0) return r < 0 ? -1 : 1;
  }
  const ka = k < a.length ? a[k]!.kind : T.End;
  const kb = k < b.length ? b[k]!.kind : T.End;
  if (ka === kb) return 0;
  // Where the versions part, a pre-release suffix sorts below anything; otherwise the side that goes on
  // with an earlier token kind (more version components) is greater.
  if (ka === T.Suffix && a[k]!.rank < SUFFIX_NONE) return -1;
  if (kb === T.Suffix && b[k]!.rank < SUFFIX_NONE) return 1;
  return ka > kb ? -1 : 1;
}

const cache = new ParseCache(parseApkVersion);

export const apkScheme: VersionScheme = {
  name: 'apk',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => compareApkParsed(parsedOrThrow(cache, 'apk', a), parsedOrThrow(cache, 'apk', b)),
};
