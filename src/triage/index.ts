/** @module triage — public surface: risk score, SSVC decision, file presence, the remediation plan and its formats. */
export { parseCvssVector, pickCvss, type CvssFacts } from './cvss-vector.js';
export { imageFilePresence, presenceFromLookup, UNKNOWN_PRESENCE, type PackagePresence } from './file-presence.js';
export { EPSS_PRIOR, KEV_FLOOR, riskScore, type PresenceState, type RiskScore } from './risk-score.js';
export {
  DEFAULT_MISSION_IMPACT,
  POC_EPSS_THRESHOLD,
  SSVC_DECISIONS,
  SSVC_MISSION_IMPACTS,
  ssvcDecision,
  ssvcLookup,
  type SsvcDecision,
  type SsvcDecisionValue,
  type SsvcMissionImpact,
  type SsvcPoints,
} from './ssvc.js';
export { encodeTriagePlan, TRIAGE_FORMATS, type TriageFormat } from './triage-formats.js';
export {
  buildTriagePlan,
  chooseTargetVersion,
  matchRecipe,
  TRIAGE_SCHEMA_VERSION,
  type RecipeCandidate,
  type TriageAction,
  type TriagedFinding,
  type TriageOptions,
  type TriagePlan,
} from './triage-plan.js';
