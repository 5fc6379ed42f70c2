/** @module build/resolve/relations — Depends/Pre-Depends/Provides field parsing and version/architecture checks. */
import { DistillError } from '../../errors.js';
import { debScheme, parseDebVersion } from '../../versions/deb.js';

export type RelationOp = '<<' | '<=' | '=' | '>=' | '>>';

/** One alternative of a dependency: `name[:qualifier] [(op version)] [[arch …]]` (build profiles are dropped). */
export interface Relation {
  name: string;
  /** `any`, `native` or an architecture name. */
  archQualifier?: string;
  op?: RelationOp;
  version?: string;
  /** `[amd64 !arm64 linux-any]`: the relation applies only on matching architectures. */
  archRestriction?: { negated: boolean; arches: string[] };
}

/** A comma-separated entry: its `|` alternatives, tried left to right. */
export type RelationGroup = Relation[];

/** Bound on alternatives per field: real fields have at most a few hundred; more means hostile input. */
const MAX_RELATIONS = 4096;

const ALTERNATIVE =
  /^([A-Za-z0-9][A-Za-z0-9+._-]*)(?::([A-Za-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s()]+)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^<>]*>\s*)*)$/;

/**
 * Parses a relation field (`a (>= 1.0) | b, c:any, d [amd64] <!nocheck>`). The obsolete `<` and `>` mean `<=`
 * and `>=`, as dpkg reads them. Build profiles (`<…>`) are accepted and ignored: they only matter for
 * build dependencies. Throws RELATION_INVALID naming the field and the bad entry.
 */
export function parseRelations(text: string, subject = 'relation field'): RelationGroup[] {
  const groups: RelationGroup[] = [];
  let count = 0;
  for (const rawGroup of text.split(',')) {
    if (rawGroup.trim() === '') {
      // A trailing comma (or an empty field) is tolerated; an empty entry between two others is not.
      continue;
    }
    const group: RelationGroup = [];
    for (const rawAlt of rawGroup.split('|')) {
      if (++count > MAX_RELATIONS) throw new DistillError('RELATION_INVALID', `${subject}: more than ${MAX_RELATIONS} relations`, { subject });
      group.push(parseAlternative(rawAlt.trim(), subject));
    }
    groups.push(group);
  }
  return groups;
}

function parseAlternative(text: string, subject: string): Relation {
  const m = ALTERNATIVE.exec(text);
  if (m === null) throw new DistillError('RELATION_INVALID', `${subject}: cannot parse "${clip(text)}"`, { subject });
  const relation: Relation = { name: m[1]! };
  if (m[2] !== undefined) relation.archQualifier = m[2];
  if (m[3] !== undefined) {
    const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as RelationOp);
    const version = m[4]!;
    if (parseDebVersion(version) === null) throw new DistillError('RELATION_INVALID', `${subject}: "${clip(text)}" has an invalid version "${clip(version)}"`, { subject });
    relation.op = op;
    relation.version = version;
  }
  if (m[5] !== undefined) {
    const words = m[5].trim().split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) throw new DistillError('RELATION_INVALID', `${subject}: "${clip(text)}" has an empty architecture list`, { subject });
    const negated = words[0]!.startsWith('!');
    // dpkg forbids mixing positive and negated architectures in one list.
    if (words.some((w) => w.startsWith('!') !== negated)) throw new DistillError('RELATION_INVALID', `${subject}: "${clip(text)}" mixes negated and plain architectures`, { subject });
    relation.archRestriction = { negated, arches: words.map((w) => (negated ? w.slice(1) : w)) };
  }
  return relation;
}

/** Provides entries: `name` or `name (= version)`; anything else is invalid in a Provides field. */
export interface Provision {
  name: string;
  version?: string;
}

export function parseProvides(text: string, subject = 'Provides'): Provision[] {
  const out: Provision[] = [];
  for (const group of parseRelations(text, subject)) {
    if (group.length !== 1) throw new DistillError('RELATION_INVALID', `${subject}: alternatives are not allowed in Provides`, { subject });
    const r = group[0]!;
    if (r.op !== undefined && r.op !== '=') throw new DistillError('RELATION_INVALID', `${subject}: "${r.name} (${r.op} ${r.version})" — Provides only allows "="`, { subject });
    out.push(r.version === undefined ? { name: r.name } : { name: r.name, version: r.version });
  }
  return out;
}

/** Whether `version` satisfies `op target` in dpkg's ordering. No op means any version. */
export function satisfiesVersion(version: string, op: RelationOp | undefined, target: string | undefined): boolean {
  if (op === undefined || target === undefined) return true;
  const c = debScheme.compare(version, target);
  switch (op) {
    case '<<': return c < 0;
    case '<=': return c <= 0;
    case '=': return c === 0;
    case '>=': return c >= 0;
    case '>>': return c > 0;
  }
}

/** Whether an architecture wildcard or name (`any`, `linux-any`, `any-amd64`, `amd64`) matches a Debian Linux arch. */
export function archMatches(pattern: string, arch: string): boolean {
  if (pattern === arch || pattern === 'any') return true;
  // Debian Linux architectures are `linux-<cpu>`; `amd64` is the tuple (linux, amd64).
  const dash = pattern.indexOf('-');
  if (dash < 0) return false;
  const os = pattern.slice(0, dash);
  const cpu = pattern.slice(dash + 1);
  return (os === 'any' || os === 'linux') && (cpu === 'any' || cpu === arch);
}

/** Whether a relation's `[arch …]` restriction lets it apply on `arch`. */
export function appliesTo(relation: Relation, arch: string): boolean {
  const r = relation.archRestriction;
  if (r === undefined) return true;
  const hit = r.arches.some((a) => archMatches(a, arch));
  return r.negated ? !hit : hit;
}

/** Groups applying on `arch`: restricted alternatives are dropped, and a group left empty disappears (as dpkg-gencontrol does). */
export function relationsFor(groups: RelationGroup[], arch: string): RelationGroup[] {
  const out: RelationGroup[] = [];
  for (const g of groups) {
    const kept = g.every((r) => r.archRestriction === undefined) ? g : g.filter((r) => appliesTo(r, arch));
    if (kept.length > 0) out.push(kept);
  }
  return out;
}

/** The relation as Debian writes it (`libssl3 (>= 3.0.9)`, `python3:any`). */
export function formatRelation(r: Relation): string {
  let s = r.archQualifier === undefined ? r.name : `${r.name}:${r.archQualifier}`;
  if (r.op !== undefined) s += ` (${r.op} ${r.version})`;
  return s;
}

export function formatGroup(group: RelationGroup): string {
  return group.map(formatRelation).join(' | ');
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
