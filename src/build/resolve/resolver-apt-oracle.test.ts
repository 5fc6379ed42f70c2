/** @module build/resolve/resolver-apt-oracle.test — closures over the real bookworm indices against apt-get -s on the same files. */
import { describe, expect, it } from 'vitest';
import { aptClosure, bookwormPackages } from '../../../test/fixtures/resolve/bookworm-index.js';
import { hasCommand } from '../../../test/helpers/oracles.js';
import { APT_ORACLE_PACKAGES } from '../../../test/fixtures/resolve/apt-oracle-packages.js';
import { DEFAULT_EXCLUSIONS } from './exclusions.js';
import { buildIndex, dependenciesOf } from './package-index.js';
import { archAccepts, resolve } from './resolver.js';
import { satisfiesVersion } from './relations.js';

const PACKAGES = APT_ORACLE_PACKAGES;

describe.skipIf(!hasCommand('apt-get'))('resolver vs apt-get -s install --no-install-recommends (empty status, same indices)', () => {
  const index = buildIndex(bookwormPackages(), 'amd64');

  it.each(PACKAGES)('%s: without exclusions the closure is exactly apt\'s (names and versions)', (name) => {
    const apt = aptClosure(name);
    expect(apt.size).toBeGreaterThan(0);
    const ours = resolve(index, [name], { arch: 'amd64', defaultExclusions: false });
    expect(new Map(ours.packages.map((p) => [p.name, p.version]))).toEqual(apt);
  }, 60_000);

  it.each(PACKAGES)('%s: with the default exclusions every difference is an exclusion or only needed by one', (name) => {
    const apt = aptClosure(name);
    const full = resolve(index, [name], { arch: 'amd64', defaultExclusions: false });
    const ours = resolve(index, [name], { arch: 'amd64' });
    const kept = new Set(ours.packages.map((p) => p.name));
    for (const p of ours.packages) expect(apt.get(p.name), `${p.name} is not in apt's closure`).toBe(p.version);
    const removed = new Set([...apt.keys()].filter((n) => !kept.has(n)));
    // Who in apt's closure depends on whom: a removed package must be excluded itself or needed only by removed ones.
    const dependents = new Map<string, Set<string>>();
    for (const q of full.packages) {
      for (const group of dependenciesOf(q, 'amd64')) {
        for (const rel of group) {
          const target = full.packages.find((t) => t.name === rel.name);
          if (target !== undefined && archAccepts(rel, target, 'amd64') && satisfiesVersion(target.version, rel.op, rel.version)) {
            let s = dependents.get(target.name);
            if (s === undefined) dependents.set(target.name, (s = new Set()));
            s.add(q.name);
          }
        }
      }
    }
    const reasons = new Map<string, string>();
    for (const r of removed) {
      // Reported as a dropped dependency of a kept package: a default exclusion.
      const reported = ours.excluded.some((e) => e.name.split(' | ').some((alt) => alt.split(' ')[0] === r));
      if (reported) {
        expect(Object.prototype.hasOwnProperty.call(DEFAULT_EXCLUSIONS, r), `${r} was dropped but is not a default exclusion`).toBe(true);
        reasons.set(r, 'default exclusion');
        continue;
      }
      // Otherwise (excluded or not) it must be needed only by packages that left the closure.
      const by = [...(dependents.get(r) ?? [])];
      expect(by.length, `${r} has dependents in apt's closure`).toBeGreaterThan(0);
      expect(by.filter((q) => !removed.has(q)), `${r} is needed by a kept package`).toEqual([]);
      reasons.set(r, `only needed by ${by.sort().join(', ')}`);
    }
    // Excluded packages never come back, and nothing is left unexplained.
    expect(reasons.size).toBe(removed.size);
    for (const n of kept) expect(Object.prototype.hasOwnProperty.call(DEFAULT_EXCLUSIONS, n) && n !== name).toBe(false);
  }, 60_000);

  it('nginx: 28 packages, debconf left out with its reason, every package explained by a chain from nginx', () => {
    const r = resolve(index, ['nginx'], { arch: 'amd64' });
    expect(r.packages.map((p) => p.name)).not.toContain('debconf');
    const debconf = r.excluded.find((e) => e.name === 'debconf (>= 0.5) | debconf-2.0');
    expect(debconf?.requiredBy).toEqual(['iproute2', 'nginx-common']);
    expect(debconf?.reason).toMatch(/^default exclusion: debconf answers questions/);
    expect(r.why.get('nginx')).toBe('requested');
    expect(r.why.get('nginx-common')).toEqual(['nginx', 'nginx-common']);
    for (const p of r.packages) {
      const w = r.why.get(p.name);
      expect(w).toBeDefined();
      if (w !== 'requested') expect(w![0]).toBe('nginx');
    }
    expect(r.packages.map((p) => p.name)).toEqual([...r.packages.map((p) => p.name)].sort());
  });

  it('is deterministic: the same closure whatever order the index lists packages in', () => {
    const shuffled = [...bookwormPackages()].reverse();
    const a = resolve(index, ['postgresql-15', 'git'], { arch: 'amd64' });
    const b = resolve(buildIndex(shuffled, 'amd64'), ['postgresql-15', 'git'], { arch: 'amd64' });
    expect(b.packages.map((p) => `${p.name}=${p.version}`)).toEqual(a.packages.map((p) => `${p.name}=${p.version}`));
    expect([...b.why].sort()).toEqual([...a.why].sort());
  });

  it('a typo gets "did you mean" suggestions from the real index', () => {
    expect(() => resolve(index, ['ngnix'], { arch: 'amd64' })).toThrow(/package "ngnix" is not in the index for amd64; did you mean nginx,/);
    try {
      resolve(index, ['pyhton3'], { arch: 'amd64' });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('RESOLVE_UNKNOWN_PACKAGE');
      expect((e as Error).message).toMatch(/did you mean python3\b/);
    }
  });

  it('an unsatisfiable requested version is a conflict naming the available ones', () => {
    expect(() => resolve(index, ['libssl3 (>= 9.0)'], { arch: 'amd64' })).toThrow(/requested libssl3 \(>= 9.0\) → none of 3\.0\.\S+ satisfies it/);
  });

  it('the recipe\'s !name drops the dependency on it and records it', () => {
    const r = resolve(index, ['nginx'], { arch: 'amd64', exclude: ['iproute2'] });
    const names = r.packages.map((p) => p.name);
    expect(names).not.toContain('iproute2');
    expect(names).not.toContain('libbpf1'); // only iproute2 needs it
    expect(r.excluded.find((e) => e.name === 'iproute2')).toMatchObject({ reason: 'excluded by the recipe (!iproute2)', requiredBy: ['nginx'] });
  });

  it('include takes a name back out of the default exclusions', () => {
    const r = resolve(index, ['nginx'], { arch: 'amd64', include: ['debconf'] });
    expect(r.packages.find((p) => p.name === 'debconf')?.version).toBe(aptClosure('nginx').get('debconf'));
    expect(r.why.get('debconf')).toEqual(['nginx', 'iproute2', 'debconf']);
  });
});
