/** @module build/resolve/resolver — dependency closure like `apt-get install --no-install-recommends`, minus the default exclusions, with reasons. */
import { DistillError } from '../../errors.js';
import { debScheme } from '../../versions/deb.js';
import { isDefaultExclusion, DEFAULT_EXCLUSIONS } from './exclusions.js';
import { dependenciesOf, type PackageIndex, type Provider } from './package-index.js';
import { formatGroup, formatRelation, parseProvides, parseRelations, satisfiesVersion, type Relation } from './relations.js';
import type { ExcludedDependency, RejectedCandidate, Resolution, ResolvedPackage, ResolveOptions, ResolverPackage, WhyChain } from './types.js';

/** Cap on recorded rejections: enough to explain any real closure, bounded for hostile indices. */
const MAX_REJECTED = 10_000;

/** Provider preference when several packages provide a virtual name: higher priority first, then name. */
const PRIORITY_RANK: Readonly<Record<string, number>> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

interface Chosen {
  pkg: ResolverPackage;
  via?: string;
}

/**
 * Resolves `requested` (names, `name=version`, or `name (op version)`) into a closure over Depends and
 * Pre-Depends (never Recommends or Suggests). Per dependency group: if a package already in the closure satisfies
 * any alternative, nothing is added; otherwise the alternatives are tried left to right, each first as a real
 * package (highest satisfying version), then through its providers (versioned dependencies only accept versioned
 * provides). Essential packages are not added unless something depends on them. Same input, same output.
 */
export function resolve(index: PackageIndex, requested: string[], options: ResolveOptions): Resolution {
  const arch = options.arch;
  if (index.arch !== arch) throw new DistillError('USAGE', `the package index is for ${index.arch}, not ${arch}`);
  const userExcluded = new Set(options.exclude ?? []);
  const included = new Set(options.include ?? []);
  const useDefaults = options.defaultExclusions ?? true;

  const selected = new Map<string, ResolverPackage>();
  const why = new Map<string, WhyChain>();
  const excluded = new Map<string, ExcludedDependency>();
  const rejected: RejectedCandidate[] = [];
  const rejectedSeen = new Set<string>();
  const reject = (candidate: string, reason: string): void => {
    const key = `${candidate}\0${reason}`;
    if (rejected.length >= MAX_REJECTED || rejectedSeen.has(key)) return;
    rejectedSeen.add(key);
    rejected.push({ candidate, reason });
  };

  // Requested packages first, so dependencies they satisfy never pull in an alternative.
  const queue: ResolverPackage[] = [];
  const requestedNames = new Set<string>();
  for (const text of requested) {
    const rel = parseRequest(text);
    if (userExcluded.has(rel.name)) throw new DistillError('RESOLVE_CONFLICT', `${rel.name} is both requested and excluded (!${rel.name})`, { subject: rel.name, hint: `remove either "${rel.name}" or "!${rel.name}" from the recipe` });
    const pkg = pickRequested(index, rel, arch, reject);
    requestedNames.add(pkg.name);
    if (selected.has(pkg.name)) continue;
    selected.set(pkg.name, pkg);
    why.set(pkg.name, 'requested');
    queue.push(pkg);
  }

  const exclusionReason = (name: string): string | undefined => {
    if (requestedNames.has(name)) return undefined;
    if (userExcluded.has(name)) return `excluded by the recipe (!${name})`;
    if (useDefaults && !included.has(name) && isDefaultExclusion(name)) return `default exclusion: ${DEFAULT_EXCLUSIONS[name]}`;
    return undefined;
  };
  const isDefault = (name: string): boolean => useDefaults && !included.has(name) && !requestedNames.has(name) && isDefaultExclusion(name);

  // Providers in the closure, for the "already satisfied" check.
  const selectedProvides = new Map<string, Provider[]>();
  const noteProvides = (pkg: ResolverPackage): void => {
    for (const [name, list] of providedBy(index, pkg)) {
      let l = selectedProvides.get(name);
      if (l === undefined) selectedProvides.set(name, (l = []));
      l.push(list);
    }
  };
  for (const pkg of selected.values()) noteProvides(pkg);

  for (let head = 0; head < queue.length; head++) {
    const pkg = queue[head]!;
    const chain = chainOf(why, pkg.name);
    for (const group of dependenciesOf(pkg, arch)) {
      if (group.some((rel) => satisfiedBySelected(rel, selected, selectedProvides, arch))) continue;
      const text = formatGroup(group);
      // A group naming a default exclusion is dropped whole, unless the recipe asked for one of its alternatives.
      const defaultHit = group.find((rel) => isDefault(rel.name));
      if (defaultHit !== undefined && !group.some((rel) => included.has(rel.name))) {
        addExcluded(excluded, text, exclusionReason(defaultHit.name)!, pkg.name);
        continue;
      }
      let choice: Chosen | undefined;
      let userHit: string | undefined;
      const tried: string[] = [];
      for (const rel of group) {
        const reason = exclusionReason(rel.name);
        if (reason !== undefined) {
          userHit ??= reason;
          continue;
        }
        choice = chooseFor(index, rel, arch, pkg.name, exclusionReason, reject, tried);
        if (choice !== undefined) break;
      }
      if (choice === undefined) {
        if (userHit !== undefined) {
          addExcluded(excluded, text, userHit, pkg.name);
          continue;
        }
        throw conflict(chain, text, tried);
      }
      const chosen = choice.pkg;
      selected.set(chosen.name, chosen);
      why.set(chosen.name, [...chain, chosen.name]);
      noteProvides(chosen);
      queue.push(chosen);
    }
  }

  const packages: ResolvedPackage[] = [...selected.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture));
  const excludedList = [...excluded.values()].sort((a, b) => cmp(a.name, b.name));
  for (const e of excludedList) e.requiredBy.sort(cmp);
  return { arch, packages, why, excluded: excludedList, rejected };
}

function parseRequest(text: string): Relation {
  const trimmed = text.trim();
  // apt's `name=version` form, besides the Debian relation syntax.
  const eq = /^([A-Za-z0-9][A-Za-z0-9+._-]*(?::[A-Za-z0-9-]+)?)=(\S+)$/.exec(trimmed);
  const groups = parseRelations(eq === null ? trimmed : `${eq[1]} (= ${eq[2]})`, `requested package "${text}"`);
  if (groups.length !== 1 || groups[0]!.length !== 1) throw new DistillError('USAGE', `requested package "${text}" must name exactly one package`, { subject: text });
  return groups[0]![0]!;
}

function pickRequested(index: PackageIndex, rel: Relation, arch: string, reject: (c: string, r: string) => void): ResolverPackage {
  const real = index.byName.get(rel.name) ?? [];
  for (const pkg of real) {
    if (archAccepts(rel, pkg, arch) && satisfiesVersion(pkg.version, rel.op, rel.version)) return pkg;
    reject(`${pkg.name}=${pkg.version}`, `requested as ${formatRelation(rel)}`);
  }
  const providers = (index.providers.get(rel.name) ?? []).filter((p) => providerSatisfies(rel, p, arch));
  const names = [...new Set(providers.map((p) => p.pkg.name))].sort(cmp);
  if (real.length > 0 && providers.length === 0) {
    throw new DistillError('RESOLVE_CONFLICT', `requested ${formatRelation(rel)} → none of ${real.map((p) => p.version).join(', ')} satisfies it`, { subject: rel.name });
  }
  if (names.length === 1) return bestProvider(providers)!.pkg;
  if (names.length > 1) {
    throw new DistillError('RESOLVE_CONFLICT', `${rel.name} is a virtual package provided by ${names.join(', ')}`, { subject: rel.name, hint: `request one of them by name: ${names.join(', ')}` });
  }
  const suggestions = suggest(index, rel.name);
  reject(rel.name, 'not in the index');
  throw new DistillError('RESOLVE_UNKNOWN_PACKAGE', `package "${rel.name}" is not in the index for ${arch}${suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : ''}`, {
    subject: rel.name,
    hint: suggestions.length > 0 ? `did you mean ${suggestions.join(', ')}? Otherwise check that the recipe lists the repository and component carrying it` : undefined,
  });
}

function chooseFor(
  index: PackageIndex,
  rel: Relation,
  arch: string,
  from: string,
  exclusionReason: (name: string) => string | undefined,
  reject: (c: string, r: string) => void,
  tried: string[],
): Chosen | undefined {
  const need = `${from} needs ${formatRelation(rel)}`;
  const real = index.byName.get(rel.name) ?? [];
  for (const pkg of real) {
    if (!archAccepts(rel, pkg, arch)) {
      reject(`${pkg.name}=${pkg.version}`, `${need}: Multi-Arch ${pkg.multiArch ?? 'no'} does not allow :${rel.archQualifier}`);
      tried.push(`${pkg.name} ${pkg.version} (Multi-Arch: ${pkg.multiArch ?? 'no'})`);
      continue;
    }
    if (!satisfiesVersion(pkg.version, rel.op, rel.version)) {
      reject(`${pkg.name}=${pkg.version}`, `${need}`);
      tried.push(`${pkg.name} ${pkg.version}`);
      continue;
    }
    return { pkg };
  }
  const ok: Provider[] = [];
  for (const p of index.providers.get(rel.name) ?? []) {
    const label = `${p.pkg.name}=${p.pkg.version}`;
    if (!providerSatisfies(rel, p, arch)) {
      const provided = p.version === undefined ? rel.name : `${rel.name} (= ${p.version})`;
      reject(label, `${need}: provides ${provided}${p.version === undefined && rel.op !== undefined ? ', and an unversioned provide cannot satisfy a versioned dependency' : ''}`);
      tried.push(`${p.pkg.name} ${p.pkg.version} providing ${provided}`);
      continue;
    }
    const excluded = exclusionReason(p.pkg.name);
    if (excluded !== undefined) {
      reject(label, `${need}: ${excluded}`);
      continue;
    }
    ok.push(p);
  }
  if (real.length === 0 && ok.length === 0 && (index.providers.get(rel.name) ?? []).length === 0) tried.push(`no package ${rel.name}`);
  const best = bestProvider(ok);
  return best === undefined ? undefined : { pkg: best.pkg, via: rel.name };
}

/** Several providers: prefer higher Priority, then the name (apt also ranks providers by priority). */
function bestProvider(list: Provider[]): Provider | undefined {
  let best: Provider | undefined;
  for (const p of list) {
    if (best === undefined) {
      best = p;
      continue;
    }
    const order = rank(p.pkg) - rank(best.pkg) || cmp(p.pkg.name, best.pkg.name) || -debScheme.compare(p.pkg.version, best.pkg.version);
    if (order < 0) best = p;
  }
  return best;
}

function rank(pkg: ResolverPackage): number {
  return PRIORITY_RANK[pkg.priority ?? ''] ?? 5;
}

/**
 * Architecture qualifiers in a one-architecture index (native + `all`): `:any` needs Multi-Arch allowed (or
 * foreign, which satisfies any architecture anyway); `:native` and no qualifier accept every package here;
 * `:<arch>` needs that architecture, `all` on the native one, or Multi-Arch foreign.
 */
export function archAccepts(rel: Relation, pkg: ResolverPackage, arch: string): boolean {
  const q = rel.archQualifier;
  if (q === undefined || q === 'native') return true;
  if (q === 'any') return pkg.multiArch === 'allowed' || pkg.multiArch === 'foreign';
  if (pkg.multiArch === 'foreign') return true;
  return pkg.architecture === q || (pkg.architecture === 'all' && q === arch);
}

function providerSatisfies(rel: Relation, p: Provider, arch: string): boolean {
  if (!archAccepts(rel, p.pkg, arch)) return false;
  if (rel.op === undefined) return true;
  return p.version !== undefined && satisfiesVersion(p.version, rel.op, rel.version);
}

const providedCache = new WeakMap<ResolverPackage, Map<string, Provider>>();

/** What a package Provides (name → provider), parsed once per record, as the index parses it. */
function providedBy(_index: PackageIndex, pkg: ResolverPackage): Map<string, Provider> {
  let m = providedCache.get(pkg);
  if (m !== undefined) return m;
  m = new Map();
  if (pkg.provides !== undefined && pkg.provides.trim() !== '') {
    try {
      for (const p of parseProvides(pkg.provides, `${pkg.name} ${pkg.version}: Provides`)) m.set(p.name, p.version === undefined ? { pkg } : { pkg, version: p.version });
    } catch {
      // The index records the parse failure; the package stays installable and provides nothing.
    }
  }
  providedCache.set(pkg, m);
  return m;
}

function satisfiedBySelected(rel: Relation, selected: Map<string, ResolverPackage>, provides: Map<string, Provider[]>, arch: string): boolean {
  const pkg = selected.get(rel.name);
  if (pkg !== undefined && archAccepts(rel, pkg, arch) && satisfiesVersion(pkg.version, rel.op, rel.version)) return true;
  return (provides.get(rel.name) ?? []).some((p) => providerSatisfies(rel, p, arch));
}

function chainOf(why: Map<string, WhyChain>, name: string): string[] {
  const w = why.get(name);
  return w === undefined || w === 'requested' ? [name] : [...w];
}

function addExcluded(map: Map<string, ExcludedDependency>, name: string, reason: string, by: string): void {
  const e = map.get(name);
  if (e === undefined) map.set(name, { name, reason, requiredBy: [by] });
  else if (!e.requiredBy.includes(by)) e.requiredBy.push(by);
}

function conflict(chain: string[], dependency: string, tried: string[]): DistillError {
  const detail = tried.length === 0 ? 'no candidate' : `none of ${tried.join(', ')}`;
  return new DistillError('RESOLVE_CONFLICT', `${chain.join(' → ')} → ${dependency} → ${detail}`, { subject: dependency });
}

/** "Did you mean": names within a small edit distance, closest first, at most five. */
export function suggest(index: PackageIndex, name: string): string[] {
  const limit = Math.max(2, Math.floor(name.length / 4));
  const scored: { n: string; d: number }[] = [];
  const consider = (n: string): void => {
    if (Math.abs(n.length - name.length) > limit) {
      // A longer name that merely extends what was typed (python → python3) is still a good guess.
      if (n.startsWith(name) && n.length - name.length <= 3) scored.push({ n, d: limit });
      return;
    }
    const d = boundedLevenshtein(name, n, limit);
    if (d <= limit) scored.push({ n, d });
  };
  for (const n of index.byName.keys()) consider(n);
  for (const n of index.providers.keys()) if (!index.byName.has(n)) consider(n);
  // Closest first; among equals, names extending what was typed (python → python3), then shorter names.
  const extends_ = (n: string): number => (n.startsWith(name) ? 0 : 1);
  scored.sort((a, b) => a.d - b.d || extends_(a.n) - extends_(b.n) || a.n.length - b.n.length || cmp(a.n, b.n));
  return [...new Set(scored.map((s) => s.n))].slice(0, 5);
}

/** Edit distance with adjacent transpositions (optimal string alignment), or a value above `limit` (often `limit + 1`, computed no further) once it must exceed it. */
export function boundedLevenshtein(a: string, b: string, limit: number): number {
  if (a === b) return 0;
  let before = new Array<number>(b.length + 1).fill(0);
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1));
      // "ngnix" → "nginx": swapping two neighbours is one typo, not two.
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) v = Math.min(v, before[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    [before, prev, cur] = [prev, cur, before];
  }
  return prev[b.length]!;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

