/** @module match/matchers/osv — language packages (npm, PyPI, Go, Maven, crates.io) against OSV records, with OSV range semantics. */
import type { LinuxRelease, Package } from '../../sbom/package.js';
import { rangeAffects, schemeFor } from '../../versions/index.js';
import type { SchemeName } from '../../versions/version-scheme.js';
import type { Namespace } from '../../vuln/vulnerability.js';
import type { Finding } from '../finding.js';
import type { MatchContext, Matcher } from '../matcher.js';
import { buildFinding, withRecords } from './common.js';

/** PEP 503: runs of `-`, `_`, `.` become one `-`, lower case: the form OSV PyPI records are keyed by. */
export function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

interface Lookup {
  namespace: Namespace;
  name: string;
  version: string;
  scheme: SchemeName;
}

/** The OSV ecosystem, the package name as OSV writes it, and the version to compare; undefined for other packages. */
export function osvLookup(pkg: Package): Lookup | undefined {
  if (pkg.version === '') return undefined;
  // Rust crates have no package type of their own (no cataloger yet; they come from SBOM inputs): the purl says it.
  const cargo = /^pkg:cargo\/([^@?#]+)/.exec(pkg.purl);
  if (cargo?.[1] !== undefined) return { namespace: 'crates.io', name: decodeURIComponent(cargo[1]), version: pkg.version, scheme: 'semver' };
  switch (pkg.type) {
    case 'npm':
      return { namespace: 'npm', name: pkg.name, version: pkg.version, scheme: 'semver' };
    case 'python':
      return { namespace: 'pypi', name: pep503(pkg.name), version: pkg.version, scheme: 'pep440' };
    case 'go-module':
      // Go vulnerability data writes versions without the `v` (`1.22.3`), also for the standard library (`stdlib`).
      return { namespace: 'go', name: pkg.name, version: pkg.version.replace(/^v/, ''), scheme: 'go' };
    case 'java-archive': {
      const group = pkg.groupId ?? /^pkg:maven\/([^/]+)\//.exec(pkg.purl)?.[1];
      const artifact = pkg.artifactId ?? pkg.name;
      if (group === undefined || group === '') return undefined;
      return { namespace: 'maven', name: `${decodeURIComponent(group)}:${artifact}`, version: pkg.version, scheme: 'maven' };
    }
    default:
      break;
  }
  return undefined;
}

export const osvMatcher: Matcher = {
  name: 'osv',

  handles(pkg: Package): boolean {
    return osvLookup(pkg) !== undefined;
  },

  namespaceOf(pkg: Package, _distro?: LinuxRelease): Namespace | undefined {
    return osvLookup(pkg)?.namespace;
  },

  match(pkg: Package, context: MatchContext): Finding[] {
    const lookup = osvLookup(pkg);
    if (lookup === undefined) return [];
    const scheme = schemeFor(lookup.scheme);
    const findings: Finding[] = [];
    for (const record of context.store.affected(lookup.namespace, lookup.name)) {
      if (record.ranges.length === 0 && record.versions.length === 0) continue;
      const verdict = rangeAffects(scheme, lookup.version, record.ranges, record.versions);
      if (!verdict.affected) continue;
      findings.push(
        buildFinding(pkg, record, {
          matcher: `osv-${lookup.namespace}`,
          feed: record.feed,
          namespace: lookup.namespace,
          searchedName: lookup.name,
          searchedVersion: lookup.version,
          rule: verdict.rule,
          ranges: record.ranges,
        }),
      );
    }
    return withRecords(findings, context.store);
  },
};
