/** @module test/helpers/oracles — builds and caches the real reference artifacts tests compare against. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** ../shared beside the checkout, as on the developer machines and in CI. */
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const sharedData = join(sharedDir, 'data');
export const cacheDir = process.env.DISTILL_TEST_CACHE ?? join(repoRoot, '.cache', 'test');

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Runs `build(tmpPath)` once per cache key, across parallel test processes (mkdir lock), and returns the path. */
export function cached(key: string, build: (tmpPath: string) => void): string {
  mkdirSync(cacheDir, { recursive: true });
  const target = join(cacheDir, key);
  if (existsSync(target)) return target;
  const lock = `${target}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(target)) return target;
      // A stale lock (older than 20 minutes) means a crashed builder.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* raced with its removal */ }
      execFileSync('sleep', ['1']);
    }
  }
  try {
    if (existsSync(target)) return target;
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    build(tmp);
    renameSync(tmp, target);
    return target;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 26 });
}

/** `../shared/tools/stock-image NAME` as a docker-archive (nginx, python, node, redis, debian). */
export function stockImage(name: string): string {
  return cached(`stock-${name}.tar`, (tmp) => run(join(sharedDir, 'tools', 'stock-image'), [name, tmp]));
}

/** The CycloneDX SBOM Trivy's package analysers produce for a docker-archive. */
export function trivyImagePackages(archive: string, key: string): string {
  return cached(`trivy-${key}.cdx.json`, (tmp) => run(join(sharedDir, 'tools', 'trivy-packages'), ['image', archive, tmp]));
}

/** The CycloneDX SBOM Trivy's package analysers produce for a root filesystem directory. */
export function trivyRootfsPackages(dir: string, key: string): string {
  return cached(`trivy-rootfs-${key}.cdx.json`, (tmp) => run(join(sharedDir, 'tools', 'trivy-packages'), ['rootfs', dir, tmp]));
}

/** `skopeo copy docker-archive:X oci:DIR:tag`. */
export function ociLayoutOf(archive: string, key: string, tag = 'latest'): string {
  return cached(`oci-${key}`, (tmp) => run('skopeo', ['copy', '--quiet', `docker-archive:${archive}`, `oci:${tmp}:${tag}`]));
}

/** `skopeo copy docker-archive:X oci-archive:FILE:tag`. */
export function ociArchiveOf(archive: string, key: string, tag = 'latest'): string {
  return cached(`oci-archive-${key}.tar`, (tmp) => run('skopeo', ['copy', '--quiet', `docker-archive:${archive}`, `oci-archive:${tmp}:${tag}`]));
}

/** The image unpacked by umoci (the oracle for the squashed view); returns the rootfs directory. */
export function umociRootfs(layout: string, tag: string, key: string): string {
  const bundle = cached(`umoci-${key}`, (tmp) => run('umoci', ['unpack', '--image', `${layout}:${tag}`, tmp]));
  return join(bundle, 'rootfs');
}

/**
 * `podman load` then `podman save --format FORMAT` (docker-archive or oci-archive): what podman users hand
 * to scanners. Uses a private storage root so nothing leaks into the machine's podman store.
 */
export function podmanSaved(archive: string, key: string, format: 'docker-archive' | 'oci-archive'): string {
  return cached(`podman-${format}-${key}.tar`, (tmp) => {
    // podman refuses run roots longer than 50 characters, so the store lives under the system temp dir.
    const storage = mkdtempSync(join(tmpdir(), 'podman-'));
    const base = ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'vfs'];
    try {
      const loaded = execFileSync('podman', [...base, 'load', '-q', '-i', archive], { encoding: 'utf8' });
      const name = /Loaded image(?:\(s\))?: (\S+)/.exec(loaded)?.[1];
      if (name === undefined) throw new Error(`podman load printed no image name: ${loaded}`);
      run('podman', [...base, 'save', '-q', '--format', format, '-o', tmp, name]);
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });
}

/**
 * `cached()` for builders that take long: awaits `build(tmpPath)` instead of blocking the test worker's event
 * loop (a worker blocked for a minute misses vitest's RPC deadlines). Same mkdir lock across processes.
 */
export async function cachedAsync(key: string, build: (tmpPath: string) => Promise<void>): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const target = join(cacheDir, key);
  const lock = `${target}.lock`;
  for (;;) {
    if (existsSync(target)) return target;
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* raced with its removal */ }
      await new Promise((done) => setTimeout(done, 500));
    }
  }
  try {
    if (existsSync(target)) return target;
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await build(tmp);
    renameSync(tmp, target);
    return target;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
