/** @module enrich — public surface: enrichment of findings and the severity rule. */
export { enrichFindings } from './enrich-findings.js';
export { bestScore, rateSeverity } from './severity-rule.js';
