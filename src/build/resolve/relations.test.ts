/** @module build/resolve/relations.test — relation fields as dpkg writes them; version checks against dpkg itself. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../../../test/helpers/oracles.js';
import { bookwormPackages } from '../../../test/fixtures/resolve/bookworm-index.js';
import { isDistillError } from '../../errors.js';
import { archMatches, formatGroup, parseProvides, parseRelations, relationsFor, satisfiesVersion, type RelationOp } from './relations.js';

describe('parseRelations', () => {
  it('reads alternatives, versions, qualifiers, architecture lists and drops build profiles', () => {
    expect(parseRelations('a (>= 1.0) | b, c:any, d [amd64] <!nocheck>, e:amd64 (<< 2:3-1) [!arm64 !armhf] <stage1> <!nodoc>')).toEqual([
      [{ name: 'a', op: '>=', version: '1.0' }, { name: 'b' }],
      [{ name: 'c', archQualifier: 'any' }],
      [{ name: 'd', archRestriction: { negated: false, arches: ['amd64'] } }],
      [{ name: 'e', archQualifier: 'amd64', op: '<<', version: '2:3-1', archRestriction: { negated: true, arches: ['arm64', 'armhf'] } }],
    ]);
  });

  it('accepts folded multi-line fields, odd spacing, a trailing comma and the obsolete < and >', () => {
    expect(parseRelations('libc6 (>=2.34),\n libssl3( >= 3.0.0 ) ,\n\tfoo (< 1), bar (> 2),')).toEqual([
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'libssl3', op: '>=', version: '3.0.0' }],
      [{ name: 'foo', op: '<=', version: '1' }],
      [{ name: 'bar', op: '>=', version: '2' }],
    ]);
  });

  it('parses every Depends, Pre-Depends and Provides field of the real bookworm index', () => {
    let groups = 0;
    for (const p of bookwormPackages()) {
      if (p.depends !== undefined) groups += parseRelations(p.depends).length;
      if (p.preDepends !== undefined) groups += parseRelations(p.preDepends).length;
      if (p.provides !== undefined) parseProvides(p.provides);
    }
    expect(groups).toBeGreaterThan(200_000);
  });

  it.each([
    ['a (>= )', /invalid version|cannot parse/],
    ['a (~= 1)', /cannot parse/],
    ['a (>= 1.0', /cannot parse/],
    ['a | | b', /cannot parse ""/],
    ['a (>= :1)', /invalid version/],
    ['a [amd64 !arm64]', /mixes negated/],
    ['a []', /empty architecture list/],
    ['-a', /cannot parse/],
    ['a; rm -rf /', /cannot parse/],
  ])('rejects %j with RELATION_INVALID', (text, message) => {
    try {
      parseRelations(text, 'pkg 1: Depends');
      expect.unreachable();
    } catch (e) {
      expect(isDistillError(e, 'RELATION_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/^pkg 1: Depends: /);
      expect((e as Error).message).toMatch(message);
    }
  });

  it('bounds hostile input: a huge field fails fast instead of building millions of relations', () => {
    const start = Date.now();
    expect(() => parseRelations('a | '.repeat(100_000) + 'a')).toThrow(/more than 4096 relations/);
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('Provides allows only unversioned or = entries', () => {
    expect(parseProvides('awk, libfoo-abi-2 (= 2.1-1), python3-x:any')).toEqual([{ name: 'awk' }, { name: 'libfoo-abi-2', version: '2.1-1' }, { name: 'python3-x' }]);
    expect(() => parseProvides('foo (>= 1)')).toThrow(/Provides only allows "="/);
    expect(() => parseProvides('foo | bar')).toThrow(/alternatives are not allowed/);
  });
});

describe('architectures', () => {
  it('matches names and Debian wildcards', () => {
    expect(archMatches('amd64', 'amd64')).toBe(true);
    expect(archMatches('any', 'arm64')).toBe(true);
    expect(archMatches('linux-any', 'arm64')).toBe(true);
    expect(archMatches('any-amd64', 'amd64')).toBe(true);
    expect(archMatches('any-amd64', 'arm64')).toBe(false);
    expect(archMatches('kfreebsd-any', 'amd64')).toBe(false);
    expect(archMatches('arm64', 'amd64')).toBe(false);
  });

  it('relationsFor drops restricted alternatives and groups left empty', () => {
    const groups = parseRelations('a [amd64] | b, c [!amd64], d [linux-any], e [arm64] | f [arm64]');
    expect(relationsFor(groups, 'amd64').map(formatGroup)).toEqual(['a | b', 'd']);
    expect(relationsFor(groups, 'arm64').map(formatGroup)).toEqual(['b', 'c', 'd', 'e | f']);
  });
});

describe.skipIf(!hasCommand('dpkg'))('satisfiesVersion agrees with dpkg --compare-versions', () => {
  const pairs: [string, RelationOp, string][] = [
    ['3.0.8-1', '>=', '3.0.9'], ['3.0.11-1~deb12u2', '>=', '3.0.9'], ['1:1.2.13.dfsg-1', '>=', '1:1.1.4'], ['1.2.13', '>=', '1:1.0'],
    ['2.36-9+deb12u4', '<<', '2.37'], ['1.0~rc1', '<<', '1.0'], ['1.0', '=', '1.0-0'], ['1.0', '=', '0:1.0'], ['1.0+b1', '>>', '1.0'],
    ['5.36.0-7+deb12u1', '<=', '5.36.0-7+deb12u1'], ['0.5', '>=', '0.5'], ['1.0a', '>>', '1.0'], ['1.0', '>>', '1.0~'],
  ];
  const dpkgOp: Record<RelationOp, string> = { '<<': 'lt', '<=': 'le', '=': 'eq', '>=': 'ge', '>>': 'gt' };
  it.each(pairs)('%s %s %s', (a, op, b) => {
    let dpkg: boolean;
    try {
      execFileSync('dpkg', ['--compare-versions', a, dpkgOp[op], b]);
      dpkg = true;
    } catch {
      dpkg = false;
    }
    expect(satisfiesVersion(a, op, b)).toBe(dpkg);
  });
  it('no op means any version', () => expect(satisfiesVersion('1', undefined, undefined)).toBe(true));
});
