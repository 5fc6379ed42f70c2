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

function fastIndex(buf: Buffer, subject: string): PackagesPart | undefined {
  // Scanned as latin1 (one char per byte, so string offsets are byte offsets): V8's string search is several
  // times faster than Buffer.indexOf over 50 MB. Paragraphs are decoded as UTF-8 from the bytes when parsed.
  const s = buf.toString('latin1');
  if (s.includes('\r') || !onlyPlainSeparators(s)) return undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  const byName = new Map<string, number[]>();
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
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [i]);
    else list.push(i);
    pos = end + 1;
    while (s.charCodeAt(pos) === NL) pos++;
  }
  // Provides lines, mapped to their paragraph by position: virtual name → providing package names.
  const nameAt = new Array<string>(starts.length).fill('');
  for (const [name, list] of byName) for (const i of list) nameAt[i] = name;
  const provided = new Map<string, string[]>();
  let at = s.indexOf('\nProvides:');
  while (at >= 0) {
    const owner = nameAt[paragraphOf(starts, at)]!;
    let end = s.indexOf('\n', at + 1);
    // Folded continuation lines belong to the field.
    while (end >= 0 && (s.charCodeAt(end + 1) === 0x20 || s.charCodeAt(end + 1) === 0x09)) end = s.indexOf('\n', end + 1);
    if (end < 0) end = s.length;
    for (const alt of s.slice(at + 11, end).split(/[,|]/)) {
      const m = /^\s*([^\s:(\[]+)/.exec(alt);
      if (m === null) continue;
      const l = provided.get(m[1]!);
      if (l === undefined) provided.set(m[1]!, [owner]);
      else if (l[l.length - 1] !== owner) l.push(owner);
    }
    at = s.indexOf('\nProvides:', end);
  }
  const issues: Issue[] = [];
  const parsed = new Map<string, PackageRecord[]>();
  return {
    paragraphs: starts.length,
    issues,
    names: () => byName.keys(),
    nameCount: byName.size,
    has: (name) => byName.has(name),
    records(name) {
      let records = parsed.get(name);
      if (records === undefined) {
        records = [];
        for (const i of byName.get(name) ?? []) {
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
  for (const needle of [' \n', '\t\n']) {
    let at = s.indexOf(needle);
    while (at >= 0) {
      // A line ending in a blank: whitespace-only when everything back to the previous LF is blank too.
      let b = at;
      while (b > 0 && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
      if (b === 0 || s.charCodeAt(b - 1) === NL) return false;
      at = s.indexOf(needle, at + 2);
    }
  }
  return true;
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
