/** @module build/apt/parsed-cache — a compact, checksummed encoding of a parsed Packages index, cached beside its verified Packages.xz. */
import { createHash } from 'node:crypto';
import type { Issue } from '../../errors.js';
import type { PackageRecord, ParsedPackages, Provide, Relation } from './packages.js';

/*
 * Layout: one JSON header line, then the body: a JSON array of per-record tuples, `\n`, and every record's raw
 * paragraph joined with `\n` (raw strings are rebuilt as slices of that one string, as the parser makes them).
 * The header names the Packages.xz SHA256 the body was parsed from and the SHA256 of the body, so a damaged or
 * foreign file is a miss. It is a speed cache only: the key is taken from the signed Release on every build.
 */
const FORMAT = 'distill-parsed-packages-v1';

interface Header {
  format: string;
  xz: string;
  count: number;
  /** Bytes of the tuple JSON at the start of the body. */
  tuples: number;
  body: string;
  issues: { code: Issue['code']; message: string }[];
}

type Tuple = [
  pkg: string, version: string, architecture: string, source: string | null, sourceVersion: string | null,
  depends: string, preDepends: string, recommends: string, conflicts: string, breaks: string, provides: string,
  multiArch: PackageRecord['multiArch'], essential: 0 | 1, priority: string | null, section: string | null,
  filename: string, size: number, sha256: string, installedSize: number | null, rawLength: number,
];

// Relations re-encoded losslessly: names, arch qualifiers and versions never hold spaces, `,` or `|`.
function encodeRelation(r: Relation): string {
  let s = r.arch === undefined ? r.name : `${r.name}:${r.arch}`;
  if (r.op !== undefined) s += ` ${r.op} ${r.version ?? ''}`;
  return s;
}

function decodeRelation(s: string): Relation {
  const sp = s.indexOf(' ');
  const head = sp < 0 ? s : s.slice(0, sp);
  const colon = head.indexOf(':');
  const rel: Relation = { name: colon < 0 ? head : head.slice(0, colon) };
  if (colon >= 0) rel.arch = head.slice(colon + 1);
  if (sp >= 0) {
    const sp2 = s.indexOf(' ', sp + 1);
    rel.op = s.slice(sp + 1, sp2) as Relation['op'] & string;
    rel.version = s.slice(sp2 + 1);
  }
  return rel;
}

const encodeGroups = (groups: Relation[][]): string => groups.map((g) => g.map(encodeRelation).join('|')).join(',');
const decodeGroups = (s: string): Relation[][] => (s === '' ? [] : s.split(',').map((g) => g.split('|').map(decodeRelation)));
const encodeFlat = (list: Relation[]): string => list.map(encodeRelation).join(',');
const decodeFlat = (s: string): Relation[] => (s === '' ? [] : s.split(',').map(decodeRelation));
const encodeProvides = (list: Provide[]): string => list.map((p) => (p.version === undefined ? p.name : `${p.name} ${p.version}`)).join(',');
function decodeProvides(s: string): Provide[] {
  if (s === '') return [];
  return s.split(',').map((e) => {
    const sp = e.indexOf(' ');
    return sp < 0 ? { name: e } : { name: e.slice(0, sp), version: e.slice(sp + 1) };
  });
}

/**
 * A record read back from the cache. The relation lists are decoded on first use: a build reads them for a
 * handful of packages out of tens of thousands, and decoding them all is most of the load time and garbage.
 * `toJSON` gives the parser's plain record (same keys, same order).
 */
class CachedRecord implements PackageRecord {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  declare readonly source?: string;
  declare readonly sourceVersion?: string;
  readonly multiArch: PackageRecord['multiArch'];
  readonly essential: boolean;
  declare readonly priority?: string;
  declare readonly section?: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  declare readonly installedSize?: number;
  readonly raw: string;
  #t: Tuple;
  #depends: Relation[][] | undefined;
  #preDepends: Relation[][] | undefined;
  #recommends: Relation[][] | undefined;
  #conflicts: Relation[] | undefined;
  #breaks: Relation[] | undefined;
  #provides: Provide[] | undefined;

  constructor(t: Tuple, raw: string) {
    this.package = t[0];
    this.version = t[1];
    this.architecture = t[2];
    this.multiArch = t[11];
    this.essential = t[12] === 1;
    this.filename = t[15];
    this.size = t[16];
    this.sha256 = t[17];
    this.raw = raw;
    this.#t = t;
    const self = this as { source?: string; sourceVersion?: string; priority?: string; section?: string; installedSize?: number };
    if (t[3] !== null) self.source = t[3];
    if (t[4] !== null) self.sourceVersion = t[4];
    if (t[13] !== null) self.priority = t[13];
    if (t[14] !== null) self.section = t[14];
    if (t[18] !== null) self.installedSize = t[18];
  }

  get depends(): Relation[][] { return (this.#depends ??= decodeGroups(this.#t[5])); }
  get preDepends(): Relation[][] { return (this.#preDepends ??= decodeGroups(this.#t[6])); }
  get recommends(): Relation[][] { return (this.#recommends ??= decodeGroups(this.#t[7])); }
  get conflicts(): Relation[] { return (this.#conflicts ??= decodeFlat(this.#t[8])); }
  get breaks(): Relation[] { return (this.#breaks ??= decodeFlat(this.#t[9])); }
  get provides(): Provide[] { return (this.#provides ??= decodeProvides(this.#t[10])); }

  toJSON(): PackageRecord {
    const r: PackageRecord = {
      package: this.package, version: this.version, architecture: this.architecture,
      depends: this.depends, preDepends: this.preDepends, recommends: this.recommends, conflicts: this.conflicts, breaks: this.breaks, provides: this.provides,
      multiArch: this.multiArch, essential: this.essential, filename: this.filename, size: this.size, sha256: this.sha256, raw: this.raw,
    };
    if (this.source !== undefined) r.source = this.source;
    if (this.sourceVersion !== undefined) r.sourceVersion = this.sourceVersion;
    if (this.priority !== undefined) r.priority = this.priority;
    if (this.section !== undefined) r.section = this.section;
    if (this.installedSize !== undefined) r.installedSize = this.installedSize;
    return r;
  }
}

/** Encodes a parse of the Packages.xz whose SHA256 is `xzSha256`. */
export function encodeParsedPackages(parsed: ParsedPackages, xzSha256: string): Buffer {
  const tuples: Tuple[] = parsed.records.map((r) => [
    r.package, r.version, r.architecture, r.source ?? null, r.sourceVersion ?? null,
    encodeGroups(r.depends), encodeGroups(r.preDepends), encodeGroups(r.recommends), encodeFlat(r.conflicts), encodeFlat(r.breaks), encodeProvides(r.provides),
    r.multiArch, r.essential ? 1 : 0, r.priority ?? null, r.section ?? null,
    r.filename, r.size, r.sha256, r.installedSize ?? null, r.raw.length,
  ]);
  const tupleBytes = Buffer.from(JSON.stringify(tuples), 'utf8');
  const body = Buffer.concat([tupleBytes, Buffer.from('\n'), Buffer.from(parsed.records.map((r) => r.raw).join('\n'), 'utf8')]);
  const header: Header = {
    format: FORMAT,
    xz: xzSha256,
    count: tuples.length,
    tuples: tupleBytes.byteLength,
    body: createHash('sha256').update(body).digest('hex'),
    issues: parsed.issues.map((i) => ({ code: i.code, message: i.message })),
  };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), body]);
}

/**
 * Decodes an encoding made for `xzSha256`; undefined when the file is damaged, truncated, of another format or
 * for another index (the caller then parses the verified Packages.xz again). `subject` becomes the issues' path.
 */
export function decodeParsedPackages(data: Buffer, xzSha256: string, subject: string): ParsedPackages | undefined {
  try {
    const nl = data.indexOf(0x0a);
    if (nl < 0) return undefined;
    const header = JSON.parse(data.toString('utf8', 0, nl)) as Header;
    if (header.format !== FORMAT || header.xz !== xzSha256 || typeof header.tuples !== 'number' || !Array.isArray(header.issues)) return undefined;
    const body = data.subarray(nl + 1);
    if (createHash('sha256').update(body).digest('hex') !== header.body || header.tuples >= body.byteLength || body[header.tuples] !== 0x0a) return undefined;
    const tuples = JSON.parse(body.toString('utf8', 0, header.tuples)) as Tuple[];
    if (!Array.isArray(tuples) || tuples.length !== header.count) return undefined;
    const rawText = body.toString('utf8', header.tuples + 1);
    const records: PackageRecord[] = new Array<PackageRecord>(tuples.length);
    let at = 0;
    for (let i = 0; i < tuples.length; i++) {
      const t = tuples[i]!;
      records[i] = new CachedRecord(t, rawText.slice(at, at + t[19]));
      at += t[19] + 1;
    }
    if (at !== rawText.length + 1 && !(tuples.length === 0 && rawText.length === 0)) return undefined;
    return { records, issues: header.issues.map((i) => ({ code: i.code, message: i.message, path: subject, source: 'apt' })) };
  } catch {
    return undefined;
  }
}
