/** @module feeds/kev — CISA Known Exploited Vulnerabilities catalog JSON → KevEntry. */
import { DistillError, type Issue } from '../errors.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import type { KevEntry } from '../vuln/vulnerability.js';
import { beginImport, finishImport, IssueCollector, MiB, parseJsonBounded, readFeedBytes, type FeedImportOptions, type FeedImportResult, type FeedInput } from './feed-input.js';

export interface KevCatalog {
  catalogVersion: string;
  /** ISO date-time of the catalog release. */
  dateReleased: string;
  entries: KevEntry[];
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const REQUIRED = ['cveID', 'vendorProject', 'product', 'vulnerabilityName', 'dateAdded', 'requiredAction', 'dueDate'] as const;
/** The real catalog is ~1.5 MB; anything far larger is not a KEV catalog. */
const DEFAULT_MAX_KEV_BYTES = 64 * MiB;

/** Imports the catalog (path, bytes or stream; gzip accepted). recordDate is the catalog's dateReleased. */
export async function importKev(input: FeedInput, writer: VulnStoreWriter, options: FeedImportOptions): Promise<FeedImportResult> {
  const subject = typeof input === 'string' ? input : options.origin;
  const read = await readFeedBytes(input, { subject, maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_KEV_BYTES, maxDecodedBytes: options.maxDecodedBytes ?? DEFAULT_MAX_KEV_BYTES });
  const collector = new IssueCollector('kev');
  const list: Issue[] = [];
  const catalog = parseKev(read.bytes, subject, list);
  for (const issue of list) collector.add(issue.code, issue.message, issue.path);
  beginImport(writer, 'kev', options);
  writer.putKev(catalog.entries);
  const result: FeedImportResult = { feed: 'kev', records: catalog.entries.length, vulnerabilities: 0, recordDate: catalog.dateReleased, digest: read.digest, skipped: {}, issues: collector.list() };
  return finishImport(writer, options, result);
}

/** Parses the catalog; the document shape is checked strictly, bad entries become issues. */
export function parseKev(bytes: Buffer, subject: string, issues: Issue[] = []): KevCatalog {
  const doc = parseJsonBounded(bytes, { subject, maxBytes: DEFAULT_MAX_KEV_BYTES });
  if (!isObject(doc) || !Array.isArray(doc.vulnerabilities) || typeof doc.catalogVersion !== 'string' || typeof doc.dateReleased !== 'string') {
    throw new DistillError('FEED_INVALID', 'not a CISA KEV catalog: needs catalogVersion, dateReleased and a vulnerabilities array', { subject });
  }
  const released = Date.parse(doc.dateReleased);
  if (Number.isNaN(released)) throw new DistillError('FEED_INVALID', `KEV dateReleased ${JSON.stringify(doc.dateReleased)} is not a date`, { subject });
  const entries: KevEntry[] = [];
  const seen = new Set<string>();
  for (const [index, item] of doc.vulnerabilities.entries()) {
    const where = `vulnerabilities[${index}]`;
    if (!isObject(item)) {
      issues.push({ code: 'PARSE_FAILED', message: `${where} is not an object; skipped`, path: subject, source: 'kev' });
      continue;
    }
    const missing = REQUIRED.filter((key) => typeof item[key] !== 'string');
    if (missing.length > 0 || !CVE_ID.test(item.cveID as string)) {
      issues.push({ code: 'FIELD_MISSING', message: `${where}: ${missing.length > 0 ? `missing ${missing.join(', ')}` : 'cveID is not a CVE id'}; skipped`, path: subject, source: 'kev' });
      continue;
    }
    const cve = item.cveID as string;
    if (!DATE.test(item.dateAdded as string) || !DATE.test(item.dueDate as string)) {
      issues.push({ code: 'PARSE_FAILED', message: `${cve}: dateAdded/dueDate not YYYY-MM-DD; skipped`, path: subject, source: 'kev' });
      continue;
    }
    if (seen.has(cve)) {
      issues.push({ code: 'PARSE_FAILED', message: `${cve} listed twice; first kept`, path: subject, source: 'kev' });
      continue;
    }
    seen.add(cve);
    const ransomware = item.knownRansomwareCampaignUse;
    if (ransomware !== 'Known' && ransomware !== 'Unknown') {
      issues.push({ code: 'PARSE_FAILED', message: `${cve}: knownRansomwareCampaignUse ${JSON.stringify(ransomware)} read as Unknown`, path: subject, source: 'kev' });
    }
    entries.push({
      cve,
      vendor: item.vendorProject as string,
      product: item.product as string,
      name: item.vulnerabilityName as string,
      dateAdded: item.dateAdded as string,
      dueDate: item.dueDate as string,
      requiredAction: item.requiredAction as string,
      knownRansomwareCampaignUse: ransomware === 'Known' ? 'Known' : 'Unknown',
    });
  }
  if (typeof doc.count === 'number' && doc.count !== doc.vulnerabilities.length) {
    issues.push({ code: 'PARSE_FAILED', message: `catalog says count ${doc.count} but lists ${doc.vulnerabilities.length}`, path: subject, source: 'kev' });
  }
  return { catalogVersion: doc.catalogVersion, dateReleased: new Date(released).toISOString(), entries };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
