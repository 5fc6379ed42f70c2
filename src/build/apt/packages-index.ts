/** @module build/apt/packages-index — a verified Packages text indexed by package name, each paragraph parsed on first use. */
import type { Issue } from '../../errors.js';
import { parsePackages, type PackageRecord } from './packages.js';

/**
 * One Packages index (one repository, component and architecture). A build reads a dozen packages out of
 * ~64 000: finding the paragraph boundaries and the names is one pass over the bytes, parsing is per package.
 */
export interface PackagesPart {
  /** Paragraphs in the index (valid or not). */
  readonly paragraphs: number;
  /** Every package name with at least one paragraph, in index order. */
  names(): Iterable<string>;
  /** How many distinct names `names()` yields. */
  readonly nameCount: number;
  /** Whether some paragraph is named `name`. */
  has(name: string): boolean;
  /** The valid records named `name`, in index order (parsed on first use; malformed ones become issues). */
  records(name: string): readonly PackageRecord[];
  /** Names of packages one of whose paragraphs lists `virtual` in Provides (a superset: check the record). */
  providerNames(virtual: string): readonly string[];
  /** Every name some paragraph Provides. */
  providedNames(): Iterable<string>;
  /** Problems found so far in the paragraphs parsed. */
  readonly issues: Issue[];
}

/**
 * Indexes a verified Packages text. The fast path takes the layout every archive tool writes (dak, apt-ftparchive,
 * dpkg-scanpackages): `Package:` first in each paragraph, paragraphs separated by empty lines, LF line ends,
 * `Provides` spelled so. Anything else (CR, comments, whitespace-only separator lines, another first field) is
 * parsed whole by {@link parsePackages}, so the answers are the same either way.
 */
export function indexPackages(text: Buffer, subject: string): PackagesPart {
  return fastIndex(text, subject) ?? fullIndex(text, subject);
}

const NL = 0x0a;
/** A Provides field name in any other spelling than exactly `Provides:` at a line start (about 26 ms over 50 MB). */
const ODD_PROVIDES = /^(?!Provides:)[Pp][Rr][Oo][Vv][Ii][Dd][Ee][Ss][ \t]*:/m;

function fastIndex(buf: Buffer, subject: string): PackagesPart | undefined {
  // Scanned as latin1 (one char per byte, so string offsets are byte offsets): V8's string search is several
  // times faster than Buffer.indexOf over 50 MB. Paragraphs are decoded as UTF-8 from the bytes when parsed.
  const s = buf.toString('latin1');
  if (s.includes('\r') || !onlyPlainSeparators(s)) return undefined;
  // The full parser reads field names case-insensitively and trims them: a `provides:` or `Provides :` line (no
  // archive tool writes one) would be missed by the exact-spelling scan below, so such a text is parsed whole.
  if (ODD_PROVIDES.test(s)) return undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  const nameAt: string[] = [];
  // Name → its first paragraph; later paragraphs of the same name (rare) are chained through `sameNext` (-1 ends
  // a chain). One Map entry and no array per name: the scan allocates little, so the collector has little to do.
  const first = new Map<string, number>();
  const sameNext: number[] = [];
  let pos = 0;
  while (s.charCodeAt(pos) === NL) pos++;
  while (pos < s.length) {
    if (!s.startsWith('Package: ', pos)) return undefined;
    let eol = s.indexOf('\n', pos);
    if (eol < 0) eol = s.length;
    const name = s.slice(pos + 9, eol);
    // A continued or padded Package line is for the full parser to judge.
    const next = s.charCodeAt(eol + 1);
    if (name === '' || name.includes(' ') || name.includes('\t') || next === 0x20 || next === 0x09) return undefined;
    let end = s.indexOf('\n\n', eol);
    if (end < 0) end = s.charCodeAt(s.length - 1) === NL ? s.length - 1 : s.length;
    const i = starts.length;
    starts.push(pos);
    ends.push(end);
    nameAt.push(name);
    sameNext.push(-1);
    let prev = first.get(name);
    if (prev === undefined) first.set(name, i);
    else {
      while (sameNext[prev]! >= 0) prev = sameNext[prev]!;
      sameNext[prev] = i;
    }
    pos = end + 1;
    while (s.charCodeAt(pos) === NL) pos++;
  }
  // Provides lines, mapped to their paragraph by position: virtual name → providing package names.
  const provided = new Map<string, string[]>();
  // Searched without the leading LF, which is checked: `P` is far rarer than LF, so the search skips ahead faster.
  let at = s.indexOf('Provides:') - 1;
  while (at >= -1) {
    if (at < 0 || s.charCodeAt(at) !== NL) {
      at = s.indexOf('Provides:', at + 2) - 1;
      continue;
    }
    const owner = nameAt[paragraphOf(starts, at)]!;
    let end = s.indexOf('\n', at + 1);
    // Folded continuation lines belong to the field.
    while (end >= 0 && (s.charCodeAt(end + 1) === 0x20 || s.charCodeAt(end + 1) === 0x09)) end = s.indexOf('\n', end + 1);
    if (end < 0) end = s.length;
    // Each `,`/`|` alternative names a package: its first run of characters after leading whitespace, up to
    // whitespace or one of `:([` (the full parser's reading). ASCII values (all of Debian's) are read in place;
    // one with other bytes is decoded as UTF-8 first, as the parser does, so its whitespace is the same.
    if (asciiOnly(s, at + 10, end)) addProvides(provided, s, at + 10, end, owner);
    else {
      const value = buf.toString('utf8', at + 10, end);
      addProvides(provided, value, 0, value.length, owner);
    }
    at = s.indexOf('Provides:', end) - 1;
  }
  const issues: Issue[] = [];
  const parsed = new Map<string, PackageRecord[]>();
  return {
    paragraphs: starts.length,
    issues,
    names: () => first.keys(),
    nameCount: first.size,
    has: (name) => first.has(name),
    records(name) {
      let records = parsed.get(name);
      if (records === undefined) {
        records = [];
        for (let i = first.get(name) ?? -1; i >= 0; i = sameNext[i]!) {
          const one = parsePackages(buf.toString('utf8', starts[i]!, ends[i]!), subject);
          for (const issue of one.issues) if (issues.length < 100) issues.push(issue);
          // The paragraph is named by its first line, so it can only parse to a record of that name.
          for (const r of one.records) if (r.package === name) records.push(r);
        }
        parsed.set(name, records);
      }
      return records;
    },
    providerNames: (virtual) => [...new Set(provided.get(virtual) ?? [])],
    providedNames: () => provided.keys(),
  };
}

/** Records `owner` as providing each name of the Provides value `v.slice(from, end)`. */
function addProvides(provided: Map<string, string[]>, v: string, from: number, end: number, owner: string): void {
  let c = from;
  while (c < end) {
    while (c < end && isSpace(v.charCodeAt(c))) c++;
    const start = c;
    while (c < end && !endsName(v.charCodeAt(c))) c++;
    if (c > start) {
      const virtual = v.slice(start, c);
      const l = provided.get(virtual);
      if (l === undefined) provided.set(virtual, [owner]);
      else if (l[l.length - 1] !== owner) l.push(owner);
    }
    // The rest of the alternative (version, qualifier) up to the next separator is skipped.
    while (c < end && v.charCodeAt(c) !== 0x2c && v.charCodeAt(c) !== 0x7c) c++;
    c++;
  }
}

function asciiOnly(s: string, from: number, end: number): boolean {
  for (let c = from; c < end; c++) if (s.charCodeAt(c) > 0x7f) return false;
  return true;
}

/** JavaScript's `\\s` (the full parser's reading of whitespace in a Provides field). */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Where a provided name stops: whitespace, `:`, `(`, `[`, or the alternative's separator. */
function endsName(c: number): boolean {
  return isSpace(c) || c === 0x3a || c === 0x28 || c === 0x5b || c === 0x2c || c === 0x7c;
}

/** Largest paragraph start ≤ `offset`. */
function paragraphOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** False when a line holds only spaces or tabs (dpkg reads it as a paragraph separator; the fast path would not). */
function onlyPlainSeparators(s: string): boolean {
  // Such a line starts with a space (after an LF, or the text's first), or holds a tab. Both needles are rare in a
  // Packages text, where a search for `" \n"` would stop at every space.
  if (blankLineAt(s, 0)) return false;
  let at = s.indexOf('\n ');
  while (at >= 0) {
    if (blankLineAt(s, at + 1)) return false;
    at = s.indexOf('\n ', at + 2);
  }
  at = s.indexOf('\t');
  while (at >= 0) {
    let b = at;
    while (b > 0 && isBlank(s.charCodeAt(b - 1))) b--;
    if ((b === 0 || s.charCodeAt(b - 1) === NL) && blankLineAt(s, b)) return false;
    at = s.indexOf('\t', at + 1);
  }
  return true;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Whether the line starting at `from` is one or more blanks and then LF. */
function blankLineAt(s: string, from: number): boolean {
  let c = from;
  while (isBlank(s.charCodeAt(c))) c++;
  return c > from && s.charCodeAt(c) === NL;
}

function fullIndex(text: Buffer, subject: string): PackagesPart {
  const { records, issues } = parsePackages(text, subject);
  const byName = new Map<string, PackageRecord[]>();
  const provided = new Map<string, string[]>();
  for (const r of records) {
    const list = byName.get(r.package);
    if (list === undefined) byName.set(r.package, [r]);
    else list.push(r);
    for (const p of r.provides) {
      const l = provided.get(p.name);
      if (l === undefined) provided.set(p.name, [r.package]);
      else if (!l.includes(r.package)) l.push(r.package);
    }
  }
  return {
    paragraphs: records.length,
    issues,
    names: () => byName.keys(),
    nameCount: byName.size,
    has: (name) => byName.has(name),
    records: (name) => byName.get(name) ?? [],
    providerNames: (virtual) => provided.get(virtual) ?? [],
    providedNames: () => provided.keys(),
  };
}
