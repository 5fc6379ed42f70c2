/** @module report/scan-report — the ScanReport document: findings after the report filters, suppressed ones, summary, DB provenance; and the --fail-on gate. */
import type { Issue } from '../errors.js';
import { feedAgeDays, maxAgeDaysFor } from '../vuln/feed-age.js';
import type { Finding, MatchEvidence, Suppression } from '../match/finding.js';
import type { LinuxRelease, PackageType, Sbom, SbomSubject } from '../sbom/package.js';
import { SEVERITIES, severityRank, type Severity } from '../vuln/severity.js';
import type { AffectedRange, CvssScore, FeedProvenance, FixState } from '../vuln/vulnerability.js';

export const SCAN_REPORT_SCHEMA_VERSION = '1';

/** Staleness limits per feed (shared with `distill db status`): see src/vuln/feed-age.ts. */
export { DEFAULT_MAX_AGE_DAYS } from '../vuln/feed-age.js';

/** One imported feed, with its age at report time. */
export interface ReportFeed extends FeedProvenance {
  /** Whole days between the feed's date (recordDate, else fetchedAt) and createdAt; null when the date is unreadable. */
  ageDays: number | null;
  /** True when ageDays is over the limit or unreadable. */
  stale: boolean;
}

/** Severities from the most to the least severe: the key order of every bySeverity object. */
export const SEVERITIES_DESC: readonly Severity[] = [...SEVERITIES].reverse();

export interface ScanSummary {
  /** Shown findings per severity (every severity present, most severe first). */
  bySeverity: Record<Severity, number>;
  /** Shown findings. */
  total: number;
  /** Shown findings with fix state `fixed`. */
  fixable: number;
  /** Shown findings in CISA KEV. */
  kev: number;
  /** Shown findings with an EPSS probability above 0.1. */
  epssAbove0_1: number;
  /** All suppressed findings (VEX, not applicable, negligible hidden). */
  suppressed: number;
  /** The part of `suppressed` hidden only because its severity is negligible. */
  negligibleHidden: number;
  /** Findings dropped by --only-fixed / --ignore-unfixed (neither shown nor suppressed). */
  filtered: number;
}

export interface ReportFilters {
  showNegligible: boolean;
  onlyFixed: boolean;
  ignoreUnfixed: boolean;
}

/** One package of the SBOM, as much as a later `distill compare scan:FILE` needs to tell a removed package from a newer version. */
export interface ReportPackage {
  /** The SBOM's package id (what findings name in `packageId`). */
  id: string;
  name: string;
  version: string;
  type: PackageType;
  purl: string;
  /** Debian source package and version; apk's origin as sourceName. */
  sourceName?: string;
  sourceVersion?: string;
}

export interface ScanReport {
  schemaVersion: typeof SCAN_REPORT_SCHEMA_VERSION;
  createdAt: string;
  tool: { name: string; version: string };
  subject: SbomSubject;
  distro?: LinuxRelease;
  /**
   * Package counts: total and by type (types in name order), and the packages themselves (sorted by name,
   * version, id). `items` was added within schema version 1: reports written before it lack it.
   */
  packages: { total: number; byType: Partial<Record<PackageType, number>>; items?: ReportPackage[] };
  db: ReportFeed[];
  filters: ReportFilters;
  /** Findings that count (and gate), in report order. */
  findings: Finding[];
  /** Findings shown only on request: VEX-suppressed, not applicable, negligible hidden. */
  suppressed: Finding[];
  summary: ScanSummary;
  /** The SBOM's issues (non-fatal problems while cataloguing). */
  issues: Issue[];
}

export interface BuildScanReportOptions {
  db: FeedProvenance[];
  /** Report time (pin it for reproducible output); also the reference point for DB staleness. */
  createdAt: Date;
  tool: { name: string; version: string };
  /** Keep negligible findings among the shown ones (default: hidden and counted). */
  showNegligible?: boolean;
  /** `--only-fixed`: only findings with a fix. */
  onlyFixed?: boolean;
  /** `--ignore-unfixed`: drop findings in state not-fixed, wont-fix or deferred. */
  ignoreUnfixed?: boolean;
  /** One stale-DB threshold in days for every feed (default: the per-feed DEFAULT_MAX_AGE_DAYS). */
  maxDbAgeDays?: number;
}

const UNFIXED: ReadonlySet<FixState> = new Set<FixState>(['not-fixed', 'wont-fix', 'deferred']);

export const NEGLIGIBLE_REASON = 'negligible severity (Debian "unimportant" or equivalent): hidden by default';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Report order: severity (most severe first), package name, installed version, package id, vulnerability id. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity.value) - severityRank(a.severity.value) ||
    cmp(a.packageName, b.packageName) ||
    cmp(a.installedVersion, b.installedVersion) ||
    cmp(a.packageId, b.packageId) ||
    cmp(a.vulnId, b.vulnId) ||
    cmp(a.evidence.matcher, b.evidence.matcher)
  );
}

/** True when a fix exists for the finding (state `fixed`, or a fixed version is known). */
export function hasFix(finding: Finding): boolean {
  return finding.fixState === 'fixed' || finding.fixedVersions.length > 0;
}

function feedAge(feed: FeedProvenance, now: Date, limits: number | undefined): ReportFeed {
  const age = feedAgeDays(feed, now);
  const ageDays = age === undefined ? null : Math.max(0, Math.floor(age));
  return { ...normalizeFeed(feed), ageDays, stale: ageDays === null || ageDays > maxAgeDaysFor(feed.feed, limits) };
}

/**
 * Builds the report: applies --only-fixed / --ignore-unfixed to every finding, then splits them into shown and
 * suppressed (a Suppression from the matcher or VEX, or negligible severity unless showNegligible), sorts both
 * with compareFindings and summarises the shown ones. Objects are rebuilt with a fixed key order so the JSON
 * encoding is byte-stable whatever order the matchers wrote their fields in.
 */
export function buildScanReport(sbom: Sbom, findings: readonly Finding[], options: BuildScanReportOptions): ScanReport {
  const filters: ReportFilters = {
    showNegligible: options.showNegligible ?? false,
    onlyFixed: options.onlyFixed ?? false,
    ignoreUnfixed: options.ignoreUnfixed ?? false,
  };
  const shown: Finding[] = [];
  const suppressed: Finding[] = [];
  let filtered = 0;
  for (const raw of findings) {
    if ((filters.onlyFixed && !hasFix(raw)) || (filters.ignoreUnfixed && UNFIXED.has(raw.fixState))) {
      filtered++;
      continue;
    }
    const finding = normalizeFinding(raw);
    if (finding.suppressed) suppressed.push(finding);
    else if (finding.severity.value === 'negligible' && !filters.showNegligible) {
      suppressed.push({ ...finding, suppressed: { kind: 'negligible', reason: NEGLIGIBLE_REASON } });
    } else shown.push(finding);
  }
  shown.sort(compareFindings);
  suppressed.sort(compareFindings);

  const byType: Partial<Record<PackageType, number>> = {};
  for (const type of [...new Set(sbom.packages.map((p) => p.type))].sort(cmp)) byType[type] = 0;
  for (const pkg of sbom.packages) byType[pkg.type] = (byType[pkg.type] ?? 0) + 1;

  const maxDays = options.maxDbAgeDays;
  const db = [...options.db]
    .sort((a, b) => cmp(a.feed, b.feed) || cmp(a.origin, b.origin) || cmp(a.digest, b.digest))
    .map((feed) => feedAge(feed, options.createdAt, maxDays));

  return {
    schemaVersion: SCAN_REPORT_SCHEMA_VERSION,
    createdAt: options.createdAt.toISOString(),
    tool: { name: options.tool.name, version: options.tool.version },
    subject: normalizeSubject(sbom.subject),
    ...(sbom.distro ? { distro: normalizeDistro(sbom.distro) } : {}),
    packages: { total: sbom.packages.length, byType, items: sbom.packages.map(reportPackage).sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.id, b.id)) },
    db,
    filters,
    findings: shown,
    suppressed,
    summary: summarize(shown, suppressed, filtered),
    issues: sbom.issues.map((i) => ({
      code: i.code,
      message: i.message,
      ...(i.path !== undefined ? { path: i.path } : {}),
      ...(i.source !== undefined ? { source: i.source } : {}),
    })),
  };
}

function summarize(shown: readonly Finding[], suppressed: readonly Finding[], filtered: number): ScanSummary {
  const bySeverity = Object.fromEntries(SEVERITIES_DESC.map((s) => [s, 0])) as Record<Severity, number>;
  let fixable = 0;
  let kev = 0;
  let epss = 0;
  for (const f of shown) {
    bySeverity[f.severity.value]++;
    if (f.fixState === 'fixed') fixable++;
    if (f.kev) kev++;
    if (f.epss && f.epss.score > 0.1) epss++;
  }
  return {
    bySeverity,
    total: shown.length,
    fixable,
    kev,
    epssAbove0_1: epss,
    suppressed: suppressed.length,
    negligibleHidden: suppressed.filter((f) => f.suppressed?.kind === 'negligible').length,
    filtered,
  };
}

/** Shown findings at or above the threshold: what makes `--fail-on` fail. */
export function gateFailures(report: ScanReport, failOn: Severity): Finding[] {
  const threshold = severityRank(failOn);
  return report.findings.filter((f) => severityRank(f.severity.value) >= threshold);
}

/**
 * `--fail-on SEVERITY`: passes when no shown finding has that severity or a higher one. Suppressed findings
 * (VEX, not applicable, negligible hidden) never fail the gate; `unknown` is the lowest rank, so
 * `--fail-on unknown` fails on any shown finding.
 */
export function gatePasses(report: ScanReport, failOn: Severity): boolean {
  return gateFailures(report, failOn).length === 0;
}

// ---- canonical key order -------------------------------------------------------------------------------

function defined<T extends object>(entries: Array<[string, unknown]>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) if (v !== undefined) out[k] = v;
  return out as T;
}

function normalizeCvss(c: CvssScore): CvssScore {
  return defined<CvssScore>([['version', c.version], ['vector', c.vector], ['baseScore', c.baseScore], ['source', c.source], ['type', c.type]]);
}

function normalizeRange(r: AffectedRange): AffectedRange {
  return { type: r.type, events: r.events.map((e) => ({ ...e })) };
}

function normalizeEvidence(e: MatchEvidence): MatchEvidence {
  return {
    matcher: e.matcher,
    feed: e.feed,
    namespace: e.namespace,
    searchedName: e.searchedName,
    searchedVersion: e.searchedVersion,
    rule: e.rule,
    ranges: e.ranges.map(normalizeRange),
  };
}

function normalizeSuppression(s: Suppression): Suppression {
  return defined<Suppression>([['kind', s.kind], ['reason', s.reason], ['statement', s.statement]]);
}

/** The finding with a fixed key order and sorted aliases/CWEs (for byte-stable output). */
export function normalizeFinding(f: Finding): Finding {
  return defined<Finding>([
    ['vulnId', f.vulnId],
    ['aliases', [...new Set(f.aliases)].sort(cmp)],
    ['packageId', f.packageId],
    ['packageName', f.packageName],
    ['packageType', f.packageType],
    ['installedVersion', f.installedVersion],
    ['purl', f.purl],
    ['fixState', f.fixState],
    ['fixedVersions', [...f.fixedVersions]],
    ['severity', { value: f.severity.value, source: f.severity.source }],
    ['cvss', f.cvss.map(normalizeCvss)],
    ['epss', f.epss && { cve: f.epss.cve, score: f.epss.score, percentile: f.epss.percentile, date: f.epss.date, model: f.epss.model }],
    [
      'kev',
      f.kev && {
        cve: f.kev.cve,
        vendor: f.kev.vendor,
        product: f.kev.product,
        name: f.kev.name,
        dateAdded: f.kev.dateAdded,
        dueDate: f.kev.dueDate,
        requiredAction: f.kev.requiredAction,
        knownRansomwareCampaignUse: f.kev.knownRansomwareCampaignUse,
      },
    ],
    ['summary', f.summary],
    ['cwes', f.cwes && [...new Set(f.cwes)].sort(cmp)],
    ['evidence', normalizeEvidence(f.evidence)],
    ['suppressed', f.suppressed && normalizeSuppression(f.suppressed)],
  ]);
}

function reportPackage(p: Sbom['packages'][number]): ReportPackage {
  const source = p.type === 'deb' ? { sourceName: p.sourceName, sourceVersion: p.sourceVersion } : p.type === 'apk' ? { sourceName: p.origin } : {};
  return defined<ReportPackage>([['id', p.id], ['name', p.name], ['version', p.version], ['type', p.type], ['purl', p.purl], ['sourceName', source.sourceName], ['sourceVersion', 'sourceVersion' in source ? source.sourceVersion : undefined]]);
}

function normalizeFeed(f: FeedProvenance): FeedProvenance {
  return defined<FeedProvenance>([
    ['feed', f.feed],
    ['origin', f.origin],
    ['fetchedAt', f.fetchedAt],
    ['recordDate', f.recordDate],
    ['digest', f.digest],
    ['records', f.records],
  ]);
}

function normalizeSubject(s: SbomSubject): SbomSubject {
  return defined<SbomSubject>([
    ['reference', s.reference],
    ['transport', s.transport],
    ['digest', s.digest],
    ['configDigest', s.configDigest],
    ['platform', s.platform && defined([['os', s.platform.os], ['architecture', s.platform.architecture], ['variant', s.platform.variant], ['os.version', s.platform['os.version']], ['os.features', s.platform['os.features'] && [...s.platform['os.features']]]])],
    ['layers', [...s.layers]],
    ['tags', [...s.tags]],
  ]);
}

function normalizeDistro(d: LinuxRelease): LinuxRelease {
  return defined<LinuxRelease>([
    ['id', d.id],
    ['idLike', [...d.idLike]],
    ['versionId', d.versionId],
    ['versionCodename', d.versionCodename],
    ['prettyName', d.prettyName],
    ['precise', d.precise],
  ]);
}
