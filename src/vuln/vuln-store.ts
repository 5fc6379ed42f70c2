/** @module vuln/vuln-store — the read interface matchers use, and the write interface feed importers use. */
import type { AffectedRecord, EpssScore, FeedProvenance, KevEntry, Namespace, VulnerabilityRecord } from './vulnerability.js';

/** Read side. Synchronous: the SQLite implementation answers each call with one indexed query. */
export interface VulnStore {
  /** Every affected rule for one package in one namespace (Debian: by source package). */
  affected(namespace: Namespace, packageName: string): AffectedRecord[];
  /** Records for these ids (and ids they are aliases of), from every feed, keyed by the requested id. */
  vulnerabilities(ids: readonly string[]): Map<string, VulnerabilityRecord[]>;
  epss(cves: readonly string[]): Map<string, EpssScore>;
  kev(cves: readonly string[]): Map<string, KevEntry>;
  /** Provenance of every imported feed. */
  feeds(): FeedProvenance[];
  /** Namespaces that have at least one affected rule (to tell "no data for alpine:3.20" from "not affected"). */
  namespaces(): Namespace[];
  close(): void;
}

/** Write side, used inside one import transaction. A feed is replaced as a whole. */
export interface VulnStoreWriter {
  /** Removes everything a previous import of this feed wrote. */
  clearFeed(feed: FeedProvenance['feed']): void;
  putAffected(records: Iterable<AffectedRecord>): void;
  putVulnerabilities(records: Iterable<VulnerabilityRecord>): void;
  putEpss(scores: Iterable<EpssScore>): void;
  putKev(entries: Iterable<KevEntry>): void;
  setProvenance(provenance: FeedProvenance): void;
}
