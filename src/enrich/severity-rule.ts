/** @module enrich/severity-rule — the one rule that picks a finding's severity, and says where it came from. */
import { severityFromScore, type RatedSeverity } from '../vuln/severity.js';
import type { CvssScore } from '../vuln/vulnerability.js';

/**
 * The severity rule (also in docs/scan.md, "Severity"):
 *
 * 1. The distribution's or advisory's own rating, when it gives one: the Debian security tracker's urgency
 *    for the package in the release (`unimportant` → negligible), Alpine secdb, or the OSV record's
 *    database_specific severity (GHSA). A distribution rates the package it ships, with its patches and
 *    build options, so it wins over a generic score.
 * 2. Else NVD's CVSS base score: v3.1, then v3.0, then v4.0, then v2 — the NVD (Primary) score before a CNA's
 *    (Secondary) within a version — mapped with the CVSS bands (≥9 critical, ≥7 high, ≥4 medium, >0 low).
 * 3. Else a CVSS score the advisory itself carries (OSV `severity`), same order and bands: source `osv`.
 * 4. Else `unknown`, source `none`.
 */
export function rateSeverity(own: RatedSeverity, nvd: readonly CvssScore[], advisory: readonly CvssScore[] = []): RatedSeverity {
  if (own.value !== 'unknown' && own.source !== 'none') return own;
  const fromNvd = bestScore(nvd);
  if (fromNvd !== undefined) {
    const value = severityFromScore(fromNvd.baseScore);
    if (value !== 'unknown') return { value, source: fromNvd.version === '4.0' ? 'nvd-cvss-v4' : fromNvd.version === '2.0' ? 'nvd-cvss-v2' : 'nvd-cvss-v3' };
  }
  const fromAdvisory = bestScore(advisory);
  if (fromAdvisory !== undefined) {
    const value = severityFromScore(fromAdvisory.baseScore);
    if (value !== 'unknown') return { value, source: 'osv' };
  }
  return { value: 'unknown', source: 'none' };
}

const VERSION_ORDER: Readonly<Record<CvssScore['version'], number>> = { '3.1': 0, '3.0': 1, '4.0': 2, '2.0': 3 };

/** The score the rule uses: version order first, then Primary before Secondary, then the first listed. */
export function bestScore(scores: readonly CvssScore[]): CvssScore | undefined {
  let best: CvssScore | undefined;
  for (const score of scores) {
    if (!Number.isFinite(score.baseScore) || score.baseScore <= 0) continue;
    if (best === undefined || rank(score) < rank(best)) best = score;
  }
  return best;
}

function rank(score: CvssScore): number {
  return VERSION_ORDER[score.version] * 2 + (score.type === 'Secondary' ? 1 : 0);
}
