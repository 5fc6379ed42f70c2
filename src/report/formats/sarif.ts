/** @module report/formats/sarif — the scan report as SARIF 2.1.0, shaped for code-scanning UIs (GitHub `security-severity`). */
import { createHash } from 'node:crypto';
import type { Finding } from '../../match/finding.js';
import type { Package, Sbom } from '../../sbom/package.js';
import { severityFromScore, severityRank, type Severity } from '../../vuln/severity.js';
import type { CvssScore } from '../../vuln/vulnerability.js';
import type { ScanReport } from '../scan-report.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface ScanSarifOptions {
  /** The scanned SBOM: gives each result the evidence file inside the image (else the purl is the location). */
  sbom?: Sbom;
  /** Also emit suppressed findings, as results with `suppressions` (default true; code-scanning UIs hide them). */
  includeSuppressed?: boolean;
  /** Where the tool is documented (tool.driver.informationUri). */
  informationUri?: string;
  space?: number;
}

type Json = Record<string, unknown>;
type Level = 'error' | 'warning' | 'note';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** critical/high → error, medium → warning, everything lower → note. */
export function sarifLevel(severity: Severity): Level {
  if (severity === 'critical' || severity === 'high') return 'error';
  if (severity === 'medium') return 'warning';
  return 'note';
}

// A score inside each band of GitHub's security-severity scale (critical > 9.0, high 7.0–8.9, medium 4.0–6.9,
// low 0.1–3.9), used when no CVSS score agrees with the severity the finding was given.
const BAND_SCORE: Partial<Record<Severity, number>> = { critical: 9.5, high: 8.0, medium: 5.5, low: 2.0, negligible: 0.1 };

/**
 * GitHub's `security-severity` for a finding: the highest CVSS base score whose band matches the finding's
 * severity (so the UI shows the severity distill reports, e.g. the distribution's), else a score inside that band;
 * undefined for severity unknown.
 */
export function securitySeverity(finding: Finding): number | undefined {
  const matching = finding.cvss.filter((c) => severityFromScore(c.baseScore) === finding.severity.value).map((c) => c.baseScore);
  if (matching.length > 0) return Math.max(...matching);
  return BAND_SCORE[finding.severity.value];
}

function helpUri(f: Finding): string {
  const id = encodeURIComponent(f.vulnId);
  if (f.evidence.feed === 'debian-tracker' && /^(CVE|TEMP)-/.test(f.vulnId)) return `https://security-tracker.debian.org/tracker/${id}`;
  if (f.vulnId.startsWith('CVE-') && f.evidence.feed === 'nvd') return `https://nvd.nist.gov/vuln/detail/${id}`;
  if (f.vulnId.startsWith('CVE-') && f.evidence.feed !== 'osv') return `https://www.cve.org/CVERecord?id=${id}`;
  return `https://osv.dev/vulnerability/${id}`;
}

function cvssProps(c: CvssScore): Json {
  return { version: c.version, vector: c.vector, baseScore: c.baseScore, source: c.source, ...(c.type ? { type: c.type } : {}) };
}

/** Relative URI of a path inside the image: segments percent-encoded, no leading slash. */
function pathUri(path: string): string {
  return path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
}

function fingerprint(f: Finding, location: string): string {
  // Version-free: an alert survives an upgrade that does not fix it, and is the same on every run.
  return createHash('sha256').update([f.vulnId, f.packageType, f.packageName, location].join('\u0000')).digest('hex');
}

function ruleFor(id: string, findings: readonly Finding[]): Json {
  // Several packages can share one vulnerability id: the rule takes the most severe of them.
  const worst = [...findings].sort((a, b) => severityRank(b.severity.value) - severityRank(a.severity.value) || cmp(a.packageName, b.packageName))[0] as Finding;
  const cvss = new Map<string, CvssScore>();
  for (const f of findings) for (const c of f.cvss) cvss.set(`${c.version}|${c.source}|${c.vector}`, c);
  const scores = [...cvss.values()].sort((a, b) => cmp(b.version, a.version) || cmp(a.source, b.source) || cmp(a.vector, b.vector));
  const packages = [...new Set(findings.map((f) => `${f.packageName} ${f.installedVersion}`))].sort(cmp);
  const names = [...new Set(findings.map((f) => f.packageName))].sort(cmp);
  const text = worst.summary ?? `${id} in ${names.join(', ')}`;
  const fixed = [...new Set(findings.flatMap((f) => f.fixedVersions))];
  const help = [
    `Vulnerability ${id}${worst.aliases.length > 0 ? ` (${worst.aliases.join(', ')})` : ''}`,
    ...(worst.summary ? [`Summary: ${worst.summary}`] : []),
    `Severity: ${worst.severity.value} (from ${worst.severity.source})`,
    ...scores.map((c) => `CVSS ${c.version} ${c.baseScore} ${c.vector} (${c.source})`),
    `Packages: ${packages.join(', ')}`,
    `Fixed in: ${fixed.length > 0 ? fixed.join(', ') : 'no fixed version'}`,
    ...(worst.kev ? [`CISA KEV: added ${worst.kev.dateAdded}, due ${worst.kev.dueDate}: ${worst.kev.requiredAction}`] : []),
  ];
  const score = securitySeverity(worst);
  return {
    id,
    name: 'PackageVulnerability',
    shortDescription: { text: worst.summary ? `${id}: ${worst.summary}` : text },
    fullDescription: { text },
    helpUri: helpUri(worst),
    help: { text: help.join('\n'), markdown: help.map((l) => `- ${l.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`)}`).join('\n') },
    defaultConfiguration: { level: sarifLevel(worst.severity.value) },
    properties: {
      tags: ['security', 'vulnerability', worst.severity.value],
      precision: 'very-high',
      ...(score !== undefined ? { 'security-severity': score.toFixed(1) } : {}),
      severity: worst.severity.value,
      severitySource: worst.severity.source,
      cvss: scores.map(cvssProps),
      ...(worst.cwes && worst.cwes.length > 0 ? { cwes: worst.cwes } : {}),
      ...(worst.kev ? { kev: true } : {}),
    },
  };
}

/**
 * SARIF 2.1.0 log with one run: one rule per vulnerability id (help text, CVSS and severity in properties,
 * `security-severity`), one result per (vulnerability, package) at the package's evidence file inside the image
 * (`var/lib/dpkg/status`, relative to uriBaseId IMAGEROOT) or, without an SBOM location, at its purl; logical
 * location = the package purl; fingerprints are SHA-256 of id, package type, name and location (no version).
 * Suppressed findings become results with an `external` suppression. Deterministic: rules by id, results in
 * report order, no wall-clock time beyond report.createdAt.
 */
export function encodeScanSarif(report: ScanReport, options: ScanSarifOptions = {}): string {
  const packages = new Map<string, Package>((options.sbom?.packages ?? []).map((p) => [p.id, p]));
  const all = [...report.findings, ...((options.includeSuppressed ?? true) ? report.suppressed : [])];
  const byId = new Map<string, Finding[]>();
  for (const f of all) byId.set(f.vulnId, [...(byId.get(f.vulnId) ?? []), f]);
  const ids = [...byId.keys()].sort(cmp);
  const ruleIndex = new Map(ids.map((id, i) => [id, i]));
  const rules = ids.map((id) => ruleFor(id, byId.get(id) as Finding[]));

  const results = all.map((f) => {
    const path = packages.get(f.packageId)?.locations[0]?.path;
    const artifactLocation = path ? { uri: pathUri(path), uriBaseId: 'IMAGEROOT' } : { uri: f.purl };
    const fixed = f.fixedVersions.length > 0 ? `fixed in ${f.fixedVersions.join(', ')}` : f.fixState.replace('-', ' ');
    const result: Json = {
      ruleId: f.vulnId,
      ruleIndex: ruleIndex.get(f.vulnId),
      level: sarifLevel(f.severity.value),
      message: { text: `${f.packageName} ${f.installedVersion} (${f.packageType}) is affected by ${f.vulnId} (${f.severity.value}); ${fixed}` },
      locations: [
        {
          // Code-scanning UIs need a region; the evidence file holds the whole package database.
          physicalLocation: { artifactLocation, region: { startLine: 1 } },
          logicalLocations: [{ name: f.packageName, fullyQualifiedName: f.purl, kind: 'module' }],
        },
      ],
      partialFingerprints: { 'distillFinding/v1': fingerprint(f, path ?? f.purl) },
      properties: {
        packageId: f.packageId,
        purl: f.purl,
        installedVersion: f.installedVersion,
        fixState: f.fixState,
        fixedVersions: f.fixedVersions,
        severity: f.severity.value,
        severitySource: f.severity.source,
        ...(f.epss ? { epss: f.epss.score, epssPercentile: f.epss.percentile } : {}),
        ...(f.kev ? { kev: { dateAdded: f.kev.dateAdded, dueDate: f.kev.dueDate, knownRansomwareCampaignUse: f.kev.knownRansomwareCampaignUse } } : {}),
        evidence: f.evidence.rule,
      },
    };
    if (f.suppressed) {
      result.suppressions = [
        {
          kind: 'external',
          status: 'accepted',
          justification: `${f.suppressed.kind}: ${f.suppressed.reason}${f.suppressed.statement ? ` (${f.suppressed.statement})` : ''}`,
        },
      ];
    }
    return result;
  });

  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            ...(report.tool.version ? { version: report.tool.version } : {}),
            ...(options.informationUri ? { informationUri: options.informationUri } : {}),
            rules,
          },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: report.createdAt }],
        // IMAGEROOT has no URI of its own: the image is not a file system the consumer can reach.
        originalUriBaseIds: { IMAGEROOT: { description: { text: `root file system of ${report.subject.reference}` } } },
        results,
        properties: {
          subject: report.subject.reference,
          ...(report.subject.digest ? { digest: report.subject.digest } : {}),
          summary: report.summary,
        },
      },
    ],
  };
  return `${JSON.stringify(log, null, options.space ?? 2)}\n`;
}
