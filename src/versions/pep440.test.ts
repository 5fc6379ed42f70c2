/** @module versions/pep440.test — PEP 440 versions against packaging.version on the real PyPA records. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sharedData } from '../../test/helpers/oracles.js';
import { normalizePep440, pep440Scheme } from './pep440.js';

const cmp = (a: string, b: string): number => pep440Scheme.compare(a, b);

/** A Python with `packaging` (Debian's python3-packaging, or any python3 on PATH that has it). */
function pythonWithPackaging(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import packaging.version'], { stdio: 'ignore' });
      return py;
    } catch {
      /* try the next */
    }
  }
  return null;
}
const python = pythonWithPackaging();

// Reads JSON [[a, b], ...] on stdin; prints one line per pair: -1/0/1, or "invalid" when either side is not a Version.
const ORACLE = `
import json, sys
from packaging.version import Version, InvalidVersion
out = []
for a, b in json.load(sys.stdin):
    try:
        x, y = Version(a), Version(b)
    except InvalidVersion:
        out.append("invalid"); continue
    out.append(str((x > y) - (x < y)))
print("\\n".join(out))
`;

const EDGE = [
  '1.0', '1.0.0', '1', '1.0.0.0', '1.0rc1', '1.0RC1', '1.0c1', '1.0-rc.1', '1.0pre1', '1.0preview2', '1.0a', '1.0alpha1',
  '1.0b2', '1.0beta2', '1.0.post1', '1.0-1', '1.0post', '1.0.rev2', '1.0r3', '1.0.dev0', '1.0dev', '1.0a1.dev1',
  '1.0.post1.dev2', '1.0rc1.post1', '1!1.0', '0!1.0', '2!0.1', '1.0+local', '1.0+local.1', '1.0+local.a', '1.0+1',
  '1.0+abc.5', '1.0+abc.10', '1.0+ubuntu-1', 'v1.0', 'V1.0', ' 1.0 ', '01.02', '1.0.0a1', '1.0.dev456', '1.0a12.dev456',
  '1.0a12', '1.0b1.dev456', '1.0b2.post345.dev456', '1.0b2.post345', '1.0rc1.dev456', '1.0.post456.dev34',
  '1.0.post456', '1.1.dev1', '1.0_post1', '1.0-dev1', '10000000000000000000000.0', '1.0.0-',
  '1.0+', 'latest', '1.0.x', '', 'dev', '1.0-alpha', '1..0', '1.0.post1+x.y_z-1',
];

describe('pep440 version scheme: table', () => {
  it.each([
    ['1.0.dev0', '1.0a1'],
    ['1.0a1', '1.0b1'],
    ['1.0b1', '1.0rc1'],
    ['1.0rc1', '1.0'],
    ['1.0', '1.0.post1'],
    ['1.0', '1.0+local'],
    ['1.0+abc.5', '1.0+abc.10'],
    ['1.0+abc', '1.0+5'],
    ['1.0.post1.dev1', '1.0.post1'],
    ['1.0a1.dev1', '1.0a1'],
    ['2.0', '1!1.0'],
    ['1.9', '1.10'],
  ])('%s < %s', (a, b) => {
    expect(cmp(a, b)).toBe(-1);
    expect(cmp(b, a)).toBe(1);
  });
  it.each([['1.0.0', '1.0'], ['1.0RC1', '1.0rc1'], ['1.0c1', '1.0rc1'], ['1.0-1', '1.0.post1'], ['v1.0', '1.0'], ['0!1.0', '1.0']])('%s == %s', (a, b) => expect(cmp(a, b)).toBe(0));
  it('normalises like packaging', () => {
    expect(normalizePep440('1.0RC1')).toBe('1.0rc1');
    expect(normalizePep440('1.0-1')).toBe('1.0.post1');
    expect(normalizePep440('01.02')).toBe('1.2');
    expect(normalizePep440('1!2.0-dev3+Ubuntu-1')).toBe('1!2.0.dev3+ubuntu.1');
  });
  it.each(['', 'latest', '1.0.x', '1..0', '1.0+', 'x'.repeat(5000)])('invalid %j throws VERSION_INVALID', (v) => {
    expect(pep440Scheme.isValid(v)).toBe(false);
    expect(() => cmp(v, '1.0')).toThrow(expect.objectContaining({ code: 'VERSION_INVALID' }));
  });
});

/** Every version string in the real PyPA records: `versions:` lists and range events. */
function pypaVersions(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'distill-pypa-'));
  const found = new Set<string>();
  try {
    execFileSync('tar', ['-xzf', join(sharedData, 'pypa-advisory-database', 'pypa-advisory-database-vulns.tar.gz'), '-C', dir]);
    const walk = (d: string): void => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.yaml')) {
          // failsafe: every scalar stays a string, so `1.10` is not read as the number 1.1.
          const doc = parse(readFileSync(p, 'utf8'), { schema: 'failsafe' }) as { affected?: Array<{ versions?: string[]; ranges?: Array<{ events?: Array<Record<string, string>> }> }> };
          for (const a of doc.affected ?? []) {
            for (const v of a.versions ?? []) found.add(v);
            for (const r of a.ranges ?? []) for (const e of r.events ?? []) for (const v of Object.values(e)) found.add(v);
          }
        }
      }
    };
    walk(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...found].sort();
}

describe('pep440 version scheme: packaging.version oracle on the real PyPA records', () => {
  it.skipIf(python === null)('agrees with packaging on validity and order (thousands of pairs)', () => {
    const started = performance.now();
    const real = pypaVersions();
    expect(real.length).toBeGreaterThan(5000);
    const all = [...real, ...EDGE];
    let seed = 440;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pairs: Array<[string, string]> = [];
    const sorted = real.filter((v) => pep440Scheme.isValid(v)).sort(cmp);
    for (let i = 1; i < sorted.length; i++) pairs.push([sorted[i - 1]!, sorted[i]!]);
    for (let i = 0; i < 3000; i++) pairs.push([all[rand(all.length)]!, all[rand(all.length)]!]);
    for (const a of EDGE) for (const b of EDGE) pairs.push([a, b]);
    for (const v of all) pairs.push([v, v]);

    const out = execFileSync(python!, ['-c', ORACLE], { input: JSON.stringify(pairs), maxBuffer: 1 << 28 }).toString('utf8');
    const answers = out.trimEnd().split('\n');
    expect(answers.length).toBe(pairs.length);
    const disagreements: string[] = [];
    pairs.forEach(([a, b], i) => {
      const ours = pep440Scheme.isValid(a) && pep440Scheme.isValid(b) ? String(cmp(a, b)) : 'invalid';
      if (ours !== answers[i]) disagreements.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: packaging ${answers[i]}, distill ${ours}`);
    });
    expect(disagreements.slice(0, 20)).toEqual([]);
    console.info(`pep440 oracle: ${real.length} real versions, ${pairs.length} pairs checked against packaging.version, ${disagreements.length} disagreements, ${Math.round(performance.now() - started)} ms`);
  });
});
