/** @module cli/vex-command — `distill vex IMAGE [--against OTHER]`: an OpenVEX 0.2.0 or CycloneDX 1.6 VEX document for the image. */
import { Command, Option } from 'commander';
import { parsePlatform } from '../oci/platform.js';
import { scanSource } from '../report/scan-source.js';
import { buildVexStatements } from '../report/vex/vex-statements.js';
import { encodeCycloneDxVex, encodeOpenVex, VEX_FORMATS, type VexFormat } from '../report/vex/vex-writers.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import { dbPathFrom } from './db-command.js';
import { defaultPlatform, pinnedNow } from './environment.js';
import { writeOutput } from './output.js';
import { VERSION } from './version.js';

interface VexFlags {
  against?: string;
  format: VexFormat;
  output?: string;
  author: string;
  product?: string;
  db?: string;
  platform?: string;
}

export function registerVexCommand(program: Command): void {
  program
    .command('vex')
    .description('write VEX statements for an image: fixed / not_affected against the image it replaces, affected with an action for what remains')
    .argument('<image>', 'the image the statements are about: oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | sbom:FILE')
    .option('--against <other>', 'the image it replaces: its CVEs this image has not are stated fixed (newer version) or not_affected (component_not_present)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...VEX_FORMATS]).default('openvex'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--author <name>', 'document author (an IRI, email or organisation)', 'distill')
    .option('--product <purl>', 'product id for the image (default: pkg:oci/NAME@DIGEST?arch=…&repository_url=… from the image)')
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addHelpText(
      'after',
      `
Examples:
  distill vex oci:out/nginx --against docker-archive:stock-nginx.tar > nginx.openvex.json
  distill vex oci:out/nginx --format cyclonedx -o nginx.vex.cdx.json
  distill scan oci:out/nginx --vex nginx.openvex.json --show-suppressed

The timestamp honours SOURCE_DATE_EPOCH. A statement applies to a scan only when its product is the scanned
image (same manifest digest); see docs/vex.md.`,
    )
    .action(async (image: string, flags: VexFlags) => {
      const store = openVulnDb(dbPathFrom(flags.db), { readonly: true });
      try {
        const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
        const scan = { store, ...(platform !== undefined ? { platform } : {}), defaultPlatform: defaultPlatform(), now: pinnedNow(), tool: { name: 'distill', version: VERSION } };
        const outcome = await scanSource(image, scan);
        const against = flags.against === undefined ? undefined : await scanSource(flags.against, scan);
        const vex = buildVexStatements(outcome, { ...(against !== undefined ? { against } : {}), ...(flags.product !== undefined ? { product: flags.product } : {}) });
        const options = { author: flags.author, timestamp: pinnedNow(), tool: { name: 'distill', version: VERSION } };
        await writeOutput(flags.format === 'cyclonedx' ? encodeCycloneDxVex(vex, options) : encodeOpenVex(vex, options), flags.output);
      } finally {
        store.close();
      }
    });
}
