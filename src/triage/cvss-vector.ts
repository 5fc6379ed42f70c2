/** @module triage/cvss-vector — the exploitability and impact metrics of a CVSS v2, v3.x or v4.0 vector, normalised to one shape. */
import { bestScore } from '../enrich/severity-rule.js';
import type { CvssScore } from '../vuln/vulnerability.js';

/** Metric values in CVSS v3 letters (v2 and v4 are mapped onto them). */
export interface CvssFacts {
  /** N network, A adjacent, L local, P physical. */
  attackVector?: 'N' | 'A' | 'L' | 'P';
  /** N none, L low, H high. */
  privilegesRequired?: 'N' | 'L' | 'H';
  /** N none, R required (v4: P passive), A active (v4 only). */
  userInteraction?: 'N' | 'R' | 'A';
  /** N none, L low, H high (v2: P partial → L, C complete → H; v4: VC/VI/VA, the vulnerable system). */
  confidentiality?: 'N' | 'L' | 'H';
  integrity?: 'N' | 'L' | 'H';
  availability?: 'N' | 'L' | 'H';
}

/** The vector the triage uses: the same one the severity rule picks (v3.1, v3.0, v4.0, v2; Primary first). */
export function pickCvss(scores: readonly CvssScore[]): CvssScore | undefined {
  return bestScore(scores);
}

const MAX_VECTOR_LENGTH = 512;

/** Parses a vector's metrics; unknown or malformed metrics are left out (never thrown: vectors come from feeds). */
export function parseCvssVector(vector: string, version: CvssScore['version']): CvssFacts {
  const metrics = new Map<string, string>();
  if (vector.length > MAX_VECTOR_LENGTH) return {};
  for (const part of vector.split('/')) {
    const colon = part.indexOf(':');
    if (colon <= 0) continue;
    const key = part.slice(0, colon);
    if (key === 'CVSS') continue;
    if (!metrics.has(key)) metrics.set(key, part.slice(colon + 1));
  }
  const facts: CvssFacts = {};
  const av = metrics.get('AV');
  if (av === 'N' || av === 'A' || av === 'L' || av === 'P') facts.attackVector = av;
  if (version === '2.0') {
    // v2 has Au (authentication: N none, S single, M multiple) instead of PR, no UI, and C/I/A as N/P/C.
    const au = metrics.get('Au');
    if (au === 'N') facts.privilegesRequired = 'N';
    else if (au === 'S') facts.privilegesRequired = 'L';
    else if (au === 'M') facts.privilegesRequired = 'H';
    // v2 has no user-interaction metric (it is folded into access complexity): none.
    facts.userInteraction = 'N';
    const v2 = (v: string | undefined): 'N' | 'L' | 'H' | undefined => (v === 'N' ? 'N' : v === 'P' ? 'L' : v === 'C' ? 'H' : undefined);
    assign(facts, 'confidentiality', v2(metrics.get('C')));
    assign(facts, 'integrity', v2(metrics.get('I')));
    assign(facts, 'availability', v2(metrics.get('A')));
    return facts;
  }
  const pr = metrics.get('PR');
  if (pr === 'N' || pr === 'L' || pr === 'H') facts.privilegesRequired = pr;
  const ui = metrics.get('UI');
  if (ui === 'N' || ui === 'R' || ui === 'A') facts.userInteraction = ui;
  else if (ui === 'P') facts.userInteraction = 'R';
  const nlh = (v: string | undefined): 'N' | 'L' | 'H' | undefined => (v === 'N' || v === 'L' || v === 'H' ? v : undefined);
  const v4 = version === '4.0';
  assign(facts, 'confidentiality', nlh(metrics.get(v4 ? 'VC' : 'C')));
  assign(facts, 'integrity', nlh(metrics.get(v4 ? 'VI' : 'I')));
  assign(facts, 'availability', nlh(metrics.get(v4 ? 'VA' : 'A')));
  return facts;
}

function assign<K extends 'confidentiality' | 'integrity' | 'availability'>(facts: CvssFacts, key: K, value: CvssFacts[K]): void {
  if (value !== undefined) facts[key] = value;
}
