/** @module versions/rpm.test — RPM versions: table tests and the rpm.vercmp oracle. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../../test/helpers/oracles.js';
import { parseRpmVersion, rpmScheme } from './rpm.js';

const cmp = (a: string, b: string): number => rpmScheme.compare(a, b);

/** Hand-picked cases: rpm's documented rules and real Fedora/RHEL version strings. */
const TABLE: Array<[string, string, number]> = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p2', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['xyz10', 'xyz10.1', -1],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0^', '1.0', 1],
  ['1.0^git1', '1.0', 1],
  ['1.0^git1', '1.01', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git1~pre', '1.0^git1', -1],
  ['1.0', '1.0.', 0],
  ['1_0', '1.0', 0],
  ['1.0a', '1.0', 1],
  ['a', '1', -1],
  ['001', '1', 0],
  ['1:1.0', '2.0', 1],
  ['0:1.0', '1.0', 0],
  ['1.0-1', '1.0', 1],
  ['1.0-1', '1.0-2', -1],
  ['3.0.7-27.el9', '3.0.7-25.el9_3', 1],
  ['2.34-100.el9_4.2', '2.34-100.el9_4.10', -1],
  ['1.1.1k-12.el8_9', '1.1.1k-9.el8_7', 1],
  ['4.18.0-513.el8', '4.18.0-513.5.1.el8_9', -1],
];

describe('rpm version scheme', () => {
  it.each(TABLE)('%s vs %s = %d', (a, b, want) => {
    expect(cmp(a, b)).toBe(want);
    expect(cmp(b, a)).toBe(-want || 0);
  });

  it('splits epoch, version and release', () => {
    expect(parseRpmVersion('2:1.2.3-4.el9')).toEqual({ epoch: '2', version: '1.2.3', release: '4.el9' });
    expect(parseRpmVersion('1.2')).toEqual({ epoch: '0', version: '1.2', release: null });
  });

  it.each(['', ' 1.0', '1.0 ', ':1.0', 'a:1.0', '1:', '1.0-', '-1', '1:2:3', '1.0\u00e9', '1\t0'])('invalid %j throws VERSION_INVALID', (v) => {
    expect(rpmScheme.isValid(v)).toBe(false);
    expect(() => cmp(v, '1.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });

  it.skipIf(!hasCommand('rpm'))('agrees with rpm.vercmp (rpm 4.18 Lua) on the table and 5,000 generated EVR pairs', () => {
    // Seeded generator over the characters rpmvercmp treats specially: digits, letters, separators, ~ and ^.
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pieces = ['0', '1', '2', '9', '10', '01', '010', '123', 'a', 'b', 'rc', 'git', 'p', 'el9', 'fc40', '~', '^', '.', '_', '+'];
    const part = (): string => {
      let s = String(rand(12));
      const k = rand(5);
      for (let i = 0; i < k; i++) s += pieces[rand(pieces.length)]!;
      return s;
    };
    const evr = (): string => `${rand(4) === 0 ? `${rand(3)}:` : ''}${part()}${rand(2) === 0 ? `-${part()}` : ''}`;
    const pairs: Array<[string, string]> = TABLE.map(([a, b]) => [a, b]);
    for (let i = 0; i < 5000; i++) {
      const a = evr();
      // Half the pairs share a prefix so the comparison reaches the interesting tail.
      pairs.push([a, rand(2) === 0 ? evr() : `${a.slice(0, rand(a.length + 1))}${part()}`]);
    }
    const usable = pairs.filter(([a, b]) => rpmScheme.isValid(a) && rpmScheme.isValid(b));
    expect(usable.length).toBeGreaterThan(4500);
    const dir = mkdtempSync(join(tmpdir(), 'distill-rpm-'));
    try {
      const file = join(dir, 'pairs.txt');
      writeFileSync(file, usable.map(([a, b]) => `${a} ${b}\n`).join(''));
      const started = performance.now();
      const out = execFileSync('rpm', ['--eval', `%{lua: for line in io.lines("${file}") do local a, b = line:match("^(%S+) (%S+)$"); io.write(rpm.vercmp(a, b), "\\n") end}`], {
        maxBuffer: 1 << 26,
      }).toString('utf8');
      const answers = out.trimEnd().split('\n').map(Number);
      expect(answers.length).toBe(usable.length);
      const disagreements = usable.flatMap(([a, b], i) => (cmp(a, b) === answers[i] ? [] : [`${a} vs ${b}: rpm ${answers[i]}, distill ${cmp(a, b)}`]));
      expect(disagreements.slice(0, 20)).toEqual([]);
      console.info(`rpm oracle: ${usable.length} pairs checked against rpm.vercmp, ${disagreements.length} disagreements, ${Math.round(performance.now() - started)} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
