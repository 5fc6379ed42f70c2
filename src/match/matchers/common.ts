/** @module match/matchers/common — shared pieces of the matchers: finding construction, withdrawn filtering, the record's own rating. */
import type { Package } from '../../sbom/package.js';
import type { RatedSeverity, SeveritySource } from '../../vuln/severity.js';
import type { VulnStore } from '../../vuln/vuln-store.js';
import type { AffectedRecord, FeedName } from '../../vuln/vulnerability.js';
import type { Finding, MatchEvidence, Suppression } from '../finding.js';

const FEED_SEVERITY_SOURCE: Partial<Record<FeedName, SeveritySource>> = {
  'debian-tracker': 'debian-tracker',
  'alpine-secdb': 'alpine-secdb',
  osv: 'osv',
};

/** The rating the affected rule itself carries (tracker urgency, secdb, GHSA), or unknown/none. */
export function recordSeverity(record: AffectedRecord): RatedSeverity {
  const source = FEED_SEVERITY_SOURCE[record.feed];
  if (record.severity === undefined || record.severity === 'unknown' || source === undefined) return { value: 'unknown', source: 'none' };
  return { value: record.severity, source };
}

export function buildFinding(pkg: Package, record: AffectedRecord, evidence: MatchEvidence, suppressed?: Suppression): Finding {
  const finding: Finding = {
    vulnId: record.vulnId,
    aliases: [],
    packageId: pkg.id,
    packageName: pkg.name,
    packageType: pkg.type,
    installedVersion: pkg.version,
    purl: pkg.purl,
    fixState: record.fixState,
    fixedVersions: [...record.fixedVersions],
    severity: recordSeverity(record),
    cvss: [],
    evidence,
  };
  if (suppressed !== undefined) finding.suppressed = suppressed;
  return finding;
}

/**
 * Drops findings whose own record (same id, same feed) is withdrawn, and fills aliases and summary from
 * it. One store call for all of a package's candidates.
 */
export function withRecords(findings: Finding[], store: VulnStore): Finding[] {
  if (findings.length === 0) return findings;
  const records = store.vulnerabilities([...new Set(findings.map((f) => f.vulnId))]);
  const kept: Finding[] = [];
  for (const finding of findings) {
    const own = (records.get(finding.vulnId) ?? []).filter((r) => r.id === finding.vulnId);
    if (own.some((r) => r.withdrawn !== undefined && r.withdrawn !== '')) continue;
    const sameFeed = own.find((r) => r.feed === finding.evidence.feed) ?? own[0];
    if (sameFeed !== undefined) {
      const aliases = new Set(finding.aliases);
      for (const alias of sameFeed.aliases) if (alias !== finding.vulnId) aliases.add(alias);
      finding.aliases = [...aliases].sort();
      const summary = sameFeed.summary ?? sameFeed.description;
      if (summary !== undefined && finding.summary === undefined) finding.summary = summary;
    }
    kept.push(finding);
  }
  return kept;
}
