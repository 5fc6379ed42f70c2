/** @module cli/sbom-command — `distill sbom REFERENCE`: catalog an image or rootfs and print its SBOM. */
import { Command, Option } from 'commander';
import { catalogSource } from '../catalog/catalog-source.js';
import { DistillError } from '../errors.js';
import { encodeSbom, SBOM_FORMATS, type SbomFormat } from '../sbom/formats/index.js';
import { catalogOptions } from './catalog-flags.js';
import { writeOutput } from './output.js';
import { terminalProgress } from './progress.js';

export function registerSbomCommand(program: Command): void {
  program
    .command('sbom')
    .description('list the packages in an image or root filesystem (an SBOM)')
    .argument('<reference>', 'oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:REPO:TAG] | dir:PATH | a path (transport detected)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...SBOM_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addOption(new Option('--scope <scope>', 'squashed: what a container sees; all-layers: also files later layers deleted').choices(['squashed', 'all-layers']).default('squashed'))
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  distill sbom docker-archive:stock-nginx.tar
  distill sbom oci:./layout:tag --format cyclonedx-json > sbom.cdx.json
  distill sbom oci-archive:img.tar --platform linux/arm64 --format spdx-json
  distill sbom dir:/path/to/rootfs --format json
  distill sbom ./anything.tar

SOURCE_DATE_EPOCH pins the SBOM timestamp for reproducible output.`,
    )
    .action(async (reference: string, flags: { format: SbomFormat; output?: string; platform?: string; scope: 'squashed' | 'all-layers'; quiet?: boolean }) => {
      const progress = flags.quiet ? { listener: () => {}, clear: () => {} } : terminalProgress();
      let sbom;
      try {
        sbom = await catalogSource(reference, catalogOptions(flags, progress.listener));
      } finally {
        progress.clear();
      }
      if (!SBOM_FORMATS.includes(flags.format)) throw new DistillError('FORMAT_UNKNOWN', `unknown format ${flags.format}`);
      const width = flags.output === undefined && process.stdout.isTTY ? process.stdout.columns : undefined;
      await writeOutput(encodeSbom(sbom, flags.format, width === undefined ? {} : { width }), flags.output);
      if (!flags.quiet && sbom.issues.length > 0 && flags.format !== 'table') {
        process.stderr.write(`distill: ${sbom.issues.length} issue(s) recorded in the SBOM (see "issues")\n`);
      }
    });
}
