/** @module vuln/severity — severities, their order, and where a finding's severity came from. */

export const SEVERITIES = ['unknown', 'negligible', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Which rating a severity was taken from; every finding says it (documented in docs/scan.md). */
export type SeveritySource =
  | 'debian-tracker' // the tracker's urgency for the package in the release
  | 'alpine-secdb'
  | 'osv' // database_specific.severity of the record (GHSA), or its CVSS vector
  | 'nvd-cvss-v4'
  | 'nvd-cvss-v3'
  | 'nvd-cvss-v2'
  | 'none';

export interface RatedSeverity {
  value: Severity;
  source: SeveritySource;
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function compareSeverity(a: Severity, b: Severity): number {
  return severityRank(a) - severityRank(b);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** CVSS base score → qualitative rating (CVSS v3/v4 table; v2 uses the same bands above 0). */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'unknown';
}
