/** @module cli/scan-command — `distill scan REFERENCE`: SBOM, vulnerabilities, report, and the --fail-on gate. */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { parseVex, type VexDocument } from '../match/vex.js';
import { fetchArtifactsOfKind } from '../oci/artifacts/attach.js';
import { encodeScanReport, SCAN_FORMATS, type ScanFormat } from '../report/formats/index.js';
import { gateFailures } from '../report/scan-report.js';
import { scanSource } from '../report/scan-source.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import { SEVERITIES, type Severity } from '../vuln/severity.js';
import { registryClientFor, registryImageArg } from './attach-command.js';
import { catalogOptions } from './catalog-flags.js';
import { dbPathFrom } from './db-command.js';
import { EXIT } from './exit-codes.js';
import { writeOutput } from './output.js';
import { terminalProgress } from './progress.js';

interface ScanFlags {
  format: ScanFormat;
  output?: string;
  failOn?: Severity;
  onlyFixed?: boolean;
  ignoreUnfixed?: boolean;
  vex: string[];
  showSuppressed?: boolean;
  showNegligible?: boolean;
  db?: string;
  platform?: string;
  scope: 'squashed' | 'all-layers';
  quiet?: boolean;
}

/** `--vex attached`: the VEX documents attached to the scanned registry image (referrers API or tag fallback). */
async function attachedVex(reference: string): Promise<VexDocument[]> {
  const location = registryImageArg(reference);
  const client = registryClientFor({});
  try {
    const { documents } = await fetchArtifactsOfKind(client, location, 'vex');
    return documents.map((item) => parseVex(item.document, `VEX attached as ${item.entry.digest}`));
  } finally {
    await client.close();
  }
}

async function readVex(paths: readonly string[], reference: string): Promise<VexDocument[]> {
  const documents: VexDocument[] = [];
  for (const path of paths) {
    if (path === 'attached') {
      documents.push(...(await attachedVex(reference)));
      continue;
    }
    const text = await readFile(path).catch((error: Error) => {
      throw new DistillError('SOURCE_NOT_FOUND', `cannot read VEX file ${path}: ${error.message}`, { subject: path });
    });
    documents.push(parseVex(text, path));
  }
  return documents;
}

export function registerScanCommand(program: Command): void {
  program
    .command('scan')
    .description('find the known vulnerabilities of an image, root filesystem or SBOM')
    .argument('<reference>', 'oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | dir:PATH | sbom:FILE (CycloneDX or SPDX JSON) | a path')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...SCAN_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .addOption(new Option('--fail-on <severity>', `exit ${EXIT.gate} when a shown finding is at or above this severity`).choices([...SEVERITIES]))
    .option('--only-fixed', 'only findings that have a fixed version')
    .option('--ignore-unfixed', 'drop findings with no fix (not-fixed, wont-fix, deferred)')
    .option('--vex <file>', 'OpenVEX 0.2.0 or CycloneDX VEX: not_affected / fixed statements suppress findings (repeatable); `attached`: the VEX documents attached to the registry image', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--show-suppressed', 'also list findings suppressed by VEX, not applicable, or negligible')
    .option('--show-negligible', 'count negligible findings (Debian "unimportant") as shown findings')
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addOption(new Option('--scope <scope>', 'squashed or all-layers').choices(['squashed', 'all-layers']).default('squashed'))
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  distill db update && distill scan docker-archive:stock-nginx.tar
  distill scan oci:./out/nginx --format sarif > nginx.sarif
  distill scan sbom:trivy.cdx.json --fail-on high
  distill scan IMAGE --vex statements.openvex.json --show-suppressed
  distill scan 127.0.0.1:5000/distill/nginx:1.22 --vex attached

Exit codes: 0 done (and the gate passed), ${EXIT.gate} the --fail-on gate failed, 2 usage, 3 unusable input
or no database (run \`distill db update\` or \`distill db import DIR\`), 4 file write failure.`,
    )
    .action(async (reference: string, flags: ScanFlags) => {
      const vex = await readVex(flags.vex, reference);
      const store = openVulnDb(dbPathFrom(flags.db), { readonly: true });
      const progress = flags.quiet ? { listener: () => {}, clear: () => {} } : terminalProgress();
      try {
        const outcome = await scanSource(reference, {
          store,
          vex,
          ...catalogOptions(flags, progress.listener),
          showNegligible: flags.showNegligible,
          onlyFixed: flags.onlyFixed,
          ignoreUnfixed: flags.ignoreUnfixed,
        });
        progress.clear();
        const width = flags.output === undefined && process.stdout.isTTY ? process.stdout.columns : undefined;
        const text = encodeScanReport(outcome.report, flags.format, {
          sbom: outcome.sbom,
          showSuppressed: flags.showSuppressed,
          flags: { showSuppressed: '--show-suppressed', showNegligible: '--show-negligible' },
          ...(width === undefined ? {} : { width }),
        });
        await writeOutput(text, flags.output);
        for (const statement of outcome.unmatchedVexStatements) process.stderr.write(`distill: warning: VEX statement matched no finding: ${statement}\n`);
        for (const issue of outcome.report.issues.filter((item) => item.code === 'NO_VULN_DATA')) process.stderr.write(`distill: warning: ${issue.message}\n`);
        if (flags.failOn !== undefined) {
          const failures = gateFailures(outcome.report, flags.failOn);
          if (failures.length > 0) {
            if (!flags.quiet) process.stderr.write(`distill: gate failed: ${failures.length} finding(s) at or above ${flags.failOn}\n`);
            process.exitCode = EXIT.gate;
          }
        }
      } finally {
        progress.clear();
        store.close();
      }
    });
}
