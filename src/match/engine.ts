/** @module match/engine — runs the matchers over an SBOM: per-package matching, deduplication across feeds, coverage of the store. */
import { describeError, type Issue } from '../errors.js';
import type { ProgressListener } from '../events.js';
import type { Package, Sbom } from '../sbom/package.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import type { AffectedRecord, FeedName, Namespace, VulnerabilityRecord } from '../vuln/vulnerability.js';
import type { Finding } from './finding.js';
import type { Matcher } from './matcher.js';
import { alpineMatcher } from './matchers/alpine.js';
import { debianMatcher } from './matchers/debian.js';
import { osvMatcher } from './matchers/osv.js';

/** Distribution matchers first: for an OS package the first matcher that handles it is the one used. */
export const defaultMatchers: readonly Matcher[] = [debianMatcher, alpineMatcher, osvMatcher];

export interface MatchOptions {
  matchers?: readonly Matcher[];
  onProgress?: ProgressListener;
}

export interface NamespaceCoverage {
  namespace: Namespace;
  /** Packages looked up in it. */
  packages: number;
  /** Whether the store holds any affected rule for it (false: "not affected" cannot be told from "no data"). */
  hasData: boolean;
}

export interface MatchResult {
  findings: Finding[];
  issues: Issue[];
  coverage: NamespaceCoverage[];
}

/** Distribution feeds know the packages they built (backports, patches); they win over generic feeds. */
const FEED_RANK: Record<FeedName, number> = { 'debian-tracker': 0, 'alpine-secdb': 0, osv: 1, nvd: 2, epss: 3, kev: 3 };

const PROGRESS_EVERY = 200;

export function matchSbom(sbom: Sbom, backing: VulnStore, options: MatchOptions = {}): MatchResult {
  const matchers = options.matchers ?? defaultMatchers;
  const store = memoized(backing);
  const issues: Issue[] = [];
  const withData = new Set(store.namespaces());
  const coverage = new Map<Namespace, NamespaceCoverage>();
  const unhandled = new Map<string, number>();
  const perPackage: Finding[][] = [];
  const total = sbom.packages.length;

  sbom.packages.forEach((pkg, index) => {
    if (index % PROGRESS_EVERY === 0) options.onProgress?.({ kind: 'match-progress', packages: index, total });
    const matcher = matchers.find((m) => m.handles(pkg, sbom.distro));
    if (matcher === undefined) {
      const key = unhandledKey(pkg, sbom);
      unhandled.set(key, (unhandled.get(key) ?? 0) + 1);
      return;
    }
    const namespace = matcher.namespaceOf(pkg, sbom.distro);
    if (namespace === undefined) {
      const key = unhandledKey(pkg, sbom);
      unhandled.set(key, (unhandled.get(key) ?? 0) + 1);
      return;
    }
    let entry = coverage.get(namespace);
    if (entry === undefined) coverage.set(namespace, (entry = { namespace, packages: 0, hasData: withData.has(namespace) }));
    entry.packages++;
    if (!entry.hasData) return;
    try {
      perPackage.push(deduplicate(matcher.match(pkg, { store, distro: sbom.distro })));
    } catch (error) {
      // One bad record or version (VERSION_INVALID) must not hide every other package's findings.
      issues.push({ code: 'PARSE_FAILED', message: `matching ${pkg.name} ${pkg.version} failed: ${describeError(error)}`, source: matcher.name });
    }
  });

  const covered = [...coverage.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  for (const entry of covered) {
    if (entry.hasData) continue;
    issues.push({
      code: 'NO_VULN_DATA',
      message: `no vulnerability data for ${entry.namespace} (${entry.packages} package${entry.packages === 1 ? '' : 's'} not checked): run distill db update`,
      source: 'match',
    });
  }
  for (const [key, count] of [...unhandled].sort()) {
    issues.push({ code: 'UNSUPPORTED', message: `no vulnerability matcher for ${key} (${count} package${count === 1 ? '' : 's'} not checked)`, source: 'match' });
  }

  const findings = perPackage.flat().sort(compareFindings);
  options.onProgress?.({ kind: 'match-done', packages: total, findings: findings.length });
  return { findings, issues, coverage: covered };
}

/**
 * A per-scan view of the store that answers repeated questions from memory: the binaries of one source
 * package (systemd, libsystemd0, libudev1, …) ask for the same rules and the same records.
 */
function memoized(store: VulnStore): VulnStore {
  const affected = new Map<string, AffectedRecord[]>();
  const records = new Map<string, VulnerabilityRecord[] | undefined>();
  return {
    affected(namespace, packageName) {
      const key = `${namespace}\u0000${packageName}`;
      let hit = affected.get(key);
      if (hit === undefined) affected.set(key, (hit = store.affected(namespace, packageName)));
      return hit;
    },
    vulnerabilities(ids) {
      const missing = ids.filter((id) => !records.has(id));
      if (missing.length > 0) {
        const fetched = store.vulnerabilities(missing);
        for (const id of missing) records.set(id, fetched.get(id));
      }
      const result = new Map<string, VulnerabilityRecord[]>();
      for (const id of ids) {
        const hit = records.get(id);
        if (hit !== undefined) result.set(id, hit);
      }
      return result;
    },
    epss: (cves) => store.epss(cves),
    kev: (cves) => store.kev(cves),
    feeds: () => store.feeds(),
    namespaces: () => store.namespaces(),
    close: () => store.close(),
  };
}

function unhandledKey(pkg: Package, sbom: Sbom): string {
  if (pkg.type !== 'deb' && pkg.type !== 'apk') return `${pkg.type} packages`;
  const distro = sbom.distro;
  if (distro === undefined) return `${pkg.type} packages (operating system unknown)`;
  return `${pkg.type} packages on ${distro.id} ${distro.versionId ?? distro.precise ?? distro.versionCodename ?? ''}`.trimEnd();
}

/**
 * One package's findings, one per vulnerability: two findings are the same vulnerability when their ids or
 * aliases meet (CVE-X from the tracker, DEBIAN-CVE-X or GHSA-… aliasing it from OSV). The one from the most
 * specific feed is kept, with every other id merged into its aliases.
 */
export function deduplicate(findings: Finding[]): Finding[] {
  if (findings.length < 2) return findings;
  const parent = findings.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const byId = new Map<string, number>();
  findings.forEach((finding, i) => {
    for (const id of [finding.vulnId, ...finding.aliases]) {
      const seen = byId.get(id);
      if (seen === undefined) byId.set(id, i);
      else parent[find(i)] = find(seen);
    }
  });
  const groups = new Map<number, Finding[]>();
  findings.forEach((finding, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group === undefined) groups.set(root, [finding]);
    else group.push(finding);
  });
  const kept: Finding[] = [];
  for (const group of groups.values()) {
    if (group.length === 1) {
      kept.push(group[0]!);
      continue;
    }
    const best = [...group].sort((a, b) => FEED_RANK[a.evidence.feed] - FEED_RANK[b.evidence.feed] || preferCve(a, b))[0]!;
    const aliases = new Set<string>();
    for (const f of group) for (const id of [f.vulnId, ...f.aliases]) if (id !== best.vulnId) aliases.add(id);
    kept.push({ ...best, aliases: [...aliases].sort() });
  }
  return kept;
}

/** Within one feed rank, a CVE id is the one users search for. */
function preferCve(a: Finding, b: Finding): number {
  const ac = a.vulnId.startsWith('CVE-') ? 0 : 1;
  const bc = b.vulnId.startsWith('CVE-') ? 0 : 1;
  return ac - bc || (a.vulnId < b.vulnId ? -1 : a.vulnId > b.vulnId ? 1 : 0);
}

function compareFindings(a: Finding, b: Finding): number {
  return cmp(a.packageName, b.packageName) || cmp(a.packageId, b.packageId) || cmp(a.vulnId, b.vulnId);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
