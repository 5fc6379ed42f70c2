/** @module versions/maven.test — Maven versions against Maven's ComparableVersion. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../../test/helpers/oracles.js';
import { canonicalMavenVersion, mavenScheme } from './maven.js';

const cmp = (a: string, b: string): number => mavenScheme.compare(a, b);
const JAR = '/usr/share/maven/lib/maven-artifact-3.x.jar';

const EDGE = [
  '1', '1.0', '1.0.0', '1-0', '1.0-0', '1.0.0.0', '1-ga', '1-final', '1.0.RELEASE', '1.0.FINAL', '1.0.GA', '1-SNAPSHOT',
  '1.0-SNAPSHOT', '1-alpha', '1-alpha1', '1-alpha-1', '1.0-alpha-2', '1-a1', '1a1', '1-b1', '1-beta', '1-m1',
  '1-milestone-1', '1-rc1', '1-RC1', '1-cr1', '1-CR2', '1-sp', '1-sp1', '1.0.SP1', '1-xyz', '1-abc', '1.1', '1.1-1',
  '1-1', '1.0.1', '1.0.0.X1', '1.0.0-X2', '1.0.0.x', '1-x', '2.0.0.M1', '2.0.0.RC1', '2.0.0.RELEASE', '2.0.0.BUILD-SNAPSHOT',
  '1.2.3.Final', '5.4.2.Final', '5.4.10.Final', '3.0.0-M5', '3.0.0-beta-1', '1.9.0-1.el9', '20.0', '20.0-jre',
  '31.1-jre', '31.1-android', '1.0.0-20210101.123456-1', '1.2.3-redhat-00001', '1.0-1-1', '1..1', '1.-1', '1-.1',
  '1.0a', '1.0b', '1.0m', '1.0-a', '1.0.a', '1.0z1', '123456789012345678901234567890', '1.2147483648', '1.9223372036854775808',
  '0.0.1', '0', '0.9', '1.0.0-ALPHA', 'alpha', 'rc', 'a1', '1-foo-bar', '1.foo.2', 'v1.0', '1.0.0.1', '1_0',
];

describe('maven version scheme: table', () => {
  it.each([
    ['1-alpha', '1-beta'],
    ['1-beta', '1-milestone'],
    ['1-milestone', '1-rc'],
    ['1-rc', '1-snapshot'],
    ['1-snapshot', '1'],
    ['1', '1-sp'],
    ['1-sp', '1-xyz'],
    ['1.0-alpha1', '1.0-alpha2'],
    ['1.0', '1.0.1'],
    ['1-1', '1.1'],
    ['5.4.2.Final', '5.4.10.Final'],
    ['1.0.0.X1', '1.0.0-X2'],
  ])('%s < %s', (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });
  it.each([['1', '1.0.0'], ['1-ga', '1'], ['1.0.RELEASE', '1'], ['1-final', '1.0'], ['1-cr1', '1-rc1'], ['1a1', '1-alpha-1'], ['1.0-SNAPSHOT', '1-snapshot']])('%s == %s', (a, b) => expect(cmp(a, b)).toBe(0));
  it('canonical forms', () => {
    expect(canonicalMavenVersion('1.0.RELEASE')).toBe('1');
    expect(canonicalMavenVersion('1.0.0.X1')).toBe('1-x-1');
    expect(canonicalMavenVersion('1-SNAPSHOT')).toBe('1-snapshot');
  });
  it.each(['', ' 1.0', '1.0 ', '1\t0', '1.0é', 'x'.repeat(2000)])('invalid %# throws VERSION_INVALID', (v) => {
    expect(mavenScheme.isValid(v)).toBe(false);
    expect(() => cmp(v, '1.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });
});

describe('maven version scheme: ComparableVersion oracle (Maven 3.8 maven-artifact)', () => {
  it.skipIf(!hasCommand('java') || !existsSync(JAR))('agrees with ComparableVersion on every adjacent pair and every canonical form', () => {
    const started = performance.now();
    let seed = 31;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const parts = ['0', '1', '2', '10', '01', 'a', 'b', 'm', 'alpha', 'beta', 'rc', 'cr', 'snapshot', 'sp', 'ga', 'final', 'release', 'x', 'jre', 'redhat'];
    const seps = ['.', '-', ''];
    const generated: string[] = [];
    for (let i = 0; i < 600; i++) {
      let v = String(rand(4));
      const k = 1 + rand(4);
      for (let j = 0; j < k; j++) v += seps[rand(seps.length)]! + parts[rand(parts.length)]!;
      generated.push(v);
    }
    const corpus = [...EDGE, ...generated].filter((v) => mavenScheme.isValid(v));
    // ComparableVersion's main compares each argument with the next: one sorted run (neighbours) and one shuffled run.
    const sequence = [...[...corpus].sort(cmp), ...corpus.map((v) => [rand(1 << 30), v] as const).sort((x, y) => x[0] - y[0]).map(([, v]) => v)];
    const out = execFileSync('java', ['-cp', JAR, 'org.apache.maven.artifact.versioning.ComparableVersion', ...sequence], { maxBuffer: 1 << 26 }).toString('utf8');
    const disagreements: string[] = [];
    let pairs = 0;
    let canonicals = 0;
    for (const line of out.split('\n')) {
      const c = /^\d+\. (\S+) (?:->|==) ([^;]*)/.exec(line);
      if (c) {
        canonicals++;
        if (canonicalMavenVersion(c[1]!) !== c[2]) disagreements.push(`canonical ${c[1]}: maven ${c[2]}, distill ${canonicalMavenVersion(c[1]!)}`);
        continue;
      }
      const p = /^ {3}(\S+) (<|==|>) (\S+)$/.exec(line);
      if (!p) continue;
      pairs++;
      const want = p[2] === '<' ? -1 : p[2] === '>' ? 1 : 0;
      if (cmp(p[1]!, p[3]!) !== want) disagreements.push(`${p[1]} ${p[2]} ${p[3]}: distill ${cmp(p[1]!, p[3]!)}`);
    }
    expect(pairs).toBe(sequence.length - 1);
    expect(canonicals).toBe(sequence.length);
    expect(disagreements.slice(0, 20)).toEqual([]);
    console.info(`maven oracle: ${pairs} pairs and ${canonicals} canonical forms checked against ComparableVersion, ${disagreements.length} disagreements, ${Math.round(performance.now() - started)} ms`);
  });
});
