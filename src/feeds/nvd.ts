/** @module feeds/nvd — NVD CVE API 2.0 JSON pages (single file, directory of pages, gzip) → VulnerabilityRecord. */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DistillError, describeError, type Issue } from '../errors.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import type { CvssScore, VulnerabilityRecord } from '../vuln/vulnerability.js';
import { beginImport, finishImport, IssueCollector, parseJsonBounded, readFeedBytes, type FeedImportOptions, type FeedImportResult, type FeedInput } from './feed-input.js';

export interface NvdImportOptions extends FeedImportOptions {
  /** Largest page after gunzip handed to JSON.parse (default: feed-input's JSON cap, 512 MiB). */
  maxPageBytes?: number;
}

export interface NvdPage {
  records: VulnerabilityRecord[];
  /** The page's own `timestamp` (ISO), when present. */
  timestamp?: string;
  totalResults?: number;
}

const METRIC_KEYS: ReadonlyArray<readonly [string, CvssScore['version']]> = [
  ['cvssMetricV40', '4.0'],
  ['cvssMetricV31', '3.1'],
  ['cvssMetricV30', '3.0'],
  ['cvssMetricV2', '2.0'],
];
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const CWE_ID = /^CWE-\d+$/;

/**
 * Imports one page (path, bytes or stream; gzip detected), or every `*.json` / `*.json.gz` page in a directory
 * (path). `records` and `vulnerabilities` both count distinct CVEs written; recordDate is the newest page timestamp.
 */
export async function importNvd(input: FeedInput, writer: VulnStoreWriter, options: NvdImportOptions): Promise<FeedImportResult> {
  const issues = new IssueCollector('nvd');
  const onIssue = (issue: Issue): void => issues.add(issue.code, issue.message, issue.path);
  let files: FeedInput[] = [input];
  let directory: string | undefined;
  if (typeof input === 'string') {
    const info = await stat(input).catch((error: unknown) => {
      throw new DistillError('FILE_NOT_FOUND', `cannot read NVD feed: ${describeError(error)}`, { subject: input, cause: error });
    });
    if (info.isDirectory()) {
      directory = input;
      files = (await readdir(input)).filter((name) => /\.json(\.gz)?$/i.test(name)).sort().map((name) => join(input, name));
      if (files.length === 0) throw new DistillError('FEED_INVALID', 'no NVD page files (*.json, *.json.gz) in directory', { subject: input });
    }
  }
  // Parse the first page before clearing anything, so a wrong file never empties the feed.
  const outer = createHash('sha256');
  const seen = new Map<string, string>();
  let digest = '';
  let newest: string | undefined;
  let begun = false;
  for (const file of files) {
    const subject = typeof file === 'string' ? file : options.origin;
    const read = await readFeedBytes(file, { subject, maxInputBytes: options.maxInputBytes, maxDecodedBytes: options.maxDecodedBytes });
    // A directory's digest covers the sorted (name, digest) list.
    if (directory !== undefined) outer.update(`${(file as string).slice(directory.length + 1)}\0${read.digest}\n`);
    else digest = read.digest;
    const page = parseNvdPage(read.bytes, subject, onIssue, options.maxPageBytes);
    if (!begun) {
      beginImport(writer, 'nvd', options);
      begun = true;
    }
    if (page.timestamp !== undefined && (newest === undefined || page.timestamp > newest)) newest = page.timestamp;
    const fresh: VulnerabilityRecord[] = [];
    for (const record of page.records) {
      const previous = seen.get(record.id);
      // Pages may overlap (yearly feeds plus a "modified" feed): the most recently modified copy wins.
      if (previous !== undefined && previous >= (record.modified ?? '')) continue;
      seen.set(record.id, record.modified ?? '');
      fresh.push(record);
    }
    writer.putVulnerabilities(fresh);
  }
  if (directory !== undefined) digest = `sha256:${outer.digest('hex')}`;
  const result: FeedImportResult = { feed: 'nvd', records: seen.size, vulnerabilities: seen.size, digest, skipped: {}, issues: issues.list() };
  if (newest !== undefined) result.recordDate = newest;
  return finishImport(writer, options, result);
}

/** Parses one NVD CVE API 2.0 response (or a 2.0 JSON feed file, same shape). Bad records become issues. */
export function parseNvdPage(bytes: Buffer, subject: string, onIssue: (issue: Issue) => void, maxBytes?: number): NvdPage {
  const doc = parseJsonBounded(bytes, maxBytes === undefined ? { subject } : { subject, maxBytes });
  if (!isObject(doc) || !Array.isArray(doc.vulnerabilities)) throw new DistillError('FEED_INVALID', 'not an NVD CVE API 2.0 page: no "vulnerabilities" array', { subject });
  if (doc.format !== undefined && doc.format !== 'NVD_CVE') throw new DistillError('FEED_INVALID', `not an NVD CVE page: format ${JSON.stringify(doc.format)}`, { subject });
  if (doc.version !== undefined && doc.version !== '2.0') {
    onIssue({ code: 'UNSUPPORTED', message: `NVD format version ${JSON.stringify(doc.version)}, expected "2.0"; parsed anyway`, path: subject, source: 'nvd' });
  }
  const records: VulnerabilityRecord[] = [];
  for (const [index, item] of doc.vulnerabilities.entries()) {
    const cve = isObject(item) ? item.cve : undefined;
    if (!isObject(cve) || typeof cve.id !== 'string' || !CVE_ID.test(cve.id)) {
      onIssue({ code: 'FIELD_MISSING', message: `vulnerabilities[${index}]: no valid cve.id; skipped`, path: subject, source: 'nvd' });
      continue;
    }
    records.push(toRecord(cve, subject, onIssue));
  }
  const page: NvdPage = { records };
  const timestamp = isoDate(doc.timestamp);
  if (timestamp !== undefined) page.timestamp = timestamp;
  if (typeof doc.totalResults === 'number') page.totalResults = doc.totalResults;
  return page;
}

function toRecord(cve: Record<string, unknown>, subject: string, onIssue: (issue: Issue) => void): VulnerabilityRecord {
  const id = cve.id as string;
  const record: VulnerabilityRecord = { id, aliases: [], feed: 'nvd', cwes: [], cvss: [], references: [] };
  const descriptions = Array.isArray(cve.descriptions) ? cve.descriptions.filter(isObject) : [];
  const description = descriptions.find((d) => d.lang === 'en') ?? descriptions[0];
  if (description !== undefined && typeof description.value === 'string') record.description = description.value;
  const published = isoDate(cve.published);
  if (published !== undefined) record.published = published;
  const modified = isoDate(cve.lastModified);
  if (modified !== undefined) record.modified = modified;
  // A rejected CVE is NVD's withdrawal: keep the record, never match it.
  if (cve.vulnStatus === 'Rejected') record.withdrawn = modified ?? published ?? '';

  const metrics = isObject(cve.metrics) ? cve.metrics : {};
  for (const [key, version] of METRIC_KEYS) {
    const list = metrics[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      onIssue({ code: 'PARSE_FAILED', message: `${id}: metrics.${key} is not an array`, path: subject, source: 'nvd' });
      continue;
    }
    for (const metric of list) {
      const data = isObject(metric) && isObject(metric.cvssData) ? metric.cvssData : undefined;
      const score = data?.baseScore;
      if (data === undefined || typeof data.vectorString !== 'string' || data.vectorString === '' || typeof score !== 'number' || !(score >= 0 && score <= 10)) {
        onIssue({ code: 'PARSE_FAILED', message: `${id}: ${key} entry without a vector and a 0–10 base score; skipped`, path: subject, source: 'nvd' });
        continue;
      }
      if (data.version !== undefined && data.version !== version) {
        onIssue({ code: 'PARSE_FAILED', message: `${id}: ${key} holds CVSS version ${String(data.version)}; skipped`, path: subject, source: 'nvd' });
        continue;
      }
      const m = metric as Record<string, unknown>;
      const entry: CvssScore = { version, vector: data.vectorString, baseScore: score, source: typeof m.source === 'string' ? m.source : 'nvd' };
      if (m.type === 'Primary' || m.type === 'Secondary') entry.type = m.type;
      record.cvss.push(entry);
    }
  }

  const cwes = new Set<string>();
  for (const weakness of Array.isArray(cve.weaknesses) ? cve.weaknesses : []) {
    const list = isObject(weakness) && Array.isArray(weakness.description) ? weakness.description : [];
    // NVD-CWE-Other / NVD-CWE-noinfo are placeholders, not weaknesses.
    for (const d of list) if (isObject(d) && typeof d.value === 'string' && CWE_ID.test(d.value)) cwes.add(d.value);
  }
  record.cwes = [...cwes];
  const refs = new Set<string>();
  for (const ref of Array.isArray(cve.references) ? cve.references : []) if (isObject(ref) && typeof ref.url === 'string') refs.add(ref.url);
  record.references = [...refs];
  return record;
}

/** NVD writes UTC timestamps without a zone (`2023-10-03T18:15:10.463`); normalise to ISO with Z. */
function isoDate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
  const time = Date.parse(zoned);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
