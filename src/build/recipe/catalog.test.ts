/** @module build/recipe/catalog.test — every images/*.yaml loads, names what it replaces, and asks only for packages that exist in bookworm. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bookwormPackages } from '../../../test/fixtures/resolve/bookworm-index.js';
import { sharedData } from '../../../test/helpers/oracles.js';
import { buildIndex } from '../resolve/package-index.js';
import { resolve } from '../resolve/resolver.js';
import { DEV_PACKAGES, loadRecipe, recipeDigest, requestedPackages } from './recipe.js';

const imagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'images');
const recipes = readdirSync(imagesDir).filter((f) => f.endsWith('.yaml')).sort();

/** Real package names and virtual (Provides) names of the bookworm main index. */
function bookwormNames(): { real: Set<string>; virtual: Set<string> } {
  const text = execFileSync('xz', ['-dc', join(sharedData, 'debian-bookworm-local-system', 'bookworm_main_Packages.xz')], { maxBuffer: 1 << 30 }).toString();
  const real = new Set<string>();
  const virtual = new Set<string>();
  for (const m of text.matchAll(/^Package: (\S+)$/gm)) real.add(m[1]!);
  for (const m of text.matchAll(/^Provides: (.+)$/gm)) for (const part of m[1]!.split(',')) virtual.add(part.trim().split(/\s/)[0]!);
  return { real, virtual };
}

describe('images/ catalog', () => {
  it('has the catalog images and their -dev variants', () => {
    const names = recipes.map((f) => f.replace(/\.yaml$/, ''));
    for (const name of ['static', 'base', 'nginx', 'python', 'node', 'redis']) expect(names).toContain(name);
    for (const name of ['base', 'nginx', 'python', 'node', 'redis']) expect(names).toContain(`${name}-dev`);
  });

  it('every recipe loads, is named after its file, names the image it replaces and a stock preset', () => {
    const digests = new Set<string>();
    for (const file of recipes) {
      const recipe = loadRecipe(join(imagesDir, file));
      expect(recipe.name, file).toBe(file.replace(/\.yaml$/, ''));
      expect(recipe.replaces?.image, file).toMatch(/^[a-z0-9]/);
      expect(recipe.replaces?.stock, file).toBeDefined();
      expect(recipe.archs, file).toEqual(['amd64', 'arm64']);
      expect(recipe.accounts.runAs, file).toBe('nonroot');
      expect(recipe.variant, file).toBe(file.endsWith('-dev.yaml') ? 'dev' : 'runtime');
      if (recipe.name !== 'static' && recipe.name !== 'base' && recipe.name !== 'base-dev') expect(recipe.entrypoint?.[0], file).toMatch(/^\/usr\/s?bin\//);
      digests.add(recipeDigest(recipe));
    }
    expect(digests.size).toBe(recipes.length);
  });

  it('asks only for packages in the real bookworm index; exclusions name real or virtual packages', () => {
    const { real, virtual } = bookwormNames();
    expect(real.size).toBeGreaterThan(60_000);
    for (const file of recipes) {
      const { include, exclude } = requestedPackages(loadRecipe(join(imagesDir, file)));
      for (const name of include) expect(real.has(name), `${file}: ${name}`).toBe(true);
      for (const name of exclude) expect(real.has(name) || virtual.has(name), `${file}: !${name}`).toBe(true);
    }
    for (const name of DEV_PACKAGES) expect(real.has(name)).toBe(true);
  });

  it('the base recipes carry glibc, libssl3, CA certificates and tzdata; nginx inherits them', () => {
    const base = loadRecipe(join(imagesDir, 'base.yaml'));
    expect(base.contents.packages).toEqual(expect.arrayContaining(['libc6', 'libssl3', 'ca-certificates', 'tzdata']));
    const nginx = loadRecipe(join(imagesDir, 'nginx.yaml'));
    expect(nginx.contents.packages).toEqual([...base.contents.packages, 'nginx']);
    expect(nginx.environment.SSL_CERT_FILE).toBe('/etc/ssl/certs/ca-certificates.crt');
    expect(nginx.ports).toEqual(['8080/tcp']);
    expect(nginx.paths.find((p) => p.path === '/etc/nginx/sites-available/default')?.content?.toString()).toContain('listen 8080 default_server;');
  });

  it('every recipe resolves against the real bookworm indices (amd64): static is exactly its four packages, nginx stays under 30', () => {
    const index = buildIndex(bookwormPackages(), 'amd64');
    const counts: Record<string, number> = {};
    for (const file of recipes) {
      const { include, exclude } = requestedPackages(loadRecipe(join(imagesDir, file)));
      const resolution = resolve(index, include, { arch: 'amd64', exclude });
      const names = resolution.packages.map((p) => p.name);
      counts[file] = names.length;
      for (const name of include) expect(names, `${file}: ${name}`).toContain(name);
      for (const name of exclude) expect(names, `${file}: !${name}`).not.toContain(name);
      if (file.endsWith('-dev.yaml')) expect(names).toContain('busybox');
    }
    expect(resolve(index, requestedPackages(loadRecipe(join(imagesDir, 'static.yaml'))).include, { arch: 'amd64', exclude: ['openssl', 'awk'] }).packages.map((p) => p.name)).toEqual(['base-files', 'ca-certificates', 'netbase', 'tzdata']);
    expect(counts['nginx.yaml']).toBeLessThan(30);
    expect(counts['nginx-dev.yaml']).toBe(counts['nginx.yaml']! + 1);
  });
});
