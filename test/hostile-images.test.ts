/** @module test/hostile-images — whole-image hostile inputs: random corruption and truncation of a real image never crash or hang. */
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogSource } from '../src/catalog/catalog-source.js';
import { DistillError } from '../src/errors.js';
import { smallImage } from './helpers/small-image.js';

const options = { now: new Date(0), tool: { name: 'distill', version: 'test' } };

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a real two-layer image', () => {
  const archive = smallImage();
  const work = mkdtempSync(join(tmpdir(), 'distill-hostile-'));

  it('catalogs cleanly: whiteout applied, both packages, layer attribution', async () => {
    const sbom = await catalogSource(`docker-archive:${archive}`, options);
    expect(sbom.packages.map((pkg) => pkg.name).sort()).toEqual(['base-files', 'netbase']);
    expect(sbom.subject.layers).toHaveLength(2);
    expect(sbom.packages.every((pkg) => pkg.locations[0]?.layerDigest === sbom.subject.layers[1])).toBe(true);
    expect(sbom.issues).toEqual([]);
  });

  it('random byte corruption ends in a result or a DistillError, never another exception', async () => {
    const original = readFileSync(archive);
    const next = random(20261203);
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 120; round++) {
      const damaged = Buffer.from(original);
      const flips = 1 + Math.floor(next() * 4);
      for (let i = 0; i < flips; i++) damaged[Math.floor(next() * damaged.length)] = Math.floor(next() * 256);
      const file = join(work, `corrupt-${round}.tar`);
      writeFileSync(file, damaged);
      try {
        await catalogSource(`docker-archive:${file}`, options);
        outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof DistillError)) throw new Error(`round ${round}: not a DistillError: ${String((error as Error).stack)}`);
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    }
    // Nearly every flip lands in compressed layer data: gzip, the tar parser or the digest check must catch it
    // (a flip in tar padding may legitimately change nothing).
    const detected = ['DIGEST_MISMATCH', 'DECOMPRESS_FAILED', 'TAR_CORRUPT', 'TAR_TRUNCATED', 'ARCHIVE_CORRUPT', 'MANIFEST_INVALID'].reduce((sum, code) => sum + (outcomes.get(code) ?? 0), 0);
    expect(detected, JSON.stringify(Object.fromEntries(outcomes))).toBeGreaterThan(100);
  }, 300_000);

  it('truncation at any point is an error with a stable code', async () => {
    const size = statSync(archive).size;
    const next = random(7);
    for (let round = 0; round < 40; round++) {
      const cut = Math.floor(next() * size);
      const file = join(work, `cut-${round}.tar`);
      copyFileSync(archive, file);
      writeFileSync(file, readFileSync(file).subarray(0, cut));
      await expect(catalogSource(`docker-archive:${file}`, options), `cut at ${cut}`).rejects.toBeInstanceOf(DistillError);
    }
  }, 300_000);

  it('a wrong layer digest in the config is DIGEST_MISMATCH', async () => {
    const dir = mkdtempSync(join(work, 'wrong-'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string }[];
    const configPath = join(dir, manifest[0]!.Config);
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
    writeFileSync(configPath, JSON.stringify(config));
    const file = join(work, 'wrong-digest.tar');
    execFileSync('tar', ['-C', dir, '-cf', file, '.']);
    await expect(catalogSource(`docker-archive:${file}`, options)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
