/** @module versions/index — the version schemes by name, and OSV range evaluation (`rangeAffects`) with an explained rule. */
import type { AffectedRange, RangeEvent } from '../vuln/vulnerability.js';
import { apkScheme } from './apk.js';
import { debScheme } from './deb.js';
import { goScheme } from './go.js';
import { mavenScheme } from './maven.js';
import { pep440Scheme } from './pep440.js';
import { rpmScheme } from './rpm.js';
import { semverScheme } from './semver.js';
import { versionInvalid } from './version-cache.js';
import type { SchemeName, VersionScheme } from './version-scheme.js';

export type { SchemeName, VersionScheme } from './version-scheme.js';
export { apkScheme } from './apk.js';
export { debScheme } from './deb.js';
export { goScheme, isGoPseudoVersion, canonicalGoVersion } from './go.js';
export { mavenScheme, canonicalMavenVersion } from './maven.js';
export { pep440Scheme, normalizePep440 } from './pep440.js';
export { rpmScheme } from './rpm.js';
export { semverScheme, satisfiesNpmRange, isValidNpmRange, normalizeNpmRange } from './semver.js';

const SCHEMES: Record<SchemeName, VersionScheme> = {
  deb: debScheme,
  apk: apkScheme,
  rpm: rpmScheme,
  semver: semverScheme,
  pep440: pep440Scheme,
  go: goScheme,
  maven: mavenScheme,
};

export function schemeFor(name: SchemeName): VersionScheme {
  return SCHEMES[name];
}

const ECOSYSTEMS: ReadonlyMap<string, SchemeName> = new Map([
  ['debian', 'deb'],
  ['ubuntu', 'deb'],
  ['alpine', 'apk'],
  ['npm', 'semver'],
  ['crates.io', 'semver'],
  ['pypi', 'pep440'],
  ['go', 'go'],
  ['maven', 'maven'],
  ['red hat', 'rpm'],
  ['almalinux', 'rpm'],
  ['rocky linux', 'rpm'],
  ['opensuse', 'rpm'],
  ['suse', 'rpm'],
]);

/** The scheme for an OSV ecosystem name (`Debian:12` → deb, `PyPI` → pep440); undefined when distill has none. */
export function schemeForEcosystem(ecosystem: string): SchemeName | undefined {
  const base = ecosystem.split(':')[0]!.trim().toLowerCase();
  return ECOSYSTEMS.get(base);
}

export interface RangeVerdict {
  affected: boolean;
  /** Why, in one line: `1.2.3 in [0, fixed 1.2.4)`, `listed in versions`, `1.2.4 >= fixed 1.2.4`. */
  rule: string;
}

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';
interface Event {
  kind: Kind;
  version: string;
}

/** At equal versions `introduced` goes first, so `introduced X, last_affected X` affects exactly X. */
const KIND_ORDER: Record<Kind, number> = { introduced: 0, last_affected: 1, fixed: 2, limit: 3 };

function eventOf(e: RangeEvent): Event {
  if ('introduced' in e) return { kind: 'introduced', version: e.introduced };
  if ('fixed' in e) return { kind: 'fixed', version: e.fixed };
  if ('last_affected' in e) return { kind: 'last_affected', version: e.last_affected };
  return { kind: 'limit', version: e.limit };
}

/** `introduced: "0"` means "from the beginning": below every version, never compared. */
function isZero(e: Event): boolean {
  return e.kind === 'introduced' && e.version === '0';
}

function label(e: Event): string {
  return isZero(e) ? '0' : e.kind === 'introduced' ? e.version : `${e.kind} ${e.version}`;
}

function evaluateRange(scheme: VersionScheme, version: string, range: AffectedRange): RangeVerdict {
  // Unlimited `limit: "*"` adds nothing.
  const events = range.events.map(eventOf).filter((e) => !(e.kind === 'limit' && e.version === '*'));
  for (const e of events) if (!isZero(e) && !scheme.isValid(e.version)) throw versionInvalid(scheme.name, e.version, `in a ${e.kind} event`);
  events.sort((a, b) => {
    const za = isZero(a);
    const zb = isZero(b);
    if (za || zb) return za && zb ? 0 : za ? -1 : 1;
    return scheme.compare(a.version, b.version) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  });
  const described = `(events: ${describe(events)})`;
  for (const e of events) {
    if (e.kind === 'limit' && scheme.compare(version, e.version) >= 0) return { affected: false, rule: `${version} >= limit ${e.version} ${described}` };
  }
  let affected = false;
  let opened: number | undefined;
  let closedBy: Event | undefined;
  events.forEach((e, i) => {
    if (e.kind === 'introduced') {
      if (isZero(e) || scheme.compare(version, e.version) >= 0) {
        affected = true;
        opened = i;
        closedBy = undefined;
      }
    } else if (e.kind === 'fixed') {
      if (scheme.compare(version, e.version) >= 0) {
        affected = false;
        closedBy = e;
      }
    } else if (e.kind === 'last_affected') {
      if (scheme.compare(version, e.version) > 0) {
        affected = false;
        closedBy = e;
      }
    }
  });
  if (affected && opened !== undefined) {
    const open = events[opened]!;
    const close = events.slice(opened + 1).find((e) => e.kind !== 'introduced');
    const upper = close === undefined ? '∞)' : close.kind === 'last_affected' ? `last_affected ${close.version}]` : `${close.kind} ${close.version})`;
    return { affected: true, rule: `${version} in [${label(open)}, ${upper}` };
  }
  if (closedBy !== undefined) {
    const op = closedBy.kind === 'last_affected' ? '>' : '>=';
    return { affected: false, rule: `${version} ${op} ${closedBy.kind} ${closedBy.version} ${described}` };
  }
  const first = events.find((e) => e.kind === 'introduced');
  if (first === undefined) return { affected: false, rule: `range has no introduced event ${described}` };
  return { affected: false, rule: `${version} < introduced ${first.version} ${described}` };
}

function describe(events: Event[]): string {
  return events.map(label).join(', ');
}

/**
 * OSV evaluation: a version is affected when any range includes it (union) or it is in the explicit
 * `versions` list. Within a range, events are sorted by version; `introduced` opens (`"0"` = from the start),
 * `fixed` closes exclusively, `last_affected` inclusively, and nothing at or above a `limit` is affected.
 * `SEMVER` ranges are evaluated with semver (Go's own scheme for Go modules), `ECOSYSTEM` ranges with `scheme`.
 * Throws VERSION_INVALID when the version or an event's version is not valid in the scheme used.
 */
export function rangeAffects(scheme: VersionScheme, version: string, ranges: AffectedRange[], versions: string[]): RangeVerdict {
  const reasons: string[] = [];
  for (const range of ranges) {
    const s = range.type === 'SEMVER' && scheme.name !== 'go' ? semverScheme : scheme;
    if (!s.isValid(version)) throw versionInvalid(s.name, version);
    const verdict = evaluateRange(s, version, range);
    if (verdict.affected) return verdict;
    reasons.push(verdict.rule);
  }
  if (versions.length > 0) {
    if (!scheme.isValid(version)) throw versionInvalid(scheme.name, version);
    for (const listed of versions) {
      // Exact string first; then equality in the scheme (PEP 440's 1.0 == 1.0.0), skipping entries it cannot read.
      if (listed === version || (scheme.isValid(listed) && scheme.compare(listed, version) === 0)) {
        return { affected: true, rule: listed === version ? `${version} listed in versions` : `${version} listed in versions as ${listed}` };
      }
    }
    reasons.push(`${version} not listed in versions (${versions.length})`);
  }
  if (reasons.length === 0) return { affected: false, rule: 'no ranges and no versions listed' };
  return { affected: false, rule: reasons.join('; ') };
}
