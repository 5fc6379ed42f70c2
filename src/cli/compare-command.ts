/** @module cli/compare-command — `distill compare A B`: two images side by side (CVEs once per image, sizes, shell, package manager, why CVEs went away). */
import { Command, Option } from 'commander';
import { COMPARE_FORMATS, encodeComparison, type CompareFormat } from '../compare/compare-formats.js';
import { compareScans, imageFacts } from '../compare/compare-images.js';
import { parsePlatform } from '../oci/platform.js';
import { scanSource } from '../report/scan-source.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
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
    .description('compare two images: CVEs by severity (each counted once), KEV, EPSS, fixable, packages, size, layers, shell and package manager')
    .argument('<a>', 'the image to compare against (e.g. the stock image): oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE')
    .argument('<b>', 'the image compared with it (e.g. the minimal one)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...COMPARE_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addHelpText(
      'after',
      `
Examples:
  distill compare docker-archive:stock-nginx.tar oci:out/nginx
  distill compare docker-archive:stock-nginx.tar oci:out/nginx --format markdown >> "$GITHUB_STEP_SUMMARY"

Percentages are reductions of B against A. See docs/compare.md.`,
    )
    .action(async (a: string, b: string, flags: CompareFlags) => {
      const store = openVulnDb(dbPathFrom(flags.db), { readonly: true });
      try {
        const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
        const open = { ...(platform !== undefined ? { platform } : {}), defaultPlatform: defaultPlatform() };
        const scan = { store, ...open, now: pinnedNow(), tool: { name: 'distill', version: VERSION } };
        const [scanA, scanB] = [await scanSource(a, scan), await scanSource(b, scan)];
        const [factsA, factsB] = [await imageFacts(a, open), await imageFacts(b, open)];
        const comparison = compareScans(scanA, scanB, { a: factsA, b: factsB });
        await writeOutput(encodeComparison(comparison, flags.format), flags.output);
      } finally {
        store.close();
      }
    });
}
