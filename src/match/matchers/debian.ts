/** @module match/matchers/debian — Debian packages against the security tracker: by source package and release, comparing the source version. */
import type { DebPackage, LinuxRelease, Package } from '../../sbom/package.js';
import { DEBIAN_RELEASE_CODENAMES } from '../../debian/releases.js';
import { rangeAffects, schemeFor } from '../../versions/index.js';
import type { AffectedRecord, FixState, Namespace } from '../../vuln/vulnerability.js';
import type { Finding, Suppression } from '../finding.js';
import type { MatchContext, Matcher } from '../matcher.js';
import { buildFinding, withRecords } from './common.js';


/** `bookworm` from os-release; else from VERSION_ID (`12`) or /etc/debian_version (`12.8`, `trixie/sid`). */
export function debianCodename(distro: LinuxRelease | undefined): string | undefined {
  if (distro === undefined || distro.id !== 'debian') return undefined;
  if (distro.versionCodename !== undefined && distro.versionCodename !== '') return distro.versionCodename.toLowerCase();
  for (const version of [distro.versionId, distro.precise]) {
    if (version === undefined) continue;
    const major = /^(\d+)(?:\.|$)/.exec(version)?.[1];
    if (major !== undefined && DEBIAN_RELEASE_CODENAMES[major] !== undefined) return DEBIAN_RELEASE_CODENAMES[major];
    // Testing and unstable images carry `trixie/sid` in debian_version and no VERSION_ID.
    const named = /^([a-z]+)\/sid$/.exec(version)?.[1];
    if (named !== undefined) return named;
  }
  return undefined;
}

/** Header packages built from the kernel: a container never runs its own kernel. */
export function isKernelHeaderPackage(name: string): boolean {
  return name === 'linux-libc-dev' || name.startsWith('linux-headers-') || name.startsWith('linux-kbuild-');
}

const KERNEL_HEADERS: Suppression = { kind: 'not-applicable', reason: 'kernel headers: a container runs the host kernel, not this package' };

const STATE_WORDS: Partial<Record<FixState, string>> = {
  'not-fixed': 'not fixed',
  'wont-fix': "won't fix (ignored / no DSA)",
  deferred: 'deferred (postponed)',
  'end-of-life': 'end of life',
};

function describeState(record: AffectedRecord, codename: string): string {
  const words = STATE_WORDS[record.fixState] ?? record.fixState;
  return `${words} in ${codename}${record.note !== undefined && record.note !== '' ? `: ${record.note}` : ''}`;
}

export const debianMatcher: Matcher = {
  name: 'debian',

  handles(pkg: Package, distro?: LinuxRelease): boolean {
    return pkg.type === 'deb' && distro?.id === 'debian';
  },

  namespaceOf(pkg: Package, distro?: LinuxRelease): Namespace | undefined {
    const codename = debianCodename(distro);
    return pkg.type === 'deb' && codename !== undefined ? `debian:${codename}` : undefined;
  },

  match(pkg: Package, context: MatchContext): Finding[] {
    if (pkg.type !== 'deb') return [];
    const deb: DebPackage = pkg;
    const namespace = this.namespaceOf(pkg, context.distro);
    if (namespace === undefined) return [];
    const codename = namespace.slice('debian:'.length);
    const scheme = schemeFor('deb');
    // The tracker speaks of source packages; a binary built from it carries the source version in its
    // `Source: name (version)` field, and the cataloger falls back to the binary version when there is none.
    const version = deb.sourceVersion !== '' ? deb.sourceVersion : deb.version;
    const findings: Finding[] = [];
    for (const record of context.store.affected(namespace, deb.sourceName)) {
      if (record.feed !== 'debian-tracker' && record.feed !== 'osv') continue;
      let rule: string;
      if (record.ranges.length === 0 && record.versions.length === 0) {
        // An open tracker entry without version bounds: every version in the release is affected.
        if (record.fixState === 'fixed') continue;
        rule = describeState(record, codename);
      } else {
        const verdict = rangeAffects(scheme, version, record.ranges, record.versions);
        if (!verdict.affected) continue;
        rule = record.fixState === 'fixed' ? `${verdict.rule} (deb)` : `${verdict.rule} (deb); ${describeState(record, codename)}`;
      }
      const suppressed: Suppression | undefined = isKernelHeaderPackage(deb.name)
        ? KERNEL_HEADERS
        : record.severity === 'negligible'
          ? { kind: 'negligible', reason: `the Debian security tracker rates it unimportant for ${codename}` }
          : undefined;
      findings.push(
        buildFinding(
          deb,
          record,
          { matcher: 'debian', feed: record.feed, namespace, searchedName: deb.sourceName, searchedVersion: version, rule, ranges: record.ranges },
          suppressed,
        ),
      );
    }
    return withRecords(findings, context.store);
  },
};
