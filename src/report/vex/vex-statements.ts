/** @module report/vex/vex-statements — what distill can state about an image's vulnerabilities (optionally against the image it replaces), format-neutral. */
import { DistillError } from '../../errors.js';
import type { Finding } from '../../match/finding.js';
import type { VexStatus } from '../../match/vex.js';
import type { Package, PackageType } from '../../sbom/package.js';
import { schemeFor, type SchemeName } from '../../versions/index.js';
import type { ScanOutcome } from '../scan-source.js';
import { imagePurl } from './image-purl.js';

/** The OpenVEX 0.2.0 justifications distill writes. */
export type GeneratedJustification = 'component_not_present' | 'vulnerable_code_not_present';

/** One statement: a vulnerability, a status, and the image's packages (purls exactly as `scan` reports them) it is about. */
export interface GeneratedStatement {
  vulnerability: string;
  /** Other ids of the vulnerability seen on its findings, sorted. */
  aliases: string[];
  status: VexStatus;
  justification?: GeneratedJustification;
  impactStatement?: string;
  /** Required by OpenVEX for `affected`: what to do. */
  actionStatement?: string;
  /** How distill decided (versions compared, package absent). */
  statusNotes?: string;
  /** Package purls, sorted and unique. */
  subcomponents: string[];
}

export interface GeneratedVex {
  /** The image as a purl (pkg:oci/NAME@DIGEST?…): every statement's product. */
  product: string;
  /** Name and version for each subcomponent purl (CycloneDX lists them as components). */
  components: Array<{ purl: string; name: string; version: string; type: PackageType }>;
  statements: GeneratedStatement[];
}

export interface BuildVexOptions {
  /** The image IMAGE replaces (`--against`): its CVEs that IMAGE does not have become `fixed` / `not_affected`. */
  against?: ScanOutcome;
  /** Product identifier to use instead of the image's purl (e.g. the purl of the image as pushed). */
  product?: string;
}

const SCHEMES: Partial<Record<PackageType, SchemeName>> = { deb: 'deb', apk: 'apk', npm: 'semver', python: 'pep440', 'go-module': 'go', 'java-archive': 'maven' };

/** Status order inside one vulnerability: what still needs action first. */
const STATUS_ORDER: Record<VexStatus, number> = { affected: 0, under_investigation: 1, fixed: 2, not_affected: 3 };

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** >0 when a is newer than b in the package type's scheme; undefined when they cannot be compared. */
function newer(type: PackageType, a: string, b: string): number | undefined {
  const name = SCHEMES[type];
  if (name === undefined) return undefined;
  const scheme = schemeFor(name);
  if (!scheme.isValid(a) || !scheme.isValid(b)) return undefined;
  return scheme.compare(a, b);
}

/** Every finding of a scan that is a real match: shown, negligible-hidden and not-applicable; VEX-suppressed ones are someone's statement already. */
function matchesOf(outcome: ScanOutcome): Finding[] {
  return [...outcome.report.findings, ...outcome.report.suppressed.filter((f) => f.suppressed?.kind !== 'vex')];
}

interface Draft {
  statement: GeneratedStatement;
  subcomponents: Set<string>;
  /** `name version` of the affected packages in OTHER, and of the newer ones in IMAGE (`fixed`). */
  theirs: Set<string>;
  ours: Set<string>;
  actions: Set<string>;
}

function actionFor(f: Finding): string {
  if (f.fixState === 'fixed' && f.fixedVersions.length > 0) return `upgrade ${f.packageName} to ${[...f.fixedVersions].sort(cmp).join(' or ')}`;
  const words: Record<string, string> = { 'not-fixed': 'not fixed yet', 'wont-fix': "the distribution won't fix it", deferred: 'the fix is deferred', 'end-of-life': 'the release is end of life', unknown: 'fix state unknown' };
  return `no fix available for ${f.packageName} ${f.installedVersion} (${words[f.fixState] ?? f.fixState}): remove the package if it is not needed, or mitigate and accept the risk`;
}

/**
 * Builds the statements for IMAGE:
 * - `affected` + action (upgrade to V / no fix available) for each finding IMAGE shows or hides as negligible;
 * - `not_affected` + `vulnerable_code_not_present` for findings the matchers marked not applicable (kernel
 *   header packages: a container runs the host's kernel);
 * and with `against` (OTHER), for each CVE of OTHER on a package P that IMAGE does not report it on:
 * - `not_affected` + `component_not_present` when IMAGE has no package of P's type and name (subcomponent:
 *   OTHER's purl of P, the package a scanner would have to find);
 * - `fixed` when IMAGE has P at a newer version (subcomponent: IMAGE's purl of P).
 * Statements are grouped by (vulnerability, status, justification) and sorted by vulnerability, then status.
 * Throws USAGE when the image has no identity (no digest, no tag, no `product`) or nothing can be stated.
 */
export function buildVexStatements(image: ScanOutcome, options: BuildVexOptions = {}): GeneratedVex {
  const product = options.product ?? imagePurl(image.sbom.subject);
  if (product === undefined) {
    throw new DistillError('USAGE', `${image.sbom.subject.reference} has no manifest digest or tag to name it as a VEX product`, { hint: 'pass --product PURL (e.g. pkg:oci/NAME@sha256:…)', subject: image.sbom.subject.reference });
  }
  const drafts = new Map<string, Draft>();
  const components = new Map<string, { purl: string; name: string; version: string; type: PackageType }>();
  const aliases = new Map<string, Set<string>>();
  const add = (vulnerability: string, status: VexStatus, justification: GeneratedJustification | undefined, purl: string, pkg: { name: string; version: string; type: PackageType }, extra: { theirs?: string; ours?: string; action?: string; impact?: string }): void => {
    const key = `${vulnerability}\0${status}\0${justification ?? ''}`;
    let draft = drafts.get(key);
    if (draft === undefined) {
      const statement: GeneratedStatement = { vulnerability, aliases: [], status, subcomponents: [] };
      if (justification !== undefined) statement.justification = justification;
      if (extra.impact !== undefined) statement.impactStatement = extra.impact;
      draft = { statement, subcomponents: new Set(), theirs: new Set(), ours: new Set(), actions: new Set() };
      drafts.set(key, draft);
    }
    draft.subcomponents.add(purl);
    if (extra.theirs !== undefined) draft.theirs.add(extra.theirs);
    if (extra.ours !== undefined) draft.ours.add(extra.ours);
    if (extra.action !== undefined) draft.actions.add(extra.action);
    if (!components.has(purl)) components.set(purl, { purl, name: pkg.name, version: pkg.version, type: pkg.type });
  };
  const noteAliases = (f: Finding): void => {
    let set = aliases.get(f.vulnId);
    if (set === undefined) aliases.set(f.vulnId, (set = new Set()));
    for (const a of f.aliases) if (a !== f.vulnId) set.add(a);
  };

  const own = matchesOf(image);
  // Ids (and aliases) IMAGE reports per package name: OTHER's CVE on such a package is IMAGE's own statement.
  const ownIds = new Map<string, Set<string>>();
  for (const f of own) {
    noteAliases(f);
    const pkg = { name: f.packageName, version: f.installedVersion, type: f.packageType };
    const key = `${f.packageType}\0${f.packageName}`;
    let ids = ownIds.get(key);
    if (ids === undefined) ownIds.set(key, (ids = new Set()));
    for (const id of [f.vulnId, ...f.aliases]) ids.add(id);
    if (f.suppressed?.kind === 'not-applicable') {
      add(f.vulnId, 'not_affected', 'vulnerable_code_not_present', f.purl, pkg, { impact: f.suppressed.reason });
    } else {
      add(f.vulnId, 'affected', undefined, f.purl, pkg, { action: actionFor(f) });
    }
  }

  if (options.against !== undefined) {
    const packagesByName = new Map<string, Package[]>();
    for (const p of image.sbom.packages) {
      const key = `${p.type}\0${p.name}`;
      const list = packagesByName.get(key);
      if (list === undefined) packagesByName.set(key, [p]);
      else list.push(p);
    }
    for (const f of matchesOf(options.against)) {
      const key = `${f.packageType}\0${f.packageName}`;
      const ids = ownIds.get(key);
      if (ids !== undefined && [f.vulnId, ...f.aliases].some((id) => ids.has(id))) continue;
      const present = packagesByName.get(key);
      if (present === undefined) {
        noteAliases(f);
        add(f.vulnId, 'not_affected', 'component_not_present', f.purl, { name: f.packageName, version: f.installedVersion, type: f.packageType }, { theirs: `${f.packageName} ${f.installedVersion}` });
        continue;
      }
      for (const p of present) {
        if ((newer(p.type, p.version, f.installedVersion) ?? 0) <= 0) continue;
        noteAliases(f);
        add(f.vulnId, 'fixed', undefined, p.purl, { name: p.name, version: p.version, type: p.type }, { theirs: `${f.packageName} ${f.installedVersion}`, ours: `${p.name} ${p.version}` });
      }
    }
  }

  const otherRef = options.against?.sbom.subject.reference;
  const list = (set: Set<string>): string => [...set].sort(cmp).join(', ');
  const statements = [...drafts.values()].map(({ statement, subcomponents, theirs, ours, actions }): GeneratedStatement => {
    const out: GeneratedStatement = { ...statement, aliases: [...(aliases.get(statement.vulnerability) ?? [])].sort(cmp), subcomponents: [...subcomponents].sort(cmp) };
    if (theirs.size > 0) out.statusNotes = `affected in ${otherRef ?? 'the other image'}: ${list(theirs)}; ${ours.size > 0 ? `this image has ${list(ours)}` : 'not in this image'}`;
    if (actions.size > 0) out.actionStatement = [...actions].sort(cmp).join('; ');
    return out;
  });
  statements.sort((a, b) => cmp(a.vulnerability, b.vulnerability) || STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || cmp(a.justification ?? '', b.justification ?? ''));
  if (statements.length === 0) {
    const what = options.against === undefined ? 'it has no findings (give --against OTHER to state what it no longer has)' : `neither it nor ${options.against.sbom.subject.reference} has findings it could state`;
    throw new DistillError('USAGE', `nothing to state about ${image.sbom.subject.reference}: ${what}`, { hint: 'an OpenVEX document needs at least one statement', subject: image.sbom.subject.reference });
  }
  return { product, components: [...components.values()].sort((a, b) => cmp(a.purl, b.purl)), statements };
}
