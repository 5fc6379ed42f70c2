/** @module build/resolve/resolver.test — resolver semantics on small indices (the apt oracle is resolver-apt-oracle.test.ts). */
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { buildIndex, mergeHighestVersions } from './package-index.js';
import { boundedLevenshtein, resolve } from './resolver.js';
import type { ResolverPackage } from './types.js';

const p = (name: string, version: string, extra: Partial<ResolverPackage> = {}): ResolverPackage => ({ name, version, architecture: 'amd64', ...extra });
const names = (r: { packages: ResolverPackage[] }): string[] => r.packages.map((x) => `${x.name}=${x.version}`);
const err = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isDistillError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('did not throw');
};

describe('resolve', () => {
  it('follows Depends and Pre-Depends but not Recommends; alternatives left to right', () => {
    const idx = buildIndex([
      p('app', '1', { depends: 'liba | libb, libc (>= 2)', preDepends: 'early' }),
      p('liba', '1'), p('libb', '1'), p('libc', '1'), p('libc', '3'), p('libc', '2'), p('early', '1'),
    ], 'amd64');
    const r = resolve(idx, ['app'], { arch: 'amd64' });
    expect(names(r)).toEqual(['app=1', 'early=1', 'liba=1', 'libc=3']);
    expect(r.why.get('libc')).toEqual(['app', 'libc']);
  });

  it('an alternative already in the closure satisfies the group', () => {
    const idx = buildIndex([p('app', '1', { depends: 'liba | libb' }), p('liba', '1'), p('libb', '1')], 'amd64');
    expect(names(resolve(idx, ['app', 'libb'], { arch: 'amd64' }))).toEqual(['app=1', 'libb=1']);
  });

  it('falls through to a later alternative when the first is unsatisfiable, recording the rejection', () => {
    const idx = buildIndex([p('app', '1', { depends: 'liba (>= 2) | libb' }), p('liba', '1'), p('libb', '1')], 'amd64');
    const r = resolve(idx, ['app'], { arch: 'amd64' });
    expect(names(r)).toEqual(['app=1', 'libb=1']);
    expect(r.rejected).toContainEqual({ candidate: 'liba=1', reason: 'app needs liba (>= 2)' });
  });

  it('virtual packages: versioned provides satisfy versioned deps, unversioned provides only unversioned ones', () => {
    const idx = buildIndex([
      p('app', '1', { depends: 'virt (>= 1.2), plain' }),
      p('unver', '9', { provides: 'virt, plain' }),
      p('ver', '1', { provides: 'virt (= 1.3)' }),
    ], 'amd64');
    const r = resolve(idx, ['app'], { arch: 'amd64' });
    expect(names(r)).toEqual(['app=1', 'unver=9', 'ver=1']);
    expect(r.rejected.find((x) => x.candidate === 'unver=9')?.reason).toMatch(/unversioned provide cannot satisfy a versioned dependency/);
    const low = buildIndex([p('app', '1', { depends: 'virt (>= 2)' }), p('ver', '1', { provides: 'virt (= 1.3)' })], 'amd64');
    expect(err(() => resolve(low, ['app'], { arch: 'amd64' }))).toBe('RESOLVE_CONFLICT: app → virt (>= 2) → none of ver 1 providing virt (= 1.3)');
  });

  it('several providers: higher Priority wins, then the name; a requested virtual with several providers must be named', () => {
    const idx = buildIndex([
      p('app', '1', { depends: 'awk' }),
      p('gawk', '1', { provides: 'awk', priority: 'optional' }),
      p('mawk', '1', { provides: 'awk', priority: 'required' }),
      p('busybox-awk', '1', { provides: 'awk', priority: 'optional' }),
    ], 'amd64');
    expect(names(resolve(idx, ['app'], { arch: 'amd64' }))).toEqual(['app=1', 'mawk=1']);
    expect(err(() => resolve(idx, ['awk'], { arch: 'amd64' }))).toBe('RESOLVE_CONFLICT: awk is a virtual package provided by busybox-awk, gawk, mawk');
    const one = buildIndex([p('mawk', '1', { provides: 'awk' })], 'amd64');
    expect(names(resolve(one, ['awk'], { arch: 'amd64' }))).toEqual(['mawk=1']);
  });

  it('Multi-Arch: :any needs allowed (or foreign); :native and :amd64 accept the native package', () => {
    const idx = buildIndex([
      p('tool', '1', { depends: 'python3:any, perl:any' }),
      p('python3', '3.11', { multiArch: 'allowed' }),
      p('perl', '5', { multiArch: 'no' }),
      p('app', '1', { depends: 'zlib:native, data:amd64' }),
      p('zlib', '1', { multiArch: 'same' }),
      p('data', '1', { architecture: 'all' }),
      p('helper', '1', { depends: 'dpkgish:any' }),
      p('dpkgish', '1', { multiArch: 'foreign' }),
    ], 'amd64');
    expect(err(() => resolve(idx, ['tool'], { arch: 'amd64' }))).toBe('RESOLVE_CONFLICT: tool → perl:any → none of perl 5 (Multi-Arch: no)');
    expect(names(resolve(idx, ['app', 'helper'], { arch: 'amd64' }))).toEqual(['app=1', 'data=1', 'dpkgish=1', 'helper=1', 'zlib=1']);
  });

  it('architecture restrictions and other architectures\' packages are ignored', () => {
    const idx = buildIndex([
      p('app', '1', { depends: 'onlyarm [arm64], libx' }),
      p('libx', '2', { architecture: 'arm64' }), p('libx', '1'),
    ], 'amd64');
    expect(names(resolve(idx, ['app'], { arch: 'amd64' }))).toEqual(['app=1', 'libx=1']);
  });

  it('conflicts show the dependency path and the versions that were available', () => {
    const idx = buildIndex([
      p('nginx', '1.22', { depends: 'nginx-common' }),
      p('nginx-common', '1.22', { depends: 'libssl3 (>= 3.0.9)' }),
      p('libssl3', '3.0.8-1'),
    ], 'amd64');
    const message = err(() => resolve(idx, ['nginx'], { arch: 'amd64' }));
    expect(message).toBe('RESOLVE_CONFLICT: nginx → nginx-common → libssl3 (>= 3.0.9) → none of libssl3 3.0.8-1');
    const missing = buildIndex([p('app', '1', { depends: 'ghost' })], 'amd64');
    expect(err(() => resolve(missing, ['app'], { arch: 'amd64' }))).toBe('RESOLVE_CONFLICT: app → ghost → none of no package ghost');
  });

  it('Essential packages are not added unless something depends on them', () => {
    const idx = buildIndex([p('app', '1', { depends: 'libc' }), p('libc', '1'), p('bash', '5', { essential: true, priority: 'required' }), p('dash', '1', { essential: true })], 'amd64');
    expect(names(resolve(idx, ['app'], { arch: 'amd64' }))).toEqual(['app=1', 'libc=1']);
    const dep = buildIndex([p('app', '1', { depends: 'bash' }), p('bash', '5', { essential: true })], 'amd64');
    expect(names(resolve(dep, ['app'], { arch: 'amd64' }))).toEqual(['app=1', 'bash=5']);
  });

  it('default exclusions drop the whole group, are reported once with every dependent, and give way to a request', () => {
    const idx = buildIndex([
      p('svc', '1', { depends: 'debconf (>= 0.5) | debconf-2.0, adduser, systemd | systemd-sysusers' }),
      p('svc2', '1', { depends: 'adduser' }),
      p('debconf', '1'), p('cdebconf', '1', { provides: 'debconf-2.0' }), p('adduser', '3'), p('systemd', '252', { provides: 'systemd-sysusers' }),
    ], 'amd64');
    const r = resolve(idx, ['svc', 'svc2'], { arch: 'amd64' });
    expect(names(r)).toEqual(['svc=1', 'svc2=1']);
    expect(r.excluded.map((e) => [e.name, e.requiredBy])).toEqual([
      ['adduser', ['svc', 'svc2']], ['debconf (>= 0.5) | debconf-2.0', ['svc']], ['systemd | systemd-sysusers', ['svc']],
    ]);
    expect(names(resolve(idx, ['svc', 'adduser'], { arch: 'amd64' }))).toEqual(['adduser=3', 'svc=1']);
    expect(names(resolve(idx, ['svc'], { arch: 'amd64', defaultExclusions: false }))).toEqual(['adduser=3', 'debconf=1', 'svc=1', 'systemd=252']);
  });

  it('recipe exclusions: a name both requested and excluded is refused', () => {
    const idx = buildIndex([p('app', '1')], 'amd64');
    expect(err(() => resolve(idx, ['app'], { arch: 'amd64', exclude: ['app'] }))).toBe('RESOLVE_CONFLICT: app is both requested and excluded (!app)');
  });

  it('requests may pin a version (name=version or a relation)', () => {
    const idx = buildIndex([p('app', '2'), p('app', '1')], 'amd64');
    expect(names(resolve(idx, ['app=1'], { arch: 'amd64' }))).toEqual(['app=1']);
    expect(names(resolve(idx, ['app (<< 2)'], { arch: 'amd64' }))).toEqual(['app=1']);
    expect(err(() => resolve(idx, ['app=3'], { arch: 'amd64' }))).toBe('RESOLVE_CONFLICT: requested app (= 3) → none of 2, 1 satisfies it');
    expect(err(() => resolve(idx, ['a, b'], { arch: 'amd64' }))).toMatch(/^USAGE: requested package "a, b" must name exactly one package/);
  });

  it('dependency cycles terminate', () => {
    const idx = buildIndex([p('a', '1', { depends: 'b' }), p('b', '1', { depends: 'a' })], 'amd64');
    expect(names(resolve(idx, ['a'], { arch: 'amd64' }))).toEqual(['a=1', 'b=1']);
  });

  it('an index for another architecture is refused', () => {
    expect(err(() => resolve(buildIndex([], 'arm64'), ['a'], { arch: 'amd64' }))).toBe('USAGE: the package index is for arm64, not amd64');
  });
});

describe('mergeHighestVersions', () => {
  it('keeps the highest version per name and architecture, first source on ties', () => {
    const main = [p('libssl3', '3.0.11-1~deb12u2', { filename: 'main' }), p('tzdata', '2024a-0+deb12u1'), p('libssl3', '3.0.11-1~deb12u2', { architecture: 'arm64' })];
    const security = [p('libssl3', '3.0.15-1~deb12u1', { filename: 'security' }), p('tzdata', '2024a-0+deb12u1', { filename: 'dup' })];
    const merged = mergeHighestVersions([main, security]);
    expect(merged.map((x) => `${x.name}/${x.architecture}=${x.version}:${x.filename ?? ''}`).sort()).toEqual([
      'libssl3/amd64=3.0.15-1~deb12u1:security', 'libssl3/arm64=3.0.11-1~deb12u2:', 'tzdata/amd64=2024a-0+deb12u1:',
    ]);
  });
});

describe('boundedLevenshtein', () => {
  it('counts edits and adjacent swaps, stopping past the limit', () => {
    expect(boundedLevenshtein('ngnix', 'nginx', 2)).toBe(1);
    expect(boundedLevenshtein('pyhton3', 'python3', 2)).toBe(1);
    expect(boundedLevenshtein('curl', 'curl', 2)).toBe(0);
    expect(boundedLevenshtein('redis', 'redis-server', 2)).toBeGreaterThan(2);
    expect(boundedLevenshtein('abc', 'xyz', 2)).toBe(3);
    expect(boundedLevenshtein('abcdefgh', 'zyxwvuts', 2)).toBe(3);
  });
});
