/** @module bench/run — `npm run bench [-- suite…]`: distill against its peers in the same run, as ratios. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '..', 'shared');
const cache = process.env.DISTILL_BENCH_CACHE ?? join(root, '.cache', 'bench');
const runs = Number(process.env.DISTILL_BENCH_RUNS ?? 3);

interface Measurement { seconds: number; peakMiB: number }

/** Runs a command under GNU time and returns wall seconds and peak RSS; fails loudly on a non-zero exit. */
function measure(command: string, args: string[]): Measurement {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  const line = result.stderr.trim().split('\n').pop()!;
  const [seconds, kib] = line.split(' ').map(Number);
  return { seconds: seconds!, peakMiB: kib! / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function stockImage(name: string, packages?: string): string {
  mkdirSync(cache, { recursive: true });
  const target = join(cache, `stock-${name}.tar`);
  if (!existsSync(target)) {
    process.stderr.write(`bench: building stock ${name} image (once)…\n`);
    const args = packages === undefined ? [name, `${target}.tmp`] : ['--packages', packages, `${target}.tmp`];
    execFileSync(join(shared, 'tools', 'stock-image'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('mv', [`${target}.tmp`, target]);
  }
  return target;
}

function trivyBinary(): string {
  return execFileSync(join(shared, 'tools', 'trivy-packages'), ['path'], { encoding: 'utf8' }).trim();
}

interface Row { suite: string; image: string; sizeMiB: number; distill: Measurement; peer: Measurement; peerName: string; ratio: number }

function sbomSuite(): Row[] {
  const trivy = trivyBinary();
  const only = process.env.DISTILL_BENCH_IMAGES?.split(',');
  const images: [string, () => string][] = [
    ['nginx', () => stockImage('nginx')],
    ['python', () => stockImage('python')],
    // More than 1 GB uncompressed: the bounded-memory check.
    ['large', () => stockImage('large', 'gcc g++ golang-1.19-go rustc llvm-14-dev clang-14 python3-numpy python3-scipy texlive-latex-base')],
  ];
  const rows: Row[] = [];
  for (const [name, build] of images) {
    if (only !== undefined && !only.includes(name)) continue;
    const archive = build();
    const distill: Measurement[] = [];
    const peer: Measurement[] = [];
    for (let run = 0; run < runs; run++) {
      distill.push(measure(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'sbom', `docker-archive:${archive}`, '--format', 'cyclonedx-json', '--quiet', '--output', '/dev/null']));
      // A fresh cache directory each run: Trivy must not answer from a previous run's layer cache.
      const trivyCache = mkdtempSync(join(tmpdir(), 'bench-trivy-'));
      const out = join(trivyCache, 'out.cdx.json');
      try {
        peer.push(measure(trivy, ['image', '--cache-dir', trivyCache, '--skip-db-update', '--offline-scan', '--scanners', 'license', '--skip-files', '**/*.jar', '--format', 'cyclonedx', '--quiet', '-o', out, '--input', archive]));
      } finally {
        rmSync(trivyCache, { recursive: true, force: true });
      }
    }
    const d = { seconds: median(distill.map((m) => m.seconds)), peakMiB: Math.max(...distill.map((m) => m.peakMiB)) };
    const p = { seconds: median(peer.map((m) => m.seconds)), peakMiB: Math.max(...peer.map((m) => m.peakMiB)) };
    rows.push({ suite: 'sbom', image: name, sizeMiB: statSync(archive).size / 1_048_576, distill: d, peer: p, peerName: 'trivy', ratio: d.seconds / p.seconds });
  }
  return rows;
}

interface Figure { suite: string; what: string; value: string; note: string }
const figures: Figure[] = [];

/** Bundled real feeds (CISA KEV, PyPA) and the real-scale synthetic ones, as db import directories. */
async function feedDirs(): Promise<{ bundled: string; synthetic: string; counts: string }> {
  const bundled = join(cache, 'feeds-bundled');
  if (!existsSync(bundled)) {
    mkdirSync(`${bundled}.tmp`, { recursive: true });
    execFileSync('cp', [join(shared, 'data', 'cisa-kev', 'known_exploited_vulnerabilities.json'), `${bundled}.tmp/`]);
    execFileSync('tar', ['xzf', join(shared, 'data', 'pypa-advisory-database', 'pypa-advisory-database-vulns.tar.gz'), '-C', `${bundled}.tmp`]);
    execFileSync('mv', [`${bundled}.tmp`, bundled]);
  }
  const synthetic = join(cache, 'feeds-synthetic');
  const { generateSyntheticFeeds } = await import('./synthetic-feeds.js');
  const generated = await generateSyntheticFeeds(synthetic);
  return { bundled, synthetic, counts: `${generated.epssRows} EPSS rows, ${generated.trackerEntries} tracker entries over ${generated.sourcePackages} source packages` };
}

async function scanSuite(): Promise<Row[]> {
  const cli = join(root, 'dist', 'cli', 'main.js');
  const { bundled, synthetic, counts } = await feedDirs();
  const work = mkdtempSync(join(tmpdir(), 'bench-db-'));
  try {
    const bundledDb = join(work, 'bundled.db');
    const importBundled = measure(process.execPath, [cli, 'db', 'import', bundled, '--db', bundledDb, '-q']);
    figures.push({ suite: 'scan', what: 'db import, bundled feeds (KEV + PyPA)', value: `${importBundled.seconds.toFixed(2)} s, ${(statSync(bundledDb).size / 1_048_576).toFixed(1)} MiB, peak ${importBundled.peakMiB.toFixed(0)} MiB`, note: '1404 KEV entries, 2661 PyPA OSV records' });
    const fullDb = join(work, 'full.db');
    const importAll = measure(process.execPath, [cli, 'db', 'import', bundled, synthetic, '--db', fullDb, '-q']);
    figures.push({ suite: 'scan', what: 'db import, bundled + real-scale synthetic', value: `${importAll.seconds.toFixed(2)} s, ${(statSync(fullDb).size / 1_048_576).toFixed(1)} MiB, peak ${importAll.peakMiB.toFixed(0)} MiB`, note: `${counts}; goal < 60 s` });
    const rows: Row[] = [];
    const trivy = trivyBinary();
    for (const name of ['nginx', 'python']) {
      const archive = stockImage(name);
      const out = join(work, `${name}.json`);
      // Warm: the DB and the image are in the page cache after this first run.
      measure(process.execPath, [cli, 'scan', `docker-archive:${archive}`, '--db', fullDb, '-f', 'json', '-q', '-o', out]);
      const distill: Measurement[] = [];
      const peer: Measurement[] = [];
      for (let run = 0; run < runs; run++) {
        distill.push(measure(process.execPath, [cli, 'scan', `docker-archive:${archive}`, '--db', fullDb, '-f', 'json', '-q', '-o', out]));
        const trivyCache = mkdtempSync(join(tmpdir(), 'bench-trivy-'));
        try {
          peer.push(measure(trivy, ['image', '--cache-dir', trivyCache, '--skip-db-update', '--offline-scan', '--scanners', 'license', '--skip-files', '**/*.jar', '--format', 'cyclonedx', '--quiet', '-o', join(trivyCache, 'out.json'), '--input', archive]));
        } finally {
          rmSync(trivyCache, { recursive: true, force: true });
        }
      }
      const findings = (JSON.parse(readFileSync(out, 'utf8')) as { findings: unknown[] }).findings.length;
      const d = { seconds: median(distill.map((m) => m.seconds)), peakMiB: Math.max(...distill.map((m) => m.peakMiB)) };
      const p = { seconds: median(peer.map((m) => m.seconds)), peakMiB: Math.max(...peer.map((m) => m.peakMiB)) };
      rows.push({ suite: 'scan', image: `${name} (${findings} findings)`, sizeMiB: statSync(archive).size / 1_048_576, distill: d, peer: p, peerName: 'trivy-sbom', ratio: d.seconds / p.seconds });
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const suites: Record<string, () => Row[] | Promise<Row[]>> = { sbom: sbomSuite, scan: scanSuite };
const wanted = process.argv.slice(2).filter((arg) => arg !== '--');
const selected = wanted.length > 0 ? wanted : Object.keys(suites);
const rows: Row[] = [];
for (const name of selected) {
  const suite = suites[name];
  if (suite === undefined) {
    process.stderr.write(`bench: unknown suite "${name}" (known: ${Object.keys(suites).join(', ')})\n`);
    process.exit(2);
  }
  rows.push(...(await suite()));
}

const header = ['suite', 'image', 'size MiB', 'distill s', 'distill MiB', 'peer', 'peer s', 'peer MiB', 'time ratio'];
const table = rows.map((row) => [row.suite, row.image, row.sizeMiB.toFixed(0), row.distill.seconds.toFixed(2), row.distill.peakMiB.toFixed(0), row.peerName, row.peer.seconds.toFixed(2), row.peer.peakMiB.toFixed(0), row.ratio.toFixed(2)]);
const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
for (const cells of [header, ...table]) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ runs, machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, rows, figures }, null, 2));
for (const figure of figures) console.log(`${figure.suite}  ${figure.what}: ${figure.value}  (${figure.note})`);
if (rows.some((row) => row.peerName === 'trivy-sbom')) {
  console.log('trivy-sbom: Trivy has no offline vulnerability DB here, so the peer for scan is its package analysis alone (a lower bound for Trivy scan).');
}
console.log(`\nmedian of ${runs} runs; peak memory is the maximum; results: ${file}`);
