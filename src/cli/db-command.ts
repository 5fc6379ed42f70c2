/** @module cli/db-command — `distill db update | import | status`: the local vulnerability database. */
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { resolveFeedUrls, FEED_URL_ENV, NVD_API_KEY_ENV, OSV_ECOSYSTEMS, type FeedUrls } from '../feeds/sources.js';
import { defaultVulnDbPath } from '../storage/vuln-db-location.js';
import type { VulnDbStatus } from '../storage/vuln-db-lifecycle.js';
import type { ImportPathsResult, UpdateEvent } from '../storage/vuln-db-update.js';

/** Feed parsers and downloaders load only when a db command runs. */
const updater = () => import('../storage/vuln-db-update.js');
import type { FeedName } from '../vuln/vulnerability.js';
import { EXIT } from './exit-codes.js';
import { writeOutput } from './output.js';

const FEEDS: readonly FeedName[] = ['debian-tracker', 'alpine-secdb', 'osv', 'nvd', 'epss', 'kev'];

/** `--db PATH`, else DISTILL_DB, else the XDG cache location. */
export function dbPathFrom(flag: string | undefined): string {
  const { XDG_CACHE_HOME, HOME, DISTILL_DB } = process.env;
  return flag ?? defaultVulnDbPath({ XDG_CACHE_HOME, HOME, DISTILL_DB });
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

function eventPrinter(quiet: boolean | undefined): (event: UpdateEvent) => void {
  if (quiet || !process.stderr.isTTY) return () => {};
  let last = 0;
  return (event) => {
    if (event.kind === 'download') process.stderr.write(`\r\x1b[2Kdownloading ${event.feed}: ${event.url}`);
    if (event.kind === 'import') process.stderr.write(`\r\x1b[2Kimporting ${event.feed} (${event.index + 1}/${event.count}) ${event.path}`);
    if (event.kind === 'download-progress' && Date.now() - last > 100) {
      last = Date.now();
      const mb = (event.bytes / 1_048_576).toFixed(1);
      process.stderr.write(`\r\x1b[2K  ${mb} MB${event.total ? ` / ${(event.total / 1_048_576).toFixed(1)} MB` : ''} ${event.url}`);
    }
  };
}

function summary(result: ImportPathsResult): string {
  const lines = result.feeds
    .slice()
    .sort((a, b) => (a.feed < b.feed ? -1 : 1))
    .map((feed) => `  ${feed.feed.padEnd(15)} ${String(feed.records).padStart(9)} records  ${feed.recordDate ?? feed.fetchedAt}  ${feed.origin}`);
  const unknown = result.unknown.length > 0 ? [`  skipped ${result.unknown.length} file(s) that are not feeds (first: ${result.unknown[0]!.path}: ${result.unknown[0]!.reason})`] : [];
  const issues = result.issues.length > 0 ? [`  ${result.issues.length} record(s) skipped with issues (run with --format json to list them)`] : [];
  return [`updated ${result.path} (${(result.sizeBytes / 1_048_576).toFixed(1)} MB)`, ...lines, ...unknown, ...issues].join('\n') + '\n';
}

function statusTable(status: VulnDbStatus): string {
  const rows = status.feeds.map((feed) =>
    [feed.feed, String(feed.records), (feed.recordDate ?? '').slice(0, 10), feed.fetchedAt.slice(0, 10), `${feed.ageDays}d`, feed.stale ? `STALE (> ${feed.maxAgeDays}d)` : 'ok', feed.origin],
  );
  const header = ['FEED', 'RECORDS', 'DATA DATE', 'FETCHED', 'AGE', 'STATE', 'ORIGIN'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  const missing = status.missing.length > 0 ? [`never imported: ${status.missing.join(', ')}`] : [];
  const stale = status.stale ? ['some feeds are stale: run `distill db update` (or `distill db import DIR` offline)'] : [];
  return [`${status.path} (${(status.sizeBytes / 1_048_576).toFixed(1)} MB, schema ${status.schemaVersion})`, '', line(header), ...rows.map(line), '', ...missing, ...stale].join('\n').trimEnd() + '\n';
}

export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('manage the local vulnerability database (feeds, status)');

  db.command('update')
    .description('download every feed and replace the database atomically (needs network)')
    .option('--db <path>', 'database file (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .option('--feeds <list>', `feeds to fetch, comma-separated (default: all: ${FEEDS.join(',')})`, list)
    .option('--ecosystems <list>', `OSV ecosystems (default: ${OSV_ECOSYSTEMS.join(',')})`, list)
    .option('--keep-downloads <dir>', 'download into this directory and keep the files (for `db import` elsewhere); an interrupted update resumes the partial downloads found there')
    .addOption(new Option('--format <format>', 'result format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Feed URLs default to the published locations (docs/db.md) and can be overridden with
${Object.values(FEED_URL_ENV).join(', ')}. ${NVD_API_KEY_ENV} raises NVD's rate limit.
HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured. Without network the command fails fast:
bring the files in by hand and use \`distill db import DIR\`. A failed or interrupted update
leaves the previous database untouched.`,
    )
    .action(async (flags: { db?: string; feeds?: string[]; ecosystems?: string[]; keepDownloads?: string; format: string; quiet?: boolean }) => {
      const feeds = flags.feeds as FeedName[] | undefined;
      const unknown = feeds?.filter((feed) => !FEEDS.includes(feed));
      if (unknown && unknown.length > 0) throw new DistillError('USAGE', `unknown feed(s): ${unknown.join(', ')}`, { hint: `feeds are ${FEEDS.join(', ')}` });
      const urls: FeedUrls = resolveFeedUrls({}, process.env);
      const result = await (await updater()).updateFromNetwork(dbPathFrom(flags.db), {
        now: new Date(),
        owner: `${process.pid}@${hostname()}`,
        urls,
        feeds,
        ecosystems: flags.ecosystems,
        nvdApiKey: process.env[NVD_API_KEY_ENV],
        proxy: process.env,
        downloadDir: flags.keepDownloads,
        onEvent: eventPrinter(flags.quiet),
      });
      if (!flags.quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
      await writeOutput(flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : summary(result), undefined);
    });

  db.command('import')
    .description('import feed files brought in by hand (air-gapped); other feeds in the database are kept')
    .argument('<paths...>', 'feed files or directories (kind detected from content)')
    .option('--db <path>', 'database file (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .addOption(new Option('--format <format>', 'result format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nReads Debian tracker JSON, OSV all.zip / JSON / YAML, Alpine secdb JSON, NVD CVE API 2.0 pages,\nFIRST EPSS CSV(.gz) and CISA KEV JSON. See docs/db.md.')
    .action(async (paths: string[], flags: { db?: string; format: string; quiet?: boolean }) => {
      const result = await (await updater()).importPaths(dbPathFrom(flags.db), paths, { now: new Date(), owner: `${process.pid}@${hostname()}`, onEvent: eventPrinter(flags.quiet) });
      if (!flags.quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
      await writeOutput(flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : summary(result), undefined);
    });

  db.command('status')
    .description('each feed: records, data date, age; warns when stale')
    .option('--db <path>', 'database file (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--fail-stale', `exit ${EXIT.gate} when a feed is stale or missing (for CI)`)
    .action(async (flags: { db?: string; format: string; failStale?: boolean }) => {
      const { vulnDbStatus } = await import('../storage/vuln-db-lifecycle.js');
      const status = vulnDbStatus(dbPathFrom(flags.db), new Date());
      await writeOutput(flags.format === 'json' ? `${JSON.stringify(status, null, 2)}\n` : statusTable(status), undefined);
      if (status.stale && flags.format === 'table') process.stderr.write('distill: the vulnerability data is stale\n  hint: run `distill db update` (or `distill db import DIR` offline)\n');
      if (flags.failStale && (status.stale || status.missing.length > 0)) process.exitCode = EXIT.gate;
    });
}
