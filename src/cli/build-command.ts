/** @module cli/build-command — `distill build`, `distill lock`, `distill images`: flags → the builder → text/JSON → exit code. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DistillError } from '../errors.js';
import type { BuildOptions, BuildProgress, BuildResult, CatalogEntry } from '../build/index.js';

/** The builder (openpgp, xz, …) loads only when a build command runs: other commands start faster. */
const builder = () => import('../build/index.js');
import type { SourcesText } from '../build/apt/sources.js';
import { cacheKey } from './cache-key.js';
import { EXIT } from './exit-codes.js';
import { writeOutput } from './output.js';
import { VERSION } from './version.js';

/** The host's apt sources, as apt reads them: sources.list, then sources.list.d/*.list and *.sources. */
export function hostAptSources(root = '/etc/apt'): SourcesText[] {
  const out: SourcesText[] = [];
  const main = join(root, 'sources.list');
  if (existsSync(main)) out.push({ path: main, text: readFileSync(main, 'utf8') });
  const dir = join(root, 'sources.list.d');
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort() : [];
  for (const n of names) out.push({ path: join(dir, n), text: readFileSync(join(dir, n), 'utf8') });
  return out;
}

/** `--cache`, else DISTILL_CACHE, else `$XDG_CACHE_HOME/distill/debs` (or ~/.cache/distill/debs). */
function cacheDirFrom(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const { DISTILL_CACHE, XDG_CACHE_HOME } = process.env;
  if (DISTILL_CACHE) return DISTILL_CACHE;
  return join(XDG_CACHE_HOME || join(homedir(), '.cache'), 'distill', 'debs');
}

function epochFromEnv(): number | undefined {
  const value = process.env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new DistillError('USAGE', `SOURCE_DATE_EPOCH must be whole seconds, got "${value}"`);
  return Number(value);
}

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function progressPrinter(quiet: boolean | undefined): (event: BuildProgress) => void {
  if (quiet) return () => {};
  const tty = process.stderr.isTTY;
  return (e) => {
    if (e.kind === 'repositories-opened') process.stderr.write(`${e.arch}: ${e.repositories} signed repositories, ${e.packages} packages\n`);
    else if (e.kind === 'resolved') process.stderr.write(`${e.arch}: ${e.packages} packages ${e.locked ? 'from the lock (re-verified)' : 'resolved'}\n`);
    else if (e.kind === 'deb-fetched' && tty) process.stderr.write(`\r\x1b[2K${e.arch}: ${e.done}/${e.total} ${e.name}${e.cached ? ' (cached)' : ''}${e.done === e.total ? '\n' : ''}`);
    else if (e.kind === 'layer-built') process.stderr.write(`${e.arch}: ${e.layer} layer ${e.digest.slice(0, 19)} ${mb(e.size)}\n`);
  };
}

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function commonOptions(opts: Record<string, unknown>): BuildOptions {
  const options: BuildOptions = {
    cacheDir: cacheDirFrom(opts.cache as string | undefined),
    hostSources: hostAptSources(),
    env: { DISTILL_DEBIAN_MIRROR: process.env.DISTILL_DEBIAN_MIRROR },
    onProgress: progressPrinter(opts.quiet as boolean | undefined),
    toolVersion: VERSION,
  };
  const key = cacheKey();
  if (key !== undefined) options.cacheKey = key;
  const archs = opts.arch as string[] | undefined;
  if (archs !== undefined && archs.length > 0) options.archs = archs;
  if (opts.keyring !== undefined) options.keyringPath = opts.keyring as string;
  if (opts.lockfile !== undefined) options.lockPath = opts.lockfile as string;
  const epoch = epochFromEnv();
  if (epoch !== undefined) options.sourceDateEpoch = epoch;
  return options;
}

function whyText(why: 'requested' | readonly string[]): string {
  return why === 'requested' ? 'requested' : why.join(' → ');
}

export function renderBuild(result: BuildResult, explain: boolean): string {
  const lines: string[] = [];
  for (const a of result.archs) {
    lines.push(`${result.recipe.name} ${a.arch}: ${a.packages.length} packages, ${mb(a.compressedSize)} compressed (${mb(a.uncompressedSize)} unpacked), manifest ${a.image.manifestDigest}`);
    lines.push(`  base layer ${a.baseLayer.digest} (${a.baseLayer.packages.length} packages)${a.appLayer ? `, app layer ${a.appLayer.digest}` : ''}`);
    if (explain && a.explain !== undefined) {
      lines.push('  packages (why each is in):');
      for (const p of a.explain.packages) lines.push(`    ${p.name} ${p.version} [${p.layer}] ${whyText(p.why)}`);
      if (a.explain.excluded.length > 0) {
        lines.push('  dependencies left out:');
        for (const e of a.explain.excluded) lines.push(`    ${e.name} (needed by ${e.requiredBy.join(', ')}): ${e.reason}`);
      }
      const drops = Object.entries(a.explain.dropped);
      if (drops.length > 0) {
        lines.push('  files dropped by rule:');
        for (const [rule, d] of drops.sort(([x], [y]) => (x < y ? -1 : 1))) lines.push(`    ${rule}: ${d.entries} entries, ${mb(d.bytes)}`);
      }
      const effects = Object.entries(a.explain.effects);
      if (effects.length > 0) {
        lines.push('  maintainer-script effects recreated:');
        for (const [name, why] of effects) lines.push(`    ${name}: ${why}`);
      }
    }
  }
  if (result.output !== undefined) lines.push(`wrote ${result.output.transport}:${result.output.path} (${result.digest})`, ...result.output.sboms.map((s) => `  sbom ${s}`));
  return `${lines.join('\n')}\n`;
}

export function renderCatalog(entries: CatalogEntry[]): string {
  const header = ['IMAGE', 'REPLACES', 'VARIANT', 'ARCHS', 'PACKAGES', 'SIZE'];
  const rows = entries.map((e) => [
    e.name,
    e.replaces ?? '',
    e.variant,
    e.archs.join(','),
    e.packages === undefined ? '-' : Object.entries(e.packages).map(([a, n]) => `${n} (${a})`).join(' '),
    e.size === undefined ? '-' : Object.entries(e.size).map(([a, n]) => `${mb(n)} (${a})`).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const CACHE_HELP = `
Examples:
  distill build images/nginx.yaml -o docker-archive:nginx.tar --arch amd64
  distill build images/nginx.yaml -o oci:out/nginx --locked
  distill build images/python.yaml --explain

Cache: .debs and indices are checked against the signed archive on every use. Derived results (verified
InReleases, resolutions, decompressed data.tars, layer blobs) are reused only when sealed with the cache key
~/.config/distill/cache-key (made on first use, mode 0600) or $DISTILL_CACHE_KEY (hex; for CI, keep it out
of the cached directory). See docs/build.md, "What the cache trusts".`;

export function registerBuildCommand(program: Command): void {
  program
    .command('build')
    .description('build a minimal image from a recipe (signed Debian packages, no maintainer scripts)')
    .argument('<recipe>', 'recipe file (images/nginx.yaml)')
    .option('-o, --output <spec>', 'oci:DIR, oci-archive:FILE or docker-archive:FILE (single architecture)')
    .option('--arch <archs>', 'architectures to build, comma-separated (default: the recipe\'s)', list)
    .option('--tag <tag>', 'tag in the output', 'latest')
    .option('--locked', 'take exact packages from the lockfile (re-verified against the signed indices)')
    .option('--lockfile <path>', 'lockfile path (default: RECIPE with .lock.json)')
    .option('--explain', 'print why each package is in and what the file rules dropped')
    .option('--cache <dir>', 'download cache (default $DISTILL_CACHE or ~/.cache/distill/debs)')
    .option('--keyring <path>', 'OpenPGP keyring for repositories without Signed-By')
    .option('--format <format>', 'text or json', 'text')
    .option('-q, --quiet', 'no progress on stderr')
    .option('--push <ref>', 'push the result (every architecture) to a registry, e.g. 127.0.0.1:5000/distill/nginx:1.22 (see docs/registry.md)')
    .addHelpText('after', CACHE_HELP)
    .action(async (recipe: string, opts: Record<string, unknown>) => {
      const options = commonOptions(opts);
      if (opts.output !== undefined) options.output = opts.output as string;
      options.tag = opts.tag as string;
      if (opts.locked === true) options.locked = true;
      if (opts.explain === true) options.explain = true;
      const push = typeof opts.push === 'string' ? await (await import('./copy-command.js')).prepareBuildPush(opts.push, options) : undefined;
      const result = await (await builder()).buildImage(recipe, options);
      const pushed = push === undefined ? undefined : await push.run(result, options.tag);
      if (opts.format === 'json') {
        const json = { recipe: result.recipe.name, digest: result.digest, manifestDigests: result.manifestDigests, output: result.output, ...(pushed !== undefined ? { pushed } : {}), archs: result.archs.map((a) => ({ arch: a.arch, manifestDigest: a.image.manifestDigest, packages: a.packages, baseLayer: a.baseLayer, appLayer: a.appLayer, compressedSize: a.compressedSize, uncompressedSize: a.uncompressedSize, explain: a.explain })) };
        await writeOutput(`${JSON.stringify(json, null, 2)}\n`, undefined);
      } else await writeOutput(renderBuild(result, opts.explain === true) + (pushed !== undefined ? `${(await import('./copy-command.js')).copySummary(pushed)}\n` : ''), undefined);
      process.exitCode = EXIT.ok;
    });

  program
    .command('lock')
    .description('resolve every architecture of a recipe and write its lockfile (exact versions and sha256)')
    .argument('<recipe>', 'recipe file')
    .option('--arch <archs>', 'architectures to lock, comma-separated (default: the recipe\'s)', list)
    .option('--lockfile <path>', 'where to write (default: RECIPE with .lock.json)')
    .option('--cache <dir>', 'download cache')
    .option('--keyring <path>', 'OpenPGP keyring for repositories without Signed-By')
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (recipe: string, opts: Record<string, unknown>) => {
      const { lock, path } = await (await builder()).lockImage(recipe, commonOptions(opts));
      const counts = Object.entries(lock.archs).map(([a, l]) => `${a} ${l.length}`).join(', ');
      await writeOutput(`wrote ${path} (${counts} packages)\n`, undefined);
    });

  program
    .command('images')
    .description('the image catalog: image, what it replaces, variant, archs, packages (from the lock) and size (when built)')
    .option('--dir <dir>', 'recipe directory', 'images')
    .option('--built <dir>', 'directory with build outputs (their .build.json summaries give sizes)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { dir: string; built?: string; format: string }) => {
      const entries = await (await builder()).catalogImages(opts.dir, opts.built);
      await writeOutput(opts.format === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : renderCatalog(entries), undefined);
    });
}
