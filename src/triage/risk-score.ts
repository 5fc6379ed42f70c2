/** @module triage/risk-score — the one risk score (0–100) per finding: KEV and ransomware use, EPSS, CVSS score and vector, fix state, file presence. */
import type { Finding } from '../match/finding.js';
import type { Severity } from '../vuln/severity.js';
import type { FixState } from '../vuln/vulnerability.js';
import { parseCvssVector, pickCvss, type CvssFacts } from './cvss-vector.js';

/** Whether the package's own files are in the image (see file-presence.ts). */
export type PresenceState = 'present' | 'absent' | 'unknown';

/**
 * Likelihood used when a CVE has no EPSS score (new, or the EPSS feed is missing): by the finding's severity.
 * Deliberately above the EPSS of a typical CVE of that severity, so an unscored CVE is never ranked as if it
 * could not be exploited (a zero) and rather too high than too low.
 */
export const EPSS_PRIOR: Readonly<Record<Severity, number>> = { critical: 0.1, high: 0.05, medium: 0.02, low: 0.01, negligible: 0.005, unknown: 0.02 };
/** CVSS-like base score assumed from the severity when no CVSS score is known. */
export const SEVERITY_BASE_SCORE: Readonly<Record<Severity, number>> = { critical: 9, high: 7, medium: 5, low: 3, negligible: 1, unknown: 5 };
/** Weight of the EPSS percentile in the likelihood: L = p + PERCENTILE_WEIGHT × percentile × (1 − p). */
export const PERCENTILE_WEIGHT = 0.1;
export const ATTACK_VECTOR_WEIGHT: Readonly<Record<NonNullable<CvssFacts['attackVector']>, number>> = { N: 1, A: 0.8, L: 0.6, P: 0.3 };
export const PRIVILEGES_WEIGHT: Readonly<Record<NonNullable<CvssFacts['privilegesRequired']>, number>> = { N: 1, L: 0.85, H: 0.6 };
export const USER_INTERACTION_WEIGHT: Readonly<Record<NonNullable<CvssFacts['userInteraction']>, number>> = { N: 1, R: 0.85, A: 0.75 };
/** Exposure when no CVSS vector is known. */
export const UNKNOWN_EXPOSURE = 0.8;
/** Fix state: a published fix also publishes the bug (patch diffing); "won't fix" means the distributor judged it minor. */
export const FIX_WEIGHT: Readonly<Record<FixState, number>> = { fixed: 1, 'end-of-life': 1, 'not-fixed': 0.9, deferred: 0.9, unknown: 0.9, 'wont-fix': 0.7 };
/** Files of the package absent from the image (deleted by a later layer, or never unpacked). */
export const PRESENCE_WEIGHT: Readonly<Record<PresenceState, number>> = { present: 1, unknown: 1, absent: 0.3 };
/** Multiplier for KEV entries with known ransomware campaign use. */
export const RANSOMWARE_WEIGHT = 1.25;
/** KEV findings score in [KEV_FLOOR, 100], all others in [0, KEV_FLOOR): known exploitation outranks any estimate. */
export const KEV_FLOOR = 60;

export interface RiskScore {
  /** 0–100, two decimals. */
  score: number;
  /** The factors, each rounded to 4 decimals; score = kev ? KEV_FLOOR + (100 − KEV_FLOOR)·x : KEV_FLOOR·x with x = min(1, product). */
  factors: {
    likelihood: number;
    /** Where the likelihood came from. */
    likelihoodFrom: 'kev' | 'epss' | 'prior';
    severity: number;
    /** Where the severity base score came from: `CVSS:3.1 7.8` or `severity high`. */
    severityFrom: string;
    exposure: number;
    exposureFrom: string;
    fix: number;
    presence: number;
    ransomware: number;
  };
  kev: boolean;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The risk formula (docs/triage.md):
 *
 *   L (likelihood) = 1 when in KEV; else p + 0.1 × percentile × (1 − p) with the EPSS probability p; else EPSS_PRIOR[severity]
 *   S (severity)   = CVSS base score / 10 (the severity rule's vector), else SEVERITY_BASE_SCORE[severity] / 10
 *   E (exposure)   = AV weight × PR weight × UI weight from that vector (UNKNOWN_EXPOSURE without one)
 *   F (fix)        = FIX_WEIGHT[fix state];  P (presence) = PRESENCE_WEIGHT[presence];  R = 1.25 for KEV ransomware use, else 1
 *   x = min(1, L × S × E × F × P × R);  score = KEV ? 60 + 40x : 60x
 */
export function riskScore(finding: Finding, presence: PresenceState = 'unknown'): RiskScore {
  const kev = finding.kev !== undefined;
  let likelihood: number;
  let likelihoodFrom: RiskScore['factors']['likelihoodFrom'];
  if (kev) {
    likelihood = 1;
    likelihoodFrom = 'kev';
  } else if (finding.epss !== undefined && Number.isFinite(finding.epss.score)) {
    const p = clamp01(finding.epss.score);
    const percentile = clamp01(Number.isFinite(finding.epss.percentile) ? finding.epss.percentile : 0);
    likelihood = p + PERCENTILE_WEIGHT * percentile * (1 - p);
    likelihoodFrom = 'epss';
  } else {
    likelihood = EPSS_PRIOR[finding.severity.value];
    likelihoodFrom = 'prior';
  }

  const cvss = pickCvss(finding.cvss);
  const base = cvss !== undefined ? Math.min(10, cvss.baseScore) : SEVERITY_BASE_SCORE[finding.severity.value];
  const severity = base / 10;
  const severityFrom = cvss !== undefined ? `CVSS:${cvss.version} ${cvss.baseScore}` : `severity ${finding.severity.value}`;

  let exposure = UNKNOWN_EXPOSURE;
  let exposureFrom = 'no CVSS vector';
  if (cvss !== undefined) {
    const facts = parseCvssVector(cvss.vector, cvss.version);
    const av = facts.attackVector === undefined ? 1 : ATTACK_VECTOR_WEIGHT[facts.attackVector];
    const pr = facts.privilegesRequired === undefined ? 1 : PRIVILEGES_WEIGHT[facts.privilegesRequired];
    const ui = facts.userInteraction === undefined ? 1 : USER_INTERACTION_WEIGHT[facts.userInteraction];
    exposure = av * pr * ui;
    exposureFrom = `AV:${facts.attackVector ?? '?'} PR:${facts.privilegesRequired ?? '?'} UI:${facts.userInteraction ?? '?'}`;
  }
  const fix = FIX_WEIGHT[finding.fixState];
  const presenceWeight = PRESENCE_WEIGHT[presence];
  const ransomware = finding.kev?.knownRansomwareCampaignUse === 'Known' ? RANSOMWARE_WEIGHT : 1;
  const x = Math.min(1, likelihood * severity * exposure * fix * presenceWeight * ransomware);
  const score = kev ? KEV_FLOOR + (100 - KEV_FLOOR) * x : KEV_FLOOR * x;
  return {
    score: round(score, 2),
    factors: {
      likelihood: round(likelihood, 4),
      likelihoodFrom,
      severity: round(severity, 4),
      severityFrom,
      exposure: round(exposure, 4),
      exposureFrom,
      fix,
      presence: presenceWeight,
      ransomware,
    },
    kev,
  };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
