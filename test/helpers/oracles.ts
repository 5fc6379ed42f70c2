/** @module test/helpers/oracles — builds and caches the real reference artifacts tests compare against. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
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
