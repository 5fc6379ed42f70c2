/** @module enrich/enrich-findings — CVSS (NVD via aliases), EPSS and KEV onto findings, and the severity rule; batched store lookups. */
import type { Finding } from '../match/finding.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import type { CvssScore, VulnerabilityRecord } from '../vuln/vulnerability.js';
import { rateSeverity } from './severity-rule.js';

function cvesOf(finding: Finding): string[] {
  const cves = [finding.vulnId, ...finding.aliases].filter((id) => id.startsWith('CVE-'));
  return [...new Set(cves)];
}

/**
 * Returns new findings with CVSS, EPSS, KEV and the rated severity. Three store calls in all (records,
 * EPSS, KEV), whatever the number of findings.
 */
export function enrichFindings(findings: readonly Finding[], store: VulnStore): Finding[] {
  const ids = new Set<string>();
  const cves = new Set<string>();
  for (const finding of findings) {
    for (const id of [finding.vulnId, ...finding.aliases]) ids.add(id);
    for (const cve of cvesOf(finding)) cves.add(cve);
  }
  const records = ids.size === 0 ? new Map<string, VulnerabilityRecord[]>() : store.vulnerabilities([...ids]);
  const epss = cves.size === 0 ? new Map() : store.epss([...cves]);
  const kev = cves.size === 0 ? new Map() : store.kev([...cves]);

  return findings.map((finding) => {
    const related = new Map<string, VulnerabilityRecord>();
    for (const id of [finding.vulnId, ...finding.aliases]) {
      for (const record of records.get(id) ?? []) related.set(`${record.feed}\u0000${record.id}`, record);
    }
    const nvd: CvssScore[] = [];
    const advisory: CvssScore[] = [];
    for (const record of related.values()) (record.feed === 'nvd' ? nvd : advisory).push(...record.cvss);
    const enriched: Finding = { ...finding, cvss: dedupeScores([...nvd, ...advisory]), severity: rateSeverity(finding.severity, nvd, advisory) };
    const cwes = new Set(finding.cwes ?? []);
    for (const record of related.values()) for (const cwe of record.cwes) cwes.add(cwe);
    if (cwes.size > 0) enriched.cwes = [...cwes].sort();
    if (enriched.summary === undefined) {
      const text = [...related.values()].map((r) => r.summary ?? r.description).find((s) => s !== undefined && s !== '');
      if (text !== undefined) enriched.summary = text;
    }
    // The finding's own CVE first, then its aliases: EPSS scores one CVE, and an alias list rarely holds two.
    for (const cve of cvesOf(finding)) {
      const score = epss.get(cve);
      if (score !== undefined && enriched.epss === undefined) enriched.epss = score;
      const entry = kev.get(cve);
      if (entry !== undefined && enriched.kev === undefined) enriched.kev = entry;
    }
    return enriched;
  });
}

function dedupeScores(scores: CvssScore[]): CvssScore[] {
  const seen = new Set<string>();
  return scores.filter((s) => {
    const key = `${s.version}\u0000${s.vector}\u0000${s.source}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
