/** @module bench/synthetic-feeds — deterministic real-scale synthetic feeds (EPSS CSV.gz, Debian tracker JSON) for the benchmark. */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface SyntheticFeedOptions {
  /** PRNG seed: the same seed gives byte-identical files. */
  seed?: number;
  /** EPSS rows (≥ 300,000 for the benchmark). */
  epssRows?: number;
  /** Debian tracker CVE entries (package × CVE pairs, ≥ 50,000). */
  trackerEntries?: number;
  /** Distinct source packages the tracker entries spread over (≥ 1,000). */
  sourcePackages?: number;
  /** Debian Packages index (xz) that supplies real source package names and versions. */
  packagesXz?: string;
}

export interface SyntheticFeeds {
  epssPath: string;
  trackerPath: string;
  epssRows: number;
  trackerEntries: number;
  sourcePackages: number;
  /** Status counts of the bookworm release entries. */
  statuses: Record<string, number>;
}

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_PACKAGES = resolve(repoRoot, '..', 'shared', 'data', 'debian-bookworm-local-system', 'bookworm_main_Packages.xz');
export const EPSS_HEADER = '#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000';

/** mulberry32: small, fast, good enough for test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, weighted: ReadonlyArray<readonly [T, number]>): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [value, w] of weighted) if ((r -= w) < 0) return value;
  return (weighted[weighted.length - 1] as readonly [T, number])[0];
}

/** Source package → source version, from the Source:/Package:/Version: fields of a Packages index. */
export function sourcePackagesFromIndex(xzPath: string): Map<string, string> {
  const text = execFileSync('xz', ['-dc', xzPath], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const out = new Map<string, string>();
  for (const stanza of text.split('\n\n')) {
    const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (pkg === undefined || version === undefined) continue;
    const source = /^Source: (\S+)(?: \((\S+)\))?$/m.exec(stanza);
    // A binNMU or a binary with its own version names the source version in parentheses.
    const name = source?.[1] ?? pkg;
    if (!out.has(name)) out.set(name, source?.[2] ?? version);
  }
  return out;
}

/** An earlier Debian revision of `version` when there is one (1.2-3 → 1.2-2), else undefined. */
function earlierRevision(version: string): string | undefined {
  const m = /^(.*-)(\d+)((?:\+deb\d+u\d+)?)$/.exec(version);
  if (m === null) return undefined;
  const rev = Number(m[2]);
  // A point-release version (1.2-3+deb12u1): the fix landed on top of the base revision 1.2-3.
  if (m[3] !== '') return `${m[1]}${m[2]}`;
  return rev > 1 ? `${m[1]}${rev - 1}` : undefined;
}

const URGENCY: ReadonlyArray<readonly [string, number]> = [['not yet assigned', 30], ['unimportant', 20], ['low', 22], ['medium', 13], ['high', 5], ['low**', 4], ['medium**', 4], ['high**', 2]];
const SCOPE: ReadonlyArray<readonly [string, number]> = [['remote', 70], ['local', 30]];

export async function generateSyntheticFeeds(outDir: string, options: SyntheticFeedOptions = {}): Promise<SyntheticFeeds> {
  const rand = prng(options.seed ?? 20250825);
  const epssRows = options.epssRows ?? 320_000;
  const trackerEntries = options.trackerEntries ?? 60_000;
  const wantPackages = options.sourcePackages ?? 2_500;
  mkdirSync(outDir, { recursive: true });

  const all = [...sourcePackagesFromIndex(options.packagesXz ?? DEFAULT_PACKAGES)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (all.length < wantPackages) throw new Error(`the index has only ${all.length} source packages`);
  // Seeded choice without replacement (partial Fisher–Yates).
  for (let i = 0; i < wantPackages; i++) {
    const j = i + Math.floor(rand() * (all.length - i));
    [all[i], all[j]] = [all[j] as [string, string], all[i] as [string, string]];
  }
  const chosen = all.slice(0, wantPackages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  // Skewed spread like the real tracker (a few packages such as linux carry thousands): Zipf-like weights.
  const weights = chosen.map((_, i) => 1 / (1 + ((i * 7919) % chosen.length)) ** 0.9);
  const sum = weights.reduce((s, w) => s + w, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((w / sum) * trackerEntries)));
  let assigned = counts.reduce((s, c) => s + c, 0);
  for (let i = 0; assigned < trackerEntries; i = (i + 1) % counts.length, assigned++) counts[i] = (counts[i] as number) + 1;

  const trackerPath = join(outDir, 'debian-tracker.json');
  const out = createWriteStream(trackerPath);
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, 'drain');
  };
  const statuses: Record<string, number> = {};
  const cves: string[] = [];
  let serial = 0;
  await write('{');
  for (const [index, [name, version]] of chosen.entries()) {
    await write(`${index === 0 ? '' : ','}\n  ${JSON.stringify(name)}: {`);
    const n = counts[index] as number;
    for (let k = 0; k < n; k++) {
      const year = 2005 + Math.floor(rand() * 21);
      const cve = `CVE-${year}-${String(10000 + serial++).padStart(5, '0')}`;
      cves.push(cve);
      const urgency = pick(rand, URGENCY);
      const status = pick(rand, [['resolved', 68], ['open', 24], ['undetermined', 3], ['eol', 2], ['never', 3]] as const);
      let bookworm: Record<string, unknown>;
      if (status === 'resolved') {
        const earlier = earlierRevision(version);
        const fixed = earlier !== undefined && rand() < 0.5 ? earlier : version;
        bookworm = { status: 'resolved', repositories: { bookworm: version }, fixed_version: fixed, urgency };
      } else if (status === 'never') {
        bookworm = { status: 'resolved', repositories: { bookworm: version }, fixed_version: '0', urgency: 'unimportant' };
      } else if (status === 'open') {
        bookworm = { status: 'open', repositories: { bookworm: version }, urgency };
        const r = rand();
        if (r < 0.35) Object.assign(bookworm, { nodsa: 'Minor issue', nodsa_reason: 'postponed' });
        else if (r < 0.5) Object.assign(bookworm, { nodsa: 'Minor issue; can be fixed in a point release', nodsa_reason: 'ignored' });
      } else if (status === 'eol') {
        bookworm = { status: 'open', repositories: { bookworm: version }, urgency: 'end-of-life' };
      } else {
        bookworm = { status: 'undetermined', repositories: { bookworm: version }, urgency: 'not yet assigned' };
      }
      const key = status === 'never' ? 'resolved (fixed_version 0)' : status === 'eol' ? 'open (end-of-life)' : status;
      statuses[key] = (statuses[key] ?? 0) + 1;
      const sid = bookworm.status === 'resolved' ? { ...bookworm, repositories: { sid: version } } : { status: 'open', repositories: { sid: version }, urgency };
      const entry: Record<string, unknown> = {
        scope: pick(rand, SCOPE),
        description: `Synthetic issue ${serial} in ${name} (benchmark data).`,
        releases: { bookworm, sid },
      };
      if (rand() < 0.3) entry.debianbug = 900000 + Math.floor(rand() * 200000);
      await write(`${k === 0 ? '' : ','}\n    ${JSON.stringify(cve)}: ${JSON.stringify(entry)}`);
    }
    await write('\n  }');
  }
  await write('\n}\n');
  out.end();
  await once(out, 'finish');

  // EPSS: every tracker CVE plus more, long-tailed scores like the real distribution (most below 0.01).
  const ids = [...cves];
  for (let i = 0; ids.length < epssRows; i++) ids.push(`CVE-${1999 + (i % 27)}-${String(200000 + i).padStart(6, '0')}`);
  ids.length = epssRows;
  const scores = ids.map(() => Math.min(0.99999, Math.max(0.00001, Math.exp(-rand() * 11.5) * (rand() < 0.02 ? 40 : 1))));
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const percentile = new Float64Array(epssRows);
  order.forEach((row, rank) => (percentile[row] = (rank + 1) / epssRows));
  const lines = [EPSS_HEADER, 'cve,epss,percentile'];
  for (let i = 0; i < epssRows; i++) lines.push(`${ids[i]},${(scores[i] as number).toFixed(5)},${(percentile[i] as number).toFixed(5)}`);
  const epssPath = join(outDir, 'epss_scores-2025-08-25.csv.gz');
  writeFileSync(epssPath, gzipSync(`${lines.join('\n')}\n`, { level: 6 }));
  return { epssPath, trackerPath, epssRows, trackerEntries, sourcePackages: chosen.length, statuses };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('usage: node --import tsx bench/synthetic-feeds.ts OUTDIR');
    process.exit(2);
  }
  const started = Date.now();
  const result = await generateSyntheticFeeds(resolve(outDir));
  console.log(JSON.stringify({ ...result, seconds: (Date.now() - started) / 1000 }, null, 2));
}
