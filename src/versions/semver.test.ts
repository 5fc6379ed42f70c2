/** @module versions/semver.test — npm semver and ranges on the real nodejs-security-wg advisories. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedData } from '../../test/helpers/oracles.js';
import { isValidNpmRange, normalizeNpmRange, satisfiesNpmRange, semverScheme } from './semver.js';

const cmp = (a: string, b: string): number => semverScheme.compare(a, b);

describe('semver scheme: compare', () => {
  it.each([
    ['1.2.3', '1.2.4'],
    ['1.2.3-alpha', '1.2.3'],
    ['1.2.3-alpha', '1.2.3-alpha.1'],
    ['1.2.3-alpha.1', '1.2.3-alpha.beta'],
    ['1.2.3-alpha.beta', '1.2.3-beta'],
    ['1.2.3-beta.2', '1.2.3-beta.11'],
    ['1.2.3-rc.1', '1.2.3'],
    ['1.9.0', '1.10.0'],
    ['v1.2.3', '1.2.4'],
  ])('%s < %s', (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });
  it.each([['1.2.3', 'v1.2.3'], ['1.2.3+build.5', '1.2.3'], ['=1.2.3', '1.2.3']])('%s == %s', (a, b) => expect(cmp(a, b)).toBe(0));
  it.each(['', '1.2', 'latest', '1.2.3.4', `1.2.${'9'.repeat(300)}`, 'x.y.z'])('invalid %j', (v) => {
    expect(semverScheme.isValid(v)).toBe(false);
    expect(() => cmp(v, '1.0.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });
});

describe('semver scheme: npm ranges', () => {
  it.each([
    ['1.2.3', '^1.2.0', true],
    ['2.0.0', '^1.2.0', false],
    ['0.2.5', '^0.2.3', true],
    ['0.3.0', '^0.2.3', false],
    ['1.2.9', '~1.2.3', true],
    ['1.3.0', '~1.2.3', false],
    ['1.5.0', '1.2.3 - 1.5.0', true],
    ['1.5.1', '1.2.3 - 1.5.0', false],
    ['1.4.7', '1.x', true],
    ['2.0.0', '1.x || >=3.0.0', false],
    ['3.1.0', '1.x || >=3.0.0', true],
    ['4.17.4', '<4.17.5', true],
    ['2.0.0-rc.1', '<2.0.0', true],
    ['1.0.0', '*', true],
    ['1.0.0', '>= 1.x', true],
    ['0.9.9', '>= 1.x', false],
  ] as const)('%s satisfies %s: %s', (version, range, expected) => {
    expect(satisfiesNpmRange(version, range)).toBe(expected);
  });

  it('npm install semantics exclude prereleases when asked', () => {
    expect(satisfiesNpmRange('2.0.0-rc.1', '<2.0.0', { includePrerelease: false })).toBe(false);
    expect(satisfiesNpmRange('2.0.0-rc.1', '>=2.0.0-rc.0 <2.0.0', { includePrerelease: false })).toBe(true);
  });

  it('invalid ranges are reported, not matched', () => {
    for (const bad of ['not a range', '^^1', 'a || b', '=>1', '!1', '>'.repeat(5000)]) {
      expect(isValidNpmRange(bad), bad).toBe(false);
      expect(() => satisfiesNpmRange('1.0.0', bad)).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
    }
    expect(normalizeNpmRange('>= 1.x')).toBe('>=1.0.0');
  });
});

interface Advisory {
  module_name: string;
  vulnerable_versions: string | null;
  patched_versions: string | null;
}

describe('semver scheme: the real nodejs-security-wg advisories', () => {
  let dir = '';
  const advisories = new Map<string, Advisory>();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'distill-nsw-'));
    execFileSync('tar', ['-xzf', join(sharedData, 'nodejs-security-wg', 'nodejs-security-wg-vuln.tar.gz'), '-C', dir]);
    for (const sub of readdirSync(join(dir, 'vuln'))) {
      for (const file of readdirSync(join(dir, 'vuln', sub))) {
        advisories.set(`${sub}/${file}`, JSON.parse(readFileSync(join(dir, 'vuln', sub, file), 'utf8')) as Advisory);
      }
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every vulnerable_versions / patched_versions range parses or is reported invalid', () => {
    let ranges = 0;
    const invalid: string[] = [];
    for (const [id, a] of advisories) {
      for (const range of [a.vulnerable_versions, a.patched_versions]) {
        if (range === null || range === undefined) continue;
        ranges++;
        if (!isValidNpmRange(range)) {
          invalid.push(`${id}: ${range}`);
          expect(() => satisfiesNpmRange('1.0.0', range)).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
        }
      }
    }
    expect(advisories.size).toBeGreaterThan(600);
    expect(ranges).toBeGreaterThan(800);
    // All 879 ranges in this snapshot are valid npm syntax.
    expect(invalid).toEqual([]);
  });

  // Real package versions published on npm, against real advisories (id: module, vulnerable, patched).
  it.each([
    ['npm/368.json', 'lodash', '4.17.4', true], // CVE-2018-3721, <4.17.5
    ['npm/368.json', 'lodash', '4.17.5', false],
    ['npm/493.json', 'lodash', '4.17.10', true], // CVE-2018-16487, <4.17.11
    ['npm/493.json', 'lodash', '4.17.21', false],
    ['npm/516.json', 'lodash', '4.17.14', false], // >=4.17.15 <4.17.19
    ['npm/516.json', 'lodash', '4.17.15', true],
    ['npm/516.json', 'lodash', '4.17.19', false],
    ['npm/31.json', 'semver', '4.3.1', true], // CVE-2015-8855, <4.3.2
    ['npm/31.json', 'semver', '5.7.2', false],
    ['npm/46.json', 'ms', '0.7.0', true], // CVE-2015-8315, <=0.7.0
    ['npm/46.json', 'ms', '0.7.1', false],
    ['npm/29.json', 'qs', '0.6.6', true], // CVE-2014-7191, <1.0.0, patched ">= 1.x"
    ['npm/29.json', 'qs', '1.0.0', false],
    ['npm/67.json', 'ws', '1.0.0', true], // "<= 1.0.0"
    ['npm/67.json', 'ws', '1.0.1', false],
  ] as const)('%s (%s@%s) vulnerable: %s', (id, module, version, vulnerable) => {
    const advisory = advisories.get(id)!;
    expect(advisory.module_name).toBe(module);
    expect(satisfiesNpmRange(version, advisory.vulnerable_versions!)).toBe(vulnerable);
    // A vulnerable version is never in the advisory's patched range.
    if (advisory.patched_versions && vulnerable) expect(satisfiesNpmRange(version, advisory.patched_versions)).toBe(false);
  });
});
