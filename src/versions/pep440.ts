/** @module versions/pep440 — Python package versions (PEP 440): epochs, pre/post/dev releases, local versions, normalisation. */
import type { VersionScheme } from './version-scheme.js';
import { ParseCache, parsedOrThrow } from './version-cache.js';

/** PEP 440 Appendix B's permissive pattern (the one pip and `packaging` accept), anchored, case-insensitive. */
const PATTERN =
  /^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)([-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?((?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?([-_.]?(dev)[-_.]?([0-9]+)?)?)(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

export interface Pep440Version {
  epoch: string;
  /** Release numbers without leading zeros, trailing zero components dropped (1.0.0 == 1). */
  release: string[];
  /** Pre-release: phase 0 = a, 1 = b, 2 = rc. */
  pre: { phase: number; n: string } | null;
  post: string | null;
  dev: string | null;
  /** Local version segments, lowercased; numeric ones without leading zeros. */
  local: string[] | null;
  /** The normalised form, as `packaging` prints it (`1.0rc1`, `1.0.post1`, `1!2.0.dev3+ubuntu.1`). */
  normalized: string;
}

const PHASES: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };
const PHASE_NAMES = ['a', 'b', 'rc'];

function stripZeros(s: string): string {
  let k = 0;
  while (k < s.length - 1 && s.charCodeAt(k) === 48) k++;
  return k === 0 ? s : s.slice(k);
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return s.length > 0;
}

export function parsePep440(input: string): Pep440Version | null {
  if (input.length > 1024) return null;
  const m = PATTERN.exec(input);
  if (!m) return null;
  const epoch = stripZeros(m[1] ?? '0');
  const fullRelease = m[2]!.split('.').map(stripZeros);
  const release = [...fullRelease];
  while (release.length > 1 && release[release.length - 1] === '0') release.pop();
  const pre = m[4] === undefined ? null : { phase: PHASES[m[4].toLowerCase()]!, n: stripZeros(m[5] ?? '0') };
  const post = m[6] === undefined ? null : stripZeros(m[7] ?? m[9] ?? '0');
  const dev = m[10] === undefined ? null : stripZeros(m[12] ?? '0');
  const local = m[13] === undefined ? null : m[13].toLowerCase().split(/[-_.]/).map((p) => (isDigits(p) ? stripZeros(p) : p));
  let normalized = `${epoch !== '0' ? `${epoch}!` : ''}${fullRelease.join('.')}`;
  if (pre) normalized += `${PHASE_NAMES[pre.phase]}${pre.n}`;
  if (post !== null) normalized += `.post${post}`;
  if (dev !== null) normalized += `.dev${dev}`;
  if (local) normalized += `+${local.join('.')}`;
  return { epoch, release, pre, post, dev, local, normalized };
}

function num(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ranks where a missing part sorts: 1.0.dev1 < 1.0a1 < 1.0 < 1.0.post1, and 1.0 < 1.0+local. */
function preKey(v: Pep440Version): number {
  if (v.pre) return 0;
  return v.post === null && v.dev !== null ? -1 : 1;
}

export function comparePep440Parsed(a: Pep440Version, b: Pep440Version): number {
  let r = num(a.epoch, b.epoch);
  if (r !== 0) return r;
  const n = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    r = num(a.release[i] ?? '0', b.release[i] ?? '0');
    if (r !== 0) return r;
  }
  const pa = preKey(a);
  const pb = preKey(b);
  if (pa !== pb) return pa < pb ? -1 : 1;
  if (a.pre && b.pre) {
    if (a.pre.phase !== b.pre.phase) return a.pre.phase < b.pre.phase ? -1 : 1;
    r = num(a.pre.n, b.pre.n);
    if (r !== 0) return r;
  }
  if (a.post !== b.post) {
    if (a.post === null) return -1;
    if (b.post === null) return 1;
    r = num(a.post, b.post);
    if (r !== 0) return r;
  }
  if (a.dev !== b.dev) {
    if (a.dev === null) return 1;
    if (b.dev === null) return -1;
    r = num(a.dev, b.dev);
    if (r !== 0) return r;
  }
  return compareLocal(a.local, b.local);
}

function compareLocal(a: string[] | null, b: string[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xn = isDigits(x);
    const yn = isDigits(y);
    // Numeric segments sort above alphanumeric ones.
    if (xn !== yn) return xn ? 1 : -1;
    const r = xn ? num(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (r !== 0) return r;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const cache = new ParseCache(parsePep440);

export const pep440Scheme: VersionScheme = {
  name: 'pep440',
  isValid: (version) => cache.get(version) !== null,
  compare: (a, b) => comparePep440Parsed(parsedOrThrow(cache, 'pep440', a), parsedOrThrow(cache, 'pep440', b)),
};

/** The normalised spelling (`1.0RC1` → `1.0rc1`, `1.0-1` → `1.0.post1`), or null when invalid. */
export function normalizePep440(version: string): string | null {
  return cache.get(version)?.normalized ?? null;
}
