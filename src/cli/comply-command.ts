/** @module cli/comply-command — `distill comply IMAGE`: CIS Docker 1.6 §4 and image checks with evidence, grouped per framework, with the --fail-on gate. */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { COMPLY_FORMATS, encodeComplianceReport, type ComplyFormat } from '../compliance/comply-formats.js';
import { complyImage, gateFails } from '../compliance/comply.js';
import { MAX_DOCKERFILE_BYTES, parseDockerfile } from '../compliance/dockerfile.js';
import { FRAMEWORKS, parseFramework, type Framework } from '../compliance/frameworks.js';
import { parsePlatform } from '../oci/platform.js';
import { defaultPlatform } from './environment.js';
import { EXIT } from './exit-codes.js';
import { writeOutput } from './output.js';

interface ComplyFlags {
  framework: string[];
  format: ComplyFormat;
  output?: string;
  dockerfile?: string;
  failOn?: 'fail' | 'warn';
  platform?: string;
}

async function loadDockerfile(path: string) {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot read Dockerfile ${path}: ${(error as Error).message}`, { hint: 'check the --dockerfile path', subject: path, cause: error });
  }
  if (content.length > MAX_DOCKERFILE_BYTES) throw new DistillError('DOCKERFILE_INVALID', `${path}: ${content.length} bytes, over the ${MAX_DOCKERFILE_BYTES}-byte limit`, { subject: path });
  return parseDockerfile(content, path);
}

export function registerComplyCommand(program: Command): void {
  program
    .command('comply')
    .description('check an image against CIS Docker Benchmark 1.6 §4 and dockle-style checks, with evidence, mapped to NIST SP 800-190 and 800-53')
    .argument('<image>', 'oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE')
    .addOption(
      new Option('--framework <name>', `how results are grouped (repeatable): ${FRAMEWORKS.join(', ')}`)
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], 'cis-docker-1.6'),
    )
    .addOption(new Option('-f, --format <format>', 'output format').choices([...COMPLY_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--dockerfile <file>', 'also check the Dockerfile the image was built from (ADD vs COPY, update-only RUN, secrets in ARG/ENV)')
    .addOption(new Option('--fail-on <status>', `exit ${EXIT.gate} when a check has this result (warn: warn or fail)`).choices(['fail', 'warn']))
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .addHelpText(
      'after',
      `
Examples:
  distill comply oci:out/nginx
  distill comply oci:out/nginx --framework cis-docker-1.6 --format markdown
  distill comply docker-archive:stock-nginx.tar --dockerfile Dockerfile --framework nist-800-190
  distill comply docker-archive:app.tar --framework nist-800-53 --format html -o app-compliance.html
  distill comply oci:out/nginx --fail-on fail        # CI gate

Results: pass, fail, warn, manual (needs a person; the evidence found is shown), not-applicable.
Secrets are searched in every layer, including files a later layer deleted.
Exit codes: 0 done (and the gate passed), ${EXIT.gate} the --fail-on gate failed, 2 usage (unknown framework),
3 unusable input (missing or corrupt image, invalid Dockerfile). See docs/comply.md.`,
    )
    .action(async (reference: string, flags: ComplyFlags) => {
      const frameworks: Framework[] = (flags.framework.length === 0 ? ['cis-docker-1.6'] : flags.framework).map(parseFramework);
      const dockerfile = flags.dockerfile === undefined ? undefined : await loadDockerfile(flags.dockerfile);
      const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
      const report = await complyImage(reference, {
        frameworks,
        ...(dockerfile !== undefined ? { dockerfile } : {}),
        ...(platform !== undefined ? { platform } : {}),
        defaultPlatform: defaultPlatform(),
      });
      await writeOutput(encodeComplianceReport(report, flags.format), flags.output);
      if (flags.failOn !== undefined && gateFails(report, flags.failOn)) {
        if (flags.format !== 'json') process.stderr.write(`distill: comply gate failed: ${report.counts.fail} failed, ${report.counts.warn} warned (--fail-on ${flags.failOn})\n`);
        process.exitCode = EXIT.gate;
      }
    });
}
