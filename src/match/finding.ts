/** @module match/finding — a matched vulnerability on a package, with the evidence of how it was found. */
import type { PackageType } from '../sbom/package.js';
import type { RatedSeverity } from '../vuln/severity.js';
import type { AffectedRange, CvssScore, EpssScore, FeedName, FixState, KevEntry, Namespace } from '../vuln/vulnerability.js';

/** How a finding was reached: enough to explain it or reproduce it by hand. */
export interface MatchEvidence {
  /** `debian`, `alpine`, `osv-npm`, … */
  matcher: string;
  feed: FeedName;
  namespace: Namespace;
  /** The name that was looked up (the source package for Debian). */
  searchedName: string;
  /** The version compared (the source version for Debian). */
  searchedVersion: string;
  /** The rule that matched, in words: `1.2-3 < fixed 1.2-4 (deb)`, `in versions list`, `not fixed in bookworm`. */
  rule: string;
  ranges: AffectedRange[];
}

/** Why a finding is shown but does not count: suppressed by VEX, or not applicable to containers. */
export interface Suppression {
  kind: 'vex' | 'not-applicable' | 'negligible';
  /** VEX status / justification, or the reason (`kernel headers: containers do not run their own kernel`). */
  reason: string;
  /** The VEX document and statement that suppressed it. */
  statement?: string;
}

export interface Finding {
  /** The id as the feed names it (CVE-…, GHSA-…, PYSEC-…). */
  vulnId: string;
  aliases: string[];
  /** SBOM package id it applies to. */
  packageId: string;
  packageName: string;
  packageType: PackageType;
  installedVersion: string;
  purl: string;
  fixState: FixState;
  fixedVersions: string[];
  severity: RatedSeverity;
  cvss: CvssScore[];
  epss?: EpssScore;
  kev?: KevEntry;
  summary?: string;
  /** CWE ids from the vulnerability record (`CWE-787`), when known. */
  cwes?: string[];
  evidence: MatchEvidence;
  suppressed?: Suppression;
}
