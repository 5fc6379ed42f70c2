/** @module match — public surface: the engine, the matchers, VEX. */
export type { Finding, MatchEvidence, Suppression } from './finding.js';
export type { MatchContext, Matcher } from './matcher.js';
export { deduplicate, defaultMatchers, matchSbom, type MatchOptions, type MatchResult, type NamespaceCoverage } from './engine.js';
export { debianCodename, debianMatcher, isKernelHeaderPackage } from './matchers/debian.js';
export { alpineBranch, alpineMatcher } from './matchers/alpine.js';
export { osvLookup, osvMatcher, pep503 } from './matchers/osv.js';
export { applyVex, parseVex, parseVexValue, purlCovers, type ApplyVexOptions, type VexDocument, type VexProduct, type VexStatement, type VexStatus } from './vex.js';
