/** @module test/helpers/kev-json — CISA KEV JSON entries mapped field by field (a test-side mapping, not the feed parser). */
import type { KevEntry } from '../../src/vuln/vulnerability.js';

/** One entry of `vulnerabilities` in CISA's known_exploited_vulnerabilities.json. */
export interface KevJsonEntry {
  cveID: string;
  vendorProject: string;
  product: string;
  vulnerabilityName: string;
  dateAdded: string;
  dueDate: string;
  requiredAction: string;
  knownRansomwareCampaignUse: string;
  cwes?: string[];
}

/** The KevEntry a store should hold for `v`. */
export function kevEntryOf(v: KevJsonEntry): KevEntry {
  return {
    cve: v.cveID,
    vendor: v.vendorProject,
    product: v.product,
    name: v.vulnerabilityName,
    dateAdded: v.dateAdded,
    dueDate: v.dueDate,
    requiredAction: v.requiredAction,
    knownRansomwareCampaignUse: v.knownRansomwareCampaignUse === 'Known' ? 'Known' : 'Unknown',
  };
}
