/** @module report/formats/cyclonedx — the scan report as CycloneDX 1.6 JSON: the SBOM's components plus `vulnerabilities`. */
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import { DistillError } from '../../errors.js';
import type { Finding } from '../../match/finding.js';
import { buildCycloneDxBom, serializeCycloneDxBom } from '../../sbom/formats/cyclonedx.js';
import type { Sbom } from '../../sbom/package.js';
import type { Severity } from '../../vuln/severity.js';
import type { CvssScore, FeedName } from '../../vuln/vulnerability.js';
import type { ScanReport } from '../scan-report.js';


export interface ScanCycloneDxOptions {
  space?: number;
  /** Also list suppressed findings, with an `analysis` saying why (default true). */
  includeSuppressed?: boolean;
}

const FEED_SOURCES: Record<FeedName, { name: string; url: string }> = {
  'debian-tracker': { name: 'Debian Security Tracker', url: 'https://security-tracker.debian.org/tracker/' },
  osv: { name: 'OSV', url: 'https://osv.dev/' },
  'alpine-secdb': { name: 'Alpine secdb', url: 'https://secdb.alpinelinux.org/' },
  nvd: { name: 'NVD', url: 'https://nvd.nist.gov/' },
  epss: { name: 'FIRST EPSS', url: 'https://www.first.org/epss/' },
  kev: { name: 'CISA KEV', url: 'https://www.cisa.gov/known-exploited-vulnerabilities-catalog' },
};

const SEVERITY: Record<Severity, Enums.Vulnerability.Severity> = {
  critical: Enums.Vulnerability.Severity.Critical,
  high: Enums.Vulnerability.Severity.High,
  medium: Enums.Vulnerability.Severity.Medium,
  low: Enums.Vulnerability.Severity.Low,
  // CycloneDX has no "negligible": "info" is its rating for findings that need no action.
  negligible: Enums.Vulnerability.Severity.Info,
  unknown: Enums.Vulnerability.Severity.Unknown,
};

const METHOD: Record<CvssScore['version'], Enums.Vulnerability.RatingMethod> = {
  '2.0': Enums.Vulnerability.RatingMethod.CVSSv2,
  '3.0': Enums.Vulnerability.RatingMethod.CVSSv3,
  '3.1': Enums.Vulnerability.RatingMethod.CVSSv31,
  '4.0': Enums.Vulnerability.RatingMethod.CVSSv4,
};

function cvssSeverity(score: number): Enums.Vulnerability.Severity {
  if (score >= 9) return Enums.Vulnerability.Severity.Critical;
  if (score >= 7) return Enums.Vulnerability.Severity.High;
  if (score >= 4) return Enums.Vulnerability.Severity.Medium;
  if (score > 0) return Enums.Vulnerability.Severity.Low;
  return Enums.Vulnerability.Severity.None;
}

function source(feed: FeedName): Models.Vulnerability.Source {
  return new Models.Vulnerability.Source(FEED_SOURCES[feed]);
}

function analysisOf(f: Finding): Models.Vulnerability.Analysis | undefined {
  const s = f.suppressed;
  // Shown findings get no analysis: distill has not triaged them (their fix state is in distill:fixState).
  if (!s) return undefined;
  const detail = `${s.kind}: ${s.reason}${s.statement ? ` (${s.statement})` : ''}`;
  if (s.kind === 'negligible') {
    // Still affected, only rated too low to report: the analysis records that it was triaged, not dismissed.
    return new Models.Vulnerability.Analysis({ state: Enums.Vulnerability.AnalysisState.InTriage, detail });
  }
  const justification = s.kind === 'not-applicable' ? Enums.Vulnerability.AnalysisJustification.RequiresEnvironment : vexJustification(s.reason);
  return new Models.Vulnerability.Analysis({
    state: /\bfixed\b/.test(s.reason) && !/not_affected/.test(s.reason) ? Enums.Vulnerability.AnalysisState.Resolved : Enums.Vulnerability.AnalysisState.NotAffected,
    ...(justification ? { justification } : {}),
    detail,
  });
}

/** OpenVEX justifications → CycloneDX's (the mapping CycloneDX's VEX guidance gives). */
function vexJustification(reason: string): Enums.Vulnerability.AnalysisJustification | undefined {
  const J = Enums.Vulnerability.AnalysisJustification;
  if (/component_not_present|vulnerable_code_not_present|code_not_present/.test(reason)) return J.CodeNotPresent;
  if (/vulnerable_code_not_in_execute_path|vulnerable_code_cannot_be_controlled_by_adversary|code_not_reachable/.test(reason)) return J.CodeNotReachable;
  if (/inline_mitigations_already_exist|protected_by_mitigating_control/.test(reason)) return J.ProtectedByMitigatingControl;
  if (/requires_configuration/.test(reason)) return J.RequiresConfiguration;
  if (/requires_environment/.test(reason)) return J.RequiresEnvironment;
  return undefined;
}

function vulnerabilityFor(f: Finding, ref: Models.BomRef): Models.Vulnerability.Vulnerability {
  const v = new Models.Vulnerability.Vulnerability({
    // bom-refs must be unique: one CycloneDX vulnerability per (id, package), as each has its own analysis.
    bomRef: `vuln:${f.vulnId}:${f.packageId}`,
    id: f.vulnId,
    source: source(f.evidence.feed),
    ...(f.summary ? { description: f.summary } : {}),
    detail: f.evidence.rule,
  });
  if (f.fixedVersions.length > 0) v.recommendation = `Upgrade ${f.packageName} to ${f.fixedVersions.join(' or ')}`;
  // The rating distill reports (with where it came from), then every CVSS score as its source gave it.
  v.ratings.add(
    new Models.Vulnerability.Rating({
      severity: SEVERITY[f.severity.value],
      method: Enums.Vulnerability.RatingMethod.Other,
      source: new Models.Vulnerability.Source({ name: f.severity.source }),
      justification: `severity taken from ${f.severity.source}`,
    }),
  );
  for (const c of f.cvss) {
    v.ratings.add(new Models.Vulnerability.Rating({ score: c.baseScore, severity: cvssSeverity(c.baseScore), method: METHOD[c.version], vector: c.vector, source: new Models.Vulnerability.Source({ name: c.source }) }));
  }
  for (const cwe of f.cwes ?? []) {
    const n = /^CWE-(\d+)$/.exec(cwe);
    if (n) v.cwes.add(Number(n[1]));
  }
  for (const alias of f.aliases) v.references.add(new Models.Vulnerability.Reference(alias, source(alias.startsWith('CVE-') ? 'nvd' : 'osv')));
  const analysis = analysisOf(f);
  if (analysis) v.analysis = analysis;
  v.affects.add(new Models.Vulnerability.Affect(ref));
  v.properties.add(new Models.Property('distill:fixState', f.fixState));
  v.properties.add(new Models.Property('distill:installedVersion', f.installedVersion));
  if (f.kev) v.properties.add(new Models.Property('distill:kev:dateAdded', f.kev.dateAdded));
  if (f.epss) v.properties.add(new Models.Property('distill:epss', String(f.epss.score)));
  return v;
}

/**
 * CycloneDX 1.6 JSON: the SBOM's components exactly as `distill sbom --format cyclonedx-json` writes them
 * (same encoder), plus one `vulnerabilities[]` entry per (vulnerability, package): id, source, ratings (distill's
 * severity with method `other`, then CVSSv2/v3/v31/v4 scores), cwes, affects[].ref = the component's bom-ref,
 * `recommendation` naming the fixed versions, and `analysis` for suppressed findings. The timestamp is the
 * report's createdAt; output is byte-identical for equal input.
 */
export function encodeScanCycloneDx(report: ScanReport, sbom: Sbom, options: ScanCycloneDxOptions = {}): string {
  const { bom, components } = buildCycloneDxBom({ ...sbom, createdAt: report.createdAt, tool: report.tool });
  const findings = [...report.findings, ...((options.includeSuppressed ?? true) ? report.suppressed : [])];
  for (const f of findings) {
    const component = components.get(f.packageId);
    if (!component) {
      throw new DistillError('USAGE', `finding ${f.vulnId} is for package ${f.packageId}, which the SBOM does not hold`, {
        hint: 'pass the SBOM the findings were matched against',
        subject: f.packageId,
      });
    }
    bom.vulnerabilities.add(vulnerabilityFor(f, component.bomRef));
  }
  return `${serializeCycloneDxBom(bom, options.space === undefined ? {} : { space: options.space })}\n`;
}
