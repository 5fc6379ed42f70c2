/** @module triage/triage-plan — a scan turned into an ordered plan: upgrades per package, a base-image swap, and what has no fix. */
import type { Comparison } from '../compare/compare-images.js';
import type { Finding } from '../match/finding.js';
import type { ScanOutcome } from '../report/scan-source.js';
import type { Package, PackageType } from '../sbom/package.js';
import { schemeFor, type SchemeName } from '../versions/index.js';
import type { Severity } from '../vuln/severity.js';
import type { CvssScore } from '../vuln/vulnerability.js';
import { pickCvss } from './cvss-vector.js';
import { UNKNOWN_PRESENCE, type PackagePresence } from './file-presence.js';
import { riskScore, type RiskScore } from './risk-score.js';
import { DEFAULT_MISSION_IMPACT, SSVC_DECISIONS, ssvcDecision, type SsvcDecision, type SsvcDecisionValue, type SsvcMissionImpact } from './ssvc.js';

export const TRIAGE_SCHEMA_VERSION = '1';

/** A catalog recipe that replaces a public image (the CLI reads them from images/*.yaml). */
export interface RecipeCandidate {
  name: string;
  /** Recipe path as the user would pass it to `distill build`. */
  recipe: string;
  /** The public image it replaces (`nginx:bookworm`). */
  replaces: string;
  /** The stock preset name (`nginx`). */
  stock?: string;
  /** `dev` variants carry a shell: suggested only when no plain recipe matches. */
  variant?: string;
}

export interface TriageOptions {
  /** SSVC mission & well-being (`--mission-impact`); default medium. */
  missionImpact?: SsvcMissionImpact;
  /** Per SBOM package id, whether its files are in the image (imageFilePresence); missing entries are `unknown`. */
  presence?: ReadonlyMap<string, PackagePresence>;
  /** `--replacement REF`: the comparison of this image (A) with the replacement (B), from compareScans. */
  replacement?: { reference: string; comparison: Comparison };
  /** Catalog recipes; one that replaces this image is suggested when no replacement was scanned. */
  recipes?: readonly RecipeCandidate[];
  /** Keep only the first N actions (the findings list stays complete). */
  top?: number;
}

export interface TriagedFinding {
  vulnId: string;
  aliases: string[];
  packageId: string;
  packageName: string;
  /** Debian source / Alpine origin when it differs from the package name. */
  sourceName?: string;
  packageType: PackageType;
  installedVersion: string;
  purl: string;
  severity: Severity;
  fixState: Finding['fixState'];
  fixedVersions: string[];
  cvss?: Pick<CvssScore, 'version' | 'vector' | 'baseScore' | 'source'>;
  epss?: { score: number; percentile: number; date: string };
  kev?: { dateAdded: string; dueDate: string; knownRansomwareCampaignUse: 'Known' | 'Unknown'; requiredAction: string };
  presence: PackagePresence;
  risk: RiskScore;
  ssvc: SsvcDecision;
  /** Rank (1-based) of the action that handles it, before --top. */
  action: number;
}

interface ActionBase {
  /** 1-based position in the plan. */
  rank: number;
  /** One line: what to do and what it removes. */
  title: string;
  /** Highest risk score among the findings it removes (null: not measured, see replace-base-recipe). */
  maxScore: number | null;
  /** Most urgent SSVC decision among them. */
  decision: SsvcDecisionValue | null;
  /** Vulnerabilities (distinct ids) it removes, by descending risk. */
  vulnerabilities: string[];
  /** How many of them are in CISA KEV, the earliest KEV due date, and whether any has known ransomware use. */
  kev: number;
  kevDueDate?: string;
  ransomware: boolean;
}

export interface UpgradeAction extends ActionBase {
  kind: 'upgrade';
  /** The package to upgrade: the Debian source package (its binaries move together), else the package name. */
  package: string;
  packageType: PackageType;
  /** Installed packages built from it, sorted. */
  binaries: string[];
  installedVersions: string[];
  /** The fixed version that fixes the most of its findings (the lowest such version). */
  targetVersion: string;
  fixes: number;
  /** Fixable vulnerabilities of the package that the target version does not fix (their fixed versions cannot be ordered). */
  notFixedByTarget: string[];
}

export interface ReplaceBaseAction extends ActionBase {
  kind: 'replace-base';
  replacement: string;
  /** Vulnerabilities of this image the replacement does not show (compareScans' `disappeared`). */
  removes: number;
  highOrCritical: number;
  byReason: { 'package-removed': number; 'newer-version': number; suppressed: number };
  /** Vulnerabilities the replacement still has, and those it adds. */
  remaining: number;
  appeared: number;
}

export interface ReplaceBaseRecipeAction extends ActionBase {
  kind: 'replace-base-recipe';
  recipe: string;
  recipeName: string;
  replaces: string;
  /** Commands that build the replacement and measure it (no figures are claimed before that). */
  commands: string[];
}

export interface NoFixAction extends ActionBase {
  kind: 'no-fix';
  package: string;
  packageType: PackageType;
  binaries: string[];
  /** The distributor's state and notes per vulnerability, and KEV's required action. */
  advice: string[];
  /** How to record an accepted risk. */
  vex: string;
}

export type TriageAction = UpgradeAction | ReplaceBaseAction | ReplaceBaseRecipeAction | NoFixAction;

export interface TriagePlan {
  schemaVersion: typeof TRIAGE_SCHEMA_VERSION;
  createdAt: string;
  subject: { reference: string; digest?: string };
  missionImpact: SsvcMissionImpact;
  summary: {
    findings: number;
    vulnerabilities: number;
    kev: number;
    fixable: number;
    byDecision: Record<SsvcDecisionValue, number>;
    actions: number;
    /** Actions left out by --top. */
    omittedActions: number;
  };
  actions: TriageAction[];
  /** Every shown finding with its score and SSVC inputs, by descending risk. */
  findings: TriagedFinding[];
}

const SCHEME_OF: Partial<Record<PackageType, SchemeName>> = { deb: 'deb', apk: 'apk', npm: 'semver', python: 'pep440', 'go-module': 'go', 'java-archive': 'maven' };
const KIND_ORDER: Record<TriageAction['kind'], number> = { upgrade: 0, 'replace-base': 1, 'no-fix': 2, 'replace-base-recipe': 3 };

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function decisionRank(d: SsvcDecisionValue | null): number {
  return d === null ? -1 : SSVC_DECISIONS.indexOf(d);
}

/** Finding order: risk, then KEV, then id and package (stable output). */
function compareTriaged(a: TriagedFinding, b: TriagedFinding): number {
  return b.risk.score - a.risk.score || cmp(a.vulnId, b.vulnId) || cmp(a.packageName, b.packageName) || cmp(a.packageId, b.packageId);
}

/** Action order: KEV first, then the highest risk removed, then kind and title. */
function compareActions(a: TriageAction, b: TriageAction): number {
  return (
    Number(b.kev > 0) - Number(a.kev > 0) ||
    (b.maxScore ?? -1) - (a.maxScore ?? -1) ||
    decisionRank(b.decision) - decisionRank(a.decision) ||
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
    cmp(a.title, b.title)
  );
}

/** Debian findings are matched on the source package: its binaries upgrade together. */
function groupName(finding: Finding, pkg: Package | undefined): string {
  if (pkg?.type === 'deb') return pkg.sourceName;
  if (pkg?.type === 'apk') return pkg.origin;
  return finding.packageName;
}

function triaged(finding: Finding, pkg: Package | undefined, options: TriageOptions): TriagedFinding {
  const presence = options.presence?.get(finding.packageId) ?? UNKNOWN_PRESENCE;
  const cvss = pickCvss(finding.cvss);
  const source = groupName(finding, pkg);
  return {
    vulnId: finding.vulnId,
    aliases: [...finding.aliases].sort(cmp),
    packageId: finding.packageId,
    packageName: finding.packageName,
    ...(source !== finding.packageName ? { sourceName: source } : {}),
    packageType: finding.packageType,
    installedVersion: finding.installedVersion,
    purl: finding.purl,
    severity: finding.severity.value,
    fixState: finding.fixState,
    fixedVersions: [...finding.fixedVersions],
    ...(cvss !== undefined ? { cvss: { version: cvss.version, vector: cvss.vector, baseScore: cvss.baseScore, source: cvss.source } } : {}),
    ...(finding.epss !== undefined ? { epss: { score: finding.epss.score, percentile: finding.epss.percentile, date: finding.epss.date } } : {}),
    ...(finding.kev !== undefined
      ? { kev: { dateAdded: finding.kev.dateAdded, dueDate: finding.kev.dueDate, knownRansomwareCampaignUse: finding.kev.knownRansomwareCampaignUse, requiredAction: finding.kev.requiredAction } }
      : {}),
    presence,
    risk: riskScore(finding, presence.state),
    ssvc: ssvcDecision(finding, options.missionImpact === undefined ? {} : { missionImpact: options.missionImpact, missionImpactSource: '--mission-impact' }),
    action: 0,
  };
}

/** What an action removes, summarised from its findings (already in descending risk order). */
function removal(findings: readonly TriagedFinding[]): Omit<ActionBase, 'rank' | 'title'> {
  const ids: string[] = [];
  for (const f of findings) if (!ids.includes(f.vulnId)) ids.push(f.vulnId);
  const kevIds = new Set(findings.filter((f) => f.kev !== undefined).map((f) => f.vulnId));
  const due = findings.flatMap((f) => (f.kev !== undefined ? [f.kev.dueDate] : [])).sort(cmp)[0];
  let decision: SsvcDecisionValue | null = null;
  for (const f of findings) if (decisionRank(f.ssvc.decision) > decisionRank(decision)) decision = f.ssvc.decision;
  return {
    maxScore: findings.length === 0 ? null : Math.max(...findings.map((f) => f.risk.score)),
    decision,
    vulnerabilities: ids,
    kev: kevIds.size,
    ...(due !== undefined ? { kevDueDate: due } : {}),
    ransomware: findings.some((f) => f.kev?.knownRansomwareCampaignUse === 'Known'),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function kevWords(base: Omit<ActionBase, 'rank' | 'title'>): string {
  if (base.kev === 0) return '';
  return `, ${base.kev} in KEV${base.kevDueDate !== undefined ? ` (due ${base.kevDueDate})` : ''}${base.ransomware ? ', ransomware use known' : ''}`;
}

/** Orders versions with the package type's scheme; an unparsable version sorts by text so nothing is lost. */
function versionComparator(type: PackageType): (a: string, b: string) => number {
  const name = SCHEME_OF[type];
  if (name === undefined) return cmp;
  const scheme = schemeFor(name);
  return (a, b) => (scheme.isValid(a) && scheme.isValid(b) ? scheme.compare(a, b) : cmp(a, b));
}

/** The candidate fixed version that fixes the most findings (a finding is fixed by V when one of its fixed versions ≤ V); ties go to the lowest. */
export function chooseTargetVersion(type: PackageType, fixedVersionSets: readonly (readonly string[])[]): { version: string; fixed: boolean[] } | undefined {
  const compare = versionComparator(type);
  const candidates = [...new Set(fixedVersionSets.flat())].sort(compare);
  let best: { version: string; fixed: boolean[]; count: number } | undefined;
  for (const candidate of candidates) {
    const fixed = fixedVersionSets.map((set) => set.some((v) => compare(v, candidate) <= 0));
    const count = fixed.filter(Boolean).length;
    if (best === undefined || count > best.count) best = { version: candidate, fixed, count };
  }
  return best === undefined ? undefined : { version: best.version, fixed: best.fixed };
}

function upgradeActions(findings: readonly TriagedFinding[]): UpgradeAction[] {
  const groups = new Map<string, TriagedFinding[]>();
  for (const f of findings) {
    // Without a fixed version there is nothing to upgrade to: the no-fix action handles it.
    if (f.fixedVersions.length === 0) continue;
    const key = `${f.packageType}\u0000${f.sourceName ?? f.packageName}`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  const actions: UpgradeAction[] = [];
  for (const members of groups.values()) {
    const first = members[0]!;
    const target = chooseTargetVersion(first.packageType, members.map((f) => f.fixedVersions))!;
    const fixedBy = members.filter((_, i) => target.fixed[i]);
    const base = removal(fixedBy);
    const notFixed = [...new Set(members.filter((_, i) => !target.fixed[i]).map((f) => f.vulnId))].sort(cmp);
    const binaries = [...new Set(members.map((f) => f.packageName))].sort(cmp);
    const name = first.sourceName ?? first.packageName;
    const subject = binaries.length === 1 && binaries[0] === name ? name : `${name} (${binaries.join(', ')})`;
    actions.push({
      kind: 'upgrade',
      rank: 0,
      title: `upgrade ${subject} to ${target.version}: fixes ${plural(base.vulnerabilities.length, 'CVE')}${kevWords(base)}`,
      ...base,
      package: name,
      packageType: first.packageType,
      binaries,
      installedVersions: [...new Set(members.map((f) => f.installedVersion))].sort(cmp),
      targetVersion: target.version,
      fixes: base.vulnerabilities.length,
      notFixedByTarget: notFixed,
    });
  }
  return actions;
}

const STATE_ADVICE: Partial<Record<Finding['fixState'], string>> = {
  'not-fixed': 'no fixed version published yet: watch the advisory, reduce exposure (drop the package if nothing needs it)',
  deferred: 'the distributor postponed the fix: it is minor or waits for upstream',
  'wont-fix': 'the distributor will not fix it in this release (judged minor)',
  'end-of-life': 'the release is out of support for this package: move to a supported release or base image',
  unknown: 'fix state unknown: check the advisory',
  fixed: 'fixed upstream, but no fixed version is recorded for this release',
};

function noFixActions(findings: readonly TriagedFinding[], rules: ReadonlyMap<TriagedFinding, string>, reference: string): NoFixAction[] {
  const groups = new Map<string, TriagedFinding[]>();
  for (const f of findings) {
    if (f.fixedVersions.length > 0) continue;
    const key = `${f.packageType}\u0000${f.sourceName ?? f.packageName}`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  const actions: NoFixAction[] = [];
  for (const members of groups.values()) {
    const first = members[0]!;
    const base = removal(members);
    const name = first.sourceName ?? first.packageName;
    const binaries = [...new Set(members.map((f) => f.packageName))].sort(cmp);
    const advice: string[] = [];
    const add = (line: string): void => {
      if (!advice.includes(line)) advice.push(line);
    };
    for (const f of members) {
      if (f.kev !== undefined) add(`${f.vulnId} (KEV, due ${f.kev.dueDate}): ${f.kev.requiredAction}`);
    }
    for (const f of members) {
      const rule = rules.get(f);
      add(`${f.vulnId}: ${rule !== undefined && rule !== '' ? `${rule}; ` : ''}${STATE_ADVICE[f.fixState] ?? f.fixState}`);
    }
    for (const f of members) if (f.presence.state === 'absent') add(`${f.packageName}: none of its files is in the image (listed ${f.presence.missing}, present 0): record it as not affected`);
    const subject = binaries.length === 1 && binaries[0] === name ? name : `${name} (${binaries.join(', ')})`;
    actions.push({
      kind: 'no-fix',
      rank: 0,
      title: `no fix available for ${subject}: ${plural(base.vulnerabilities.length, 'CVE')}${kevWords(base)}; mitigate per the advisory or accept with VEX`,
      ...base,
      package: name,
      packageType: first.packageType,
      binaries,
      advice,
      vex: `if ${name} is not exploitable here, record why in an OpenVEX statement (distill vex ${reference} …) and scan with --vex FILE`,
    });
  }
  return actions;
}

/** The attack surface the swap removes even when no CVE is known today: packages, shell, package manager (only facts both sides measured). */
function surfaceWords(c: Comparison): string {
  const parts = [`${c.a.packages} → ${c.b.packages} packages`];
  const drops = [
    ...(c.a.facts.hasShell === true && c.b.facts.hasShell === false ? ['the shell'] : []),
    ...(c.a.facts.hasPackageManager === true && c.b.facts.hasPackageManager === false ? ['the package manager'] : []),
  ];
  if (drops.length > 0) parts.push(`drops ${drops.join(' and ')}`);
  return ` (${parts.join('; ')})`;
}

function replaceAction(replacement: NonNullable<TriageOptions['replacement']>, findings: readonly TriagedFinding[]): ReplaceBaseAction {
  const c = replacement.comparison;
  const removed = new Set(c.disappeared.flatMap((d) => [d.id, ...(c.cvesA.find((v) => v.id === d.id)?.aliases ?? [])]));
  const members = findings.filter((f) => removed.has(f.vulnId) || f.aliases.some((a) => removed.has(a)));
  const base = removal(members);
  const high = c.disappeared.filter((d) => d.severity === 'high' || d.severity === 'critical').length;
  const byReason = { 'package-removed': 0, 'newer-version': 0, suppressed: 0 };
  for (const d of c.disappeared) byReason[d.reason]++;
  const kev = c.disappeared.filter((d) => d.kev).length;
  return {
    kind: 'replace-base',
    rank: 0,
    title: `replace the image with ${replacement.reference}: removes ${plural(c.disappeared.length, 'CVE')}, ${high} high or critical${kevWords({ ...base, kev })}; ${c.b.cves.total} remain${surfaceWords(c)}`,
    ...base,
    kev,
    replacement: replacement.reference,
    removes: c.disappeared.length,
    highOrCritical: high,
    byReason,
    remaining: c.b.cves.total,
    appeared: c.appeared.length,
  };
}

/** Repository base names an image is known by: `stock/nginx:latest` → `nginx`. */
function imageNames(subject: ScanOutcome['sbom']['subject']): Set<string> {
  const names = new Set<string>();
  const add = (ref: string): void => {
    const withoutDigest = ref.split('@')[0]!;
    const lastSlash = withoutDigest.lastIndexOf('/');
    const tail = withoutDigest.slice(lastSlash + 1);
    const name = tail.split(':')[0]!;
    if (name !== '') names.add(name.toLowerCase());
  };
  for (const tag of subject.tags) add(tag);
  const ref = subject.reference.replace(/^(docker|registry):\/\//, '');
  if (/^(docker|registry):\/\//.test(subject.reference)) add(ref);
  return names;
}

/** The catalog recipe that replaces the scanned image, if its tags name the image a recipe replaces. */
export function matchRecipe(subject: ScanOutcome['sbom']['subject'], recipes: readonly RecipeCandidate[]): RecipeCandidate | undefined {
  const names = imageNames(subject);
  const matching = recipes.filter((r) => {
    const replaced = r.replaces.split('@')[0]!.split('/').pop()!.split(':')[0]!.toLowerCase();
    return names.has(replaced) || (r.stock !== undefined && names.has(r.stock.toLowerCase()));
  });
  const plain = matching.filter((r) => r.variant !== 'dev').sort((a, b) => cmp(a.name, b.name));
  return plain[0] ?? [...matching].sort((a, b) => cmp(a.name, b.name))[0];
}

function recipeAction(recipe: RecipeCandidate, reference: string): ReplaceBaseRecipeAction {
  const out = `oci:out/${recipe.name}`;
  return {
    kind: 'replace-base-recipe',
    rank: 0,
    title: `replace the image with distill ${recipe.name} (recipe ${recipe.recipe}, replaces ${recipe.replaces}): build it, then measure what it removes with --replacement`,
    maxScore: null,
    decision: null,
    vulnerabilities: [],
    kev: 0,
    ransomware: false,
    recipe: recipe.recipe,
    recipeName: recipe.name,
    replaces: recipe.replaces,
    commands: [`distill build ${recipe.recipe} -o ${out}`, `distill triage ${reference} --replacement ${out}`],
  };
}

/** Builds the plan from a scan (shown findings only: what the report counts). */
export function buildTriagePlan(outcome: ScanOutcome, options: TriageOptions = {}): TriagePlan {
  const packages = new Map(outcome.sbom.packages.map((p) => [p.id, p]));
  const rules = new Map<TriagedFinding, string>();
  const findings = outcome.report.findings.map((f) => {
    const t = triaged(f, packages.get(f.packageId), options);
    if (f.fixedVersions.length === 0) rules.set(t, f.evidence.rule);
    return t;
  });
  findings.sort(compareTriaged);
  const reference = outcome.report.subject.reference;

  const actions: TriageAction[] = [...upgradeActions(findings), ...noFixActions(findings, rules, reference)];
  if (options.replacement !== undefined) actions.push(replaceAction(options.replacement, findings));
  else if (options.recipes !== undefined) {
    const recipe = matchRecipe(outcome.sbom.subject, options.recipes);
    if (recipe !== undefined) actions.push(recipeAction(recipe, reference));
  }
  actions.sort(compareActions);
  actions.forEach((a, i) => (a.rank = i + 1));
  // Each finding points at the package action (upgrade or no-fix) that handles it.
  for (const a of actions) {
    if (a.kind !== 'upgrade' && a.kind !== 'no-fix') continue;
    for (const f of findings) {
      if (f.action !== 0 || (f.sourceName ?? f.packageName) !== a.package || f.packageType !== a.packageType) continue;
      if ((a.kind === 'upgrade') === (f.fixedVersions.length > 0)) f.action = a.rank;
    }
  }
  const top = options.top;
  const shown = top === undefined ? actions : actions.slice(0, Math.max(0, top));

  const byDecision = Object.fromEntries(SSVC_DECISIONS.map((d) => [d, 0])) as Record<SsvcDecisionValue, number>;
  for (const f of findings) byDecision[f.ssvc.decision]++;
  const summary = outcome.report.summary;
  return {
    schemaVersion: TRIAGE_SCHEMA_VERSION,
    createdAt: outcome.report.createdAt,
    subject: { reference, ...(outcome.report.subject.digest !== undefined ? { digest: outcome.report.subject.digest } : {}) },
    missionImpact: options.missionImpact ?? DEFAULT_MISSION_IMPACT,
    summary: {
      findings: findings.length,
      vulnerabilities: new Set(findings.map((f) => f.vulnId)).size,
      kev: new Set(findings.filter((f) => f.kev !== undefined).map((f) => f.vulnId)).size,
      fixable: summary.fixable,
      byDecision,
      actions: actions.length,
      omittedActions: actions.length - shown.length,
    },
    actions: shown,
    findings,
  };
}
