/** @module build/lock — the lockfile (images/<name>.lock.json): exact versions, files and sha256 per architecture. */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { DistillError } from '../errors.js';
import { parseDebVersion } from '../versions/deb.js';
import type { PackageIndex } from './resolve/package-index.js';
import type { Resolution, ResolverPackage } from './resolve/types.js';

export const LOCK_VERSION = 1;
/** Real locks are a few kilobytes per image; anything near this is not a lockfile. */
const MAX_LOCK_BYTES = 16 * 1024 * 1024;

export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  filename: string;
  size: number;
  sha256: string;
  source: string;
  repository: { uri: string; suite: string };
}

export interface Lockfile {
  lockVersion: 1;
  /** `sha256:<hex>` of the resolution-relevant recipe content (see {@link recipeDigest}). */
  recipeDigest: string;
  /** Architecture → packages sorted by name, then architecture. */
  archs: Record<string, LockedPackage[]>;
}

/** `sha256:<hex>` of a value's canonical JSON (object keys sorted), so formatting and key order do not matter. */
export function recipeDigest(recipe: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(recipe)).digest('hex')}`;
}

/** Whether the lock was made from this recipe (the same value that was given to {@link recipeDigest}). */
export function lockMatches(recipe: unknown, lock: Lockfile): boolean {
  return recipeDigest(recipe) === lock.recipeDigest;
}

/** A lock from one resolution per architecture. Every package needs filename, size, sha256 and repository. */
export function createLock(digest: string, resolutions: Resolution[]): Lockfile {
  const archs: Record<string, LockedPackage[]> = {};
  for (const r of resolutions) {
    if (archs[r.arch] !== undefined) throw new DistillError('USAGE', `two resolutions for ${r.arch}`);
    archs[r.arch] = r.packages.map((p) => lockedEntry(p)).sort(entryOrder);
  }
  const lock: Lockfile = { lockVersion: LOCK_VERSION, recipeDigest: digest, archs };
  validateLock(lock, 'lock');
  return lock;
}

function lockedEntry(p: ResolverPackage): LockedPackage {
  const missing = (['filename', 'size', 'sha256', 'repository'] as const).filter((k) => p[k] === undefined);
  if (missing.length > 0) throw new DistillError('LOCK_INVALID', `${p.name} ${p.version}: the index record has no ${missing.join(', ')}; it cannot be locked`, { subject: p.name });
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    filename: p.filename!,
    size: p.size!,
    sha256: p.sha256!,
    source: p.source ?? p.name,
    repository: { uri: p.repository!.uri, suite: p.repository!.suite },
  };
}

/** Stable text: keys sorted, 2-space indent, one trailing newline. Same lock, same bytes. */
export function serializeLock(lock: Lockfile): string {
  const sorted: Lockfile = { ...lock, archs: Object.fromEntries(Object.entries(lock.archs).map(([a, list]) => [a, [...list].sort(entryOrder)])) };
  return `${JSON.stringify(sortKeys(sorted), null, 2)}\n`;
}

/** Writes the lock to a temporary name next to `path` and renames it into place. */
export function writeLock(path: string, lock: Lockfile): void {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, serializeLock(lock));
  renameSync(tmp, path);
}

/** Reads and validates a lockfile; LOCK_INVALID names the field that is wrong. */
export function readLock(path: string): Lockfile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new DistillError('LOCK_INVALID', `cannot read lockfile ${path}`, { subject: path, cause: error, hint: 'run `distill lock RECIPE` to create it' });
  }
  if (size > MAX_LOCK_BYTES) throw new DistillError('LOCK_INVALID', `${path}: ${size} bytes is too large for a lockfile`, { subject: path });
  return parseLock(readFileSync(path, 'utf8'), path);
}

export function parseLock(text: string, subject = 'lockfile'): Lockfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DistillError('LOCK_INVALID', `${subject}: not valid JSON (${(error as Error).message})`, { subject, cause: error });
  }
  validateLock(value, subject);
  return value;
}

const NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function validateLock(value: unknown, subject: string): asserts value is Lockfile {
  const fail = (field: string, problem: string): never => {
    throw new DistillError('LOCK_INVALID', `${subject}: ${field} ${problem}`, { subject: `${subject}: ${field}` });
  };
  if (!isObject(value)) return fail('(top level)', 'must be an object');
  onlyKeys(value, ['lockVersion', 'recipeDigest', 'archs'], '', fail);
  if (value.lockVersion !== LOCK_VERSION) fail('lockVersion', `must be ${LOCK_VERSION} (got ${JSON.stringify(value.lockVersion)})`);
  if (typeof value.recipeDigest !== 'string' || !DIGEST.test(value.recipeDigest)) fail('recipeDigest', 'must be "sha256:" and 64 hex digits');
  const archs = value.archs;
  if (!isObject(archs)) return fail('archs', 'must be an object of architecture → packages');
  for (const [arch, list] of Object.entries(archs)) {
    const at = `archs.${arch}`;
    if (!ARCH.test(arch)) fail(at, 'is not an architecture name');
    if (!Array.isArray(list)) return fail(at, 'must be an array');
    const seen = new Set<string>();
    list.forEach((entry: unknown, i) => {
      const here = `${at}[${i}]`;
      if (!isObject(entry)) return fail(here, 'must be an object');
      onlyKeys(entry, ['name', 'version', 'architecture', 'filename', 'size', 'sha256', 'source', 'repository'], `${here}.`, fail);
      const str = (k: string): string => {
        const v = entry[k];
        if (typeof v !== 'string' || v === '') fail(`${here}.${k}`, 'must be a non-empty string');
        return v as string;
      };
      const name = str('name');
      if (!NAME.test(name)) fail(`${here}.name`, `"${name}" is not a Debian package name`);
      if (parseDebVersion(str('version')) === null) fail(`${here}.version`, 'is not a Debian version');
      const a = str('architecture');
      if (a !== arch && a !== 'all') fail(`${here}.architecture`, `must be ${arch} or all`);
      const filename = str('filename');
      if (filename.startsWith('/') || filename.split('/').some((s) => s === '..' || s === '') || filename.includes('\\')) fail(`${here}.filename`, 'must be a relative pool path without ".."');
      if (!Number.isSafeInteger(entry.size) || (entry.size as number) < 0) fail(`${here}.size`, 'must be a non-negative integer');
      if (!SHA256.test(str('sha256'))) fail(`${here}.sha256`, 'must be 64 lower-case hex digits');
      str('source');
      const repo = entry.repository;
      if (!isObject(repo)) return fail(`${here}.repository`, 'must be an object with uri and suite');
      onlyKeys(repo, ['uri', 'suite'], `${here}.repository.`, fail);
      if (typeof repo.uri !== 'string' || !/^(https?|file):\/\//.test(repo.uri)) fail(`${here}.repository.uri`, 'must be an http(s) or file URI');
      if (typeof repo.suite !== 'string' || repo.suite === '') fail(`${here}.repository.suite`, 'must be a non-empty string');
      if (seen.has(name)) fail(`${here}.name`, `"${name}" is locked twice`);
      seen.add(name);
    });
  }
}

export interface LockedResolution {
  arch: string;
  /** The current index's records for the locked packages, sorted like a Resolution. */
  packages: ResolverPackage[];
}

/**
 * Re-checks every locked entry of `index.arch` against the current index (build it from all suites without
 * merging, so older published versions stay visible): the exact version must still be published with the same
 * sha256, size and filename. Anything else is LOCK_STALE.
 */
export function lockedResolution(lock: Lockfile, index: PackageIndex): LockedResolution {
  const entries = lock.archs[index.arch];
  if (entries === undefined) throw new DistillError('LOCK_STALE', `the lock has no packages for ${index.arch} (it has ${Object.keys(lock.archs).sort().join(', ') || 'none'})`, { subject: index.arch, hint: 'run `distill lock RECIPE` to lock every architecture the recipe builds' });
  const stale = (e: LockedPackage, why: string): DistillError =>
    new DistillError('LOCK_STALE', `locked ${e.name} ${e.version} (${e.architecture}) ${why}`, { subject: e.name, hint: 'run `distill lock RECIPE` to refresh the lock' });
  const packages: ResolverPackage[] = [];
  for (const e of entries) {
    const candidates = (index.byName.get(e.name) ?? []).filter((p) => p.version === e.version && p.architecture === e.architecture);
    if (candidates.length === 0) {
      const now = (index.byName.get(e.name) ?? []).map((p) => p.version);
      throw stale(e, `is no longer in the index${now.length > 0 ? ` (it has ${now.join(', ')})` : ''}`);
    }
    const same = candidates.find((p) => p.sha256 === e.sha256);
    if (same === undefined) throw stale(e, `has another sha256 in the index now (${candidates[0]!.sha256 ?? 'none'}, locked ${e.sha256})`);
    if (same.size !== e.size) throw stale(e, `has another size in the index now (${same.size}, locked ${e.size})`);
    if (same.filename !== e.filename) throw stale(e, `has another file name in the index now (${same.filename}, locked ${e.filename})`);
    packages.push(same);
  }
  packages.sort((a, b) => entryOrder(a, b));
  return { arch: index.arch, packages };
}

function entryOrder(a: { name: string; architecture: string }, b: { name: string; architecture: string }): number {
  return cmp(a.name, b.name) || cmp(a.architecture, b.architecture);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: string[], prefix: string, fail: (f: string, p: string) => never): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${prefix}${k}`, 'is not a lockfile field');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v)) ?? 'null';
}
