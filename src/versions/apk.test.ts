/** @module versions/apk.test — apk versions against apk-tools' own version.data. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { apkScheme } from './apk.js';

const cmp = (a: string, b: string): number => apkScheme.compare(a, b);

/** apk-tools' own vectors (test/unit/version.data; see testdata/PROVENANCE.md). */
function vectors(): { comparisons: Array<[string, string, string, boolean]>; validity: Array<[string, boolean]> } {
  const comparisons: Array<[string, string, string, boolean]> = [];
  const validity: Array<[string, boolean]> = [];
  for (const raw of readFileSync(new URL('./testdata/apk-version.data', import.meta.url), 'utf8').split('\n')) {
    const line = raw.split('#')[0]!.trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length === 3) {
      const [a, op, b] = parts as [string, string, string];
      comparisons.push([a, op.replace('!', ''), b, !op.startsWith('!')]);
    } else if (line === '!') validity.push(['', false]);
    else validity.push([line.replace(/^!/, ''), !line.startsWith('!')]);
  }
  return { comparisons, validity };
}

describe('apk version scheme', () => {
  const { comparisons, validity } = vectors();

  it('agrees with every comparison in apk-tools version.data (non-fuzzy ops, valid operands)', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const [a, op, b, expected] of comparisons) {
      if (op.includes('~')) continue; // fuzzy prefix matching is a dependency-solver feature, not ordering
      if (!apkScheme.isValid(a) || !apkScheme.isValid(b)) {
        // Only "1.0 < 1.0bc" (apk-tools string-sorts invalid versions) and "23_foo > 4_beta" (apk decides on the
        // first token before it reaches the unknown suffix): distill refuses to order an invalid version instead.
        expect(['1.0bc', '23_foo']).toContain(apkScheme.isValid(a) ? b : a);
        continue;
      }
      const c = cmp(a, b);
      const holds = (op.includes('<') && c < 0) || (op.includes('>') && c > 0) || (op.includes('=') && c === 0);
      if (holds !== expected) wrong.push(`${a} ${expected ? '' : '!'}${op} ${b}: got ${c}`);
      checked++;
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(700);
  });

  it('agrees with every validity line in version.data', () => {
    expect(validity.length).toBeGreaterThan(30);
    for (const [v, valid] of validity) expect(apkScheme.isValid(v), v).toBe(valid);
  });

  it.each([
    ['1.0_alpha', '1.0_beta'],
    ['1.0_beta', '1.0_pre'],
    ['1.0_pre', '1.0_rc'],
    ['1.0_rc1', '1.0'],
    ['1.0', '1.0_cvs'],
    ['1.0_cvs', '1.0_svn'],
    ['1.0_svn', '1.0_git'],
    ['1.0_git', '1.0_hg'],
    ['1.0_hg', '1.0_p1'],
    ['1.0-r0', '1.0-r1'],
    ['1.0-r9', '1.0-r10'],
    ['1.0', '1.0-r1'],
    ['1.0-r1', '1.0_p1'],
    ['1.0a', '1.0b'],
    ['1.0a', '1.0.1'],
    ['1.02', '1.1'],
    ['3.0.8-r0', '3.0.8-r1'],
    ['1.36.1-r15', '1.36.1-r29'],
    ['1.0_pre20191002222144', '1.0_pre20210530193627'],
    ['99999999999999999999', '100000000000000000000'],
  ])('table: %s < %s', (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });

  it('an explicit -r0 sorts above no revision, as in apk-tools', () => expect(cmp('1.0', '1.0-r0')).toBe(-1));

  it.each([['001', '1'], ['1.0', '1.0'], ['1.0_rc1', '1.0_rc01']])('table: %s == %s', (a, b) => expect(cmp(a, b)).toBe(0));

  it.each(['', 'v1.0', '1.0-r', '1.0_foo', '1.0-1', '1..0', '1.0 ', 'x'.repeat(10), '1.0-r1-r2', '1.0\u00e9'])('invalid %j throws VERSION_INVALID', (v) => {
    expect(apkScheme.isValid(v)).toBe(false);
    expect(() => cmp(v, '1.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
    try {
      cmp('1.0', v);
    } catch (error) {
      expect(isDistillError(error, 'VERSION_INVALID')).toBe(true);
    }
  });

  it('hostile input: a long version compares without crashing', () => {
    const long = `1${'.1'.repeat(100_000)}`;
    expect(cmp(long, `${long}.1`)).toBe(-1);
  });
});
