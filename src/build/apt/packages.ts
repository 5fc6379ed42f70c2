/** @module build/apt/packages — Packages indices: download checked against the signed Release (by-hash when offered), xz, parse. */
import { createHash } from 'node:crypto';
import { xz } from '@napi-rs/lzma';
import { DistillError, type Issue } from '../../errors.js';
import { distsUrl, type Release, type ReleaseFile } from './release.js';
import { fetchBytes, NotFoundError, type HttpOptions } from './http.js';
import type { Repository } from './sources.js';

/** A version relation in a dependency field: `<<`, `<=`, `=`, `>=`, `>>`. */
export type RelationOp = '<<' | '<=' | '=' | '>=' | '>>';

/** One package in a relation: `name[:arch] [(op version)]`. */
export interface Relation {
  name: string;
  /** Architecture qualifier after `:` (`any`, `native`, or an architecture). */
  arch?: string;
  op?: RelationOp;
  version?: string;
}

/** `Provides` entry: a virtual name, optionally versioned (`= version`). */
export interface Provide {
  name: string;
  version?: string;
}

export interface PackageRecord {
  package: string;
  version: string;
  architecture: string;
  /** Source package name, when it differs from the binary's (from `Source:`). */
  source?: string;
  /** Source version, when `Source: name (version)` gives one. */
  sourceVersion?: string;
  /** Conjunction of alternative lists: `a | b, c` is `[[a, b], [c]]`. */
  depends: Relation[][];
  preDepends: Relation[][];
  recommends: Relation[][];
  conflicts: Relation[];
  breaks: Relation[];
  provides: Provide[];
  /** `same`, `foreign`, `allowed` or `no` (the default). */
  multiArch: 'no' | 'same' | 'foreign' | 'allowed';
  essential: boolean;
  priority?: string;
  section?: string;
  /** Pool path relative to the repository URI. */
  filename: string;
  size: number;
  sha256: string;
  /** Installed-Size in KiB, as the index states it. */
  installedSize?: number;
  /** The index paragraph exactly as it appeared (no trailing newline), for `/var/lib/dpkg/status.d`. */
  raw: string;
}

export interface ParsedPackages {
  records: PackageRecord[];
  issues: Issue[];
}

const RELATION = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s)]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/;

const SIMPLE_NAME = /^[a-z0-9][a-z0-9+.-]*$/;

function parseRelation(input: string): Relation | undefined {
  const text = input.trim();
  // Most entries are a bare name: skip the full pattern for them.
  if (SIMPLE_NAME.test(text)) return { name: text };
  const m = RELATION.exec(text);
  if (m === null) return undefined;
  const rel: Relation = { name: m[1]! };
  if (m[2] !== undefined) rel.arch = m[2];
  if (m[3] !== undefined) {
    // `<` and `>` are obsolete spellings of `<=` and `>=` (deb-control(5)).
    rel.op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as RelationOp);
    rel.version = m[4]!;
  }
  return rel;
}

/** Parses a dependency field (`a (>= 1) | b, c:any`) into alternatives; malformed entries become issues. */
export function parseRelations(value: string | undefined, onBad?: (entry: string) => void): Relation[][] {
  if (value === undefined || value === '') return [];
  const out: Relation[][] = [];
  for (const group of value.split(',')) {
    if (group.trim() === '') continue;
    const alts: Relation[] = [];
    for (const alt of group.split('|')) {
      const rel = parseRelation(alt);
      if (rel === undefined) onBad?.(alt.trim());
      else alts.push(rel);
    }
    if (alts.length > 0) out.push(alts);
  }
  return out;
}

function parseProvides(value: string | undefined, onBad: (entry: string) => void): Provide[] {
  const out: Provide[] = [];
  for (const group of parseRelations(value, onBad)) {
    for (const rel of group) {
      // Only `=` is meaningful in Provides (policy 7.5); anything else is not a versioned provide.
      out.push(rel.op === '=' && rel.version !== undefined ? { name: rel.name, version: rel.version } : { name: rel.name });
    }
  }
  return out;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MULTI_ARCH = new Set(['no', 'same', 'foreign', 'allowed']);

/**
 * Parses a Packages index. Paragraphs missing Package, Version, Architecture, Filename, Size or a valid SHA256 are
 * dropped with an issue (a record without a SHA256 can never be installed: nothing may use an unchecked .deb).
 */
export function parsePackages(input: Buffer | string, subject = 'Packages'): ParsedPackages {
  let text = typeof input === 'string' ? input : input.toString('utf8');
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  const records: PackageRecord[] = [];
  const issues: Issue[] = [];
  const note = (message: string): void => {
    if (issues.length < 100) issues.push({ code: 'PARSE_FAILED', message, path: subject, source: 'apt' });
  };
  // One pass over the lines. Only the fields a record needs are stored; every other line (descriptions are most
  // of the bytes) is skipped without copying, and the paragraph's raw text is one slice of the input.
  // One map reused for every paragraph: toRecord copies what it needs out of it.
  const fields = new Map<string, string>();
  let current: string | undefined;
  let paraStart = -1;
  let paraEnd = -1;
  let paraLine = 0;
  let lineNo = 0;
  const finish = (): void => {
    if (paraStart >= 0 && fields.size > 0) {
      const record = toRecord(fields, text.slice(paraStart, paraEnd), paraLine, note);
      if (record !== undefined) records.push(record);
    } else if (paraStart >= 0) note(`line ${paraLine}: paragraph without fields; skipped`);
    fields.clear();
    current = undefined;
    paraStart = -1;
  };
  let pos = 0;
  const end = text.length;
  while (pos < end) {
    let next = text.indexOf('\n', pos);
    if (next < 0) next = end;
    lineNo++;
    const c = text.charCodeAt(pos);
    if (next === pos) {
      finish();
    } else if (c === 0x20 || c === 0x09) {
      // Continuation (or a whitespace-only separator line, which dpkg also accepts). Continuations of fields
      // not kept (descriptions) are skipped without copying unless they might be blank.
      const c2 = text.charCodeAt(pos + 1);
      if (current === undefined && next > pos + 1 && c2 !== 0x20 && c2 !== 0x09) {
        if (paraStart >= 0) paraEnd = next;
        else note(`line ${lineNo}: continuation line outside a paragraph`);
        pos = next + 1;
        continue;
      }
      const body = text.slice(pos + 1, next);
      if (body.trim() === '') finish();
      else if (current !== undefined) {
        fields.set(current, `${fields.get(current) ?? ''}\n${body === '.' ? '' : body}`);
        paraEnd = next;
      } else if (paraStart < 0) note(`line ${lineNo}: continuation line outside a paragraph`);
      else paraEnd = next;
    } else if (c === 0x23 /* # */ && paraStart < 0) {
      // Comment between paragraphs.
    } else {
      const colon = text.indexOf(':', pos);
      if (paraStart < 0) {
        paraStart = pos;
        paraLine = lineNo;
      }
      paraEnd = next;
      if (colon < 0 || colon > next || colon === pos) {
        note(`line ${lineNo}: expected "Field: value"`);
        current = undefined;
      } else {
        const rawName = text.slice(pos, colon);
        const name = KEPT_CANONICAL.get(rawName) ?? rawName.toLowerCase();
        if (KEPT.has(name)) {
          if (fields.has(name)) {
            note(`line ${lineNo}: duplicate field "${name}"; the first is kept`);
            current = undefined;
          } else {
            fields.set(name, text.slice(colon + 1, next).trim());
            current = name;
          }
        } else current = undefined;
      }
    }
    pos = next + 1;
  }
  finish();
  return { records, issues };
}

const KEPT_NAMES = ['Package', 'Version', 'Architecture', 'Source', 'Depends', 'Pre-Depends', 'Recommends', 'Conflicts', 'Breaks', 'Provides', 'Multi-Arch', 'Essential', 'Priority', 'Section', 'Filename', 'Size', 'SHA256', 'Installed-Size'];
/** The spelling Debian's indices use, to skip lower-casing on the common path. */
const KEPT_CANONICAL = new Map(KEPT_NAMES.map((n) => [n, n.toLowerCase()]));
const KEPT = new Set(['package', 'version', 'architecture', 'source', 'depends', 'pre-depends', 'recommends', 'conflicts', 'breaks', 'provides', 'multi-arch', 'essential', 'priority', 'section', 'filename', 'size', 'sha256', 'installed-size']);

function toRecord(f: Map<string, string>, raw: string, line: number, noteAt: (message: string) => void): PackageRecord | undefined {
  const note = (m: string): void => noteAt(`line ${line}: ${m}`);
  const pkg = f.get('package');
  const version = f.get('version');
  const architecture = f.get('architecture');
  const filename = f.get('filename');
  const sizeText = f.get('size');
  const sha256 = f.get('sha256')?.toLowerCase();
  if (pkg === undefined || version === undefined || architecture === undefined) {
    note('paragraph without Package, Version or Architecture; skipped');
    return undefined;
  }
  if (filename === undefined || sizeText === undefined || sha256 === undefined || !HEX64.test(sha256)) {
    note(`${pkg} ${version}: no Filename, Size or valid SHA256; skipped (it could not be verified)`);
    return undefined;
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size) || size < 0) {
    note(`${pkg} ${version}: Size "${sizeText}" is not a byte count; skipped`);
    return undefined;
  }
  if (filename.startsWith('/') || filename.split('/').includes('..')) {
    note(`${pkg} ${version}: Filename "${filename}" escapes the repository; skipped`);
    return undefined;
  }
  const bad = (entry: string): void => note(`${pkg} ${version}: malformed relation "${entry.slice(0, 80)}" ignored`);
  const multiArch = f.get('multi-arch')?.trim().toLowerCase() ?? 'no';
  const record: PackageRecord = {
    package: pkg,
    version,
    architecture,
    depends: parseRelations(f.get('depends'), bad),
    preDepends: parseRelations(f.get('pre-depends'), bad),
    recommends: parseRelations(f.get('recommends'), bad),
    conflicts: parseRelations(f.get('conflicts'), bad).flat(),
    breaks: parseRelations(f.get('breaks'), bad).flat(),
    provides: parseProvides(f.get('provides'), bad),
    multiArch: MULTI_ARCH.has(multiArch) ? (multiArch as PackageRecord['multiArch']) : 'no',
    essential: f.get('essential')?.trim().toLowerCase() === 'yes',
    filename,
    size,
    sha256,
    raw,
  };
  const source = f.get('source');
  if (source !== undefined) {
    const m = /^(\S+)(?:\s*\(\s*([^\s)]+)\s*\))?$/.exec(source.trim());
    if (m !== null) {
      record.source = m[1]!;
      if (m[2] !== undefined) record.sourceVersion = m[2];
    } else note(`${pkg} ${version}: malformed Source "${source.slice(0, 80)}" ignored`);
  }
  const priority = f.get('priority');
  if (priority !== undefined) record.priority = priority;
  const section = f.get('section');
  if (section !== undefined) record.section = section;
  const installed = f.get('installed-size');
  if (installed !== undefined && /^\d+$/.test(installed.trim())) record.installedSize = Number(installed.trim());
  return record;
}

/** Packages indices beyond this size (compressed) are refused: the bookworm amd64 one is ~9 MB. */
export const PACKAGES_MAX_BYTES = 256 * 1024 * 1024;

/** Where a component's index lives, relative to `dists/<suite>/`. */
export function packagesPath(component: string, arch: string): string {
  return `${component}/binary-${arch}/Packages.xz`;
}

/** Checks bytes against a Release entry; RELEASE_HASH_MISMATCH names the expected and actual values. */
export function checkIndexHash(data: Buffer, entry: ReleaseFile, subject: string): void {
  if (data.byteLength !== entry.size) {
    throw new DistillError('RELEASE_HASH_MISMATCH', `${subject}: ${data.byteLength} bytes, the signed Release says ${entry.size}`, { subject });
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== entry.sha256) {
    throw new DistillError('RELEASE_HASH_MISMATCH', `${subject}: SHA256 ${actual}, the signed Release says ${entry.sha256}`, { subject });
  }
}

/** A store of verified index files by SHA256 (see fetch-deb.ts's content cache); every read is re-hashed. */
export interface IndexCache {
  /** The verified `Packages.xz` with this SHA256 and size. */
  get(sha256: string, size: number): Promise<Buffer | undefined>;
  put(sha256: string, data: Buffer): Promise<void>;
  /** The decompressed `Packages` whose SHA256 and size the signed Release lists, when a matching cached copy exists. */
  getText?(sha256: string, size: number): Promise<Buffer | undefined>;
  putText?(sha256: string, data: Buffer): Promise<void>;
}

export interface FetchPackagesOptions extends HttpOptions {
  cache?: IndexCache;
  /** Called with the URL actually downloaded (by-hash or plain), or `cache:<hex>` on a cache hit. */
  onFetch?: (url: string) => void;
}

/**
 * Downloads and verifies `<component>/binary-<arch>/Packages.xz` of a repository whose Release is already verified:
 * by-hash when the Release offers it (falling back to the plain path on 404, as apt does), size and SHA256 checked
 * before decompression, then parsed.
 */
export async function fetchPackages(repo: Repository, release: Release, component: string, arch: string, options: FetchPackagesOptions = {}): Promise<ParsedPackages> {
  return parsePackages(await fetchPackagesText(repo, release, component, arch, options), distsUrl(repo, packagesPath(component, arch)));
}

/**
 * The verified, decompressed Packages text. When the signed Release lists the uncompressed `Packages` too (Debian's
 * do), the decompressed bytes must match that entry, and the content cache keeps them under that SHA256: a warm
 * build re-hashes ~50 MB (tens of milliseconds) instead of decompressing the xz (about a second). A cached copy
 * that does not hash to the signed value is a miss, so the cache never decides what the index says.
 */
export async function fetchPackagesText(repo: Repository, release: Release, component: string, arch: string, options: FetchPackagesOptions = {}): Promise<Buffer> {
  const relative = packagesPath(component, arch);
  const entry = release.sha256.get(relative);
  if (entry === undefined) {
    throw new DistillError('RELEASE_INVALID', `${distsUrl(repo, 'InRelease')} lists no ${relative} (component ${component}, architecture ${arch})`, { subject: distsUrl(repo, relative) });
  }
  const plainEntry = release.sha256.get(relative.replace(/\.xz$/, ''));
  if (plainEntry !== undefined) {
    const hit = await options.cache?.getText?.(plainEntry.sha256, plainEntry.size);
    if (hit !== undefined) {
      options.onFetch?.(`cache:${plainEntry.sha256}`);
      return hit;
    }
  }
  const data = await fetchIndex(repo, release, relative, entry, options);
  let text: Buffer;
  try {
    text = await xz.decompress(data);
  } catch (error) {
    throw new DistillError('DECOMPRESS_FAILED', `${distsUrl(repo, relative)}: ${(error as Error).message}`, { subject: distsUrl(repo, relative), cause: error });
  }
  if (plainEntry !== undefined) {
    checkIndexHash(text, plainEntry, `${distsUrl(repo, relative)} (decompressed)`);
    await options.cache?.putText?.(plainEntry.sha256, text);
  }
  return text;
}

async function fetchIndex(repo: Repository, release: Release, relative: string, entry: ReleaseFile, options: FetchPackagesOptions): Promise<Buffer> {
  const hit = await options.cache?.get(entry.sha256, entry.size);
  if (hit !== undefined) {
    options.onFetch?.(`cache:${entry.sha256}`);
    return hit;
  }
  const plain = distsUrl(repo, relative);
  const urls = release.acquireByHash ? [distsUrl(repo, `${relative.slice(0, relative.lastIndexOf('/'))}/by-hash/SHA256/${entry.sha256}`), plain] : [plain];
  for (let i = 0; i < urls.length; i++) {
    const url = urls[i]!;
    let data: Buffer;
    try {
      // A little headroom over the signed size so an oversized body is reported as a mismatch, not a bound.
      data = await fetchBytes(url, Math.min(entry.size + 1, PACKAGES_MAX_BYTES), options);
    } catch (error) {
      if (error instanceof NotFoundError && i + 1 < urls.length) continue;
      if (error instanceof DistillError && error.code === 'FILE_TOO_LARGE' && entry.size < PACKAGES_MAX_BYTES) {
        throw new DistillError('RELEASE_HASH_MISMATCH', `${url}: larger than the ${entry.size} bytes the signed Release says`, { subject: url });
      }
      throw error;
    }
    options.onFetch?.(url);
    checkIndexHash(data, entry, url);
    await options.cache?.put(entry.sha256, data);
    return data;
  }
  throw new DistillError('DOWNLOAD_FAILED', `${plain}: not found`, { subject: plain });
}
