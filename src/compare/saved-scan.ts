/** @module compare/saved-scan — `scan:FILE`: a JSON ScanReport written by `distill scan --format json`, read back as one side of a comparison. */
import { readFile } from 'node:fs/promises';
import { DistillError } from '../errors.js';
import type { Finding } from '../match/finding.js';
import { SCAN_REPORT_SCHEMA_VERSION, type ReportPackage, type ScanReport } from '../report/scan-report.js';
import type { SbomSubject } from '../sbom/package.js';
import { SEVERITIES } from '../vuln/severity.js';
import type { FeedProvenance } from '../vuln/vulnerability.js';
import type { ComparableScan, ImageFacts } from './compare-images.js';

export const SAVED_SCAN_PREFIX = 'scan:';

/** Same bound as an SBOM given as input: far above real reports, a guard against hostile files. */
const MAX_SAVED_SCAN_BYTES = 256 * 1024 * 1024;

/** Transports whose subject is not an image (no layers to count): compare compares images. */
const NOT_IMAGES: ReadonlySet<string> = new Set(['dir', 'sbom']);

export interface SavedScan {
  scan: ComparableScan;
  /** Layer count from the saved subject; sizes, shell and package manager are not recorded, so absent. */
  facts: ImageFacts;
  /** The feeds of the database the saved scan was made with. */
  db: FeedProvenance[];
}

const HINT = 'give a file written by `distill scan IMAGE --format json -o FILE`';

function invalid(file: string, message: string, hint = HINT): DistillError {
  return new DistillError('SBOM_INVALID', `${file}: ${message}`, { subject: file, hint });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const SEVERITY_SET: ReadonlySet<string> = new Set(SEVERITIES);

/** Checks the fields of a finding that compare reads; the rest passes through untouched. */
function checkFinding(file: string, where: string, f: unknown): Finding {
  if (!isObject(f)) throw invalid(file, `${where} is not an object`);
  for (const key of ['vulnId', 'packageName', 'installedVersion', 'fixState'] as const) {
    if (typeof f[key] !== 'string') throw invalid(file, `${where}.${key} must be a string`);
  }
  if (!isStringArray(f.aliases)) throw invalid(file, `${where}.aliases must be an array of strings`);
  if (!isObject(f.severity) || typeof f.severity.value !== 'string' || !SEVERITY_SET.has(f.severity.value)) throw invalid(file, `${where}.severity.value must be one of ${SEVERITIES.join(', ')}`);
  if (f.epss !== undefined && (!isObject(f.epss) || typeof f.epss.score !== 'number' || !Number.isFinite(f.epss.score))) throw invalid(file, `${where}.epss.score must be a number`);
  if (f.kev !== undefined && !isObject(f.kev)) throw invalid(file, `${where}.kev must be an object`);
  return f as unknown as Finding;
}

function checkFindings(file: string, key: 'findings' | 'suppressed', v: unknown): Finding[] {
  if (!Array.isArray(v)) throw invalid(file, `${key} must be an array`);
  return v.map((f, i) => checkFinding(file, `${key}[${i}]`, f));
}

/**
 * Parses a saved scan. Refuses, with SBOM_INVALID and a reason: non-JSON, SBOMs and other documents, another
 * schema version, a report without `packages.items` (written before it existed: compare could not tell a
 * removed package from a newer version), a scan of a directory or SBOM, and malformed fields compare reads.
 */
export function parseSavedScan(bytes: Buffer | string, file: string): SavedScan {
  if (bytes.length > MAX_SAVED_SCAN_BYTES) throw invalid(file, `larger than ${MAX_SAVED_SCAN_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (error) {
    throw invalid(file, `not JSON (${(error as Error).message})`);
  }
  if (!isObject(doc)) throw invalid(file, 'not a distill scan report (the document is not a JSON object)');
  if (doc.bomFormat === 'CycloneDX' || typeof doc.spdxVersion === 'string') {
    throw invalid(file, 'is an SBOM, not a scan report', 'compare the images themselves, or save a scan of an image: `distill scan IMAGE --format json -o scan.json`');
  }
  if (doc.schemaVersion === undefined || !isObject(doc.summary) || !('findings' in doc)) throw invalid(file, 'not a distill scan report (no schemaVersion, summary and findings)');
  if (doc.schemaVersion !== SCAN_REPORT_SCHEMA_VERSION) throw invalid(file, `scan report schema version ${JSON.stringify(doc.schemaVersion)} is not supported (this distill reads ${SCAN_REPORT_SCHEMA_VERSION})`);
  const subject = doc.subject;
  if (!isObject(subject) || typeof subject.reference !== 'string' || typeof subject.transport !== 'string' || !isStringArray(subject.layers) || !isStringArray(subject.tags)) {
    throw invalid(file, 'subject must have reference, transport, layers and tags');
  }
  if (NOT_IMAGES.has(subject.transport)) throw invalid(file, `is a scan of ${subject.reference} (transport ${subject.transport}), not of an image: compare compares images`, 'save a scan of an image: `distill scan oci:DIR --format json -o scan.json`');
  const packages = doc.packages;
  if (!isObject(packages) || typeof packages.total !== 'number') throw invalid(file, 'packages.total must be a number');
  if (packages.items === undefined) {
    throw invalid(file, 'has no packages.items (written by a distill before scan reports listed their packages): compare cannot tell a removed package from a newer version', 're-run `distill scan IMAGE --format json -o FILE` with this distill');
  }
  if (!Array.isArray(packages.items)) throw invalid(file, 'packages.items must be an array');
  const items = packages.items.map((p: unknown, i): ReportPackage => {
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.version !== 'string') throw invalid(file, `packages.items[${i}] must have a name and a version`);
    return p as unknown as ReportPackage;
  });
  if (items.length !== packages.total) throw invalid(file, `packages.items lists ${items.length} packages but packages.total says ${packages.total}`);
  const findings = checkFindings(file, 'findings', doc.findings);
  const suppressed = checkFindings(file, 'suppressed', doc.suppressed);
  const createdAt = typeof doc.createdAt === 'string' ? doc.createdAt : '';
  const db = Array.isArray(doc.db) ? (doc.db.filter((f) => isObject(f) && typeof f.feed === 'string' && typeof f.digest === 'string') as unknown as FeedProvenance[]) : [];
  const report = doc as unknown as ScanReport;
  return {
    scan: {
      report: { findings, suppressed },
      sbom: { subject: subject as unknown as SbomSubject, packages: items },
      savedScan: { file, createdAt },
    },
    facts: { layers: report.subject.layers.length },
    db,
  };
}

export async function readSavedScan(file: string): Promise<SavedScan> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot read saved scan ${file}: ${(error as Error).message}`, { subject: file, cause: error, hint: 'check the path after scan:' });
  }
  return parseSavedScan(bytes, file);
}

/**
 * Feeds that differ between two databases (by feed name and content digest), as `feed` names, sorted. The
 * CVE counts of a saved scan are those of the database it was made with; the CLI warns when they differ.
 */
export function differingFeeds(a: readonly FeedProvenance[], b: readonly FeedProvenance[]): string[] {
  const key = (list: readonly FeedProvenance[]): Map<string, string> => {
    const out = new Map<string, string>();
    for (const f of list) out.set(f.feed, [out.get(f.feed), f.digest].filter((x) => x !== undefined).sort().join(','));
    return out;
  };
  const [ka, kb] = [key(a), key(b)];
  return [...new Set([...ka.keys(), ...kb.keys()])].filter((feed) => ka.get(feed) !== kb.get(feed)).sort();
}
