/** @module feeds/debian-tracker — the Debian security tracker's all-packages JSON (tracker/data/json) → affected rules per release. */
import type { Severity } from '../vuln/severity.js';
import type { AffectedRecord, FixState, VulnerabilityRecord } from '../vuln/vulnerability.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import { DistillError, describeError } from '../errors.js';
import { debScheme } from '../versions/deb.js';
import {
  BatchWriter,
  DEFAULT_MAX_JSON_BYTES,
  IssueCollector,
  SkipCounter,
  TopLevelObjectSplitter,
  beginImport,
  decodedChunks,
  finishImport,
  isRecord,
  sizeOptions,
  optionalString,
  type FeedImportOptions,
  type FeedImportResult,
  type FeedInput,
} from './feed-input.js';

export const DEBIAN_TRACKER_URL = 'https://security-tracker.debian.org/tracker/data/json';

export interface DebianTrackerOptions extends FeedImportOptions {
  /** Only import these release codenames (e.g. ['bookworm', 'trixie']); default: every release in the file. */
  releases?: string[];
  /** Bound on one source package's JSON (default 512 MiB; real packages are at most a few MiB). */
  maxPackageBytes?: number;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const CODENAME = /^[a-z][a-z0-9-]*$/;
const URGENCY_SEVERITY: Record<string, Severity> = { unimportant: 'negligible', low: 'low', medium: 'medium', high: 'high' };

interface Urgency {
  severity?: Severity;
  endOfLife: boolean;
}

/**
 * Tracker urgencies: `unimportant|low|medium|high` are the Debian team's own rating; a `*`/`**` suffix marks one copied
 * from NVD and `not yet assigned` means none, so neither gives a distro severity (NVD CVSS applies later). `end-of-life`
 * is not a rating but says the release no longer gets fixes for this package.
 */
const urgencyCache = new Map<string, Urgency | 'unknown'>();
const NO_URGENCY: Urgency = { endOfLife: false };

function parseUrgency(raw: unknown): Urgency | 'unknown' {
  if (raw === undefined || raw === null || raw === '') return NO_URGENCY;
  if (typeof raw !== 'string') return 'unknown';
  let known = urgencyCache.get(raw);
  if (known === undefined) {
    known = parseUrgencyText(raw);
    if (urgencyCache.size < 100) urgencyCache.set(raw, known);
  }
  return known;
}

function parseUrgencyText(raw: string): Urgency | 'unknown' {
  const base = raw.replace(/\*+$/, '');
  if (base === 'end-of-life') return { endOfLife: true };
  if (base === 'not yet assigned') return { endOfLife: false };
  const severity = URGENCY_SEVERITY[base];
  if (severity === undefined) return 'unknown';
  if (base !== raw && base !== 'unimportant') return { endOfLife: false };
  return { severity, endOfLife: false };
}

function noteOf(entry: Record<string, unknown>, status: string): string | undefined {
  if (entry['nodsa'] === undefined && entry['nodsa_reason'] === undefined && status !== 'undetermined') return undefined;
  const parts: string[] = [];
  const reason = optionalString(entry['nodsa_reason']);
  const nodsa = optionalString(entry['nodsa']);
  if (reason !== undefined || nodsa !== undefined) parts.push(`no-dsa${reason !== undefined ? ` (${reason})` : ''}${nodsa !== undefined ? `: ${nodsa}` : ''}`);
  if (status === 'undetermined') parts.push('status undetermined');
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * Imports the tracker JSON (plain or gzip'd). The file is split per source package as it streams in and each package is
 * parsed on its own, so memory stays at one package's tree and a 70 MB file never becomes one giant object.
 * Mapping per (package, CVE, release): `resolved` + `fixed_version` "0" → not affected (skipped, counted);
 * `resolved` + version → fixed, range [introduced 0, fixed V]; `open`/`undetermined` → not-fixed, or wont-fix
 * (nodsa_reason `ignored`), deferred (`postponed`), end-of-life (urgency `end-of-life`).
 * Namespace `debian:<codename>`, packageName = the source package. One VulnerabilityRecord per CVE (its description).
 */
export async function importDebianTracker(input: FeedInput, writer: VulnStoreWriter, options: DebianTrackerOptions): Promise<FeedImportResult> {
  const subject = typeof input === 'string' ? input : options.origin;
  const issues = new IssueCollector('debian-tracker');
  const skipped = new SkipCounter();
  const releaseFilter = options.releases !== undefined ? new Set(options.releases) : undefined;
  const affected = new BatchWriter<AffectedRecord>((batch) => writer.putAffected(batch));
  const vulns = new BatchWriter<VulnerabilityRecord>((batch) => writer.putVulnerabilities(batch));
  const described = new Set<string>();

  beginImport(writer, 'debian-tracker', options);
  const decoded = decodedChunks(input, { subject, ...sizeOptions(options) });
  const splitter = new TopLevelObjectSplitter(subject, options.maxPackageBytes ?? DEFAULT_MAX_JSON_BYTES);

  const handlePackage = (pkg: string, bytes: Buffer): void => {
    let cves: unknown;
    try {
      cves = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      // The splitter already checked the nesting; this is a bad scalar or escape inside one package.
      throw new DistillError('FEED_INVALID', `${subject}: malformed JSON in source package ${JSON.stringify(pkg)}: ${describeError(error)}`, {
        subject,
        cause: error,
        hint: 'the file is corrupt; download it again',
      });
    }
    if (!SOURCE_NAME.test(pkg)) {
      issues.add('PARSE_FAILED', `not a Debian source package name: ${JSON.stringify(pkg.slice(0, 100))}`, subject);
      skipped.add('invalidPackage');
      return;
    }
    if (!isRecord(cves)) {
      issues.add('PARSE_FAILED', `source package ${pkg}: expected an object of CVEs`, subject);
      skipped.add('invalidPackage');
      return;
    }
    for (const [id, entry] of Object.entries(cves)) {
      if (!isRecord(entry) || id.length === 0 || id.length > 200) {
        issues.add('PARSE_FAILED', `${pkg} ${id.slice(0, 100)}: expected an object`, subject);
        skipped.add('invalidEntry');
        continue;
      }
      const description = optionalString(entry['description']);
      if (description !== undefined && !described.has(id)) {
        described.add(id);
        const references = [`https://security-tracker.debian.org/tracker/${id}`];
        const bug = entry['debianbug'];
        if (typeof bug === 'number' && Number.isInteger(bug) && bug > 0) references.push(`https://bugs.debian.org/${bug}`);
        vulns.push({ id, aliases: [], feed: 'debian-tracker', description, cwes: [], cvss: [], references });
      }
      const releases = entry['releases'];
      // The tracker writes an empty list, not an object, when no release is tracked.
      if (Array.isArray(releases) && releases.length === 0) continue;
      if (!isRecord(releases)) {
        issues.add('PARSE_FAILED', `${pkg} ${id}: releases is not an object`, subject);
        skipped.add('invalidEntry');
        continue;
      }
      for (const [codename, release] of Object.entries(releases)) {
        if (releaseFilter !== undefined && !releaseFilter.has(codename)) continue;
        if (!CODENAME.test(codename) || !isRecord(release)) {
          issues.add('PARSE_FAILED', `${pkg} ${id}: release ${JSON.stringify(codename.slice(0, 50))} is malformed`, subject);
          skipped.add('invalidEntry');
          continue;
        }
        if (parseUrgency(release['urgency']) === 'unknown') {
          issues.add('UNSUPPORTED', `${pkg} ${id} ${codename}: unknown urgency ${JSON.stringify(String(release['urgency']).slice(0, 50))}; rule kept without a severity`, subject);
        }
        const record = toRecord(pkg, id, codename, release);
        if (typeof record === 'string') {
          skipped.add(record);
          if (record !== 'notAffected') issues.add(record === 'invalidVersion' ? 'PARSE_FAILED' : 'FIELD_MISSING', `${pkg} ${id} ${codename}: ${describeSkip(record, release)}`, subject);
          continue;
        }
        affected.push(record);
      }
    }
  };

  for await (const chunk of decoded.chunks) {
    for (const [pkg, bytes] of splitter.push(chunk)) handlePackage(pkg, bytes);
  }
  splitter.end();
  affected.flush();
  vulns.flush();

  return finishImport(writer, options, {
    feed: 'debian-tracker',
    records: affected.count,
    vulnerabilities: vulns.count,
    digest: decoded.digest(),
    skipped: skipped.counts,
    issues: issues.list(),
  });
}

type SkipReason = 'notAffected' | 'invalidVersion' | 'missingFixedVersion' | 'unknownStatus';

function describeSkip(reason: SkipReason, release: Record<string, unknown>): string {
  switch (reason) {
    case 'invalidVersion':
      return `fixed_version ${JSON.stringify(String(release['fixed_version']).slice(0, 100))} is not a valid Debian version; rule skipped`;
    case 'missingFixedVersion':
      return 'status resolved without a fixed_version; rule skipped';
    case 'unknownStatus':
      return `unknown status ${JSON.stringify(String(release['status']).slice(0, 50))}; rule skipped`;
    default:
      return reason;
  }
}

function toRecord(pkg: string, id: string, codename: string, release: Record<string, unknown>): AffectedRecord | SkipReason {
  const status = release['status'];
  // An urgency the tracker may add later must not drop the rule: it is kept without a distro severity (issue recorded by the caller).
  const parsed = parseUrgency(release['urgency']);
  const urgency = parsed === 'unknown' ? NO_URGENCY : parsed;
  const namespace = `debian:${codename}`;
  let record: AffectedRecord;
  if (status === 'resolved') {
    const fixed = release['fixed_version'];
    if (fixed === '0') return 'notAffected';
    if (fixed === undefined || fixed === null || fixed === '') return 'missingFixedVersion';
    if (typeof fixed !== 'string' || !debScheme.isValid(fixed)) return 'invalidVersion';
    record = {
      vulnId: id,
      namespace,
      packageName: pkg,
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
      versions: [],
      fixState: 'fixed',
      fixedVersions: [fixed],
      feed: 'debian-tracker',
    };
  } else if (status === 'open' || status === 'undetermined') {
    const reason = release['nodsa_reason'];
    let fixState: FixState = 'not-fixed';
    if (urgency.endOfLife) fixState = 'end-of-life';
    else if (reason === 'ignored') fixState = 'wont-fix';
    else if (reason === 'postponed') fixState = 'deferred';
    record = { vulnId: id, namespace, packageName: pkg, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }], versions: [], fixState, fixedVersions: [], feed: 'debian-tracker' };
  } else {
    return 'unknownStatus';
  }
  if (urgency.severity !== undefined) record.severity = urgency.severity;
  const note = noteOf(release, status);
  if (note !== undefined) record.note = note;
  return record;
}
