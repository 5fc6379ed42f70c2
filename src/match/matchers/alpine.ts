/** @module match/matchers/alpine — Alpine packages against secdb (and OSV Alpine records): by origin and release branch, apk versions. */
import type { LinuxRelease, Package } from '../../sbom/package.js';
import { rangeAffects, schemeFor } from '../../versions/index.js';
import type { Namespace } from '../../vuln/vulnerability.js';
import type { Finding } from '../finding.js';
import type { MatchContext, Matcher } from '../matcher.js';
import { buildFinding, withRecords } from './common.js';

/** `3.20` from /etc/alpine-release (`3.20.3`) or VERSION_ID; `edge` for development snapshots (`3.21_alpha…`). */
export function alpineBranch(distro: LinuxRelease | undefined): string | undefined {
  if (distro === undefined || distro.id !== 'alpine') return undefined;
  for (const version of [distro.precise, distro.versionId]) {
    if (version === undefined) continue;
    if (/_alpha|_beta|_rc/.test(version)) return 'edge';
    const match = /^(\d+)\.(\d+)/.exec(version);
    if (match !== null) return `${match[1]}.${match[2]}`;
  }
  return undefined;
}

export const alpineMatcher: Matcher = {
  name: 'alpine',

  handles(pkg: Package, distro?: LinuxRelease): boolean {
    return pkg.type === 'apk' && distro?.id === 'alpine';
  },

  namespaceOf(pkg: Package, distro?: LinuxRelease): Namespace | undefined {
    const branch = alpineBranch(distro);
    return pkg.type === 'apk' && branch !== undefined ? `alpine:${branch}` : undefined;
  },

  match(pkg: Package, context: MatchContext): Finding[] {
    if (pkg.type !== 'apk') return [];
    const namespace = this.namespaceOf(pkg, context.distro);
    if (namespace === undefined) return [];
    const scheme = schemeFor('apk');
    // secdb lists fixes per origin (source) package; subpackages carry the origin's version.
    const name = pkg.origin !== '' ? pkg.origin : pkg.name;
    const findings: Finding[] = [];
    for (const record of context.store.affected(namespace, name)) {
      let rule: string;
      if (record.ranges.length === 0 && record.versions.length === 0) {
        if (record.fixState === 'fixed') continue;
        rule = `${record.fixState} in ${namespace}`;
      } else {
        const verdict = rangeAffects(scheme, pkg.version, record.ranges, record.versions);
        if (!verdict.affected) continue;
        rule = `${verdict.rule} (apk)`;
      }
      findings.push(
        buildFinding(pkg, record, { matcher: 'alpine', feed: record.feed, namespace, searchedName: name, searchedVersion: pkg.version, rule, ranges: record.ranges }),
      );
    }
    return withRecords(findings, context.store);
  },
};
