/** @module build/build — the builder: recipe → verified repositories → resolution (or lock) → verified .debs → tree → setup → SBOMs → base + app layers → OCI/docker output. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DistillError } from '../errors.js';
import type { Platform } from '../oci/platform.js';
import { encodeSbom } from '../sbom/formats/index.js';
import type { DebPackage as SbomDebPackage, LinuxRelease, Relationship, Sbom } from '../sbom/package.js';
import { assignPackageIds, deriveSourcePackages, SUBJECT_ID } from '../sbom/package-id.js';
import { debPurl } from '../sbom/purl.js';
import { openRepositories, verifyRepositories, DEBIAN_ARCHIVE_KEYRING, type IndexedPackage, type PackageIndex as AptIndex, type VerifiedRepository } from './apt/repository.js';
import { packagesPath, parsePackages } from './apt/packages.js';
import { cacheSeal, readSealed, recordId, writeSealed, type CacheSeal } from './cache-seal.js';
import { cachePath, dataTarCache, fetchDeb } from './apt/fetch-deb.js';
import type { FetchImpl } from './apt/http.js';
import { resolveRepositories, type Repository, type SourcesText } from './apt/sources.js';
import { readDeb, type DebPackage } from './deb/deb-reader.js';
import { layerFromTar, treeEntries, type BuiltLayer, type FileTree, type LayerOptions, type TreeNode as LayerNode } from './layer.js';
import { tarChunks } from '../filesystem/tar/tar-writer.js';
import { MediaType } from '../oci/media-types.js';
import { createLock, lockedResolution, readLock, recipeDigest as lockDigestOf, writeLock, type Lockfile } from './lock.js';
import { buildImage as buildOciImage, buildIndex, writeDockerArchive, writeOciArchive, writeOciLayout, type BuiltImage, type ContainerConfigInput } from './oci-writer.js';
import { loadRecipe, recipeDigest, requestedPackages, type Recipe } from './recipe/recipe.js';
import { buildIndex as buildResolverIndex, lazyIndex, type LazyIndexSource } from './resolve/package-index.js';
import { resolve } from './resolve/resolver.js';
import type { ExcludedDependency, Resolution, ResolverPackage, WhyChain } from './resolve/types.js';
import { addMergedUsrLinks, installSelection, MERGED_USR_ARCH, MERGED_USR_BASE, pathExcluder, selectFiles, type DropRule, type KeptFile, type Selection } from './select.js';
import { applySetup, type SetupReport } from './setup/apply-setup.js';
import { ImageTree, type TreeNode } from './tree.js';

/** Where the SBOMs of the image's packages are written inside the image (names chosen so scanners that read SBOM files do not count the packages twice). */
export const IMAGE_SBOM_SPDX = '/usr/share/distill/sbom-spdx.json';
export const IMAGE_SBOM_CYCLONEDX = '/usr/share/distill/sbom-cyclonedx.json';
/** Recipe name whose packages make the shared base layer (when the recipe extends it, or is it). */
export const BASE_RECIPE_NAME = 'base';
/** Defaults every image gets unless the recipe's `environment` sets them. */
const DEFAULT_ENV: readonly [string, string][] = [
  ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  ['SSL_CERT_FILE', '/etc/ssl/certs/ca-certificates.crt'],
];
const DEB_CONCURRENCY = 4;

export type BuildProgress =
  | { kind: 'repositories-opened'; arch: string; repositories: number; packages: number }
  | { kind: 'resolved'; arch: string; packages: number; locked: boolean }
  | { kind: 'deb-fetched'; arch: string; name: string; cached: boolean; done: number; total: number }
  | { kind: 'layer-built'; arch: string; layer: 'base' | 'app'; digest: string; size: number }
  | { kind: 'written'; path: string; digest: string };

export type OutputSpec = { transport: 'oci' | 'oci-archive' | 'docker-archive'; path: string };

export interface BuildOptions {
  /** Architectures to build; default the recipe's `archs`. */
  archs?: string[];
  /** `oci:DIR`, `oci-archive:FILE` or `docker-archive:FILE` (single architecture). Absent: build, write nothing. */
  output?: string;
  /** Tag in the output (docker-archive repo tag `distill/<name>:<tag>`, OCI ref name). Default `latest`. */
  tag?: string;
  /** Take the packages from the lockfile (re-verified against the signed indices) instead of resolving. */
  locked?: boolean;
  /** Default: the recipe file's name with `.lock.json` instead of `.yaml`. */
  lockPath?: string;
  /** Content-addressed download cache (indices and .debs). */
  cacheDir: string;
  /** Keyring for repositories without Signed-By; default the host's Debian archive keyring. */
  keyringPath?: string;
  /** Clock for Release Valid-Until and key validity. Default the current time. */
  now?: Date;
  /** SOURCE_DATE_EPOCH (seconds): mtimes are clamped to it and it is the image's creation date. Default: the newest file date in the packages. */
  sourceDateEpoch?: number;
  /** Collect why each package is in and what the file rules dropped. */
  explain?: boolean;
  onProgress?: (event: BuildProgress) => void;
  fetchImpl?: FetchImpl;
  /** The host's apt sources files, read by the caller (`/etc/apt/sources.list.d/*.sources`, `/etc/apt/sources.list`). */
  hostSources?: readonly SourcesText[] | string;
  /** Environment object; only DISTILL_DEBIAN_MIRROR is read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The recipe whose packages form the shared base layer. Default: `base` in the extends chain, else the chain's root. */
  baseRecipe?: Recipe | string;
  /** Version recorded as the SBOM tool version. */
  toolVersion?: string;
  /**
   * The per-user key (16+ bytes, kept outside `cacheDir`) that seals the cache's derived records: InRelease
   * verifications, resolutions and data.tar digests (see docs/build.md, "What the cache trusts"). Without it those
   * records are neither read nor written and every build verifies, resolves and decompresses from scratch.
   */
  cacheKey?: Uint8Array;
}

export interface PackageExplain {
  name: string;
  version: string;
  why: WhyChain;
  layer: 'base' | 'app';
  dropped: Partial<Record<DropRule, { entries: number; bytes: number }>>;
  rewritten: number;
  files: number;
}

export interface ArchExplain {
  packages: PackageExplain[];
  excluded: ExcludedDependency[];
  /** Totals per drop rule over every package. */
  dropped: Partial<Record<DropRule, { entries: number; bytes: number }>>;
  effects: Record<string, string>;
}

export interface BuiltPackage {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  source: string;
}

export interface ArchBuild {
  arch: string;
  packages: BuiltPackage[];
  image: BuiltImage;
  baseLayer: { digest: string; diffId: string; size: number; packages: string[] };
  appLayer?: { digest: string; diffId: string; size: number };
  /** Sum of the compressed layer blobs. */
  compressedSize: number;
  /** Sum of the uncompressed layer tars. */
  uncompressedSize: number;
  epoch: number;
  setup: SetupReport;
  sbom: { spdx: string; cyclonedx: string };
  explain?: ArchExplain;
}

export interface BuildResult {
  recipe: Recipe;
  recipeDigest: string;
  /** Digest of what the output's tag names: the manifest (one arch) or the index. */
  digest: string;
  manifestDigests: string[];
  archs: ArchBuild[];
  output?: { transport: OutputSpec['transport']; path: string; sboms: string[]; summary: string };
  lock: { used: boolean; path?: string };
}

/** Parses `oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`. */
export function parseOutput(text: string): OutputSpec {
  const colon = text.indexOf(':');
  const transport = colon < 0 ? '' : text.slice(0, colon);
  const path = text.slice(colon + 1);
  if ((transport !== 'oci' && transport !== 'oci-archive' && transport !== 'docker-archive') || path === '') {
    throw new DistillError('USAGE', `output "${text}" is not oci:DIR, oci-archive:FILE or docker-archive:FILE`, { subject: text });
  }
  return { transport, path };
}

/** The lockfile next to a recipe: `images/nginx.yaml` → `images/nginx.lock.json`. */
export function defaultLockPath(recipePath: string): string {
  return join(dirname(recipePath), `${basename(recipePath).replace(/\.ya?ml$/, '')}.lock.json`);
}

/** What the lock's recipeDigest covers: only what changes the resolution (contents, variant). */
export function lockRecipeDigest(recipe: Recipe): string {
  return lockDigestOf({ contents: recipe.contents, variant: recipe.variant });
}

function loadIfPath(recipe: Recipe | string): Recipe {
  return typeof recipe === 'string' ? loadRecipe(recipe) : recipe;
}

function hostSourcesOf(options: BuildOptions): SourcesText[] {
  const h = options.hostSources;
  if (h === undefined) return [];
  if (typeof h === 'string') return h.trim() === '' ? [] : [{ path: /^\s*(Types|URIs):/m.test(h) ? 'host.sources' : 'sources.list', text: h }];
  return [...h];
}

/** The repositories to open: the recipe's own (those with a URI), else the host's sources / DISTILL_DEBIAN_MIRROR with the recipe's suites. */
export function repositoriesFor(recipe: Recipe, options: Pick<BuildOptions, 'hostSources' | 'env'>): Repository[] {
  const withUri = recipe.contents.repositories.filter((r) => r.uri !== undefined);
  const recipeRepos: Repository[] = withUri.map((r) => ({ uri: r.uri!, suite: r.suite, components: [...r.components], ...(r.keyring !== undefined ? { keyring: r.keyring } : {}) }));
  const suites = recipe.contents.repositories.map((r) => r.suite);
  const components = [...new Set(recipe.contents.repositories.flatMap((r) => r.components))];
  const input: Parameters<typeof resolveRepositories>[0] = { recipe: recipeRepos, host: hostSourcesOf(options as BuildOptions), suites, components };
  if (options.env !== undefined) input.env = options.env;
  let repos = resolveRepositories(input);
  // Recipe suites without a URI restrict the host's list to those suites.
  if (recipeRepos.length === 0 && suites.length > 0) {
    const wanted = new Set(suites);
    const kept = repos.filter((r) => wanted.has(r.suite));
    if (kept.length === 0) throw new DistillError('USAGE', `none of the recipe's suites (${suites.join(', ')}) is in the configured apt sources`, { subject: 'contents.repositories' });
    repos = kept;
  }
  return repos;
}

const FIELD_PATTERNS = new Map<string, RegExp>();

/** Only the fields the resolver parses lazily, taken from the verbatim paragraph. */
function rawField(raw: string, name: string): string | undefined {
  // Called three times per package of the whole index: compile each pattern once.
  let re = FIELD_PATTERNS.get(name);
  if (re === undefined) FIELD_PATTERNS.set(name, (re = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t].*)*)`, 'mi')));
  const m = re.exec(raw);
  return m === null ? undefined : m[1]!.replace(/\n[ \t]+/g, ' ').trim();
}

const converted = new WeakMap<object, ResolverPackage>();

function toResolver(ip: IndexedPackage, back: Map<ResolverPackage, IndexedPackage>): ResolverPackage {
  let p = converted.get(ip.record);
  if (p === undefined) {
    const r = ip.record;
    p = { name: r.package, version: r.version, architecture: r.architecture, multiArch: r.multiArch, essential: r.essential, filename: r.filename, sha256: r.sha256, size: r.size, source: r.source ?? r.package, repository: { uri: ip.repository.uri, suite: ip.repository.suite } };
    const depends = rawField(r.raw, 'Depends');
    const preDepends = rawField(r.raw, 'Pre-Depends');
    const provides = rawField(r.raw, 'Provides');
    if (depends !== undefined) p.depends = depends;
    if (preDepends !== undefined) p.preDepends = preDepends;
    if (provides !== undefined) p.provides = provides;
    if (r.priority !== undefined) p.priority = r.priority;
    converted.set(r, p);
  }
  back.set(p, ip);
  return p;
}

/** The recipe whose packages make the shared base layer. */
function baseRecipeOf(recipe: Recipe, option: Recipe | string | undefined): Recipe {
  if (option !== undefined) return loadIfPath(option);
  if (recipe.name === BASE_RECIPE_NAME || recipe.files.length <= 1) return recipe;
  let root = recipe;
  for (const file of recipe.files.slice(1)) {
    const r = loadRecipe(file);
    if (r.name === BASE_RECIPE_NAME) return r;
    root = r;
  }
  return root;
}

function maxMtime(debs: Iterable<DebPackage>): number {
  let max = 0;
  for (const d of debs) for (const f of d.files) if (f.mtime > max) max = f.mtime;
  return max;
}

function toLayerTree(entries: Iterable<[string, TreeNode]>): FileTree {
  const out: FileTree = new Map();
  for (const [path, n] of entries) out.set(path, layerNode(n));
  return out;
}

function layerNode(n: TreeNode): LayerNode {
  const base = { mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtime };
  switch (n.type) {
    case 'file': return { ...base, type: 'file', content: n.content ?? Buffer.alloc(0) };
    case 'dir': return { ...base, type: 'dir' };
    case 'symlink': return { ...base, type: 'symlink', linkTarget: n.target ?? '' };
    case 'hardlink': return { ...base, type: 'hardlink', linkTarget: n.target ?? '' };
  }
}

function sameNode(a: TreeNode, b: TreeNode, clamp: number): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || Math.min(a.mtime, clamp) !== Math.min(b.mtime, clamp) || a.target !== b.target) return false;
  if (a.type !== 'file') return true;
  const x = a.content ?? Buffer.alloc(0);
  const y = b.content ?? Buffer.alloc(0);
  return x === y || x.equals(y);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * The app layer: every node of the full tree that the base layer lacks or has differently, with its parent
 * directories (their full-tree metadata), plus whiteouts for base nodes the full tree removed.
 */
function diffTree(full: ImageTree, base: ImageTree, clamp: number): FileTree {
  const out: FileTree = new Map();
  const addParents = (path: string): void => {
    for (let p = parentOf(path); p !== '/' && !out.has(p); p = parentOf(p)) {
      const n = full.nodes.get(p);
      if (n !== undefined) out.set(p, layerNode(n));
    }
  };
  for (const [path, node] of full.walk()) {
    const b = base.nodes.get(path);
    if (b !== undefined && sameNode(node, b, clamp)) continue;
    out.set(path, layerNode(node));
    addParents(path);
  }
  for (const [path] of base.walk()) {
    if (full.nodes.has(path) || !full.nodes.has(parentOf(path)) && parentOf(path) !== '/') continue;
    const wh = `${parentOf(path) === '/' ? '' : parentOf(path)}/.wh.${path.slice(path.lastIndexOf('/') + 1)}`;
    out.set(wh, { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: clamp, content: Buffer.alloc(0) });
    addParents(wh);
  }
  return out;
}

function releaseOf(tree: ImageTree): LinuxRelease {
  const found = tree.lookup('/etc/os-release');
  const text = found?.node.type === 'file' ? (found.node.content ?? Buffer.alloc(0)).toString('utf8') : '';
  const get = (k: string): string | undefined => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text);
    return m === null ? undefined : m[1]!.replace(/^"(.*)"$/, '$1');
  };
  const release: LinuxRelease = { id: get('ID') ?? 'debian', idLike: (get('ID_LIKE') ?? '').split(' ').filter(Boolean) };
  const versionId = get('VERSION_ID');
  const codename = get('VERSION_CODENAME');
  const pretty = get('PRETTY_NAME');
  if (versionId !== undefined) release.versionId = versionId;
  if (codename !== undefined) release.versionCodename = codename;
  if (pretty !== undefined) release.prettyName = pretty;
  const dv = tree.lookup('/etc/debian_version');
  if (dv?.node.type === 'file') release.precise = (dv.node.content ?? Buffer.alloc(0)).toString('utf8').trim();
  return release;
}

interface Installed {
  resolved: ResolverPackage;
  deb: DebPackage;
  selection: Selection;
}

/** An SBOM of the installed packages, built from the resolution and the files kept (no cataloging involved). */
export function imageSbom(input: { name: string; arch: string; packages: readonly { resolved: ResolverPackage; deb: DebPackage; files: readonly KeptFile[] }[]; release: LinuxRelease; epoch: number; toolVersion: string; digest?: string; layers?: string[] }): Sbom {
  const platform: Platform = { os: 'linux', architecture: input.arch };
  const pkgs: SbomDebPackage[] = input.packages.map(({ resolved, deb, files }) => {
    const f = deb.control.fields;
    const sourceField = f.get('source') ?? '';
    const sm = /^(\S+)(?:\s*\((\S+)\))?/.exec(sourceField);
    const pkg: SbomDebPackage = {
      type: 'deb',
      id: '',
      name: resolved.name,
      version: resolved.version,
      purl: debPurl({ name: resolved.name, version: resolved.version, architecture: resolved.architecture, release: input.release }),
      cpes: [],
      licenses: [],
      locations: [{ path: `/var/lib/dpkg/status.d/${resolved.name}` }],
      foundBy: 'distill-build',
      architecture: resolved.architecture,
      sourceName: sm?.[1] ?? resolved.name,
      sourceVersion: sm?.[2] ?? resolved.version,
      files: files.map((k) => k.path),
    };
    const maintainer = f.get('maintainer');
    if (maintainer !== undefined) pkg.maintainer = maintainer;
    const installed = Number(f.get('installed-size'));
    if (Number.isFinite(installed) && installed > 0) pkg.installedSize = installed;
    return pkg;
  });
  const packages = assignPackageIds(pkgs);
  const sourcePackages = deriveSourcePackages(packages, input.release);
  const relationships: Relationship[] = packages.map((p) => ({ from: SUBJECT_ID, to: p.id, type: 'contains' as const }));
  const srcByPurl = new Map(sourcePackages.map((s) => [`${s.name}@${s.version}`, s.id]));
  for (const p of packages) {
    const src = srcByPurl.get(`${p.sourceName}@${p.sourceVersion}`);
    if (src !== undefined) relationships.push({ from: p.id, to: src, type: 'built-from' });
  }
  const subject: Sbom['subject'] = { reference: `distill/${input.name}`, transport: 'distill-build', platform, layers: input.layers ?? [], tags: [] };
  if (input.digest !== undefined) subject.digest = input.digest;
  return { subject, distro: input.release, packages, sourcePackages, relationships, issues: [], createdAt: new Date(input.epoch * 1000).toISOString(), tool: { name: 'distill', version: input.toolVersion } };
}

const gunzipAsync = promisify(gunzip);

const LAYER_KIND = 'layer';
const LAYER_RECORD = /^sha256:([0-9a-f]{64}) ([0-9]{1,15})\n$/;

/**
 * The layer module's buildLayer (same tar bytes), with the gzip blob cached in the download cache by diffId
 * (`<diffId hex>.layer.gz`). A cached blob is used only when it is known to compress exactly this tar: with a seal,
 * when the sealed record for this diffId names the blob's SHA256 (one hash of the blob); without one, when it
 * decompresses to exactly this tar. So the layer content never depends on the cache; anything else (damaged,
 * truncated, foreign) is recompressed and rewritten.
 */
export async function buildLayerCached(tree: FileTree, options: LayerOptions, cacheDir: string, seal?: CacheSeal): Promise<BuiltLayer> {
  const tar = Buffer.concat([...tarChunks(treeEntries(tree), { mtime: options.mtime })]);
  const diffHex = createHash('sha256').update(tar).digest('hex');
  const path = cachePath(cacheDir, diffHex, '.layer.gz');
  const record = seal === undefined ? undefined : LAYER_RECORD.exec((await readSealed(cacheDir, seal, LAYER_KIND, diffHex, 4096))?.toString('latin1') ?? '');
  const blob = await readFile(path).catch(() => undefined);
  if (blob !== undefined) {
    const digestHex = createHash('sha256').update(blob).digest('hex');
    let known = record !== undefined && record !== null && record[1] === digestHex && Number(record[2]) === blob.length;
    if (!known) {
      // The output bound keeps a hostile entry from inflating without limit.
      const back = await gunzipAsync(blob, { maxOutputLength: tar.length + 1 }).catch(() => undefined);
      known = back !== undefined && back.equals(tar);
      if (known && seal !== undefined) await writeSealed(cacheDir, seal, LAYER_KIND, diffHex, Buffer.from(`sha256:${digestHex} ${blob.length}\n`));
    }
    if (known) {
      const layer: BuiltLayer = { tar, diffId: `sha256:${diffHex}`, blob, digest: `sha256:${digestHex}`, size: blob.length, mediaType: MediaType.ociLayerGzip };
      if (options.comment !== undefined) layer.comment = options.comment;
      if (options.createdBy !== undefined) layer.createdBy = options.createdBy;
      return layer;
    }
  }
  const layer = await layerFromTar(tar, options);
  const tmp = join(dirname(path), `.tmp-${diffHex.slice(0, 16)}-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, layer.blob);
    await rename(tmp, path);
    if (seal !== undefined) await writeSealed(cacheDir, seal, LAYER_KIND, diffHex, Buffer.from(`sha256:${layer.digest.slice(7)} ${layer.size}\n`));
  } catch {
    // An unwritable cache only costs the next build a compression.
    await rm(tmp, { force: true });
  }
  return layer;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function addDrops(into: Partial<Record<DropRule, { entries: number; bytes: number }>>, from: Selection['dropped']): void {
  for (const [rule, v] of Object.entries(from) as [DropRule, { entries: number; bytes: number }][]) {
    const slot = (into[rule] ??= { entries: 0, bytes: 0 });
    slot.entries += v.entries;
    slot.bytes += v.bytes;
  }
}

interface OpenedArch {
  apt: AptIndex;
  back: Map<ResolverPackage, IndexedPackage>;
  latest: ReturnType<typeof buildResolverIndex>;
  all: () => ReturnType<typeof buildResolverIndex>;
}

function sealOf(options: BuildOptions): CacheSeal | undefined {
  return options.cacheKey === undefined ? undefined : cacheSeal(options.cacheKey);
}

/** Fetches and verifies the recipe's repositories for `arch` (verifications remembered under the cache's seal). */
async function verifyArch(recipe: Recipe, arch: string, options: BuildOptions): Promise<VerifiedRepository[]> {
  const seal = sealOf(options);
  const verifyOptions: Parameters<typeof verifyRepositories>[1] = { arch, keyringPath: options.keyringPath ?? DEBIAN_ARCHIVE_KEYRING, now: options.now ?? new Date() };
  if (options.fetchImpl !== undefined) verifyOptions.fetchImpl = options.fetchImpl;
  if (seal !== undefined) verifyOptions.verificationCache = { cacheDir: options.cacheDir, seal };
  return verifyRepositories(repositoriesFor(recipe, options), verifyOptions);
}

async function openArch(arch: string, verified: readonly VerifiedRepository[], options: BuildOptions): Promise<OpenedArch> {
  const openOptions: Parameters<typeof openRepositories>[1] = { arch, keyringPath: options.keyringPath ?? DEBIAN_ARCHIVE_KEYRING, cacheDir: options.cacheDir, now: options.now ?? new Date(), verified };
  if (options.fetchImpl !== undefined) openOptions.fetchImpl = options.fetchImpl;
  const apt = await openRepositories(verified.map((v) => v.repository), openOptions);
  options.onProgress?.({ kind: 'repositories-opened', arch, repositories: apt.repositories.length, packages: apt.size });
  const back = new Map<ResolverPackage, IndexedPackage>();
  const source = (allVersions: boolean): LazyIndexSource => ({
    names: () => apt.names(),
    packages: (name) => (allVersions ? apt.versions(name) : apt.versions(name).slice(0, 1)).map((ip) => toResolver(ip, back)),
    providedNames: () => apt.providedNames(),
    providerCandidates: (name) => apt.providerCandidates(name, allVersions).map((ip) => toResolver(ip, back)),
  });
  // Both views are computed per name as the resolver (or the lock check) asks: a build reads a few dozen records.
  const latest = lazyIndex(source(false), arch);
  // Every published version (older point releases stay in the base suite): what a lock is re-checked against.
  const all = (): ReturnType<typeof buildResolverIndex> => lazyIndex(source(true), arch);
  return { apt, back, latest, all };
}

/** Bumped whenever the resolver or the default exclusions change what a recipe resolves to. */
const RESOLUTION_FORMAT = 'resolution v1';
const RESOLUTION_KIND = 'resolution';

interface ResolutionRecord {
  /** Distinct package names in the indices (for the progress event). */
  size: number;
  /** The resolved packages: the repository (index into the verified list) and the index paragraph exactly. */
  packages: { repository: number; raw: string }[];
  /** Names of the base recipe's closure. */
  base: string[];
}

/**
 * What a resolution depends on: the recipe's and the base recipe's requests, the architecture, and each verified
 * repository with the SHA256 its signed Release gives for the Packages index read. The same inputs resolve the same
 * way, so an unchanged archive needs no index read at all; any new index (a point release, a security update) is a
 * new id, resolved afresh.
 */
function resolutionId(recipe: Recipe, baseRecipe: Recipe, arch: string, verified: readonly VerifiedRepository[], toolVersion: string): string | undefined {
  const repositories: unknown[] = [];
  for (const { repository, release } of verified) {
    const indices: [string, string][] = [];
    for (const component of repository.components) {
      const entry = release.sha256.get(packagesPath(component, arch));
      if (entry === undefined) return undefined;
      indices.push([component, entry.sha256]);
    }
    repositories.push({ uri: repository.uri, suite: repository.suite, indices });
  }
  return recordId(RESOLUTION_FORMAT, toolVersion, arch, JSON.stringify({ recipe: requestedPackages(recipe), base: requestedPackages(baseRecipe), repositories }));
}

/** A remembered resolution as resolver packages (with their index records in `back`), or undefined on any mismatch. */
function fromResolutionRecord(body: Buffer, verified: readonly VerifiedRepository[], back: Map<ResolverPackage, IndexedPackage>): { packages: ResolverPackage[]; baseNames: Set<string>; size: number } | undefined {
  let record: ResolutionRecord;
  try {
    record = JSON.parse(body.toString('utf8')) as ResolutionRecord;
  } catch {
    return undefined;
  }
  if (!Array.isArray(record.packages) || !Array.isArray(record.base) || typeof record.size !== 'number') return undefined;
  const packages: ResolverPackage[] = [];
  for (const entry of record.packages) {
    const repository = verified[entry.repository]?.repository;
    const parsed = typeof entry.raw === 'string' ? parsePackages(entry.raw, 'resolution record') : undefined;
    if (repository === undefined || parsed === undefined || parsed.records.length !== 1 || parsed.issues.length > 0) return undefined;
    packages.push(toResolver({ record: parsed.records[0]!, repository }, back));
  }
  return { packages, baseNames: new Set(record.base), size: record.size };
}

function lockPathOf(options: BuildOptions): string {
  return options.lockPath ?? 'the lockfile';
}

/** The base recipe's closure inside a locked set: base packages the lock does not hold are simply not in the base layer. */
function resolveBaseWithin(base: Recipe, within: ReturnType<typeof buildResolverIndex>, arch: string): Resolution {
  const { include, exclude } = requestedPackages(base);
  const present = include.filter((text) => within.byName.has(/^[^\s=(:]+/.exec(text.trim())?.[0] ?? text));
  return resolve(within, present, { arch, exclude });
}

function resolveRecipe(recipe: Recipe, index: ReturnType<typeof buildResolverIndex>, arch: string): Resolution {
  const { include, exclude } = requestedPackages(recipe);
  return resolve(index, include, { arch, exclude });
}

function archsOf(recipe: Recipe, options: { archs?: string[] }): string[] {
  const archs = options.archs !== undefined && options.archs.length > 0 ? options.archs : [...recipe.archs];
  return [...new Set(archs)];
}

/** Resolves every architecture of the recipe and writes the lockfile. Returns the lock and where it went. */
export async function lockImage(recipeInput: Recipe | string, options: BuildOptions): Promise<{ lock: Lockfile; path: string; resolutions: Resolution[] }> {
  const recipe = loadIfPath(recipeInput);
  const path = options.lockPath ?? (typeof recipeInput === 'string' ? defaultLockPath(recipeInput) : undefined);
  if (path === undefined) throw new DistillError('USAGE', 'a lock path is needed when the recipe is not a file', { subject: 'lockPath' });
  const resolutions: Resolution[] = [];
  for (const arch of archsOf(recipe, options)) {
    const opened = await openArch(arch, await verifyArch(recipe, arch, options), options);
    const resolution = resolveRecipe(recipe, opened.latest, arch);
    options.onProgress?.({ kind: 'resolved', arch, packages: resolution.packages.length, locked: false });
    resolutions.push(resolution);
  }
  const lock = createLock(lockRecipeDigest(recipe), resolutions);
  await mkdir(dirname(path), { recursive: true });
  writeLock(path, lock);
  return { lock, path, resolutions };
}

/** Builds the recipe for each architecture and writes the output (see docs/build.md). */
export async function buildImage(recipeInput: Recipe | string, options: BuildOptions): Promise<BuildResult> {
  const recipe = loadIfPath(recipeInput);
  const archs = archsOf(recipe, options);
  const output = options.output === undefined ? undefined : parseOutput(options.output);
  if (output?.transport === 'docker-archive' && archs.length !== 1) {
    throw new DistillError('USAGE', `a docker archive holds one platform; ${archs.length} architectures were asked for (${archs.join(', ')})`, { subject: options.output, hint: 'add --arch amd64 (or use oci:DIR for a multi-platform index)' });
  }
  const digest = recipeDigest(recipe);
  let lock: Lockfile | undefined;
  let lockPath: string | undefined;
  if (options.locked === true) {
    lockPath = options.lockPath ?? (typeof recipeInput === 'string' ? defaultLockPath(recipeInput) : undefined);
    if (lockPath === undefined) throw new DistillError('USAGE', '--locked needs a lock path when the recipe is not a file', { subject: 'lockPath' });
    lock = readLock(lockPath);
    if (lock.recipeDigest !== lockRecipeDigest(recipe)) {
      throw new DistillError('LOCK_STALE', `${lockPath} was made from other recipe contents (lock ${lock.recipeDigest}, recipe ${lockRecipeDigest(recipe)})`, { subject: lockPath, hint: 'run `distill lock RECIPE` to refresh the lock' });
    }
  }
  const baseRecipe = baseRecipeOf(recipe, options.baseRecipe);
  const builds: ArchBuild[] = [];
  for (const arch of archs) builds.push(await buildArch(recipe, baseRecipe, arch, digest, lock, options));

  const tag = options.tag ?? 'latest';
  const built = builds.length === 1 ? builds[0]!.image : buildIndex(builds.map((b) => b.image));
  const result: BuildResult = { recipe, recipeDigest: digest, digest: built.descriptor.digest, manifestDigests: builds.map((b) => b.image.manifestDigest), archs: builds, lock: lockPath === undefined ? { used: false } : { used: true, path: lockPath } };
  if (output !== undefined) {
    await mkdir(dirname(output.path), { recursive: true });
    if (output.transport === 'oci') await writeOciLayout(output.path, built, { tag, platformTags: builds.length > 1 });
    else if (output.transport === 'oci-archive') await writeOciArchive(output.path, built, { tag, platformTags: builds.length > 1 });
    else await writeDockerArchive(output.path, builds[0]!.image, { repoTags: [`distill/${recipe.name}:${tag}`] });
    const sboms: string[] = [];
    for (const b of builds) {
      for (const [ext, text] of [['spdx.json', b.sbom.spdx], ['cdx.json', b.sbom.cyclonedx]] as const) {
        const path = `${output.path}.${b.arch}.${ext}`;
        await writeFile(path, text).catch((error: unknown) => {
          throw new DistillError('IO', `cannot write ${path}: ${(error as Error).message}`, { subject: path, cause: error });
        });
        sboms.push(path);
      }
    }
    const summaryPath = `${output.path}.build.json`;
    await writeFile(summaryPath, `${JSON.stringify(buildSummary(result), null, 2)}\n`).catch((error: unknown) => {
      throw new DistillError('IO', `cannot write ${summaryPath}: ${(error as Error).message}`, { subject: summaryPath, cause: error });
    });
    result.output = { transport: output.transport, path: output.path, sboms, summary: summaryPath };
    options.onProgress?.({ kind: 'written', path: output.path, digest: result.digest });
  }
  return result;
}

async function buildArch(recipe: Recipe, baseRecipe: Recipe, arch: string, digest: string, lock: Lockfile | undefined, options: BuildOptions): Promise<ArchBuild> {
  const verified = await verifyArch(recipe, arch, options);
  const seal = sealOf(options);
  let packages: ResolverPackage[] | undefined;
  let resolution: Resolution | undefined;
  let baseNames: Set<string> | undefined;
  // Where each resolved package's .deb comes from (its signed index record and repository).
  let back = new Map<ResolverPackage, IndexedPackage>();
  // A plain build (no lock, no --explain: both need the index itself) first looks for a remembered resolution of
  // exactly these inputs; it is trusted only under the cache's seal (see resolutionId).
  const remember = seal !== undefined && lock === undefined && options.explain !== true ? resolutionId(recipe, baseRecipe, arch, verified, options.toolVersion ?? '0.0.0') : undefined;
  if (remember !== undefined) {
    const body = await readSealed(options.cacheDir, seal!, RESOLUTION_KIND, remember);
    const hit = body === undefined ? undefined : fromResolutionRecord(body, verified, back);
    if (hit !== undefined) {
      options.onProgress?.({ kind: 'repositories-opened', arch, repositories: verified.length, packages: hit.size });
      ({ packages, baseNames } = hit);
    } else {
      back = new Map();
    }
  }
  if (packages === undefined || baseNames === undefined) {
    const opened = await openArch(arch, verified, options);
    back = opened.back;
    // With a lock, everything past this point is derived from the locked packages alone (re-verified against the
    // signed index): the base split and --explain's why-chains resolve within that set, never against the index
    // as it is today, so a newer archive cannot move a package between layers of a locked build.
    let within: ReturnType<typeof buildResolverIndex> | undefined;
    if (lock !== undefined) {
      packages = lockedResolution(lock, opened.all()).packages;
      within = buildResolverIndex(packages, arch);
      // The recipe must resolve within the lock: an edited lock missing part of the closure would build a broken image.
      let inLock: Resolution;
      try {
        inLock = resolveRecipe(recipe, within, arch);
      } catch (error) {
        if (!(error instanceof DistillError) || (error.code !== 'RESOLVE_CONFLICT' && error.code !== 'RESOLVE_UNKNOWN_PACKAGE')) throw error;
        throw new DistillError('LOCK_STALE', `the lock's ${arch} packages are not the recipe's closure: ${error.message}`, { subject: lockPathOf(options), hint: 'run `distill lock RECIPE` to refresh the lock', cause: error });
      }
      if (options.explain === true) resolution = inLock;
    } else {
      resolution = resolveRecipe(recipe, opened.latest, arch);
      packages = resolution.packages;
    }
    baseNames = new Set((within === undefined ? resolveRecipe(baseRecipe, opened.latest, arch) : resolveBaseWithin(baseRecipe, within, arch)).packages.map((p) => p.name));
    if (remember !== undefined) {
      const record: ResolutionRecord = { size: opened.apt.size, base: [...baseNames].sort(), packages: [] };
      for (const p of packages) {
        const ip = opened.back.get(p);
        const repository = ip === undefined ? -1 : verified.findIndex((v) => v.repository === ip.repository);
        if (ip === undefined || repository < 0) break;
        record.packages.push({ repository, raw: ip.record.raw });
      }
      if (record.packages.length === packages.length) await writeSealed(options.cacheDir, seal!, RESOLUTION_KIND, remember, Buffer.from(JSON.stringify(record)));
    }
  }
  options.onProgress?.({ kind: 'resolved', arch, packages: packages.length, locked: lock !== undefined });

  // Fetch (sha256-verified, cached) and read every .deb.
  const exclude = pathExcluder(recipe.excludePaths.map((e) => e.path));
  let done = 0;
  // Decompressed data.tars are reused only under the cache's seal (a forged entry could otherwise put files in the image).
  const tarCache = seal === undefined ? undefined : dataTarCache(options.cacheDir, seal);
  const installed: Installed[] = await mapLimit(packages, DEB_CONCURRENCY, async (resolved) => {
    const ip = back.get(resolved);
    if (ip === undefined) throw new DistillError('USAGE', `${resolved.name} ${resolved.version} is not from an opened repository`, { subject: resolved.name });
    const http = options.fetchImpl === undefined ? {} : { fetchImpl: options.fetchImpl };
    const fetched = await fetchDeb(ip.record, ip.repository, options.cacheDir, http);
    const deb = await readDeb(fetched.data ?? fetched.path, { label: `${resolved.name}_${resolved.version}_${resolved.architecture}.deb`, debSha256: fetched.sha256, ...(tarCache === undefined ? {} : { dataTarCache: tarCache }) });
    const selection = selectFiles(deb.files, { package: resolved.name, conffiles: deb.conffiles, locales: recipe.contents.locales, ...(exclude === undefined ? {} : { exclude }) });
    options.onProgress?.({ kind: 'deb-fetched', arch, name: resolved.name, cached: fetched.cached, done: ++done, total: packages.length });
    return { resolved, deb, selection };
  });
  installed.sort((a, b) => (a.resolved.name < b.resolved.name ? -1 : a.resolved.name > b.resolved.name ? 1 : 0));

  const inBase = (i: Installed): boolean => baseNames.has(i.resolved.name);
  const epoch = options.sourceDateEpoch ?? maxMtime(installed.map((i) => i.deb));
  const baseEpoch = options.sourceDateEpoch ?? maxMtime(installed.filter(inBase).map((i) => i.deb));
  const mergedDirs = [...MERGED_USR_BASE, ...(MERGED_USR_ARCH[arch] ?? [])];

  // The base tree: only the base packages, so every image extending `base` gets byte-identical base layers.
  const baseTree = new ImageTree();
  addMergedUsrLinks(baseTree, mergedDirs, baseEpoch);
  for (const i of installed.filter(inBase)) installSelection(baseTree, i.selection);

  // The full tree: base packages first (same first-seen directory metadata as the base tree), then the rest.
  const tree = new ImageTree();
  addMergedUsrLinks(tree, mergedDirs, baseEpoch);
  const ordered = [...installed.filter(inBase), ...installed.filter((i) => !inBase(i))];
  const kept = new Map<string, KeptFile[]>();
  for (const i of ordered) kept.set(i.resolved.name, installSelection(tree, i.selection));
  const setup = applySetup(tree, { packages: installed.map((i) => ({ control: i.deb.control.text, files: kept.get(i.resolved.name) ?? [] })), recipe, arch, mtime: epoch });

  // SBOMs inside the image (no image digest: it cannot name itself) and, with the digest, next to the output.
  const release = releaseOf(tree);
  const toolVersion = options.toolVersion ?? '0.0.0';
  const sbomInput = { name: recipe.name, arch, packages: installed.map((i) => ({ resolved: i.resolved, deb: i.deb, files: kept.get(i.resolved.name) ?? [] })), release, epoch, toolVersion };
  const inner = imageSbom(sbomInput);
  tree.mkdirp('/usr/share/distill', { mtime: epoch, origin: 'setup:sbom' });
  tree.addFile(IMAGE_SBOM_SPDX, encodeSbom(inner, 'spdx-json'), { mode: 0o644, mtime: epoch, origin: 'setup:sbom' });
  tree.addFile(IMAGE_SBOM_CYCLONEDX, encodeSbom(inner, 'cyclonedx-json'), { mode: 0o644, mtime: epoch, origin: 'setup:sbom' });

  // The two layers compress (or re-verify from the cache) on the thread pool at the same time; events stay in order.
  const basePending = buildLayerCached(toLayerTree(baseTree.walk()), { mtime: baseEpoch, comment: `distill base layer: ${[...baseNames].filter((n) => installed.some((i) => i.resolved.name === n)).sort().join(' ')}`, createdBy: 'distill build (base)' }, options.cacheDir, seal);
  // Observed below; this only keeps a failure from being reported as unhandled while the app tree is diffed.
  basePending.catch(() => {});
  const appTree = diffTree(tree, baseTree, epoch);
  const appPending = appTree.size > 0 ? buildLayerCached(appTree, { mtime: epoch, comment: `distill ${recipe.name}: packages, accounts, setup`, createdBy: `distill build ${recipe.name}` }, options.cacheDir, seal) : undefined;
  appPending?.catch(() => {});
  const baseLayer = await basePending;
  options.onProgress?.({ kind: 'layer-built', arch, layer: 'base', digest: baseLayer.digest, size: baseLayer.size });
  const layers: BuiltLayer[] = [baseLayer];
  let appLayer: BuiltLayer | undefined;
  if (appPending !== undefined) {
    appLayer = await appPending;
    layers.push(appLayer);
    options.onProgress?.({ kind: 'layer-built', arch, layer: 'app', digest: appLayer.digest, size: appLayer.size });
  }

  const env = new Map(Object.entries(recipe.environment));
  for (const [k, v] of DEFAULT_ENV) if (!env.has(k)) env.set(k, v);
  const created = new Date(epoch * 1000).toISOString();
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': `distill/${recipe.name}`,
    'org.opencontainers.image.created': created,
    'dev.distill.base-layer': baseLayer.digest,
    'dev.distill.recipe-digest': digest,
    'dev.distill.variant': recipe.variant,
  };
  if (recipe.description !== undefined) labels['org.opencontainers.image.description'] = recipe.description;
  if (recipe.replaces !== undefined) labels['dev.distill.replaces'] = recipe.replaces.image;
  Object.assign(labels, recipe.labels);
  const config: ContainerConfigInput = { user: `${setup.runAs.uid}:${setup.runAs.gid}`, env: [...env].map(([k, v]) => `${k}=${v}`), exposedPorts: [...recipe.ports], labels };
  if (recipe.entrypoint !== undefined) config.entrypoint = [...recipe.entrypoint];
  if (recipe.cmd !== undefined) config.cmd = [...recipe.cmd];
  if (recipe.workdir !== undefined) config.workingDir = recipe.workdir;
  if (recipe.stopSignal !== undefined) config.stopSignal = recipe.stopSignal;
  const annotations: Record<string, string> = { 'org.opencontainers.image.title': `distill/${recipe.name}`, 'org.opencontainers.image.created': created, 'org.opencontainers.image.base.digest': baseLayer.digest, ...recipe.annotations };
  const image = buildOciImage({ platform: { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : {}) }, layers, config, created: epoch, author: 'distill', annotations });

  const outer = imageSbom({ ...sbomInput, digest: image.manifestDigest, layers: layers.map((l) => l.diffId) });
  const build: ArchBuild = {
    arch,
    packages: installed.map((i) => ({ name: i.resolved.name, version: i.resolved.version, architecture: i.resolved.architecture, sha256: i.resolved.sha256 ?? '', source: i.resolved.source ?? i.resolved.name })),
    image,
    baseLayer: { digest: baseLayer.digest, diffId: baseLayer.diffId, size: baseLayer.size, packages: installed.filter(inBase).map((i) => i.resolved.name) },
    compressedSize: layers.reduce((s, l) => s + l.size, 0),
    uncompressedSize: layers.reduce((s, l) => s + l.tar.length, 0),
    epoch,
    setup,
    sbom: { spdx: encodeSbom(outer, 'spdx-json'), cyclonedx: encodeSbom(outer, 'cyclonedx-json') },
  };
  if (appLayer !== undefined) build.appLayer = { digest: appLayer.digest, diffId: appLayer.diffId, size: appLayer.size };
  if (options.explain === true) {
    const dropped: ArchExplain['dropped'] = {};
    for (const i of installed) addDrops(dropped, i.selection.dropped);
    build.explain = {
      packages: installed.map((i) => ({ name: i.resolved.name, version: i.resolved.version, why: resolution?.why.get(i.resolved.name) ?? 'requested', layer: inBase(i) ? 'base' : 'app', dropped: i.selection.dropped, rewritten: i.selection.rewritten, files: i.selection.entries.length })),
      excluded: resolution?.excluded ?? [],
      dropped,
      effects: setup.effects,
    };
  }
  return build;
}

/** One row of the image catalog (`distill images`). */
export interface CatalogEntry {
  name: string;
  recipe: string;
  replaces?: string;
  stock?: string;
  variant: Recipe['variant'];
  archs: string[];
  /** Package count per architecture, from the lock (absent when there is no lock). */
  packages?: Record<string, number>;
  /** Compressed layer bytes per architecture, from a build summary (absent when not built). */
  size?: Record<string, number>;
  description?: string;
}

/** What `buildImage` records next to its output (`<output>.build.json`), read back by the catalog. */
export interface BuildSummary {
  name: string;
  digest: string;
  archs: Record<string, { manifestDigest: string; packages: number; compressedSize: number; uncompressedSize: number; baseLayer: string }>;
}

export function buildSummary(result: BuildResult): BuildSummary {
  return {
    name: result.recipe.name,
    digest: result.digest,
    archs: Object.fromEntries(result.archs.map((a) => [a.arch, { manifestDigest: a.image.manifestDigest, packages: a.packages.length, compressedSize: a.compressedSize, uncompressedSize: a.uncompressedSize, baseLayer: a.baseLayer.digest }])),
  };
}

/** The catalog: every `*.yaml` recipe in `dir`, with lock package counts and, when `builtDir` holds a build summary, sizes. */
export async function catalogImages(dir: string, builtDir?: string): Promise<CatalogEntry[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (error) {
    throw new DistillError('FILE_NOT_FOUND', `cannot read the image directory ${dir}: ${(error as Error).message}`, { subject: dir, cause: error });
  }
  const built = builtDir === undefined ? [] : await readdir(builtDir).catch(() => [] as string[]);
  const entries: CatalogEntry[] = [];
  for (const file of names) {
    const path = join(dir, file);
    const recipe = loadRecipe(path);
    const entry: CatalogEntry = { name: recipe.name, recipe: path, variant: recipe.variant, archs: [...recipe.archs] };
    if (recipe.replaces !== undefined) {
      entry.replaces = recipe.replaces.image;
      if (recipe.replaces.stock !== undefined) entry.stock = recipe.replaces.stock;
    }
    if (recipe.description !== undefined) entry.description = recipe.description;
    const lockPath = defaultLockPath(path);
    if (existsSync(lockPath)) {
      const lock = readLock(lockPath);
      entry.packages = Object.fromEntries(Object.entries(lock.archs).map(([a, list]) => [a, list.length]));
    }
    const summaryFile = built.filter((n) => n.startsWith(`${recipe.name}.`) && n.endsWith('.build.json')).sort()[0];
    if (summaryFile !== undefined && builtDir !== undefined) {
      try {
        const summary = JSON.parse(await readFile(join(builtDir, summaryFile), 'utf8')) as BuildSummary;
        entry.size = Object.fromEntries(Object.entries(summary.archs).map(([a, s]) => [a, s.compressedSize]));
        entry.packages ??= Object.fromEntries(Object.entries(summary.archs).map(([a, s]) => [a, s.packages]));
      } catch {
        // A damaged summary only loses the size column.
      }
    }
    entries.push(entry);
  }
  return entries;
}
