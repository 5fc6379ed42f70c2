/** @module versions/maven — Maven versions ordered as Maven 3.8's ComparableVersion orders them (qualifiers, mixed separators). */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

/** A parsed item: a number (digits without leading zeros), a qualifier, or a sub-list (after `-` or a letter/digit switch). */
export type MavenItem = { kind: 'int'; digits: string } | { kind: 'str'; value: string; key: string } | { kind: 'list'; items: MavenItem[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
/** Where the empty qualifier (a release) ranks. */
const RELEASE_KEY = String(QUALIFIERS.indexOf(''));

/** Known qualifiers rank by position; unknown ones after all of them, alphabetically (Maven's comparable form). */
function qualifierKey(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function stringItem(raw: string, followedByDigit: boolean): MavenItem {
  let value = raw;
  if (followedByDigit && value.length === 1) {
    // a1 = alpha-1, b1 = beta-1, m1 = milestone-1
    if (value === 'a') value = 'alpha';
    else if (value === 'b') value = 'beta';
    else if (value === 'm') value = 'milestone';
  }
  value = ALIASES[value] ?? value;
  return { kind: 'str', value, key: qualifierKey(value) };
}

function stripZeros(s: string): string {
  let k = 0;
  while (k < s.length - 1 && s.charCodeAt(k) === 48) k++;
  return k === 0 ? s : s.slice(k);
}

const ZERO: MavenItem = { kind: 'int', digits: '0' };

function item(isDigit: boolean, text: string): MavenItem {
  return isDigit ? { kind: 'int', digits: stripZeros(text) } : stringItem(text, false);
}

function isNull(it: MavenItem): boolean {
  if (it.kind === 'int') return it.digits === '0';
  if (it.kind === 'str') return it.key === RELEASE_KEY;
  return it.items.length === 0;
}

/** Drops trailing null items (0, release qualifiers, empty lists), looking through trailing sub-lists. */
function normalize(list: MavenItem[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i]!;
    if (isNull(last)) list.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Parses like ComparableVersion.parseVersion. Maven accepts any string; distill refuses empty strings,
 * whitespace, control and non-ASCII characters (Maven coordinates never contain them), and very long input.
 */
export function parseMavenVersion(input: string): MavenItem[] | null {
  if (input.length === 0 || input.length > 1024) return null;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c <= 32 || c >= 127) return null;
  }
  const version = input.toLowerCase();
  const root: MavenItem[] = [];
  let list = root;
  const stack: MavenItem[][] = [root];
  const push = (): void => {
    const sub: MavenItem[] = [];
    list.push({ kind: 'list', items: sub });
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < version.length; i++) {
    const c = version.charCodeAt(i);
    if (c === 46 /* . */ || c === 45 /* - */) {
      list.push(i === start ? ZERO : item(isDigit, version.slice(start, i)));
      start = i + 1;
      if (c === 45) push();
    } else if (isAsciiDigit(c)) {
      if (!isDigit && i > start) {
        // 1.0.0.X1 < 1.0.0-X2: a qualifier followed by a number starts its own sub-list.
        if (list.length > 0) push();
        list.push(stringItem(version.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(item(true, version.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (version.length > start) {
    if (!isDigit && list.length > 0) push();
    list.push(item(isDigit, version.slice(start)));
  }
  for (let k = stack.length - 1; k >= 0; k--) normalize(stack[k]!);
  return root;
}

function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ComparableVersion's Item.compareTo, `b` null meaning "the other version has ended here". */
function compareItem(a: MavenItem, b: MavenItem | null): number {
  if (a.kind === 'int') {
    if (b === null) return a.digits === '0' ? 0 : 1;
    if (b.kind === 'int') return compareNumbers(a.digits, b.digits);
    return 1; // 1.1 > 1-sp, 1.1 > 1-1
  }
  if (a.kind === 'str') {
    if (b === null) return compareStrings(a.key, RELEASE_KEY); // 1-rc < 1, 1-sp > 1
    if (b.kind === 'str') return compareStrings(a.key, b.key);
    return -1; // 1.any < 1.1, 1.any < 1-1
  }
  if (b === null) {
    // The whole sub-list against "nothing", not only its first item (Maven 3.8, MNG-6964).
    for (const it of a.items) {
      const r = compareItem(it, null);
      if (r !== 0) return r;
    }
    return 0;
  }
  if (b.kind === 'int') return -1; // 1-1 < 1.0.x
  if (b.kind === 'str') return 1; // 1-1 > 1-sp
  return compareLists(a.items, b.items);
}

function compareLists(a: MavenItem[], b: MavenItem[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const l = a[i];
    const r = b[i];
    const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, null)) : compareItem(l, r ?? null);
    if (result !== 0) return result < 0 ? -1 : 1;
  }
  return 0;
}

export function compareMavenParsed(a: MavenItem[], b: MavenItem[]): number {
  return compareLists(a, b);
}

/** ComparableVersion.getCanonical(): `1.0.RELEASE` → `1`, `1.0.0.X1` → `1-x-1`. */
export function canonicalMavenVersion(version: string): string | null {
  const items = cache.get(version);
  return items === null ? null : render(items);
}

function render(items: MavenItem[]): string {
  let out = '';
  for (const it of items) {
    if (out.length > 0) out += it.kind === 'list' ? '-' : '.';
    out += it.kind === 'int' ? it.digits : it.kind === 'str' ? it.value : render(it.items);
  }
  return out;
}

const cache = new ParseCache(parseMavenVersion);

export const mavenScheme: VersionScheme = {
  name: 'maven',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => compareMavenParsed(parsedOrThrow(cache, 'maven', a), parsedOrThrow(cache, 'maven', b)),
};
