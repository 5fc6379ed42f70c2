/** @module triage/ssvc — CISA's SSVC decision (Track, Track*, Attend, Act) for a finding, with each decision point and how it was derived. */
import type { Finding } from '../match/finding.js';
import { parseCvssVector, pickCvss, type CvssFacts } from './cvss-vector.js';

export type SsvcExploitation = 'none' | 'poc' | 'active';
export type SsvcAutomatable = 'yes' | 'no';
export type SsvcTechnicalImpact = 'partial' | 'total';
export type SsvcMissionImpact = 'low' | 'medium' | 'high';
export type SsvcDecisionValue = 'Track' | 'Track*' | 'Attend' | 'Act';

export const SSVC_MISSION_IMPACTS: readonly SsvcMissionImpact[] = ['low', 'medium', 'high'];
/** Decisions from the least to the most urgent. */
export const SSVC_DECISIONS: readonly SsvcDecisionValue[] = ['Track', 'Track*', 'Attend', 'Act'];
/** Mission & well-being when the user does not say (`--mission-impact`). */
export const DEFAULT_MISSION_IMPACT: SsvcMissionImpact = 'medium';
/** EPSS probability at or above which exploitation counts as `poc` (about the top 5 % of scored CVEs). */
export const POC_EPSS_THRESHOLD = 0.1;

/**
 * CISA's SSVC decision tree (CISA Stakeholder-Specific Vulnerability Categorization Guide, November 2022;
 * the same 36 leaves as CERT/CC's published "CISA Coordinator" table). Indexed as
 * TABLE[exploitation][automatable][technical impact] → the decisions for mission impact low, medium, high.
 */
const TABLE: Readonly<Record<SsvcExploitation, Readonly<Record<SsvcAutomatable, Readonly<Record<SsvcTechnicalImpact, readonly [SsvcDecisionValue, SsvcDecisionValue, SsvcDecisionValue]>>>>>> = {
  none: {
    no: { partial: ['Track', 'Track', 'Track'], total: ['Track', 'Track', 'Track*'] },
    yes: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Track', 'Attend'] },
  },
  poc: {
    no: { partial: ['Track', 'Track', 'Track*'], total: ['Track', 'Track*', 'Attend'] },
    yes: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Track*', 'Attend'] },
  },
  active: {
    no: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Attend', 'Act'] },
    yes: { partial: ['Attend', 'Attend', 'Act'], total: ['Attend', 'Act', 'Act'] },
  },
};

export interface SsvcPoints {
  exploitation: SsvcExploitation;
  automatable: SsvcAutomatable;
  technicalImpact: SsvcTechnicalImpact;
  missionImpact: SsvcMissionImpact;
}

/** The table lookup itself: one of the 36 leaves. */
export function ssvcLookup(points: SsvcPoints): SsvcDecisionValue {
  const row = TABLE[points.exploitation][points.automatable][points.technicalImpact];
  return row[SSVC_MISSION_IMPACTS.indexOf(points.missionImpact)]!;
}

/** One decision point's value and the evidence it was taken from. */
export interface SsvcInput<T extends string> {
  value: T;
  /** How it was derived, in words: `in CISA KEV (added 2023-11-21)`, `CVSS:3.1 AV:L PR:L UI:N`, … */
  reason: string;
}

export interface SsvcDecision {
  decision: SsvcDecisionValue;
  exploitation: SsvcInput<SsvcExploitation>;
  automatable: SsvcInput<SsvcAutomatable>;
  technicalImpact: SsvcInput<SsvcTechnicalImpact>;
  missionImpact: SsvcInput<SsvcMissionImpact>;
}

export interface SsvcOptions {
  missionImpact?: SsvcMissionImpact;
  /** Where the mission impact came from (shown as its reason). */
  missionImpactSource?: string;
}

/**
 * Derives the four decision points from what a scan knows, then looks the decision up:
 * - exploitation: `active` when the CVE is in CISA KEV; `poc` when its EPSS probability is ≥ POC_EPSS_THRESHOLD;
 *   else `none` (no KEV entry and a lower or missing EPSS score: distill has no exploit-database feed);
 * - automatable: `yes` when the CVSS vector says network attack vector, no privileges and no user interaction
 *   (AV:N/PR:N/UI:N), `no` otherwise and when there is no vector;
 * - technical impact: `total` when both confidentiality and integrity impact are High (v2: Complete; v4: VC and
 *   VI), `partial` otherwise; without a vector, `total` only for a critical severity;
 * - mission & well-being: the caller's value (`--mission-impact`), default DEFAULT_MISSION_IMPACT.
 */
export function ssvcDecision(finding: Finding, options: SsvcOptions = {}): SsvcDecision {
  const cvss = pickCvss(finding.cvss);
  const facts = cvss === undefined ? undefined : parseCvssVector(cvss.vector, cvss.version);
  const exploitation = exploitationOf(finding);
  const automatable = automatableOf(facts, cvss?.vector);
  const technicalImpact = technicalImpactOf(facts, finding);
  const mission = options.missionImpact ?? DEFAULT_MISSION_IMPACT;
  const missionImpact: SsvcInput<SsvcMissionImpact> = {
    value: mission,
    reason: options.missionImpactSource ?? (options.missionImpact === undefined ? `default (${DEFAULT_MISSION_IMPACT})` : 'given'),
  };
  const decision = ssvcLookup({ exploitation: exploitation.value, automatable: automatable.value, technicalImpact: technicalImpact.value, missionImpact: mission });
  return { decision, exploitation, automatable, technicalImpact, missionImpact };
}

function exploitationOf(finding: Finding): SsvcInput<SsvcExploitation> {
  if (finding.kev !== undefined) return { value: 'active', reason: `in CISA KEV (added ${finding.kev.dateAdded})` };
  if (finding.epss !== undefined && finding.epss.score >= POC_EPSS_THRESHOLD) {
    return { value: 'poc', reason: `EPSS ${finding.epss.score} >= ${POC_EPSS_THRESHOLD}` };
  }
  if (finding.epss !== undefined) return { value: 'none', reason: `not in KEV; EPSS ${finding.epss.score} < ${POC_EPSS_THRESHOLD}` };
  return { value: 'none', reason: 'not in KEV; no EPSS score' };
}

function automatableOf(facts: CvssFacts | undefined, vector: string | undefined): SsvcInput<SsvcAutomatable> {
  if (facts === undefined) return { value: 'no', reason: 'no CVSS vector' };
  const shown = `AV:${facts.attackVector ?? '?'} PR:${facts.privilegesRequired ?? '?'} UI:${facts.userInteraction ?? '?'}`;
  const yes = facts.attackVector === 'N' && facts.privilegesRequired === 'N' && facts.userInteraction === 'N';
  return { value: yes ? 'yes' : 'no', reason: `${vector === undefined ? '' : `${vector.split('/')[0]} `}${shown}${yes ? '' : ' (not AV:N/PR:N/UI:N)'}`.trim() };
}

function technicalImpactOf(facts: CvssFacts | undefined, finding: Finding): SsvcInput<SsvcTechnicalImpact> {
  if (facts === undefined || facts.confidentiality === undefined || facts.integrity === undefined) {
    const total = finding.severity.value === 'critical';
    return { value: total ? 'total' : 'partial', reason: `no CVSS impact metrics; severity ${finding.severity.value}` };
  }
  const total = facts.confidentiality === 'H' && facts.integrity === 'H';
  return { value: total ? 'total' : 'partial', reason: `C:${facts.confidentiality} I:${facts.integrity}${total ? '' : ' (not both High)'}` };
}
