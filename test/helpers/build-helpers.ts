/** @module test/helpers/build-helpers — shared pieces of the builder e2e tests: build options on the cached deb dir, free ports, a private podman store (runc), cached catalog builds, Debian packages in Trivy's SBOM. */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage, type BuildOptions, type BuiltPackage } from '../../src/build/index.js';
import { loadRecipe, recipeDigest } from '../../src/build/recipe/recipe.js';
import { hostAptSources } from '../../src/cli/build-command.js';
import { cacheDir, cachedAsync, hasCommand, sharedDir } from './oracles.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
export const debCache = join(cacheDir, 'build-debs');
export const hostSources = hostAptSources();
/** The host can build from the real archive and run the result. */
export const buildReady = hostSources.length > 0 && hasCommand('podman') && hasCommand('runc');

/** The tests' cache key (the CLI's would be per user): the shared deb cache's sealed records stay usable across runs. */
export const testCacheKey = Buffer.from('distill test cache key, not secret');

export function buildOptions(extra: Partial<BuildOptions> = {}): BuildOptions {
  return { cacheDir: debCache, hostSources, env: {}, archs: ['amd64'], cacheKey: testCacheKey, ...extra };
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

export interface PodmanResult { status: number; stdout: string; stderr: string }
export interface Podman {
  run: (args: string[], input?: { check?: boolean; timeout?: number }) => PodmanResult;
  /** As `run`, without blocking the event loop (for containers that talk to a server in the test process). */
  runAsync: (args: string[], input?: { check?: boolean; timeout?: number }) => Promise<PodmanResult>;
  cleanup: () => void;
}

/** A private podman store under a short /tmp path (podman refuses long run roots), with runc and cgroupfs. */
export function podman(): Podman {
  const dir = mkdtempSync(join(tmpdir(), 'pm-'));
  const conf = join(dir, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n');
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  return {
    run(args, input = {}) {
      const r = spawnSync('podman', [...base, ...args], { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: conf }, timeout: input.timeout ?? 120_000 });
      if (input.check !== false && r.status !== 0) throw new Error(`podman ${args.join(' ')} failed: ${r.stderr}`);
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    runAsync(args, input = {}) {
      return new Promise((ok, fail) => {
        const child = spawn('podman', [...base, ...args], { env: { ...process.env, CONTAINERS_CONF: conf }, stdio: ['ignore', 'pipe', 'pipe'], timeout: input.timeout ?? 120_000 });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', fail);
        child.on('close', (code) => {
          if (input.check !== false && code !== 0) fail(new Error(`podman ${args.join(' ')} failed: ${stderr}`));
          else ok({ status: code ?? -1, stdout, stderr });
        });
      });
    },
    cleanup() {
      spawnSync('podman', [...base, 'rm', '-af', '-t', '0'], { env: { ...process.env, CONTAINERS_CONF: conf } });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CachedBuild {
  /** docker-archive of the amd64 image. */
  archive: string;
  packages: BuiltPackage[];
  recipeDigest: string;
}

let fingerprint: string | undefined;
/** SHA-256 over the builder's sources (what turns a recipe into an image), so a changed builder is rebuilt, not served from the cache. */
function builderFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const hash = createHash('sha256');
  for (const dir of ['src/build', 'src/oci', 'src/sbom', 'src/filesystem/tar', 'src/debian', 'src/versions']) {
    const root = join(repoRoot, dir);
    if (!existsSync(root)) continue;
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
    for (const f of files) hash.update(`${dir}/${f}\0`).update(readFileSync(join(root, f)));
  }
  return (fingerprint = hash.digest('hex'));
}

/**
 * Builds a recipe for amd64 into a docker-archive once per recipe digest and builder version (the cache survives runs,
 * so CI builds each catalog image once). The resolved package list is kept next to the archive for the Trivy comparison.
 */
export async function cachedBuild(recipePath: string, extra: Partial<BuildOptions> = {}): Promise<CachedBuild> {
  const recipe = loadRecipe(recipePath);
  const digest = recipeDigest(recipe);
  const key = createHash('sha256').update(digest).update(builderFingerprint()).digest('hex').slice(0, 16);
  const target = join(cacheDir, `catalog-build-v2-${recipe.name}-${key}`);
  const read = (): CachedBuild => ({ archive: join(target, 'image.tar'), packages: JSON.parse(readFileSync(join(target, 'packages.json'), 'utf8')) as BuiltPackage[], recipeDigest: digest });
  if (existsSync(target)) return read();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const result = await buildImage(recipePath, buildOptions({ output: `docker-archive:${join(tmp, 'image.tar')}`, ...extra }));
    writeFileSync(join(tmp, 'packages.json'), JSON.stringify(result.archs[0]!.packages));
    try {
      renameSync(tmp, target);
    } catch (error) {
      // Another test process finished the same build first: theirs is identical (reproducible builds).
      if (!existsSync(target)) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return read();
}

/** `name version` for every Debian package in a Trivy CycloneDX SBOM, the epoch put back (Trivy moves it into the purl's `epoch` qualifier). */
export function debPackagesInCycloneDx(path: string): string[] {
  const bom = JSON.parse(readFileSync(path, 'utf8')) as { components?: { name: string; version: string; purl?: string }[] };
  return (bom.components ?? []).filter((c) => c.purl?.startsWith('pkg:deb/')).map((c) => {
    const epoch = /[?&]epoch=(\d+)/.exec(c.purl!)?.[1];
    return `${c.name} ${epoch !== undefined && !c.version.startsWith(`${epoch}:`) ? `${epoch}:` : ''}${c.version}`;
  }).sort();
}

/**
 * {@link trivyImagePackages} without blocking the worker: the same cache entry (`trivy-<key>.cdx.json`), built by
 * an asynchronous child process, so several images in a row do not starve vitest's RPC (onTaskUpdate timeouts).
 */
export async function trivyImagePackagesAsync(archive: string, key: string): Promise<string> {
  return cachedAsync(`trivy-${key}.cdx.json`, (tmp) => new Promise<void>((ok, fail) => {
    const child = spawn(join(sharedDir, 'tools', 'trivy-packages'), ['image', archive, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`trivy-packages image ${archive} exited ${code}: ${stderr.slice(-2000)}`))));
  }));
}
