/** @module versions/deb.test — Debian versions: table tests and the dpkg --compare-versions oracle on the real bookworm indices. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { cachedAsync, hasCommand, sharedData } from '../../test/helpers/oracles.js';
import { compareDebFragment, debScheme, formatDebVersion, parseDebVersion } from './deb.js';

const cmp = (a: string, b: string): number => debScheme.compare(a, b);

describe('deb version scheme: table', () => {
  const lt: Array<[string, string]> = [
    ['1.0~rc1', '1.0'],
    ['1.0~~', '1.0~'],
    ['1.0~', '1.0'],
    ['1.0', '1.0a'],
    ['1.0a', '1.0+'],
    ['1.0a', '1.0.'],
    ['1.0', '1.0+b1'],
    ['1.2.3-1', '1.2.3-1+b1'],
    ['1.2.3-1+deb12u1', '1.2.3-1+deb12u2'],
    ['1.2.3-1+deb12u9', '1.2.3-1+deb12u10'],
    ['1.2.3-1~deb12u1', '1.2.3-1'],
    ['1.2.3-1', '1.2.3-2'],
    ['1.9', '1.10'],
    ['9', '10'],
    ['1:0.1', '2:0.0'],
    ['99.9', '1:0.0'],
    ['1.0-1', '1.0.1-1'],
    ['2.36-9+deb12u13', '2.36-9+deb12u14'],
    ['1.0-1', '1.0-1.1'],
    ['7.88.1-10+deb12u8', '7.88.1-10+deb12u12'],
    ['1.0a', '1.0b'],
    ['1.0Z', '1.0a'],
    ['0', '0.0.1'],
    ['1.0-0ubuntu1', '1.0-1'],
    ['10000000000000000000000000', '10000000000000000000000001'],
  ];
  it.each(lt)('%s < %s', (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });

  const eq: Array<[string, string]> = [
    ['1.0', '1.0'],
    ['0:1.0', '1.0'],
    ['1.0', '1.0-0'],
    ['1.00', '1.0'],
    ['1.001', '1.1'],
    ['00:1.0', '1.0'],
    [' 1.0 ', '1.0'],
    ['1.0-1', '1.0-01'],
  ];
  it.each(eq)('%s == %s', (a, b) => {
    expect(cmp(a, b)).toBe(0);
  });

  it('parses epoch, upstream with hyphens and colons, revision', () => {
    expect(parseDebVersion('2:1.2-3-4')).toEqual({ epoch: 2, upstream: '1.2-3', revision: '4' });
    expect(parseDebVersion('1:2:3')).toEqual({ epoch: 1, upstream: '2:3', revision: '' });
    expect(formatDebVersion(parseDebVersion('0:1.0-1')!)).toBe('1.0-1');
    expect(compareDebFragment('', '0')).toBe(0);
  });

  const invalid = ['', ' ', 'a1.0', ':1.0', '1:', 'x:1.0', '-1:1.0', '1.0-', '-1', '1.0 1', '1.0_1', '1.0-1:2', '1.0-1-', '99999999999:1', 'é1', '1.0\u0000'];
  it.each(invalid)('invalid %j: isValid false, compare throws VERSION_INVALID', (v) => {
    expect(debScheme.isValid(v)).toBe(false);
    let thrown: unknown;
    try {
      cmp(v, '1.0');
    } catch (error) {
      thrown = error;
    }
    expect(isDistillError(thrown, 'VERSION_INVALID')).toBe(true);
    expect((thrown as Error).message).toContain(JSON.stringify(v));
  });

  it('hostile input: a 1 MB version compares in linear time without crashing', () => {
    const big = `1.${'9'.repeat(1 << 20)}`;
    const start = performance.now();
    expect(cmp(big, `${big}~`)).toBe(1);
    expect(cmp(`1.${'0'.repeat(1 << 20)}1`, '1.1')).toBe(0);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

/** mulberry32: a tiny seeded PRNG so the random pairs are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dataDir = join(sharedData, 'debian-bookworm-local-system');

/** Package → versions, per suite, from the real Packages indices (binary and source versions). */
function readIndices(): Map<string, Map<string, Set<string>>> {
  const suites = new Map<string, Map<string, Set<string>>>();
  for (const file of readdirSync(dataDir).filter((f) => f.endsWith('_Packages.xz')).sort()) {
    const text = execFileSync('xz', ['-dc', join(dataDir, file)], { maxBuffer: 1 << 30 }).toString('utf8');
    const byPackage = new Map<string, Set<string>>();
    const add = (pkg: string, version: string): void => {
      let set = byPackage.get(pkg);
      if (!set) byPackage.set(pkg, (set = new Set()));
      set.add(version);
    };
    for (const stanza of text.split('\n\n')) {
      const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
      const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
      if (!pkg || !version) continue;
      add(pkg, version);
      const source = /^Source: (\S+) \((\S+)\)$/m.exec(stanza);
      if (source?.[1] && source[2]) add(`src:${source[1]}`, source[2]);
    }
    suites.set(file.replace('_main_Packages.xz', ''), byPackage);
  }
  return suites;
}

describe('deb version scheme: dpkg --compare-versions oracle on the real bookworm indices', () => {
  it.skipIf(!hasCommand('dpkg'))('agrees with dpkg on every pair (>= 20,000 pairs)', async () => {
    const started = performance.now();
    const suites = readIndices();
    const all = new Set<string>();
    for (const byPackage of suites.values()) for (const set of byPackage.values()) for (const v of set) all.add(v);
    const versions = [...all].sort();
    expect(versions.length).toBeGreaterThan(20_000);
    expect(versions.some((v) => v.includes(':'))).toBe(true);
    expect(versions.some((v) => v.includes('~'))).toBe(true);
    expect(versions.some((v) => /\+deb12u\d+$/.test(v))).toBe(true);
    expect(versions.some((v) => /\+b\d+$/.test(v))).toBe(true);
    for (const v of versions) expect(debScheme.isValid(v), v).toBe(true);

    const pairs: Array<[string, string]> = [];
    // Neighbours in distill's own order: any ordering mistake shows up between adjacent entries.
    const sorted = [...versions].sort(cmp);
    for (let i = 1; i < sorted.length; i += 2) pairs.push([sorted[i - 1]!, sorted[i]!]);
    // Neighbours in byte order: similar strings that differ by a suffix (~, +b1, +deb12uN) or an epoch.
    for (let i = 1; i < versions.length; i += 8) pairs.push([versions[i]!, versions[i - 1]!]);
    // Seeded random pairs.
    const random = prng(20240612);
    for (let i = 0; i < 3000; i++) {
      pairs.push([versions[Math.floor(random() * versions.length)]!, versions[Math.floor(random() * versions.length)]!]);
    }
    // The same package across bookworm, bookworm-updates and bookworm-security (the pairs a scan compares).
    const main = suites.get('bookworm')!;
    for (const [suite, byPackage] of suites) {
      if (suite === 'bookworm') continue;
      for (const [pkg, set] of byPackage) {
        for (const newer of set) for (const older of main.get(pkg) ?? []) pairs.push([older, newer]);
      }
    }
    // Equal versions, and equal-but-differently-written versions.
    for (let i = 0; i < versions.length; i += 100) {
      const v = versions[i]!;
      pairs.push([v, v]);
      if (!v.includes(':')) pairs.push([v, `0:${v}`]);
      if (!v.includes('-')) pairs.push([v, `${v}-0`]);
    }
    console.info(`deb oracle: ${versions.length} distinct versions, ${pairs.length} pairs`);
    expect(pairs.length).toBeGreaterThanOrEqual(20_000);

    // One dpkg call per pair asserts distill's claim (lt, eq or gt — they are exclusive), many calls per shell.
    const lines = pairs.map(([a, b]) => {
      const c = cmp(a, b);
      return `dpkg --compare-versions '${a}' ${c < 0 ? 'lt' : c > 0 ? 'gt' : 'eq'} '${b}'; echo $?`;
    });
    const half = Math.ceil(lines.length / 2);
    const scripts = [lines.slice(0, half).join('\n') + '\n', lines.slice(half).join('\n') + '\n'];
    const key = createHash('sha256').update(scripts.join('')).digest('hex').slice(0, 16);
    const results = await cachedAsync(`dpkg-compare-${key}.txt`, async (tmp) => {
      // Two shells in parallel, awaited: the worker's event loop stays free while dpkg runs ~20,000 times.
      const dir = `${tmp}.d`;
      execFileSync('mkdir', ['-p', dir]);
      scripts.forEach((s, i) => writeFileSync(join(dir, `${i}.sh`), s));
      await promisify(execFile)('sh', ['-c', `sh "$1/0.sh" > "$1/0.out" & sh "$1/1.sh" > "$1/1.out"; wait; cat "$1/0.out" "$1/1.out" > "$2"; rm -rf "$1"`, 'sh', dir, tmp]);
    });
    const answers = readFileSync(results, 'utf8').trimEnd().split('\n');
    expect(answers.length).toBe(pairs.length);
    const disagreements = pairs.filter((_, i) => answers[i] !== '0').map(([a, b]) => `${a} vs ${b}: distill ${cmp(a, b)}`);
    expect(disagreements.slice(0, 20)).toEqual([]);
    console.info(`deb oracle: ${pairs.length} pairs checked against dpkg --compare-versions, ${disagreements.length} disagreements, ${Math.round(performance.now() - started)} ms`);
  });
});
