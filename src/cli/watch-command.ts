/** @module cli/watch-command — `distill watch [DIR]`: rebuild catalog images whose resolved packages changed, rescan stored SBOMs when the vulnerability DB changed, on an interval or once. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { catalogImages } from '../build/build.js';
import { DistillError, type ErrorCode } from '../errors.js';
import { describeChanges, Watcher, type WatchEvent, type WatchRound } from '../jobs/watch.js';
import { openAppStore } from '../storage/app/open-app-store.js';
import { dbPathFrom } from './db-command.js';
import { defaultPlatform } from './environment.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { appStoreLocation, dataDirFrom } from './serve-command.js';
import { VERSION } from './version.js';
import { buildSettings } from './worker-command.js';

interface WatchFlags {
  once?: boolean;
  interval: number;
  db?: string;
  cache?: string;
  outputDir?: string;
  dataDir?: string;
  keyring?: string;
  arch: string[];
  format: 'text' | 'json';
  quiet?: boolean;
}

function seconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected whole seconds, at least 1');
  return Number(value);
}

function text(event: WatchEvent): string {
  switch (event.kind) {
    case 'unchanged':
      return `${event.image}: ${event.reason}`;
    case 'rebuilt':
      return `${event.image} (${event.arch}): ${event.initial ? 'built for the first time' : `rebuilt: ${describeChanges(event.changes)}`} → build ${event.buildId}, scan ${event.scanId}`;
    case 'db-changed':
      return `vulnerability DB changed (${event.dbDigest.slice(0, 19)}…): ${event.stale} stored scans to rescan`;
    case 'rescanned':
      return `${event.image ?? '(no image)'}: rescanned ${event.rescanOf} → ${event.scanId}: ${event.before} → ${event.after} findings`;
    case 'error':
      return `${event.image ?? 'watch'}: ${event.message} [${event.code}]`;
  }
}

export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('rebuild images whose resolved packages changed, rescan stored SBOMs when the vulnerability DB changed')
    .argument('[dir]', 'directory of recipes (*.yaml)', 'images')
    .option('--once', 'one round, then exit (non-zero when a recipe failed)')
    .option('--interval <seconds>', 'time between rounds', seconds, 3600)
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db); its change triggers the rescans')
    .option('--cache <dir>', 'package download cache (default: $DISTILL_CACHE, else $XDG_CACHE_HOME/distill/debs)')
    .option('--output-dir <dir>', 'where rebuilt images are written, one OCI layout per image (default: <data dir>/images)')
    .option('--data-dir <dir>', 'data dir holding the SQLite database (default: $DISTILL_DATA_DIR, else $XDG_DATA_HOME/distill); DISTILL_DATABASE_URL overrides it')
    .option('--keyring <path>', 'OpenPGP keyring for repositories without Signed-By')
    .option('--arch <arch>', 'architectures to follow (repeatable; default each recipe\'s own)', (value: string, all: string[]) => [...all, value], [] as string[])
    .addOption(new Option('--format <format>', 'text lines on stderr, or one JSON line per event on stdout').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'no progress output (text format)')
    .addHelpText(
      'after',
      `
Examples:
  distill watch images/                           # every hour: InRelease → re-resolve → rebuild changed images
  distill db update && distill watch images/ --once --format json
  DISTILL_DATABASE_URL=postgres://distill@db/distill distill watch images/ --interval 900

Each round fetches and verifies every repository's InRelease; an image is re-resolved only when one changed,
and rebuilt only when its resolved package set differs from its newest stored build (the event names the
changed packages). When the vulnerability DB digest differs from the one a stored scan was made with, the
newest scan of each image/role/subject is rescanned from its stored SBOM, without rebuilding. See docs/fleet.md.`,
    )
    .action(async (dir: string, flags: WatchFlags) => {
      const recipes = (await catalogImages(resolve(dir))).map((entry) => entry.recipe);
      const dataDir = dataDirFrom(flags.dataDir);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const store = await openAppStore({ location: appStoreLocation(dataDir) });
      const build = buildSettings(flags.cache, flags.outputDir !== undefined ? resolve(flags.outputDir) : join(dataDir, 'images'));
      if (flags.keyring !== undefined) build.keyringPath = flags.keyring;
      const emit = (event: WatchEvent | ({ kind: 'round' } & Record<string, unknown>)) => {
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify(event)}\n`);
        else if (!flags.quiet && event.kind !== 'round') process.stderr.write(`distill watch: ${text(event as WatchEvent)}\n`);
      };
      const watcher = new Watcher({
        recipes,
        context: { store, vulnDbPath: dbPathFrom(flags.db), tool: { name: 'distill', version: VERSION }, platform: defaultPlatform(), build },
        ...(flags.arch.length > 0 ? { archs: flags.arch } : {}),
        onEvent: emit,
      });
      const summary = (round: WatchRound) => emit({ kind: 'round', rebuilt: round.rebuilt.length, rescanned: round.rescanned.length, errors: round.errors.length, dbDigest: round.dbDigest });
      try {
        if (flags.once) {
          const round = await watcher.round();
          summary(round);
          const first = round.errors[0];
          if (first) process.exitCode = first.code === 'INTERNAL' ? EXIT.internal : exitCodeFor(first.code as ErrorCode);
          return;
        }
        let stopped = false;
        let wake: () => void = () => {};
        const stop = () => {
          stopped = true;
          wake();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        while (!stopped) {
          try {
            summary(await watcher.round());
          } catch (error) {
            // A round that cannot even reach the DB is reported; the next round tries again.
            emit({ kind: 'error', code: error instanceof DistillError ? error.code : 'INTERNAL', message: (error as Error).message });
          }
          if (stopped) break;
          await new Promise<void>((done) => {
            const timer = setTimeout(done, flags.interval * 1000);
            wake = () => {
              clearTimeout(timer);
              done();
            };
          });
        }
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      } finally {
        await store.close();
      }
    });
}
