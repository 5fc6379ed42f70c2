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
function measure(command: string, args: string[], env?: NodeJS.ProcessEnv): Measurement {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, ...(env === undefined ? {} : { env }) });
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

interface BuiltJson { archs: { arch: string; packages: { name: string; version: string; architecture: string }[]; compressedSize: number; uncompressedSize: number }[] }

/** Per-layer sizes of a docker-archive: plain tar bytes, and gzip -6 -n bytes (layers already gzipped count as they are). */
function dockerArchiveSizes(archive: string): { compressed: number; unpacked: number } {
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' })) as { Layers: string[] }[];
  let compressed = 0;
  let unpacked = 0;
  const bytes = (script: string, layer: string): number => Number(execFileSync('bash', ['-o', 'pipefail', '-c', script, 'sh', archive, layer], { encoding: 'utf8' }).trim());
  for (const layer of manifest[0]!.Layers) {
    const gzipped = execFileSync('bash', ['-c', 'tar -xOf "$1" "$2" | head -c 2 | od -An -tx1', 'sh', archive, layer], { encoding: 'utf8' }).trim() === '1f 8b';
    if (gzipped) {
      compressed += bytes('tar -xOf "$1" "$2" | wc -c', layer);
      unpacked += bytes('tar -xOf "$1" "$2" | gzip -dc | wc -c', layer);
    } else {
      unpacked += bytes('tar -xOf "$1" "$2" | wc -c', layer);
      compressed += bytes('tar -xOf "$1" "$2" | gzip -6 -n | wc -c', layer);
    }
  }
  return { compressed, unpacked };
}

/** Debian packages distill's own cataloger finds in a docker-archive. */
async function debCount(archive: string): Promise<number> {
  const { catalogSource } = await import('../src/catalog/catalog-source.js');
  return (await catalogSource(`docker-archive:${archive}`)).packages.filter((p) => p.type === 'deb').length;
}

/**
 * mmdebstrap --variant=extract of exactly `packages` (name=version): apt downloads and dpkg -x extracts them, no maintainer
 * scripts, like distill. apt would add the dependencies distill leaves out on purpose (debconf, iproute2, …), so those
 * are stubbed as installed in the chroot's dpkg status (found by a discovery run), and the set actually fetched is checked.
 */
function mmdebstrapPeer(packages: { name: string; version: string }[], work: string): { args: string[]; stubs: string[] } {
  const dir = join(cache, 'mmdebstrap');
  const lists = join(dir, 'lists');
  const archives = join(dir, 'archives');
  mkdirSync(lists, { recursive: true });
  const sourcesFile = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].find((f) => existsSync(f) && statSync(f).size > 0);
  if (sourcesFile === undefined) throw new Error('bench build: no host apt sources for mmdebstrap');
  const include = packages.map((p) => `${p.name}=${p.version}`).join(',');
  const stubFile = join(work, 'stub-status');
  const fetchedList = join(work, 'fetched');
  const base = (extra: string[]): string[] => ['--quiet', '--variant=extract', `--include=${include}`,
    '--setup-hook=mkdir -p "$1"/var/cache/apt/archives "$1"/var/lib/apt/lists "$1"/var/lib/dpkg',
    `--setup-hook=cat ${stubFile} >> "$1"/var/lib/dpkg/status`,
    `--setup-hook=sync-in ${lists} /var/lib/apt/lists/`,
    ...extra, 'bookworm', join(work, 'mmdebstrap.tar'), sourcesFile];
  const fetched = (): string[] => readFileSync(fetchedList, 'utf8').split('\n').filter((f) => f.endsWith('.deb')).map((f) => f.slice(0, f.indexOf('_'))).sort();
  // A stub names what the package provides (so virtual dependencies such as awk are met) at an epoch apt can never
  // reach, so apt neither installs nor "upgrades" it.
  const stanza = (deb: string): string => {
    const fields = execFileSync('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Architecture', 'Multi-Arch', 'Provides'], { encoding: 'utf8' });
    return `${fields.replace(/^Version: (.*)$/m, 'Version: 99999:$1').trimEnd()}\nStatus: install ok installed\n\n`;
  };
  // Discovery (and warming the lists): an empty archive dir, so what apt fetched is exactly what it chose.
  writeFileSync(stubFile, '');
  const warm = ['--extract-hook=ls "$1"/var/cache/apt/archives > ' + fetchedList, `--extract-hook=sync-out /var/lib/apt/lists ${lists}`];
  const discovery = join(work, 'discovery');
  mkdirSync(discovery);
  execFileSync('mmdebstrap', base([...warm, `--extract-hook=sync-out /var/cache/apt/archives ${discovery}`]), { stdio: ['ignore', 'ignore', 'inherit'] });
  const wanted = new Set(packages.map((p) => p.name));
  const extraFiles = readFileSync(fetchedList, 'utf8').split('\n').filter((f) => f.endsWith('.deb') && !wanted.has(f.slice(0, f.indexOf('_'))));
  writeFileSync(stubFile, extraFiles.map((f) => stanza(join(discovery, f))).join(''));
  // Second warm run with the stubs: it must fetch exactly distill's set; its debs become the peer's warm cache.
  rmSync(archives, { recursive: true, force: true });
  mkdirSync(archives, { recursive: true });
  execFileSync('mmdebstrap', base([...warm, `--extract-hook=sync-out /var/cache/apt/archives ${archives}`]), { stdio: ['ignore', 'ignore', 'inherit'] });
  const got = fetched();
  if (got.join(' ') !== [...wanted].sort().join(' ')) throw new Error(`bench build: mmdebstrap fetched ${got.join(' ')} instead of ${[...wanted].sort().join(' ')}`);
  return { args: base([`--setup-hook=sync-in ${archives} /var/cache/apt/archives/`]), stubs: extraFiles.map((f) => f.slice(0, f.indexOf('_'))) };
}

async function buildSuite(): Promise<Row[]> {
  const cli = join(root, 'dist', 'cli', 'main.js');
  const debCache = join(cache, 'build-debs');
  const work = mkdtempSync(join(tmpdir(), 'bench-build-'));
  const build = (image: string, out: string): BuiltJson => JSON.parse(execFileSync(process.execPath, [cli, 'build', join(root, 'images', `${image}.yaml`), '-o', `docker-archive:${out}`, '--arch', 'amd64', '--cache', debCache, '-q', '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 })) as BuiltJson;
  try {
    // Warm-cache build time: the first build fills the cache (indices and .debs), then the median of the runs.
    const nginxOut = join(work, 'nginx.tar');
    const nginx = build('nginx', nginxOut).archs[0]!;
    const nginxArgs = [cli, 'build', join(root, 'images', 'nginx.yaml'), '-o', `docker-archive:${nginxOut}`, '--arch', 'amd64', '--cache', debCache, '-q', '--format', 'json'];
    const distill: Measurement[] = [];
    for (let run = 0; run < runs; run++) distill.push(measure(process.execPath, nginxArgs));
    // The same build with no cache key (a config home that cannot hold one): no sealed record is used, so every
    // InRelease is verified, the Packages indices are read and resolved, and each data.tar is decompressed.
    const noKeyHome = join(work, 'no-config-home');
    writeFileSync(noKeyHome, '');
    const keyless: Measurement[] = [];
    const keylessEnv: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(noKeyHome, 'config') };
    delete keylessEnv.DISTILL_CACHE_KEY;
    for (let run = 0; run < runs; run++) keyless.push(measure(process.execPath, nginxArgs, keylessEnv));
    const peerSetup = mmdebstrapPeer(nginx.packages, work);
    const peer: Measurement[] = [];
    for (let run = 0; run < runs; run++) peer.push(measure('mmdebstrap', peerSetup.args));
    const d = { seconds: median(distill.map((m) => m.seconds)), peakMiB: Math.max(...distill.map((m) => m.peakMiB)) };
    const k = { seconds: median(keyless.map((m) => m.seconds)), peakMiB: Math.max(...keyless.map((m) => m.peakMiB)) };
    const p = { seconds: median(peer.map((m) => m.seconds)), peakMiB: Math.max(...peer.map((m) => m.peakMiB)) };
    const range = (ms: Measurement[]): string => `${Math.min(...ms.map((m) => m.seconds)).toFixed(2)}–${Math.max(...ms.map((m) => m.seconds)).toFixed(2)}`;
    figures.push({ suite: 'build', what: 'nginx warm build vs mmdebstrap --variant=extract', value: `${d.seconds.toFixed(2)} s (${range(distill)}) vs ${p.seconds.toFixed(2)} s (${range(peer)}), ratio ${(d.seconds / p.seconds).toFixed(2)}`, note: `goal <= 0.25; same ${nginx.packages.length} packages; apt's extra dependencies stubbed as installed: ${peerSetup.stubs.join(' ') || 'none'}` });
    figures.push({ suite: 'build', what: 'nginx warm build without a cache key vs mmdebstrap', value: `${k.seconds.toFixed(2)} s (${range(keyless)}), peak ${k.peakMiB.toFixed(0)} MiB, ratio ${(k.seconds / p.seconds).toFixed(2)}`, note: 'no sealed records: InReleases verified, indices read and resolved, data.tars decompressed' });
    const rows: Row[] = [
      { suite: 'build', image: `nginx (${nginx.packages.length} pkgs)`, sizeMiB: nginx.compressedSize / 1_048_576, distill: d, peer: p, peerName: 'mmdebstrap', ratio: d.seconds / p.seconds },
      { suite: 'build', image: `nginx, no cache key`, sizeMiB: nginx.compressedSize / 1_048_576, distill: k, peer: p, peerName: 'mmdebstrap', ratio: k.seconds / p.seconds },
    ];

    // Every catalog image against its stock equivalent (recipe.replaces.stock), in the same run.
    const { loadRecipe } = await import('../src/build/recipe/recipe.js');
    const mib = (n: number): string => (n / 1_048_576).toFixed(1);
    const table: string[][] = [['image', 'stock', 'distill MiB gz', 'stock MiB gz', 'ratio', 'distill MiB', 'stock MiB', 'ratio', 'distill pkgs', 'stock pkgs', 'ratio']];
    for (const image of ['static', 'base', 'nginx', 'python', 'node', 'redis']) {
      const preset = loadRecipe(join(root, 'images', `${image}.yaml`)).replaces?.stock ?? 'debian';
      const out = join(work, `${image}.tar`);
      const ours = image === 'nginx' ? nginx : build(image, out).archs[0]!;
      const stock = stockImage(preset);
      const sizes = dockerArchiveSizes(stock);
      const oursCount = await debCount(image === 'nginx' ? nginxOut : out);
      const stockCount = await debCount(stock);
      const cells = [image, preset, mib(ours.compressedSize), mib(sizes.compressed), (ours.compressedSize / sizes.compressed).toFixed(3), mib(ours.uncompressedSize), mib(sizes.unpacked), (ours.uncompressedSize / sizes.unpacked).toFixed(3), String(oursCount), String(stockCount), (oursCount / stockCount).toFixed(3)];
      table.push(cells);
      figures.push({ suite: 'build', what: `${image} vs stock ${preset}`, value: `${cells[2]} vs ${cells[3]} MiB gzip (${cells[4]}), ${cells[5]} vs ${cells[6]} MiB unpacked (${cells[7]}), ${cells[8]} vs ${cells[9]} packages (${cells[10]})`, note: image === 'nginx' ? 'goals: < 0.25 of stock bytes, < 30 packages' : `resolved ${ours.packages.length} packages` });
    }
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const cells of table) console.log(cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    console.log('stock gz = gzip -6 -n of each stock layer (stock-image writes them uncompressed); package counts by distill\'s dpkg cataloger on both images\n');
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const suites: Record<string, () => Row[] | Promise<Row[]>> = { sbom: sbomSuite, scan: scanSuite, build: buildSuite };
suites.serve = async () => (await import('./serve.js')).serveSuite();
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
