/** @module versions/go.test — Go module versions against golang.org/x/mod/semver's table. */
import { describe, expect, it } from 'vitest';
import { canonicalGoVersion, goPseudoVersionTime, goScheme, isGoPseudoVersion } from './go.js';

const cmp = (a: string, b: string): number => goScheme.compare(a, b);

/**
 * golang.org/x/mod/semver's own table (semver/semver_test.go, `tests`): input and Canonical output, listed in
 * ascending order; "" marks an invalid input. Its TestCompare asserts exactly this order over all pairs.
 */
const XMOD: Array<[string, string]> = [
  ['bad', ''],
  ['v1-alpha.beta.gamma', ''],
  ['v1-pre', ''],
  ['v1+meta', ''],
  ['v1-pre+meta', ''],
  ['v1.2-pre', ''],
  ['v1.2+meta', ''],
  ['v1.2-pre+meta', ''],
  ['v1.0.0-alpha', 'v1.0.0-alpha'],
  ['v1.0.0-alpha.1', 'v1.0.0-alpha.1'],
  ['v1.0.0-alpha.beta', 'v1.0.0-alpha.beta'],
  ['v1.0.0-beta', 'v1.0.0-beta'],
  ['v1.0.0-beta.2', 'v1.0.0-beta.2'],
  ['v1.0.0-beta.11', 'v1.0.0-beta.11'],
  ['v1.0.0-rc.1', 'v1.0.0-rc.1'],
  ['v1', 'v1.0.0'],
  ['v1.0', 'v1.0.0'],
  ['v1.0.0', 'v1.0.0'],
  ['v1.2', 'v1.2.0'],
  ['v1.2.0', 'v1.2.0'],
  ['v1.2.3-456', 'v1.2.3-456'],
  ['v1.2.3-456.789', 'v1.2.3-456.789'],
  ['v1.2.3-456-789', 'v1.2.3-456-789'],
  ['v1.2.3-456a', 'v1.2.3-456a'],
  ['v1.2.3-pre', 'v1.2.3-pre'],
  ['v1.2.3-pre+meta', 'v1.2.3-pre'],
  ['v1.2.3-pre.1', 'v1.2.3-pre.1'],
  ['v1.2.3-zzz', 'v1.2.3-zzz'],
  ['v1.2.3', 'v1.2.3'],
  ['v1.2.3+meta', 'v1.2.3'],
  ['v1.2.3+meta-pre', 'v1.2.3'],
  ['v1.2.3+meta-pre.sha.256a', 'v1.2.3'],
];

describe('go version scheme', () => {
  it.each(XMOD)('x/mod validity and Canonical: %s → %j', (input, canonical) => {
    expect(goScheme.isValid(input)).toBe(canonical !== '');
    expect(canonicalGoVersion(input)).toBe(canonical === '' ? null : canonical);
  });

  it('x/mod order over all valid pairs', () => {
    const valid = XMOD.filter(([, c]) => c !== '');
    for (let i = 0; i < valid.length; i++) {
      for (let j = 0; j < valid.length; j++) {
        const want = valid[i]![1] === valid[j]![1] ? 0 : i < j ? -1 : 1;
        expect(Math.sign(cmp(valid[i]![0], valid[j]![0])), `${valid[i]![0]} vs ${valid[j]![0]}`).toBe(want);
      }
    }
    expect(cmp('v1.19', 'v1.2')).toBe(1);
    expect(cmp('v2', 'v1')).toBe(1);
  });

  it.each([
    ['v0.0.0-20210101000000-abcdef123456', 'v0.0.1'],
    ['v0.0.0-20200101000000-abcdef123456', 'v0.0.0-20210101000000-abcdef123456'],
    ['v1.2.3', 'v1.2.4-0.20210101000000-abcdef123456'],
    ['v1.2.4-0.20210101000000-abcdef123456', 'v1.2.4'],
    ['v1.2.4-pre', 'v1.2.4-pre.0.20210101000000-abcdef123456'],
    ['v2.0.0+incompatible', 'v2.0.1+incompatible'],
    ['0.9.0', 'v1.0.0'],
    ['1.10.0', '1.10.1'],
  ])('%s < %s', (a, b) => {
    expect(Math.sign(cmp(a, b))).toBe(-1);
    expect(Math.sign(cmp(b, a))).toBe(1);
  });

  it('+incompatible is build metadata: ignored by ordering', () => {
    expect(cmp('v2.0.0+incompatible', 'v2.0.0')).toBe(0);
    expect(canonicalGoVersion('v4.1.2+incompatible')).toBe('v4.1.2');
  });

  it('recognises the three pseudo-version forms', () => {
    expect(goPseudoVersionTime('v0.0.0-20210101000000-abcdef123456')).toBe('2021-01-01T00:00:00Z');
    expect(goPseudoVersionTime('v1.2.4-0.20191109021931-daa7c04131f5')).toBe('2019-11-09T02:19:31Z');
    expect(isGoPseudoVersion('v1.2.4-pre.0.20191109021931-daa7c04131f5')).toBe(true);
    expect(isGoPseudoVersion('v0.0.0-20191109021931-daa7c04131f5+incompatible')).toBe(true);
    expect(isGoPseudoVersion('v1.2.3')).toBe(false);
    expect(isGoPseudoVersion('v1.2.3-rc.1')).toBe(false);
    expect(isGoPseudoVersion('v1.2.0-20191109021931-daa7c04131f5')).toBe(false);
  });

  it.each(['', 'v', 'v01.2.3', 'v1.2.3-01', 'v1.2.3-', 'v1.2.3+', 'v1..3', '(devel)', 'v1.2.3.4', 'v1.2.3-a_b'])('invalid %j throws VERSION_INVALID', (v) => {
    expect(goScheme.isValid(v)).toBe(false);
    expect(() => cmp(v, 'v1.0.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });
});
