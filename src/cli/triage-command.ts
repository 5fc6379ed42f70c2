/** @module cli/triage-command — `distill triage IMAGE`: the scan turned into an ordered plan (upgrades, base swap, no-fix advice) with risk scores and SSVC decisions. */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { compareScans, imageFacts } from '../compare/compare-images.js';
import { DistillError } from '../errors.js';
import { parsePlatform } from '../oci/platform.js';
import { scanSource } from '../report/scan-source.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import { imageFilePresence } from '../triage/file-presence.js';
import { SSVC_MISSION_IMPACTS, type SsvcMissionImpact } from '../triage/ssvc.js';
import { encodeTriagePlan, TRIAGE_FORMATS, type TriageFormat } from '../triage/triage-formats.js';
import { buildTriagePlan, type RecipeCandidate, type TriageOptions } from '../triage/triage-plan.js';
import { dbPathFrom } from './db-command.js';
import { defaultPlatform, pinnedNow } from './environment.js';
import { writeOutput } from './output.js';
import { VERSION } from './version.js';

interface TriageFlags {
  format: TriageFormat;
  output?: string;
  db?: string;
  platform?: string;
  top?: string;
  missionImpact?: SsvcMissionImpact;
  replacement?: string;
  catalog: string;
}

function parseTop(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,6}$/.test(text) || Number(text) === 0) throw new DistillError('USAGE', `--top needs a whole number from 1, got "${text}"`, { hint: 'e.g. --top 5' });
  return Number(text);
}

/** Recipes of the catalog directory that name the image they replace (the builder is loaded only when the directory exists). */
async function catalogRecipes(dir: string): Promise<RecipeCandidate[]> {
  if (!existsSync(dir)) return [];
  const { catalogImages } = await import('../build/build.js');
  const entries = await catalogImages(dir);
  return entries.flatMap((e) => (e.replaces === undefined ? [] : [{ name: e.name, recipe: e.recipe, replaces: e.replaces, ...(e.stock !== undefined ? { stock: e.stock } : {}), variant: e.variant }]));
}

export function registerTriageCommand(program: Command): void {
  program
    .command('triage')
    .description('turn a scan into an ordered plan: which upgrade or base swap removes the most risk (KEV first), with risk scores and SSVC decisions')
    .argument('<image>', 'image to triage: oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | dir:ROOTFS | sbom:FILE')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...TRIAGE_FORMATS]).default('table'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout')
    .option('--db <path>', 'vulnerability database (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .option('--platform <os/arch[/variant]>', 'image to pick from a multi-platform index (default: this machine)')
    .option('--top <n>', 'show only the first N actions (JSON still lists every finding)')
    .addOption(new Option('--mission-impact <level>', "SSVC mission & well-being impact of this image's service").choices([...SSVC_MISSION_IMPACTS]))
    .option('--replacement <ref>', 'a minimal image that could replace this one: scan it and count what it removes')
    .option('--catalog <dir>', 'recipe directory for base-swap suggestions when no --replacement is given', 'images')
    .addHelpText(
      'after',
      `
Examples:
  distill triage docker-archive:stock-nginx.tar
  distill triage docker-archive:stock-nginx.tar --replacement oci:out/nginx --top 5
  distill triage oci:app --mission-impact high --format json -o plan.json
  distill triage docker-archive:stock-nginx.tar --format markdown >> "$GITHUB_STEP_SUMMARY"

Risk score (0-100, KEV findings 60-100) and SSVC mapping: see docs/triage.md.`,
    )
    .action(async (image: string, flags: TriageFlags) => {
      const top = parseTop(flags.top);
      const store = openVulnDb(dbPathFrom(flags.db), { readonly: true });
      try {
        const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
        const open = { ...(platform !== undefined ? { platform } : {}), defaultPlatform: defaultPlatform() };
        const scan = { store, ...open, now: pinnedNow(), tool: { name: 'distill', version: VERSION } };
        const outcome = await scanSource(image, scan);
        const options: TriageOptions = {};
        if (flags.missionImpact !== undefined) options.missionImpact = flags.missionImpact;
        if (top !== undefined) options.top = top;
        // An SBOM given as input has no filesystem to check: presence stays unknown.
        if (!image.startsWith('sbom:')) options.presence = await imageFilePresence(image, outcome.sbom, open);
        if (flags.replacement !== undefined) {
          const other = await scanSource(flags.replacement, scan);
          const [factsA, factsB] = [await imageFacts(image, open), await imageFacts(flags.replacement, open)];
          options.replacement = { reference: flags.replacement, comparison: compareScans(outcome, other, { a: factsA, b: factsB }) };
        } else options.recipes = await catalogRecipes(flags.catalog);
        await writeOutput(encodeTriagePlan(buildTriagePlan(outcome, options), flags.format), flags.output);
      } finally {
        store.close();
      }
    });
}
