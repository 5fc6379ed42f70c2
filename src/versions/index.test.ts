/** @module versions/index.test — rangeAffects: OSV range semantics, spec examples and per-scheme cases. */
import { describe, expect, it } from 'vitest';
import type { AffectedRange, RangeEvent } from '../vuln/vulnerability.js';
import { rangeAffects, schemeFor, schemeForEcosystem } from './index.js';
import type { SchemeName } from './version-scheme.js';

const eco = (...events: RangeEvent[]): AffectedRange => ({ type: 'ECOSYSTEM', events });
const sem = (...events: RangeEvent[]): AffectedRange => ({ type: 'SEMVER', events });

describe('schemeFor', () => {
  it('returns every scheme by name', () => {
    for (const name of ['deb', 'apk', 'rpm', 'semver', 'pep440', 'go', 'maven'] as SchemeName[]) expect(schemeFor(name).name).toBe(name);
  });
  it('maps OSV ecosystems', () => {
    expect(schemeForEcosystem('Debian:12')).toBe('deb');
    expect(schemeForEcosystem('Alpine:v3.20')).toBe('apk');
    expect(schemeForEcosystem('PyPI')).toBe('pep440');
    expect(schemeForEcosystem('crates.io')).toBe('semver');
    expect(schemeForEcosystem('Go')).toBe('go');
    expect(schemeForEcosystem('Maven')).toBe('maven');
    expect(schemeForEcosystem('Hackage')).toBeUndefined();
  });
});

describe('rangeAffects: OSV semantics', () => {
  const semver = schemeFor('semver');

  // OSV schema, "Evaluation": introduced 0 + fixed — everything before the fix.
  it.each([
    ['0.0.1', true, '0.0.1 in [0, fixed 1.2.4)'],
    ['1.2.3', true, '1.2.3 in [0, fixed 1.2.4)'],
    ['1.2.4', false, '1.2.4 >= fixed 1.2.4 (events: 0, fixed 1.2.4)'],
    ['2.0.0', false, '2.0.0 >= fixed 1.2.4 (events: 0, fixed 1.2.4)'],
  ])('[0, fixed 1.2.4): %s → %s', (v, affected, rule) => {
    expect(rangeAffects(semver, v, [sem({ introduced: '0' }, { fixed: '1.2.4' })], [])).toEqual({ affected, rule });
  });

  // OSV schema example: two intervals in one range, given out of order.
  const twoIntervals = sem({ introduced: '1.1.0' }, { fixed: '1.0.2' }, { fixed: '1.1.3' }, { introduced: '1.0.0' });
  it.each([
    ['0.9.0', false],
    ['1.0.0', true],
    ['1.0.1', true],
    ['1.0.2', false],
    ['1.0.9', false],
    ['1.1.0', true],
    ['1.1.2', true],
    ['1.1.3', false],
    ['2.0.0', false],
  ])('introduced 1.0.0, fixed 1.0.2, introduced 1.1.0, fixed 1.1.3 (unsorted): %s → %s', (v, affected) => {
    expect(rangeAffects(semver, v, [twoIntervals], []).affected).toBe(affected);
  });
  it('explains which interval', () => {
    expect(rangeAffects(semver, '1.1.2', [twoIntervals], []).rule).toBe('1.1.2 in [1.1.0, fixed 1.1.3)');
    expect(rangeAffects(semver, '0.9.0', [twoIntervals], []).rule).toBe('0.9.0 < introduced 1.0.0 (events: 1.0.0, fixed 1.0.2, 1.1.0, fixed 1.1.3)');
  });

  it('last_affected is inclusive', () => {
    const r = [sem({ introduced: '1.0.0' }, { last_affected: '1.2.3' })];
    expect(rangeAffects(semver, '1.2.3', r, [])).toEqual({ affected: true, rule: '1.2.3 in [1.0.0, last_affected 1.2.3]' });
    expect(rangeAffects(semver, '1.2.4', r, [])).toEqual({ affected: false, rule: '1.2.4 > last_affected 1.2.3 (events: 1.0.0, last_affected 1.2.3)' });
    expect(rangeAffects(semver, '1.2.3-rc.1', r, []).affected).toBe(true);
  });

  it('no fix: affected from introduced on', () => {
    expect(rangeAffects(semver, '9.9.9', [sem({ introduced: '1.0.0' })], [])).toEqual({ affected: true, rule: '9.9.9 in [1.0.0, ∞)' });
  });

  it('limit: nothing at or above it is affected', () => {
    const r = [sem({ introduced: '0' }, { limit: '2.0.0' })];
    expect(rangeAffects(semver, '1.9.9', r, [])).toEqual({ affected: true, rule: '1.9.9 in [0, limit 2.0.0)' });
    expect(rangeAffects(semver, '2.0.0', r, []).affected).toBe(false);
    expect(rangeAffects(semver, '3.0.0', [sem({ introduced: '0' }, { limit: '*' })], []).affected).toBe(true);
  });

  it('several ranges are a union; explicit versions add to them', () => {
    const ranges = [sem({ introduced: '0' }, { fixed: '1.0.0' }), sem({ introduced: '2.0.0' }, { fixed: '2.0.5' })];
    expect(rangeAffects(semver, '2.0.1', ranges, []).rule).toBe('2.0.1 in [2.0.0, fixed 2.0.5)');
    expect(rangeAffects(semver, '1.5.0', ranges, [])).toEqual({
      affected: false,
      rule: '1.5.0 >= fixed 1.0.0 (events: 0, fixed 1.0.0); 1.5.0 < introduced 2.0.0 (events: 2.0.0, fixed 2.0.5)',
    });
    expect(rangeAffects(semver, '1.5.0', ranges, ['1.5.0'])).toEqual({ affected: true, rule: '1.5.0 listed in versions' });
    expect(rangeAffects(semver, '1.5.1', [], ['1.5.0'])).toEqual({ affected: false, rule: '1.5.1 not listed in versions (1)' });
    expect(rangeAffects(semver, '1.5.1', [], [])).toEqual({ affected: false, rule: 'no ranges and no versions listed' });
  });

  it('listed versions match by scheme equality too (PEP 440 1.0 == 1.0.0)', () => {
    expect(rangeAffects(schemeFor('pep440'), '1.0.0', [], ['0.9', '1.0'])).toEqual({ affected: true, rule: '1.0.0 listed in versions as 1.0' });
  });

  it('ECOSYSTEM ranges use the namespace scheme: Debian epochs, ~ and +debNuM', () => {
    const deb = schemeFor('deb');
    const r = [eco({ introduced: '0' }, { fixed: '1:2.36-9+deb12u4' })];
    expect(rangeAffects(deb, '1:2.36-9+deb12u3', r, []).affected).toBe(true);
    expect(rangeAffects(deb, '1:2.36-9+deb12u4', r, []).affected).toBe(false);
    expect(rangeAffects(deb, '1:2.36-9+deb12u4+b1', r, []).affected).toBe(false);
    expect(rangeAffects(deb, '1:2.36-9+deb12u4~rc1', r, []).affected).toBe(true);
    expect(rangeAffects(deb, '2.40-1', r, []).affected).toBe(true); // no epoch: 0:2.40 < 1:2.36
  });

  it('ECOSYSTEM ranges for PyPI, Maven, Alpine, Go', () => {
    expect(rangeAffects(schemeFor('pep440'), '2.0rc1', [eco({ introduced: '0' }, { fixed: '2.0' })], []).affected).toBe(true);
    expect(rangeAffects(schemeFor('maven'), '2.17.0', [eco({ introduced: '2.0-beta9' }, { fixed: '2.17.1' })], []).affected).toBe(true);
    expect(rangeAffects(schemeFor('maven'), '2.0-alpha1', [eco({ introduced: '2.0-beta9' }, { fixed: '2.17.1' })], []).affected).toBe(false);
    expect(rangeAffects(schemeFor('apk'), '3.1.4-r5', [eco({ introduced: '0' }, { fixed: '3.1.4-r6' })], []).affected).toBe(true);
    // OSV Go records use SEMVER ranges without the v prefix; installed modules have it.
    expect(rangeAffects(schemeFor('go'), 'v0.0.0-20220101000000-abcdef123456', [sem({ introduced: '0' }, { fixed: '0.0.0-20220315000000-0123456789ab' })], []).affected).toBe(true);
    expect(rangeAffects(schemeFor('go'), 'v1.2.3+incompatible', [sem({ introduced: '1.0.0' }, { fixed: '1.2.4' })], []).affected).toBe(true);
  });

  it('introduced and fixed at the same version affect nothing there', () => {
    expect(rangeAffects(semver, '1.0.0', [sem({ introduced: '1.0.0' }, { fixed: '1.0.0' })], []).affected).toBe(false);
  });

  it('an invalid version or event never silently matches: VERSION_INVALID', () => {
    expect(() => rangeAffects(semver, 'not-a-version', [sem({ introduced: '0' })], [])).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
    expect(() => rangeAffects(semver, '1.0.0', [sem({ introduced: '0' }, { fixed: 'garbage' })], [])).toThrow(expect.objectContaining({ code: 'VERSION_INVALID', subject: 'garbage' }));
    expect(() => rangeAffects(schemeFor('deb'), '1.0', [], ['1.0'])).not.toThrow();
    expect(() => rangeAffects(schemeFor('deb'), 'bad version', [], ['1.0'])).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });

  it('hostile input: a range with thousands of events evaluates quickly', () => {
    const events: RangeEvent[] = [];
    for (let i = 0; i < 5000; i++) events.push(i % 2 === 0 ? { introduced: `1.${i}.0` } : { fixed: `1.${i}.0` });
    const started = performance.now();
    expect(rangeAffects(semver, '1.4000.5', [sem(...events)], []).rule).toBe('1.4000.5 in [1.4000.0, fixed 1.4001.0)');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
