/** @module feeds/osv — OSV records (JSON, the PyPA YAML encoding, directories, per-ecosystem all.zip) → affected rules and vulnerability records. */
import { createHash } from 'node:crypto';
import { DEBIAN_RELEASE_CODENAMES } from '../debian/releases.js';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import yauzl from 'yauzl';
import { DistillError, describeError } from '../errors.js';
import { apkScheme } from '../versions/apk.js';
import { debScheme } from '../versions/deb.js';
import { goScheme } from '../versions/go.js';
import { mavenScheme } from '../versions/maven.js';
import { pep440Scheme } from '../versions/pep440.js';
import { semverScheme } from '../versions/semver.js';
import type { VersionScheme } from '../versions/version-scheme.js';
import type { Severity } from '../vuln/severity.js';
import type { AffectedRange, AffectedRecord, CvssScore, RangeEvent, VulnerabilityRecord } from '../vuln/vulnerability.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import {
  BatchWriter,
  DEFAULT_MAX_JSON_BYTES,
  IssueCollector,
  MiB,
  SkipCounter,
  beginImport,
  finishImport,
  isGzip,
  isRecord,
  isValidSemver,
  isZip,
  optionalString,
  parseJsonBounded,
  readFeedBytes,
  sizeOptions,
  type FeedImportOptions,
  type FeedImportResult,
  type FeedInput,
} from './feed-input.js';

export interface OsvImportOptions extends FeedImportOptions {
  /** Bounds for all.zip archives (a zip bomb or a hostile central directory stops the import with FEED_INVALID). */
  maxZipEntries?: number;
  /** Per record file, inside a zip or a directory (default 16 MiB; real records are a few KiB). */
  maxRecordBytes?: number;
  /** Sum of the uncompressed sizes of a zip's entries (default 4 GiB). */
  maxZipTotalBytes?: number;
}

/** OSV `Debian:<release number>` → the codename distill keys Debian data by. */
export { DEBIAN_RELEASE_CODENAMES };

/** PEP 503 normalised project name. */
export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

interface EcosystemTarget {
  namespace: string;
  packageName: string;
  /** The namespace's version scheme for ECOSYSTEM ranges: format checks and ordering. */
  scheme?: VersionScheme;
}

/** OSV SEMVER ranges are strict SemVer 2.0 (no leading "v"), ordered by SemVer precedence. */
const SEMVER_RANGE: VersionScheme = { name: 'semver', isValid: isValidSemver, compare: (a, b) => semverScheme.compare(a, b) };

/** Maps an OSV `affected[].package` to distill's namespace and package name; undefined for ecosystems not handled. */
export function osvTarget(ecosystem: string, name: string): EcosystemTarget | undefined {
  const colon = ecosystem.indexOf(':');
  const base = colon < 0 ? ecosystem : ecosystem.slice(0, colon);
  const suffix = colon < 0 ? '' : ecosystem.slice(colon + 1);
  switch (base) {
    case 'Debian': {
      const codename = DEBIAN_RELEASE_CODENAMES[suffix.split('.')[0] ?? ''];
      return codename === undefined ? undefined : { namespace: `debian:${codename}`, packageName: name, scheme: debScheme };
    }
    case 'Alpine': {
      const m = /^v(\d+\.\d+)$/.exec(suffix);
      return m === null ? undefined : { namespace: `alpine:${m[1]}`, packageName: name, scheme: apkScheme };
    }
    case 'npm':
      return suffix === '' ? { namespace: 'npm', packageName: name, scheme: semverScheme } : undefined;
    case 'crates.io':
      return suffix === '' ? { namespace: 'crates.io', packageName: name, scheme: semverScheme } : undefined;
    case 'Go':
      // OSV writes Go versions without the leading "v"; the Go scheme takes both.
      return suffix === '' ? { namespace: 'go', packageName: name, scheme: goScheme } : undefined;
    case 'PyPI':
      return suffix === '' ? { namespace: 'pypi', packageName: normalizePypiName(name), scheme: pep440Scheme } : undefined;
    case 'Maven':
      return suffix === '' && name.includes(':') ? { namespace: 'maven', packageName: name, scheme: mavenScheme } : undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CVSS base scores (FIRST CVSS v3.1 specification §7, v3.0 §8.1 rounding, v2 guide §3.2.1).

const V3: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 1 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
const V2: Record<string, Record<string, number>> = {
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};

function metrics(parts: string[], table: Record<string, Record<string, number>>): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of parts) {
    const [key, value, extra] = part.split(':');
    if (key === undefined || value === undefined || extra !== undefined) return undefined;
    if (out.has(key)) return undefined;
    out.set(key, value);
  }
  for (const [key, values] of Object.entries(table)) {
    const value = out.get(key);
    if (value === undefined || !(value in values)) return undefined;
  }
  return out;
}

/** Rounds up to one decimal the way CVSS v3.1 specifies (integer arithmetic against float error). */
function roundUp31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** Base score of a CVSS v2, v3.0 or v3.1 vector; undefined for a malformed vector or v4 (not computed here). */
export function cvssBaseScore(vector: string): { version: CvssScore['version']; score: number } | undefined {
  const v3 = /^CVSS:(3\.[01])\/(.*)$/.exec(vector);
  if (v3 !== null) {
    const version = v3[1] as '3.0' | '3.1';
    const m = metrics((v3[2] ?? '').split('/'), V3);
    if (m === undefined) return undefined;
    const val = (k: string): number => V3[k]?.[m.get(k) ?? ''] ?? 0;
    const changed = m.get('S') === 'C';
    const pr = changed && m.get('PR') === 'L' ? 0.68 : changed && m.get('PR') === 'H' ? 0.5 : val('PR');
    const iss = 1 - (1 - val('C')) * (1 - val('I')) * (1 - val('A'));
    const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
    const exploitability = 8.22 * val('AV') * val('AC') * pr * val('UI');
    const round = version === '3.1' ? roundUp31 : (x: number) => Math.ceil(x * 10) / 10;
    const score = impact <= 0 ? 0 : round(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
    return { version, score };
  }
  if (vector.startsWith('CVSS:')) return undefined;
  const m = metrics(vector.replace(/^\(|\)$/g, '').split('/'), V2);
  if (m === undefined) return undefined;
  const val = (k: string): number => V2[k]?.[m.get(k) ?? ''] ?? 0;
  const impact = 10.41 * (1 - (1 - val('C')) * (1 - val('I')) * (1 - val('A')));
  const exploitability = 20 * val('AV') * val('AC') * val('Au');
  const f = impact === 0 ? 0 : 1.176;
  return { version: '2.0', score: Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10 };
}

// ---------------------------------------------------------------------------------------------------------------

const GHSA_SEVERITY: Record<string, Severity> = { LOW: 'low', MODERATE: 'medium', MEDIUM: 'medium', HIGH: 'high', CRITICAL: 'critical' };

function severityOf(...sources: unknown[]): Severity | undefined {
  for (const source of sources) {
    if (!isRecord(source)) continue;
    const raw = source['severity'];
    if (typeof raw === 'string') {
      const mapped = GHSA_SEVERITY[raw.toUpperCase()];
      if (mapped !== undefined) return mapped;
    }
  }
  return undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0) : [];
}

const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

/** Shared state of one import. */
class OsvImport {
  readonly issues = new IssueCollector('osv');
  readonly skipped = new SkipCounter();
  readonly affected: BatchWriter<AffectedRecord>;
  readonly vulns: BatchWriter<VulnerabilityRecord>;
  newest: string | undefined;

  constructor(writer: VulnStoreWriter) {
    this.affected = new BatchWriter((batch) => writer.putAffected(batch));
    this.vulns = new BatchWriter((batch) => writer.putVulnerabilities(batch));
  }

  /** One parsed document: a record, an array of records, or an OSV API `{ vulns: [...] }` answer. */
  document(doc: unknown, where: string): void {
    if (Array.isArray(doc)) {
      for (const item of doc) this.record(item, where);
    } else if (isRecord(doc) && !('id' in doc) && Array.isArray(doc['vulns'])) {
      for (const item of doc['vulns'] as unknown[]) this.record(item, where);
    } else {
      this.record(doc, where);
    }
  }

  record(raw: unknown, where: string): void {
    const id = isRecord(raw) ? optionalString(raw['id']) : undefined;
    if (!isRecord(raw) || id === undefined || id.length > 200) {
      this.issues.add('FIELD_MISSING', 'not an OSV record (no string id)', where);
      this.skipped.add('invalidRecord');
      return;
    }
    const modified = optionalString(raw['modified']);
    if (modified !== undefined && (this.newest === undefined || modified > this.newest)) this.newest = modified;
    const withdrawn = optionalString(raw['withdrawn']);
    const vuln: VulnerabilityRecord = {
      id,
      aliases: stringList(raw['aliases']),
      feed: 'osv',
      cwes: isRecord(raw['database_specific']) ? stringList(raw['database_specific']['cwe_ids']) : [],
      cvss: this.cvss(raw['severity'], id, where),
      references: Array.isArray(raw['references']) ? raw['references'].flatMap((r) => (isRecord(r) && typeof r['url'] === 'string' ? [r['url']] : [])) : [],
    };
    const summary = optionalString(raw['summary']);
    const details = optionalString(raw['details']);
    const published = optionalString(raw['published']);
    if (summary !== undefined) vuln.summary = summary;
    if (details !== undefined) vuln.description = details;
    if (published !== undefined) vuln.published = published;
    if (modified !== undefined) vuln.modified = modified;
    if (withdrawn !== undefined) vuln.withdrawn = withdrawn;
    this.vulns.push(vuln);

    const affected = raw['affected'];
    if (affected === undefined) return;
    if (!Array.isArray(affected)) {
      this.issues.add('PARSE_FAILED', `${id}: affected is not a list`, where);
      return;
    }
    const recordSeverity = severityOf(raw['database_specific']);
    for (const entry of affected) this.affectedEntry(entry, id, recordSeverity, withdrawn, where);
  }

  private cvss(raw: unknown, id: string, where: string): CvssScore[] {
    if (!Array.isArray(raw)) return [];
    const out: CvssScore[] = [];
    for (const item of raw) {
      if (!isRecord(item) || typeof item['type'] !== 'string' || typeof item['score'] !== 'string') continue;
      const type = item['type'];
      const vector = item['score'];
      if (type === 'CVSS_V4') {
        // No v4 calculator here: the vector is kept and the score is left for NVD (NaN means "not computed").
        if (!vector.startsWith('CVSS:4.0/')) this.issues.add('PARSE_FAILED', `${id}: malformed CVSS v4 vector ${JSON.stringify(vector.slice(0, 100))}`, where);
        else out.push({ version: '4.0', vector, baseScore: Number.NaN, source: 'osv' });
        continue;
      }
      if (type !== 'CVSS_V3' && type !== 'CVSS_V2') continue;
      const computed = cvssBaseScore(vector);
      if (computed === undefined || (type === 'CVSS_V2') !== (computed.version === '2.0')) {
        this.issues.add('PARSE_FAILED', `${id}: malformed ${type} vector ${JSON.stringify(vector.slice(0, 100))}`, where);
        continue;
      }
      out.push({ version: computed.version, vector, baseScore: computed.score, source: 'osv' });
    }
    return out;
  }

  private affectedEntry(entry: unknown, id: string, recordSeverity: Severity | undefined, withdrawn: string | undefined, where: string): void {
    const pkg = isRecord(entry) ? entry['package'] : undefined;
    if (!isRecord(entry) || !isRecord(pkg) || typeof pkg['ecosystem'] !== 'string' || typeof pkg['name'] !== 'string' || pkg['name'] === '') {
      this.issues.add('FIELD_MISSING', `${id}: affected entry without package ecosystem and name`, where);
      this.skipped.add('invalidAffected');
      return;
    }
    const target = osvTarget(pkg['ecosystem'], pkg['name']);
    if (target === undefined) {
      this.skipped.add('unknownEcosystem');
      return;
    }
    const ranges: AffectedRange[] = [];
    const fixedVersions: string[] = [];
    const rawRanges = entry['ranges'];
    for (const range of Array.isArray(rawRanges) ? rawRanges : []) {
      const parsed = this.range(range, target, id, where);
      if (parsed === undefined) continue;
      ranges.push(parsed);
      for (const event of parsed.events) if ('fixed' in event && !fixedVersions.includes(event.fixed)) fixedVersions.push(event.fixed);
    }
    const versions = stringList(entry['versions']).filter((v) => v.length <= 256 && !/\s/.test(v));
    if (ranges.length === 0 && versions.length === 0) {
      this.skipped.add('noUsableRange');
      return;
    }
    const record: AffectedRecord = {
      vulnId: id,
      namespace: target.namespace,
      packageName: target.packageName,
      ranges,
      versions,
      fixState: fixedVersions.length > 0 ? 'fixed' : 'not-fixed',
      fixedVersions,
      feed: 'osv',
    };
    const severity = severityOf(entry['database_specific'], entry['ecosystem_specific']) ?? recordSeverity;
    if (severity !== undefined) record.severity = severity;
    if (withdrawn !== undefined) record.note = `withdrawn ${withdrawn}`;
    this.affected.push(record);
  }

  private range(raw: unknown, target: EcosystemTarget, id: string, where: string): AffectedRange | undefined {
    if (!isRecord(raw)) {
      this.issues.add('PARSE_FAILED', `${id}: range is not an object`, where);
      this.skipped.add('invalidRange');
      return undefined;
    }
    const type = raw['type'];
    if (type === 'GIT') {
      this.skipped.add('gitRange');
      return undefined;
    }
    if (type !== 'ECOSYSTEM' && type !== 'SEMVER') {
      this.skipped.add('unsupportedRange');
      return undefined;
    }
    const invalid = (why: string): undefined => {
      this.issues.add('PARSE_FAILED', `${id} ${target.namespace}/${target.packageName}: ${type} range skipped: ${why}`, where);
      this.skipped.add('invalidRange');
      return undefined;
    };
    if (!Array.isArray(raw['events']) || raw['events'].length === 0) return invalid('no events');
    const scheme = type === 'SEMVER' ? SEMVER_RANGE : target.scheme;
    const events: RangeEvent[] = [];
    for (const event of raw['events'] as unknown[]) {
      if (!isRecord(event)) return invalid('an event is not an object');
      const keys = Object.keys(event);
      const key = keys[0] as (typeof EVENT_KEYS)[number];
      const value = event[key];
      if (keys.length !== 1 || !EVENT_KEYS.includes(key) || typeof value !== 'string' || value === '') return invalid(`malformed event ${JSON.stringify(event).slice(0, 100)}`);
      if (!(key === 'introduced' && value === '0') && (value.length > 256 || /\s/.test(value) || (scheme !== undefined && !scheme.isValid(value)))) {
        return invalid(`${key} ${JSON.stringify(value.slice(0, 100))} is not a valid version`);
      }
      events.push({ [key]: value } as RangeEvent);
    }
    const introduced = events.flatMap((e) => ('introduced' in e ? [e.introduced] : []));
    if (introduced.length === 0) return invalid('no introduced event');
    if (scheme !== undefined) {
      const compare = (a: string, b: string): number => scheme.compare(a, b);
      // Events need not be sorted; the range is impossible when something ends before anything starts.
      const lowestStart = introduced.includes('0') ? undefined : introduced.reduce((a, b) => (compare(a, b) <= 0 ? a : b));
      if (lowestStart !== undefined) {
        for (const e of events) {
          const end = 'fixed' in e ? e.fixed : 'last_affected' in e ? e.last_affected : undefined;
          if (end === undefined) continue;
          const c = compare(end, lowestStart);
          if (c < 0 || (c === 0 && 'fixed' in e)) return invalid(`${JSON.stringify(end)} ends it before it is introduced at ${JSON.stringify(lowestStart)}`);
        }
      }
    }
    return { type, events };
  }
}

function parseOsvText(bytes: Buffer, where: string, maxBytes: number): unknown {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x0a || bytes[start] === 0x0d || bytes[start] === 0x09)) start++;
  if (bytes[start] === 0x7b || bytes[start] === 0x5b) return parseJsonBounded(bytes, { subject: where, maxBytes });
  if (bytes.length > maxBytes) throw new DistillError('FEED_TOO_LARGE', `${where}: one YAML document exceeds ${Math.round(maxBytes / MiB)} MiB`, { subject: where });
  try {
    // failsafe: every scalar stays a string, so a version like 1.10 never turns into the number 1.1.
    return parseYaml(bytes.toString('utf8'), { schema: 'failsafe', maxAliasCount: 100, uniqueKeys: true });
  } catch (error) {
    throw new DistillError('FEED_INVALID', `${where}: malformed YAML: ${describeError(error)}`, {
      subject: where,
      cause: error,
      hint: 'the record is truncated or not OSV YAML',
    });
  }
}

const RECORD_FILE = /\.(json|ya?ml)$/i;

function zipFailed(where: string, message: string, cause?: unknown): DistillError {
  return new DistillError('FEED_INVALID', `${where}: ${message}`, {
    subject: where,
    cause,
    hint: 'the archive is truncated, corrupt or hostile; download it again (nothing from it was kept)',
  });
}

/** Reads every record file of a zip, one entry at a time, within the entry-count and size bounds. */
async function importZip(source: Buffer | string, where: string, state: OsvImport, options: OsvImportOptions): Promise<void> {
  const maxEntries = options.maxZipEntries ?? 2_000_000;
  const maxEntryBytes = options.maxRecordBytes ?? 16 * MiB;
  const maxTotal = options.maxZipTotalBytes ?? 4096 * MiB;
  const zipOptions = { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true, autoClose: true };
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    const done = (error: Error | null, zipfile?: yauzl.ZipFile): void => {
      if (error !== null || zipfile === undefined) reject(zipFailed(where, `not a readable zip archive: ${describeError(error)}`, error));
      else resolve(zipfile);
    };
    if (typeof source === 'string') yauzl.open(source, zipOptions, done);
    else yauzl.fromBuffer(source, zipOptions, done);
  });
  if (zip.entryCount > maxEntries) {
    zip.close();
    throw zipFailed(where, `${zip.entryCount} entries exceed the limit of ${maxEntries}`);
  }
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      zip.close();
      reject(error instanceof DistillError ? error : zipFailed(where, describeError(error), error));
    };
    zip.on('error', fail);
    zip.on('end', () => {
      if (!failed) resolve();
    });
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName;
      if (name.endsWith('/') || !RECORD_FILE.test(name)) {
        zip.readEntry();
        return;
      }
      total += entry.uncompressedSize;
      if (entry.uncompressedSize > maxEntryBytes) return fail(zipFailed(where, `entry ${name} declares ${entry.uncompressedSize} bytes, over the per-record limit of ${maxEntryBytes}`));
      if (total > maxTotal) return fail(zipFailed(where, `entries declare more than ${maxTotal} bytes in total (zip bomb?)`));
      zip.openReadStream(entry, (error, stream) => {
        if (error !== null || stream === undefined) return fail(zipFailed(where, `entry ${name}: ${describeError(error)}`, error));
        const parts: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // validateEntrySizes also catches a lying header, but only at the end: stop as soon as the bound is crossed.
          if (size > maxEntryBytes) {
            stream.destroy();
            fail(zipFailed(where, `entry ${name} inflates beyond ${maxEntryBytes} bytes (zip bomb?)`));
            return;
          }
          parts.push(chunk);
        });
        stream.on('error', (e) => fail(zipFailed(where, `entry ${name}: ${describeError(e)}`, e)));
        stream.on('end', () => {
          if (failed) return;
          const entryWhere = `${where}!${name}`;
          try {
            state.document(parseOsvText(Buffer.concat(parts, size), entryWhere, maxEntryBytes), entryWhere);
          } catch (e) {
            if (!(e instanceof DistillError) || e.code !== 'FEED_INVALID') return fail(e);
            state.issues.add('PARSE_FAILED', e.message, entryWhere);
            state.skipped.add('invalidFile');
          }
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile() && (RECORD_FILE.test(entry.name) || /\.zip$/i.test(entry.name))) out.push(path);
  }
  return out;
}

/**
 * Imports OSV data: one record (JSON or the PyPA YAML encoding), a JSON array or OSV API answer, a per-ecosystem
 * `all.zip`, or a directory holding any of these (walked recursively, sorted). A single document that does not parse
 * fails the import (FEED_INVALID); inside a directory or zip a bad record file is an issue and the rest imports. A
 * truncated or hostile zip (entry count, per-entry size, total size) fails the whole import with FEED_INVALID.
 * GIT ranges and ecosystems other than Debian, Alpine, npm, PyPI, Go, Maven and crates.io are skipped and counted.
 */
export async function importOsv(input: FeedInput, writer: VulnStoreWriter, options: OsvImportOptions): Promise<FeedImportResult> {
  const state = new OsvImport(writer);
  const maxRecord = options.maxRecordBytes ?? 16 * MiB;
  beginImport(writer, 'osv', options);
  let digest: string;

  const importBytes = async (bytes: Buffer, where: string): Promise<void> => {
    if (isZip(bytes)) await importZip(bytes, where, state, options);
    else state.document(parseOsvText(bytes, where, Math.max(maxRecord, DEFAULT_MAX_JSON_BYTES)), where);
  };

  const info = typeof input === 'string' ? await stat(input).catch(() => undefined) : undefined;
  if (typeof input === 'string' && info === undefined) throw new DistillError('FILE_NOT_FOUND', `cannot read OSV data at ${input}`, { subject: input });
  if (typeof input === 'string' && info?.isDirectory() === true) {
    const lines: string[] = [];
    for (const path of await walk(input)) {
      const rel = relative(input, path);
      if (/\.zip$/i.test(path)) {
        lines.push(`${rel}\0${await hashFile(path)}`);
        await importZip(path, path, state, options);
        continue;
      }
      const { bytes, raw } = await readFeedBytes(path, { subject: path, maxInputBytes: maxRecord });
      lines.push(`${rel}\0${createHash('sha256').update(raw).digest('hex')}`);
      try {
        state.document(parseOsvText(bytes, path, maxRecord), path);
      } catch (error) {
        if (!(error instanceof DistillError) || error.code !== 'FEED_INVALID') throw error;
        state.issues.add('PARSE_FAILED', error.message, path);
        state.skipped.add('invalidFile');
      }
    }
    digest = `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
  } else if (typeof input === 'string' && /\.zip$/i.test(input)) {
    // Let yauzl seek in the file instead of holding a large all.zip in memory.
    digest = `sha256:${await hashFile(input)}`;
    await importZip(input, input, state, options);
  } else {
    const where = typeof input === 'string' ? input : options.origin;
    const read = await readFeedBytes(input, { subject: where, ...sizeOptions(options) });
    digest = read.digest;
    await importBytes(isGzip(read.raw) ? read.bytes : read.raw, where);
  }
  state.affected.flush();
  state.vulns.flush();
  const result: FeedImportResult = {
    feed: 'osv',
    records: state.affected.count,
    vulnerabilities: state.vulns.count,
    digest,
    skipped: state.skipped.counts,
    issues: state.issues.list(),
  };
  if (state.newest !== undefined) result.recordDate = state.newest;
  return finishImport(writer, options, result);
}
