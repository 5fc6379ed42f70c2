/** @module cli/compare-command — `distill compare A B`: two images (or saved scans) side by side (CVEs once per image, sizes, shell, package manager, why CVEs went away). */
import { Command, Option } from 'commander';
import { COMPARE_FORMATS, encodeComparison, type CompareFormat } from '../compare/compare-formats.js';
import { compareScans, imageFacts, type ComparableScan, type ImageFacts } from '../compare/compare-images.js';
import { differingFeeds, readSavedScan, SAVED_SCAN_PREFIX } from '../compare/saved-scan.js';
import { parsePlatform } from '../oci/platform.js';
import { scanSource } from '../report/scan-source.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import type { FeedProvenance } from '../vuln/vulnerability.js';
import { dbPathFrom } from './db-command.js';
import { defaultPlatform, pinnedNow } from './environment.js';
import { writeOutput } from './output.js';
import { VERSION } from './version.js';

interface CompareFlags {
  format: CompareFormat;
  output?: string;
  db?: string;
  platform?: string;
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('compare two images or saved scans: CVEs by severity (each counted once), KEV, EPSS, fixable, packages, size, layers, shell and package manager')
    .argument('<a>', 'the image to compare against (e.g. the stock image): oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | scan:FILE (a saved `distill scan --format json`)')
    .argument('<b>', 'the image (or saved scan) compared with it (e.g. the minimal one)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...COMPARE_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--db <path>', 'vulnerability database for the image sides (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db); not opened when both sides are saved scans')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addHelpText(
      'after',
      `
Examples:
  distill compare docker-archive:stock-nginx.tar oci:out/nginx
  distill compare docker-archive:stock-nginx.tar oci:out/nginx --format markdown >> "$GITHUB_STEP_SUMMARY"
  distill scan docker-archive:stock-nginx.tar --format json -o stock.json
  distill compare scan:stock.json oci:out/nginx

Percentages are reductions of B against A. A saved scan brings its own findings (from the database it was
scanned with) and layer count; sizes, shell and package manager are unknown for it (shown as -).
See docs/compare.md.`,
    )
    .action(async (a: string, b: string, flags: CompareFlags) => {
      const saved = (ref: string) => (ref.startsWith(SAVED_SCAN_PREFIX) ? readSavedScan(ref.slice(SAVED_SCAN_PREFIX.length)) : undefined);
      const [savedA, savedB] = [await saved(a), await saved(b)];
      // Both sides saved: nothing to scan, so no database is needed (and none is opened).
      const store = savedA !== undefined && savedB !== undefined ? undefined : openVulnDb(dbPathFrom(flags.db), { readonly: true });
      try {
        const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
        const open = { ...(platform !== undefined ? { platform } : {}), defaultPlatform: defaultPlatform() };
        const side = async (ref: string, savedSide: typeof savedA): Promise<{ scan: ComparableScan; facts: ImageFacts; db: FeedProvenance[] }> => {
          if (savedSide !== undefined) return savedSide;
          const scan = await scanSource(ref, { store: store!, ...open, now: pinnedNow(), tool: { name: 'distill', version: VERSION } });
          return { scan, facts: await imageFacts(ref, open), db: store!.feeds() };
        };
        const [sideA, sideB] = [await side(a, savedA), await side(b, savedB)];
        const differing = differingFeeds(sideA.db, sideB.db);
        if (differing.length > 0) {
          process.stderr.write(`distill: warning: A and B were scanned with different vulnerability data (${differing.join(', ')}): CVE counts may differ for that reason alone\n`);
        }
        const comparison = compareScans(sideA.scan, sideB.scan, { a: sideA.facts, b: sideB.facts });
        await writeOutput(encodeComparison(comparison, flags.format), flags.output);
      } finally {
        store?.close();
      }
    });
}
