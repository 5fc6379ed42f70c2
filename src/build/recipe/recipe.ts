/** @module build/recipe/recipe — loads, validates (JSON Schema, with file:line:column errors) and normalises an image recipe. */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { DistillError } from '../../errors.js';
import { validateRecipeSchema } from './recipe-validator.js';

export const RECIPE_ARCHS = ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'mips64el', 'riscv64'] as const;
export type RecipeArch = (typeof RECIPE_ARCHS)[number];
export type StockPreset = 'nginx' | 'python' | 'node' | 'redis' | 'debian';
export type RecipeVariant = 'runtime' | 'dev';

export interface RecipeRepository {
  /** Archive root (`http://…/debian`). Absent: DISTILL_DEBIAN_MIRROR or the host's apt sources decide. */
  uri?: string;
  suite: string;
  components: string[];
  /** OpenPGP keyring path (absolute, or resolved against the recipe's directory). */
  keyring?: string;
}

export interface RecipeUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface RecipeGroup {
  name: string;
  gid: number;
  members: string[];
}

export interface RecipePath {
  path: string;
  type: 'directory' | 'file' | 'symlink';
  /** `uid:gid`, `user:group` or a single name/number (group = the user's). Resolved against the accounts by setup. */
  owner: string;
  /** Permission bits (default 0755 directory, 0644 file, 0777 symlink). */
  mode: number;
  /** File content: the inline `content` (UTF-8) or the bytes of `source`, read at load time. */
  content?: Buffer;
  /** `source` as written in the recipe (for messages); its bytes are in `content`. */
  source?: string;
  target?: string;
}

/** `exclude-paths[]`: a glob over absolute image paths (`*`, `?` within a segment, `**` across) and why. */
export interface RecipeExcludePath {
  path: string;
  reason: string;
}

/** A loaded, merged (`extends`) and normalised recipe. YAML keys are kebab-case, these are camelCase. */
export interface Recipe {
  name: string;
  description?: string;
  replaces?: { image: string; stock?: StockPreset };
  contents: {
    repositories: RecipeRepository[];
    /** Package names asked for, in recipe order, without the `!name` exclusions. */
    packages: string[];
    /** Names given as `!name`: never installed, even as dependencies. */
    exclude: string[];
    /** `/usr/share/locale/<name>` directories to keep (`*` for all); empty drops every locale. */
    locales: string[];
  };
  accounts: { users: RecipeUser[]; groups: RecipeGroup[]; runAs: string };
  paths: RecipePath[];
  /** Package files left out of the image (glob over image paths), each with the reason the recipe gives. */
  excludePaths: RecipeExcludePath[];
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  environment: Record<string, string>;
  /** `port/proto`, e.g. `8080/tcp`. */
  ports: string[];
  stopSignal?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  archs: RecipeArch[];
  variant: RecipeVariant;
  /** The recipe files this was loaded from, the named file first, then what it extends. Not part of the digest. */
  files: string[];
}

export const NONROOT: RecipeUser = { name: 'nonroot', uid: 65532, gid: 65532, home: '/home/nonroot', shell: '/sbin/nologin' };
export const ROOT: RecipeUser = { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/sbin/nologin' };
/** What `variant: dev` adds: a shell (and the usual applets) for debugging. */
export const DEV_PACKAGES: readonly string[] = ['busybox'];

const MAX_RECIPE_BYTES = 1024 * 1024;
const MAX_SOURCE_BYTES = 16 * 1024 * 1024;
const MAX_EXTENDS_DEPTH = 8;
const ARCH_ALIASES: Record<string, RecipeArch> = { x86_64: 'amd64', x64: 'amd64', aarch64: 'arm64', arm64v8: 'arm64', armv7: 'armhf', armv7l: 'armhf', x86: 'i386', i686: 'i386', ppc64le: 'ppc64el' };

// Ajv's standalone code for recipe.schema.json (allErrors, verbose, strict), generated and kept in sync by
// recipe-validator.test.ts: compiling the schema at startup cost every CLI run 80–200 ms.
const validateSchema = validateRecipeSchema as unknown as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** One parsed recipe file: its data and a locator for its nodes. */
interface RecipeFile {
  path: string;
  data: Record<string, unknown>;
  doc: Document;
  lines: LineCounter;
}

/** Reads a recipe (and whatever it `extends`), validates it and returns it normalised. Throws RECIPE_INVALID / RECIPE_NOT_FOUND. */
export function loadRecipe(path: string): Recipe {
  return normalise(loadChain(path, []));
}

/** Parses recipe text that has no file of its own (tests, the API); `label` names it in errors and anchors `extends`. */
export function parseRecipe(text: string, label = 'recipe.yaml'): Recipe {
  const file = parseRecipeFile(Buffer.from(text, 'utf8'), label);
  return normalise(typeof file.data.extends === 'string' ? loadChain(besides(file.path, file.data.extends), [file]) : [file]);
}

/** `start` and the recipes it extends, appended to `chain` (child first). */
function loadChain(start: string, chain: RecipeFile[]): RecipeFile[] {
  const seen = new Set<string>(chain.map((f) => resolve(f.path)));
  let next: string | undefined = start;
  while (next !== undefined) {
    const real = realPathOf(next, chain[chain.length - 1]);
    if (seen.has(real) || seen.has(resolve(next))) throw new DistillError('RECIPE_INVALID', `${chain[chain.length - 1]!.path}:${locate(chain[chain.length - 1]!, ['extends'], false)}: \`extends\` makes a cycle back to ${next}`, { subject: next });
    if (chain.length >= MAX_EXTENDS_DEPTH) throw new DistillError('RECIPE_INVALID', `${next}: \`extends\` chain is deeper than ${MAX_EXTENDS_DEPTH} recipes`, { subject: next });
    seen.add(real);
    const file = parseRecipeFile(readRecipe(next), next);
    chain.push(file);
    const parent = file.data.extends;
    next = typeof parent === 'string' ? besides(next, parent) : undefined;
  }
  return chain;
}

/** A path named inside `recipe`, kept relative when both are (so messages show the paths the user wrote). */
function besides(recipe: string, path: string): string {
  return isAbsolute(path) ? path : join(dirname(recipe), path);
}

function realPathOf(path: string, from: RecipeFile | undefined): string {
  try {
    return realpathSync(path);
  } catch (error) {
    const where = from === undefined ? '' : ` (named by \`extends\` in ${from.path}:${locate(from, ['extends'])})`;
    throw new DistillError('RECIPE_NOT_FOUND', `recipe ${path} not found${where}`, { subject: path, cause: error });
  }
}

function readRecipe(path: string): Buffer {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new DistillError('RECIPE_NOT_FOUND', `recipe ${path} is not a regular file`, { subject: path });
    size = stat.size;
  } catch (error) {
    if (error instanceof DistillError) throw error;
    throw new DistillError('RECIPE_NOT_FOUND', `recipe ${path} not found`, { subject: path, cause: error });
  }
  if (size > MAX_RECIPE_BYTES) throw new DistillError('RECIPE_INVALID', `${path}: recipe is ${size} bytes, more than the ${MAX_RECIPE_BYTES}-byte limit`, { subject: path });
  return readFileSync(path);
}

function parseRecipeFile(bytes: Buffer, path: string): RecipeFile {
  if (bytes.byteLength > MAX_RECIPE_BYTES) throw new DistillError('RECIPE_INVALID', `${path}: recipe is larger than ${MAX_RECIPE_BYTES} bytes`, { subject: path });
  const lines = new LineCounter();
  const doc = parseDocument(bytes.toString('utf8'), { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  const fail = (offset: number, message: string): never => {
    const { line, col } = lines.linePos(offset);
    throw new DistillError('RECIPE_INVALID', `${path}:${line}:${col}: ${message}`, { subject: `${path}:${line}:${col}` });
  };
  const syntax = doc.errors[0];
  if (syntax !== undefined) fail(syntax.pos[0], `YAML: ${firstLine(syntax.message)}`);
  const exclusionTags = fixExclusionTags(doc);
  for (const warning of doc.warnings) {
    const tag = /Unresolved tag: (\S+)/.exec(warning.message)?.[1];
    if (warning.code === 'TAG_RESOLVE_FAILED' && tag !== undefined && exclusionTags.has(tag)) continue;
    fail(warning.pos[0], `YAML: ${firstLine(warning.message)}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    fail(0, `YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail(0, 'a recipe is a mapping of fields (name, contents, …)');
  const file: RecipeFile = { path, data: data as Record<string, unknown>, doc, lines };
  if (!validateSchema(data)) throw schemaError(file, validateSchema.errors ?? []);
  return file;
}

/**
 * `- !perl-base` unquoted is a YAML tag on an empty value, not a string: inside `contents.packages` it can only mean
 * an exclusion, so it is read as one. Returns the tags it rewrote (their "unresolved tag" warnings are expected).
 */
function fixExclusionTags(doc: Document): Set<string> {
  const tags = new Set<string>();
  const list = doc.getIn(['contents', 'packages'], true);
  if (!isSeq(list)) return tags;
  for (const item of list.items) {
    if (!isScalar(item) || item.tag === undefined || !/^![a-z0-9][a-z0-9+.-]+$/.test(item.tag)) continue;
    if (item.value !== null && item.value !== '') continue;
    tags.add(item.tag);
    item.value = item.tag;
    item.tag = undefined;
  }
  return tags;
}

function firstLine(text: string): string {
  const cut = text.indexOf('\n');
  return (cut < 0 ? text : text.slice(0, cut)).replace(/ at line \d+, column \d+:?$/, '');
}

/** Turns JSON pointer segments into the YAML node they name (and its key node, for a mapping member). */
function nodeAt(file: RecipeFile, segments: readonly string[]): { node?: YamlNode; key?: YamlNode } {
  let node: unknown = file.doc.contents;
  let key: YamlNode | undefined;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (pair === undefined) return { node: node as YamlNode };
      key = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) return { node: node as YamlNode };
      key = undefined;
      node = item;
    } else return { node: node as YamlNode };
  }
  return { node: (node ?? undefined) as YamlNode | undefined, key };
}

/** `line:col` of a field (its key when it is a mapping member, else its value). */
function locate(file: RecipeFile, segments: readonly string[], preferKey = true): string {
  const { node, key } = nodeAt(file, segments);
  const offset = (preferKey ? key?.range?.[0] : undefined) ?? node?.range?.[0] ?? key?.range?.[0] ?? 0;
  const { line, col } = file.lines.linePos(offset);
  return `${line}:${col}`;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function fieldName(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) out += /^\d+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`;
  return out === '' ? '(top level)' : out;
}

/** Keywords whose failure only says "some branch failed": the specific errors beside them say more. */
const WRAPPER_KEYWORDS = new Set(['oneOf', 'anyOf', 'if', 'allOf']);

function schemaError(file: RecipeFile, errors: readonly ErrorObject[]): DistillError {
  const specific = errors.filter((e) => !WRAPPER_KEYWORDS.has(e.keyword));
  // A `oneOf` of types reports a type error per branch; keep one message per path.
  const chosen: { where: string; text: string }[] = [];
  const seenPaths = new Set<string>();
  for (const error of specific.length > 0 ? specific : errors) {
    const described = describe(file, error);
    const dedupeKey = `${described.where}|${error.keyword === 'type' || error.keyword === 'pattern' ? '' : described.text}`;
    if (seenPaths.has(dedupeKey)) continue;
    seenPaths.add(dedupeKey);
    chosen.push(described);
  }
  // Top-most first, as an editor would list them.
  const position = (where: string): number[] => where.slice(file.path.length + 1).split(':').map(Number);
  chosen.sort((a, b) => {
    const [la = 0, ca = 0] = position(a.where);
    const [lb = 0, cb = 0] = position(b.where);
    return la - lb || ca - cb;
  });
  const first = chosen[0] ?? { where: `${file.path}:1:1`, text: 'invalid recipe' };
  const more = chosen.length > 1 ? `; also ${chosen.slice(1, 4).map((c) => `${c.where.slice(file.path.length + 1)}: ${c.text}`).join('; ')}${chosen.length > 4 ? `; and ${chosen.length - 4} more` : ''}` : '';
  return new DistillError('RECIPE_INVALID', `${first.where}: ${first.text}${more}`, { subject: first.where });
}

function describe(file: RecipeFile, error: ErrorObject): { where: string; text: string } {
  const segments = pointerSegments(error.instancePath);
  const at = (segs: readonly string[], preferKey = true): string => `${file.path}:${locate(file, segs, preferKey)}`;
  const field = fieldName(segments);
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(((error.parentSchema ?? {}) as { properties?: Record<string, unknown> }).properties ?? {});
      const full = fieldName([...segments, extra]);
      const guess = closest(extra, allowed);
      const hint = guess !== undefined ? `; did you mean \`${guess}\`?` : allowed.length > 0 ? `; expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}` : '';
      return { where: at([...segments, extra]), text: `${full}: unknown field \`${extra}\`${hint}` };
    }
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      return { where: at(segments, false), text: `${field}: missing required field \`${missing}\`` };
    }
    case 'enum': {
      const allowed = ((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const value = String(error.data);
      const guess = ARCH_ALIASES[value] !== undefined && segments[0] === 'archs' ? ARCH_ALIASES[value] : closest(value, allowed);
      const what = segments[0] === 'archs' ? 'unknown architecture' : 'unknown value';
      return { where: at(segments, false), text: `${field}: ${what} \`${value}\`${guess !== undefined ? `; did you mean \`${guess}\`?` : ''} (expected one of ${allowed.join(', ')})` };
    }
    case 'type': {
      const expected = String((error.params as { type: string }).type);
      let text = `${field}: must be ${expected.replace(/,/g, ' or ')}, not ${jsonType(error.data)}`;
      if (segments[segments.length - 1] === 'mode' && typeof error.data === 'number') text += ` (write the mode quoted, e.g. '0644': unquoted 0644 is the decimal number 644 in YAML)`;
      return { where: at(segments, false), text };
    }
    case 'pattern':
      return { where: at(segments, false), text: `${field}: ${JSON.stringify(error.data)} ${patternMeaning(segments)}` };
    case 'not':
      return { where: at(segments, false), text: `${field}: ${notMeaning(error)}` };
    case 'uniqueItems':
      return { where: at(segments, false), text: `${field}: lists the same value twice` };
    default:
      return { where: at(segments, false), text: `${field}: ${error.message ?? 'invalid'}` };
  }
}

function notMeaning(error: ErrorObject): string {
  const data = (error.data ?? {}) as { type?: string };
  if (data.type === 'symlink') return 'a symlink takes `target`, not `content` or `source`';
  if (data.type === 'directory') return 'a directory takes neither `content`, `source` nor `target`';
  if (data.type === 'file') return 'a file takes `content` or `source` (one of them), not `target`';
  return error.message ?? 'invalid combination of fields';
}

function patternMeaning(segments: readonly string[]): string {
  const last = segments.filter((s) => !/^\d+$/.test(s)).pop() ?? '';
  const parent = segments[0];
  const meanings: Record<string, string> = {
    name: 'is not a valid name (lowercase letters, digits, and . _ - between them)',
    packages: 'is not a Debian package name (lowercase letters, digits, + - . ; `!name` to exclude)',
    mode: 'is not an octal mode such as \'0644\' or \'0755\'',
    owner: 'is not an owner (uid[:gid] or user[:group])',
    'run-as': 'is not a user name or uid[:gid]',
    path: 'is not an absolute path',
    home: 'is not an absolute path',
    shell: 'is not an absolute path',
    workdir: 'is not an absolute path',
    ports: 'is not a port (8080, 8080/tcp, 53/udp)',
    'stop-signal': 'is not a signal (SIGTERM, SIGQUIT, 15)',
    image: 'is not an image reference (repository[:tag][@sha256:…])',
    uri: 'is not an http://, https:// or file:// URL',
    locales: 'is not a locale name (de, pt_BR, sr@latin) or *',
  };
  return meanings[last] ?? meanings[parent ?? ''] ?? 'has the wrong form';
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The allowed word nearest to `word` by edit distance, when it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(word.length, best.length) / 3)) ? best : undefined;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps (`pakcages`) cost one. */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

// ---- normalisation -------------------------------------------------------------------------------------------

interface RawRecipe {
  name: string;
  description?: string;
  extends?: string;
  replaces?: { image: string; stock?: StockPreset };
  contents?: { repositories?: RecipeRepository[]; packages?: string[]; locales?: string[] };
  accounts?: { users?: Partial<RecipeUser>[]; groups?: Partial<RecipeGroup>[]; 'run-as'?: string | number };
  paths?: { path: string; type: RecipePath['type']; owner?: string | number; mode?: string; content?: string; source?: string; target?: string }[];
  'exclude-paths'?: RecipeExcludePath[];
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  environment?: Record<string, string | number | boolean>;
  ports?: (string | number)[];
  'stop-signal'?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  archs?: RecipeArch[];
  variant?: RecipeVariant;
}

const DEFAULT_MODES: Record<RecipePath['type'], number> = { directory: 0o755, file: 0o644, symlink: 0o777 };

/** One file's fields, normalised, with only what it sets (so a child can be merged over its parent). */
function normaliseOne(file: RecipeFile): Recipe {
  const raw = file.data as unknown as RawRecipe;
  const packages: string[] = [];
  const exclude: string[] = [];
  for (const [i, entry] of (raw.contents?.packages ?? []).entries()) {
    const name = entry.startsWith('!') ? entry.slice(1) : entry;
    const list = entry.startsWith('!') ? exclude : packages;
    if (list.includes(name)) throw invalidAt(file, ['contents', 'packages', String(i)], `contents.packages[${i}]: \`${entry}\` is listed twice`);
    list.push(name);
  }
  for (const name of exclude) {
    if (packages.includes(name)) {
      const i = (raw.contents?.packages ?? []).indexOf(`!${name}`);
      throw invalidAt(file, ['contents', 'packages', String(i)], `contents.packages[${i}]: \`${name}\` is both asked for and excluded`);
    }
  }
  const repositories = (raw.contents?.repositories ?? []).map((r): RecipeRepository => ({
    ...(r.uri !== undefined ? { uri: r.uri.replace(/\/+$/, '') } : {}),
    suite: r.suite,
    components: [...r.components],
    ...(r.keyring !== undefined ? { keyring: isAbsolute(r.keyring) ? r.keyring : resolve(dirname(file.path), r.keyring) } : {}),
  }));
  const users = (raw.accounts?.users ?? []).map((u): RecipeUser => ({ name: u.name!, uid: u.uid!, gid: u.gid!, home: u.home ?? (u.name === 'root' ? '/root' : `/home/${u.name!}`), shell: u.shell ?? '/sbin/nologin' }));
  const groups = (raw.accounts?.groups ?? []).map((g): RecipeGroup => ({ name: g.name!, gid: g.gid!, members: [...(g.members ?? [])] }));
  uniqueBy(file, users, ['accounts', 'users'], 'name', (u) => u.name);
  uniqueBy(file, users, ['accounts', 'users'], 'uid', (u) => String(u.uid));
  uniqueBy(file, groups, ['accounts', 'groups'], 'name', (g) => g.name);
  uniqueBy(file, groups, ['accounts', 'groups'], 'gid', (g) => String(g.gid));
  const paths = (raw.paths ?? []).map((p, i): RecipePath => normalisePath(file, p, i));
  uniqueBy(file, paths, ['paths'], 'path', (p) => p.path);
  const excludePaths = (raw['exclude-paths'] ?? []).map((e) => ({ path: e.path, reason: e.reason }));
  uniqueBy(file, excludePaths, ['exclude-paths'], 'path', (e) => e.path);
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.environment ?? {})) environment[key] = String(value);
  const ports = (raw.ports ?? []).map((p) => (typeof p === 'number' ? `${p}/tcp` : p.includes('/') ? p : `${p}/tcp`));
  for (const [i, port] of ports.entries()) {
    const n = Number(port.slice(0, port.indexOf('/')));
    if (n < 1 || n > 65535) throw invalidAt(file, ['ports', String(i)], `ports[${i}]: ${n} is not a port number (1–65535)`);
  }
  const recipe: Recipe = {
    name: raw.name,
    contents: { repositories, packages, exclude, locales: [...(raw.contents?.locales ?? [])] },
    accounts: { users, groups, runAs: raw.accounts?.['run-as'] === undefined ? '' : String(raw.accounts['run-as']) },
    paths,
    excludePaths,
    environment,
    ports,
    labels: { ...(raw.labels ?? {}) },
    annotations: { ...(raw.annotations ?? {}) },
    archs: raw.archs === undefined ? [] : [...raw.archs],
    variant: raw.variant ?? ('' as RecipeVariant),
    files: [file.path],
  };
  if (raw.description !== undefined) recipe.description = raw.description;
  if (raw.replaces !== undefined) recipe.replaces = raw.replaces.stock === undefined ? { image: raw.replaces.image } : { image: raw.replaces.image, stock: raw.replaces.stock };
  if (raw.entrypoint !== undefined) recipe.entrypoint = [...raw.entrypoint];
  if (raw.cmd !== undefined) recipe.cmd = [...raw.cmd];
  if (raw.workdir !== undefined) recipe.workdir = raw.workdir;
  if (raw['stop-signal'] !== undefined) recipe.stopSignal = raw['stop-signal'];
  return recipe;
}

function normalisePath(file: RecipeFile, p: NonNullable<RawRecipe['paths']>[number], i: number): RecipePath {
  const segments = ['paths', String(i)];
  const parts = p.path.split('/');
  if (parts.includes('..') || parts.includes('.')) throw invalidAt(file, [...segments, 'path'], `paths[${i}].path: ${JSON.stringify(p.path)} must be a plain absolute path (no . or ..)`);
  const path = '/' + parts.filter((s) => s !== '').join('/');
  if (path === '/') throw invalidAt(file, [...segments, 'path'], `paths[${i}].path: the root directory cannot be declared`);
  const out: RecipePath = { path, type: p.type, owner: p.owner === undefined ? '0:0' : String(p.owner), mode: p.mode === undefined ? DEFAULT_MODES[p.type] : parseInt(p.mode, 8) };
  if (p.type === 'file') {
    if (p.content !== undefined) out.content = Buffer.from(p.content, 'utf8');
    else if (p.source !== undefined) {
      out.source = p.source;
      out.content = readSource(file, p.source, [...segments, 'source'], i);
    } else out.content = Buffer.alloc(0);
  }
  if (p.type === 'symlink') out.target = p.target!;
  return out;
}

/** `source` files live beside the recipe: like a build context, nothing outside the recipe's directory is read. */
function readSource(file: RecipeFile, source: string, segments: string[], i: number): Buffer {
  const base = dirname(file.path);
  if (isAbsolute(source)) throw invalidAt(file, segments, `paths[${i}].source: ${JSON.stringify(source)} must be relative to the recipe's directory`);
  let real: string;
  let realBase: string;
  try {
    realBase = realpathSync(base);
    real = realpathSync(resolve(base, source));
  } catch (error) {
    throw invalidAt(file, segments, `paths[${i}].source: ${JSON.stringify(source)} not found next to the recipe`, error);
  }
  const rel = relative(realBase, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw invalidAt(file, segments, `paths[${i}].source: ${JSON.stringify(source)} leaves the recipe's directory`);
  const stat = statSync(real);
  if (!stat.isFile()) throw invalidAt(file, segments, `paths[${i}].source: ${JSON.stringify(source)} is not a regular file`);
  if (stat.size > MAX_SOURCE_BYTES) throw invalidAt(file, segments, `paths[${i}].source: ${JSON.stringify(source)} is larger than ${MAX_SOURCE_BYTES} bytes`);
  return readFileSync(real);
}

function uniqueBy<T>(file: RecipeFile, items: readonly T[], segments: string[], what: string, key: (item: T) => string): void {
  const seen = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    const k = key(item);
    const before = seen.get(k);
    if (before !== undefined) throw invalidAt(file, [...segments, String(i)], `${fieldName(segments)}[${i}]: ${what} ${k} is already used by ${fieldName(segments)}[${before}]`);
    seen.set(k, i);
  }
}

function invalidAt(file: RecipeFile, segments: readonly string[], message: string, cause?: unknown): DistillError {
  const where = `${file.path}:${locate(file, segments, false)}`;
  return new DistillError('RECIPE_INVALID', `${where}: ${message}`, { subject: where, ...(cause === undefined ? {} : { cause }) });
}

/** `child` over `parent`: scalars and lists replace, maps merge, packages/accounts/paths accumulate (child wins). */
function merge(parent: Recipe, child: Recipe): Recipe {
  const exclude = [...parent.contents.exclude.filter((n) => !child.contents.packages.includes(n)), ...child.contents.exclude.filter((n) => !parent.contents.exclude.includes(n))];
  const packages = [...parent.contents.packages.filter((n) => !child.contents.exclude.includes(n)), ...child.contents.packages.filter((n) => !parent.contents.packages.includes(n))];
  const byKey = <T>(a: readonly T[], b: readonly T[], key: (x: T) => string): T[] => {
    const keys = new Set(b.map(key));
    return [...a.filter((x) => !keys.has(key(x))), ...b];
  };
  const out: Recipe = {
    name: child.name,
    contents: {
      repositories: child.contents.repositories.length > 0 ? child.contents.repositories : parent.contents.repositories,
      packages,
      exclude,
      locales: child.contents.locales.length > 0 ? child.contents.locales : parent.contents.locales,
    },
    accounts: {
      users: byKey(parent.accounts.users, child.accounts.users, (u) => u.name),
      groups: byKey(parent.accounts.groups, child.accounts.groups, (g) => g.name),
      runAs: child.accounts.runAs !== '' ? child.accounts.runAs : parent.accounts.runAs,
    },
    paths: byKey(parent.paths, child.paths, (p) => p.path),
    excludePaths: byKey(parent.excludePaths, child.excludePaths, (e) => e.path),
    environment: { ...parent.environment, ...child.environment },
    ports: child.ports.length > 0 ? child.ports : parent.ports,
    labels: { ...parent.labels, ...child.labels },
    annotations: { ...parent.annotations, ...child.annotations },
    archs: child.archs.length > 0 ? child.archs : parent.archs,
    variant: child.variant !== ('' as RecipeVariant) ? child.variant : parent.variant,
    files: [...child.files, ...parent.files],
  };
  const description = child.description ?? parent.description;
  if (description !== undefined) out.description = description;
  const replaces = child.replaces ?? parent.replaces;
  if (replaces !== undefined) out.replaces = replaces;
  for (const key of ['entrypoint', 'cmd', 'workdir', 'stopSignal'] as const) {
    const value = child[key] ?? parent[key];
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Applies defaults and whole-recipe checks (run-as names a known user). */
function finish(recipe: Recipe, files: readonly RecipeFile[]): Recipe {
  if (recipe.archs.length === 0) recipe.archs = ['amd64', 'arm64'];
  if (recipe.variant === ('' as RecipeVariant)) recipe.variant = 'runtime';
  if (recipe.accounts.runAs === '') recipe.accounts.runAs = NONROOT.name;
  const runAs = recipe.accounts.runAs;
  if (!/^\d+(?::\d+)?$/.test(runAs) && runAs !== ROOT.name && runAs !== NONROOT.name && !recipe.accounts.users.some((u) => u.name === runAs)) {
    const file = files.find((f) => (f.data.accounts as Record<string, unknown> | undefined)?.['run-as'] !== undefined) ?? files[0]!;
    const names = [ROOT.name, NONROOT.name, ...recipe.accounts.users.map((u) => u.name)];
    const guess = closest(runAs, names);
    throw invalidAt(file, ['accounts', 'run-as'], `accounts.run-as: no user \`${runAs}\`${guess !== undefined ? `; did you mean \`${guess}\`?` : ''} (known: ${names.join(', ')}; or give uid:gid)`);
  }
  return recipe;
}

function normalise(chain: readonly RecipeFile[]): Recipe {
  let recipe = normaliseOne(chain[chain.length - 1]!);
  for (let i = chain.length - 2; i >= 0; i--) recipe = merge(recipe, normaliseOne(chain[i]!));
  return finish(recipe, chain);
}

// ---- derived values --------------------------------------------------------------------------------------------

/** What the resolver is asked for: the recipe's packages plus, for `variant: dev`, {@link DEV_PACKAGES}. */
export function requestedPackages(recipe: Recipe): { include: string[]; exclude: string[] } {
  const include = [...recipe.contents.packages];
  if (recipe.variant === 'dev') for (const name of DEV_PACKAGES) if (!include.includes(name) && !recipe.contents.exclude.includes(name)) include.push(name);
  return { include, exclude: [...recipe.contents.exclude] };
}

/** The user the image runs as: `{ uid, gid }` plus the account (name, home) when run-as names one. */
export function resolveRunAs(recipe: Recipe): { uid: number; gid: number; user?: RecipeUser } {
  const runAs = recipe.accounts.runAs;
  const numeric = /^(\d+)(?::(\d+))?$/.exec(runAs);
  if (numeric !== null) {
    const uid = Number(numeric[1]);
    const user = accountUsers(recipe).find((u) => u.uid === uid);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : user?.gid ?? uid;
    return user === undefined ? { uid, gid } : { uid, gid, user };
  }
  const user = accountUsers(recipe).find((u) => u.name === runAs)!;
  return { uid: user.uid, gid: user.gid, user };
}

/** The recipe's users plus the built-in root and nonroot (a recipe user of the same name replaces a built-in). */
export function accountUsers(recipe: Recipe): RecipeUser[] {
  const names = new Set(recipe.accounts.users.map((u) => u.name));
  return [...[ROOT, NONROOT].filter((u) => !names.has(u.name)), ...recipe.accounts.users];
}

/** sha256 (hex) of the recipe's canonical JSON: sorted keys, file contents as their sha256, the file names left out. */
export function recipeDigest(recipe: Recipe): string {
  const { files: _files, ...rest } = recipe;
  const paths = recipe.paths.map(({ source: _source, content, ...p }) => (content === undefined ? p : { ...p, contentSha256: createHash('sha256').update(content).digest('hex') }));
  return 'sha256:' + createHash('sha256').update(canonicalJson({ ...rest, paths })).digest('hex');
}

/** JSON with object keys sorted at every level and `undefined` members left out. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
