/** @module jobs/watch — continuous rebuild and rescan: poll the recipes' signed InRelease files, re-resolve, rebuild images whose resolved packages changed, rescan stored SBOMs when the vulnerability DB changed; every change recorded as an event. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRelease, loadKeyring, parseKeyring, type Keyring } from '../build/apt/release.js';
import { DEBIAN_ARCHIVE_KEYRING } from '../build/apt/repository.js';
import type { Repository } from '../build/apt/sources.js';
import { lockImage, repositoriesFor } from '../build/build.js';
import { loadRecipe } from '../build/recipe/recipe.js';
import { DistillError } from '../errors.js';
import type { AppStore, BuildPackage, ScanHeader } from '../storage/app-store.js';
import { buildAndStore, rescanWithHeader, withVulnDb, type JobContext } from './job-handlers.js';

/** One package's change between the last build and the new resolution (`from` absent: added; `to` absent: removed). */
export interface PackageChange {
  name: string;
  arch: string;
  from?: string;
  to?: string;
}

export type WatchEvent =
  | { kind: 'unchanged'; image: string; reason: 'release files unchanged' | 'resolved packages unchanged' }
  | { kind: 'rebuilt'; image: string; arch: string; buildId: string; scanId: string; changes: PackageChange[]; initial: boolean }
  | { kind: 'db-changed'; dbDigest: string; stale: number }
  | { kind: 'rescanned'; scanId: string; rescanOf: string; image?: string; before: number; after: number }
  | { kind: 'error'; image?: string; code: string; message: string };

export interface WatchRound {
  rebuilt: Extract<WatchEvent, { kind: 'rebuilt' }>[];
  rescanned: Extract<WatchEvent, { kind: 'rescanned' }>[];
  errors: Extract<WatchEvent, { kind: 'error' }>[];
  dbDigest: string;
}

export interface WatcherOptions {
  /** Recipe files (the catalog's `*.yaml`). */
  recipes: readonly string[];
  /** Store, vulnerability DB, tool, and `build` (cache, apt sources, output dir) as for workers. */
  context: JobContext & { build: NonNullable<JobContext['build']> };
  /** Architectures to follow (default each recipe's own). */
  archs?: string[];
  /** Clock for Release validity. */
  now?: () => Date;
  onEvent?: (event: WatchEvent) => void;
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** What changed from one package list to another, by (name, arch), in name order. */
export function diffPackages(before: readonly BuildPackage[], after: readonly BuildPackage[]): PackageChange[] {
  const key = (p: BuildPackage) => `${p.name}\u0000${p.arch}`;
  const old = new Map(before.map((p) => [key(p), p]));
  const now = new Map(after.map((p) => [key(p), p]));
  const changes: PackageChange[] = [];
  for (const [k, p] of now) {
    const was = old.get(k);
    if (!was) changes.push({ name: p.name, arch: p.arch, to: p.version });
    else if (was.version !== p.version) changes.push({ name: p.name, arch: p.arch, from: was.version, to: p.version });
  }
  for (const [k, p] of old) if (!now.has(k)) changes.push({ name: p.name, arch: p.arch, from: p.version });
  return changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
}

/** `libssl3 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1, +newpkg 1.0, -oldpkg 2.1` (at most 8 named). */
export function describeChanges(changes: readonly PackageChange[]): string {
  const parts = changes.slice(0, 8).map((c) => (c.from && c.to ? `${c.name} ${c.from} → ${c.to}` : c.to ? `+${c.name} ${c.to}` : `-${c.name} ${c.from}`));
  if (changes.length > 8) parts.push(`and ${changes.length - 8} more`);
  return parts.join(', ');
}

/** The newest scan of each (image, role, subject): what a DB change makes stale. */
export function newestPerSubject(headers: readonly ScanHeader[]): ScanHeader[] {
  const newest = new Map<string, ScanHeader>();
  for (const h of headers) {
    const key = JSON.stringify([h.image ?? null, h.role, h.subject]);
    const seen = newest.get(key);
    if (!seen || h.createdAt > seen.createdAt || (h.createdAt === seen.createdAt && h.id > seen.id)) newest.set(key, h);
  }
  return [...newest.values()];
}

/**
 * One watcher keeps, per image, the digests of the Release files it last resolved against, so an unchanged
 * archive costs one InRelease fetch and no resolution. Whether to rebuild is decided against the stored build
 * history, so a restarted watcher (or a second one) rebuilds nothing that was already built.
 */
export class Watcher {
  private readonly releases = new Map<string, string>();
  private readonly keyrings = new Map<string, Promise<Keyring>>();
  private lastDbDigest: string | undefined;

  constructor(private readonly options: WatcherOptions) {}

  private get store(): AppStore {
    return this.options.context.store;
  }

  private emit(event: WatchEvent): void {
    this.options.onEvent?.(event);
  }

  private keyringFor(repo: Repository): Promise<Keyring> {
    const key = repo.inlineKey !== undefined ? `inline:${repo.inlineKey}` : (repo.keyring ?? this.options.context.build.keyringPath ?? DEBIAN_ARCHIVE_KEYRING);
    let keyring = this.keyrings.get(key);
    if (!keyring) {
      keyring = repo.inlineKey !== undefined ? Promise.resolve(parseKeyring(repo.inlineKey, `Signed-By of ${repo.uri} ${repo.suite}`)) : loadKeyring(key);
      this.keyrings.set(key, keyring);
    }
    return keyring;
  }

  /** sha256 of each repository's verified Release text, in repository order: what the archive currently says. */
  private async releaseFingerprint(recipePath: string): Promise<string> {
    const recipe = loadRecipe(recipePath);
    const build = this.options.context.build;
    const repos = repositoriesFor(recipe, { ...(build.hostSources !== undefined ? { hostSources: build.hostSources } : {}), ...(build.env !== undefined ? { env: build.env } : {}) });
    const parts: string[] = [];
    for (const repo of repos) {
      const verified = await fetchRelease(repo, await this.keyringFor(repo), { now: this.options.now?.() ?? new Date(), ...(build.fetchImpl ? { fetchImpl: build.fetchImpl } : {}) });
      parts.push(`${repo.uri} ${repo.suite} ${sha256(verified.signedText)}`);
    }
    return sha256(parts.join('\n'));
  }

  /** Re-resolves one recipe and rebuilds the architectures whose package set differs from their newest build. */
  async checkImage(recipePath: string): Promise<Extract<WatchEvent, { kind: 'rebuilt' }>[]> {
    const fingerprint = await this.releaseFingerprint(recipePath);
    const recipe = loadRecipe(recipePath);
    if (this.releases.get(recipePath) === fingerprint) {
      this.emit({ kind: 'unchanged', image: recipe.name, reason: 'release files unchanged' });
      return [];
    }
    // Resolve into a throwaway lockfile: the watcher must not rewrite the recipe's own lock.
    const tmp = await mkdtemp(join(tmpdir(), 'distill-watch-'));
    let resolved: Record<string, BuildPackage[]>;
    try {
      const { lock } = await lockImage(recipePath, { ...this.options.context.build, ...(this.options.archs ? { archs: this.options.archs } : {}), lockPath: join(tmp, 'watch.lock.json') });
      resolved = Object.fromEntries(Object.entries(lock.archs).map(([arch, list]) => [arch, list.map((p) => ({ name: p.name, version: p.version, arch: p.architecture }))]));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const history = await this.store.listBuilds(recipe.name, { limit: 200 });
    const rebuilt: Extract<WatchEvent, { kind: 'rebuilt' }>[] = [];
    for (const [arch, packages] of Object.entries(resolved)) {
      const last = history.find((b) => b.arch === arch);
      const changes = last ? diffPackages(last.packages, packages) : [];
      if (last && changes.length === 0) continue;
      const setDigest = sha256(JSON.stringify([...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1))));
      const reason = last ? `packages changed: ${describeChanges(changes)}` : 'initial build';
      const built = await buildAndStore(this.options.context, {
        recipe: recipePath,
        archs: [arch],
        reason,
        // The same resolution is built once, however many watchers saw it.
        key: `watch:${recipe.name}:${arch}:${setDigest}`,
        eventKind: last ? 'packages-changed' : 'build',
        eventMessage: last ? `${recipe.name} (${arch}) rebuilt: ${describeChanges(changes)}` : `${recipe.name} (${arch}) built for the first time`,
        eventDetails: { arch, changes, previousBuild: last?.id ?? null, releases: fingerprint },
      });
      for (const b of built.builds) {
        const event = { kind: 'rebuilt' as const, image: recipe.name, arch: b.arch, buildId: b.buildId, scanId: b.scanId, changes, initial: !last };
        rebuilt.push(event);
        this.emit(event);
      }
    }
    if (rebuilt.length === 0) this.emit({ kind: 'unchanged', image: recipe.name, reason: 'resolved packages unchanged' });
    this.releases.set(recipePath, fingerprint);
    return rebuilt;
  }

  /** Rescans the newest scan of every (image, role, subject) made with another DB than the current one. */
  async rescanStale(): Promise<{ dbDigest: string; rescanned: Extract<WatchEvent, { kind: 'rescanned' }>[] }> {
    const ctx = this.options.context;
    const { dbDigest, feeds } = await withVulnDb(ctx.vulnDbPath, async (store, digest) => ({ dbDigest: digest, feeds: store.feeds() }));
    if (this.lastDbDigest === dbDigest) return { dbDigest, rescanned: [] };
    const stale = newestPerSubject(await this.store.listScans()).filter((h) => h.dbDigest !== dbDigest);
    const rescanned: Extract<WatchEvent, { kind: 'rescanned' }>[] = [];
    if (stale.length > 0) {
      this.emit({ kind: 'db-changed', dbDigest, stale: stale.length });
      await this.store.addEvent({
        key: `db-update:${dbDigest}`,
        kind: 'db-update',
        message: `vulnerability DB changed (${feeds.map((f) => f.feed).join(', ')}): ${stale.length} stored scans to rescan`,
        details: { dbDigest, feeds: feeds.map((f) => ({ feed: f.feed, digest: f.digest, records: f.records, recordDate: f.recordDate ?? null })), stale: stale.map((h) => h.id) },
      });
    }
    for (const header of stale) {
      const { header: next } = await rescanWithHeader(ctx, header.id);
      if (!next) continue;
      const event = { kind: 'rescanned' as const, scanId: next.id, rescanOf: header.id, ...(header.image !== undefined ? { image: header.image } : {}), before: header.summary.total, after: next.summary.total };
      rescanned.push(event);
      this.emit(event);
    }
    this.lastDbDigest = dbDigest;
    return { dbDigest, rescanned };
  }

  /** One poll: every recipe (an error in one is reported and the others go on), then the DB. */
  async round(): Promise<WatchRound> {
    const rebuilt: WatchRound['rebuilt'] = [];
    const errors: WatchRound['errors'] = [];
    for (const recipe of this.options.recipes) {
      try {
        rebuilt.push(...(await this.checkImage(recipe)));
      } catch (error) {
        const event = { kind: 'error' as const, image: recipe, code: error instanceof DistillError ? error.code : 'INTERNAL', message: (error as Error).message };
        errors.push(event);
        this.emit(event);
      }
    }
    const { dbDigest, rescanned } = await this.rescanStale();
    return { rebuilt, rescanned, errors, dbDigest };
  }
}
