/** @module vuln/memory-store — an in-memory VulnStore + VulnStoreWriter for tests and small tools. */
import type { AffectedRecord, EpssScore, FeedName, FeedProvenance, KevEntry, Namespace, VulnerabilityRecord } from './vulnerability.js';
import type { VulnStore, VulnStoreWriter } from './vuln-store.js';

export type MemoryVulnStore = VulnStore & VulnStoreWriter;

/** Both stores hand out copies without `undefined` keys, so the SQLite and memory stores answer identically. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function packageKey(namespace: Namespace, packageName: string): string {
  return `${namespace}\u0000${packageName}`;
}

/** Both stores list a lookup's records by id, then feed. */
function byIdThenFeed(a: VulnerabilityRecord, b: VulnerabilityRecord): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.feed < b.feed ? -1 : a.feed > b.feed ? 1 : 0;
}

/**
 * Alias resolution is one hop each way: a requested id finds records with that id, records that list it
 * among their aliases, and records whose id is one of the aliases of the requested id's own records.
 */
export function createMemoryStore(): MemoryVulnStore {
  const affected = new Map<string, AffectedRecord[]>();
  /** id → feed → record (a feed holds one record per id). */
  const vulns = new Map<string, Map<FeedName, VulnerabilityRecord>>();
  /** alias → ids of the records that list it. */
  const aliasOf = new Map<string, Set<string>>();
  const epss = new Map<string, EpssScore>();
  const kev = new Map<string, KevEntry>();
  const provenance = new Map<FeedName, FeedProvenance>();
  let closed = false;

  const open = (): void => {
    if (closed) throw new Error('memory vulnerability store used after close()');
  };

  const unindexAliases = (record: VulnerabilityRecord): void => {
    for (const alias of record.aliases) {
      const ids = aliasOf.get(alias);
      if (ids === undefined) continue;
      // Another feed's record with the same id may still list this alias.
      const stillListed = [...(vulns.get(record.id)?.values() ?? [])].some((r) => r !== record && r.aliases.includes(alias));
      if (!stillListed) ids.delete(record.id);
      if (ids.size === 0) aliasOf.delete(alias);
    }
  };

  const recordsWithId = (id: string): VulnerabilityRecord[] => [...(vulns.get(id)?.values() ?? [])];

  return {
    affected(namespace, packageName) {
      open();
      return (affected.get(packageKey(namespace, packageName)) ?? []).map(copy);
    },

    vulnerabilities(ids) {
      open();
      const result = new Map<string, VulnerabilityRecord[]>();
      for (const requested of ids) {
        if (result.has(requested)) continue;
        const related = new Set<string>([requested]);
        for (const id of aliasOf.get(requested) ?? []) related.add(id);
        for (const record of recordsWithId(requested)) for (const alias of record.aliases) related.add(alias);
        const found: VulnerabilityRecord[] = [];
        for (const id of related) found.push(...recordsWithId(id));
        found.sort(byIdThenFeed);
        if (found.length > 0) result.set(requested, found.map(copy));
      }
      return result;
    },

    epss(cves) {
      open();
      const result = new Map<string, EpssScore>();
      for (const cve of cves) {
        const score = epss.get(cve);
        if (score !== undefined) result.set(cve, copy(score));
      }
      return result;
    },

    kev(cves) {
      open();
      const result = new Map<string, KevEntry>();
      for (const cve of cves) {
        const entry = kev.get(cve);
        if (entry !== undefined) result.set(cve, copy(entry));
      }
      return result;
    },

    feeds() {
      open();
      return [...provenance.values()].sort((a, b) => (a.feed < b.feed ? -1 : a.feed > b.feed ? 1 : 0)).map(copy);
    },

    namespaces() {
      open();
      const names = new Set<Namespace>();
      for (const records of affected.values()) if (records[0] !== undefined) names.add(records[0].namespace);
      return [...names].sort();
    },

    close() {
      closed = true;
    },

    clearFeed(feed) {
      open();
      for (const [key, records] of affected) {
        const kept = records.filter((r) => r.feed !== feed);
        if (kept.length === 0) affected.delete(key);
        else if (kept.length !== records.length) affected.set(key, kept);
      }
      for (const [id, byFeed] of vulns) {
        const record = byFeed.get(feed);
        if (record === undefined) continue;
        byFeed.delete(feed);
        unindexAliases(record);
        if (byFeed.size === 0) vulns.delete(id);
      }
      if (feed === 'epss') epss.clear();
      if (feed === 'kev') kev.clear();
      provenance.delete(feed);
    },

    putAffected(records) {
      open();
      for (const record of records) {
        const key = packageKey(record.namespace, record.packageName);
        const list = affected.get(key);
        if (list === undefined) affected.set(key, [copy(record)]);
        else list.push(copy(record));
      }
    },

    putVulnerabilities(records) {
      open();
      for (const input of records) {
        const record = copy(input);
        let byFeed = vulns.get(record.id);
        if (byFeed === undefined) vulns.set(record.id, (byFeed = new Map()));
        const previous = byFeed.get(record.feed);
        byFeed.set(record.feed, record);
        if (previous !== undefined) unindexAliases(previous);
        for (const alias of record.aliases) {
          let set = aliasOf.get(alias);
          if (set === undefined) aliasOf.set(alias, (set = new Set()));
          set.add(record.id);
        }
      }
    },

    putEpss(scores) {
      open();
      for (const score of scores) epss.set(score.cve, copy(score));
    },

    putKev(entries) {
      open();
      for (const entry of entries) kev.set(entry.cve, copy(entry));
    },

    setProvenance(p) {
      open();
      provenance.set(p.feed, copy(p));
    },
  };
}
