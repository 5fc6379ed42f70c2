/** @module cli/attach-command — `distill attach sbom|vex|provenance IMAGE FILE`, `attach list IMAGE`, `attach fetch IMAGE`: documents as OCI artifacts referring to an image. */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../oci/artifacts/artifact-kinds.js';
import { attachArtifact, fetchArtifact, listArtifacts, resolveSubject, type ArtifactEntry } from '../oci/artifacts/attach.js';
import { buildSlsaProvenance, type ResourceDescriptor } from '../oci/artifacts/provenance.js';
import { digestOf } from '../oci/digest.js';
import type { ManifestLocation } from '../oci/artifacts/registry-port.js';
import { parseReference } from '../oci/reference.js';
import { RegistryClient } from '../oci/registry/client.js';
import { pinnedNow } from './environment.js';
import { writeOutput } from './output.js';
import { registryClientOptions } from './registry-environment.js';
import { VERSION } from './version.js';

export interface RegistryFlags {
  insecure?: boolean;
  ca?: string;
}

/** Adds the registry connection flags shared by attach, sign and verify. */
export function addRegistryFlags(command: Command): Command {
  return command
    .option('--insecure', 'allow plain HTTP to the registry (loopback registries fall back to HTTP by themselves)')
    .option('--ca <file>', 'PEM file with extra CA certificates to trust (also $DISTILL_REGISTRY_CA)');
}

/** The image a CLI argument names: `registry:HOST/REPO:TAG`, `docker://…` or a bare registry reference. */
export function registryImageArg(text: string): ManifestLocation {
  const parsed = parseReference(text);
  if (parsed.transport !== 'registry' || parsed.registry === undefined) {
    throw new DistillError('BAD_REFERENCE', `${text} is not a registry image: signatures and attached artifacts live in a registry`, {
      hint: 'name the image as HOST[:PORT]/REPO[:TAG|@DIGEST], e.g. 127.0.0.1:5000/team/app:1.4 (push it first with `distill copy`)',
      subject: text,
    });
  }
  return parsed.registry;
}

/** A registry client with the CLI's registry settings (cli/registry-environment) and the command's flags. */
export function registryClientFor(flags: RegistryFlags): RegistryClient {
  return new RegistryClient(registryClientOptions({ ...(flags.insecure ? { insecure: true } : {}), ...(flags.ca !== undefined ? { ca: flags.ca } : {}) }));
}

function describe(location: ManifestLocation): string {
  return `${location.registry}/${location.repository}${location.digest !== undefined ? `@${location.digest}` : `:${location.tag ?? 'latest'}`}`;
}

function listingTable(entries: readonly ArtifactEntry[]): string {
  if (entries.length === 0) return 'no artifacts attached\n';
  const rows = entries.map((entry) => [entry.kind ?? '?', entry.artifactType ?? '?', entry.digest.slice(0, 19), entry.created ?? '', entry.title ?? '']);
  const header = ['KIND', 'ARTIFACT TYPE', 'DIGEST', 'CREATED', 'TITLE'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `${cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

interface AttachFlags extends RegistryFlags {
  format: 'text' | 'json';
  form?: 'artifactType' | 'config';
}

interface ListFlags extends RegistryFlags {
  format: 'table' | 'json';
  type?: ArtifactKind;
}

interface FetchFlags extends RegistryFlags {
  type?: ArtifactKind;
  digest?: string;
  output?: string;
}

interface ProvenanceFlags {
  generate?: boolean;
  recipe?: string;
  lockfile?: string;
}

/**
 * A SLSA provenance v1 statement for an image distill built from `recipe`: the subject is the registry
 * image's digest, the resolved dependencies are the recipe and every locked .deb (archive URL and sha256).
 */
async function generateProvenance(client: RegistryClient, location: ManifestLocation, flags: ProvenanceFlags): Promise<Buffer> {
  if (flags.recipe === undefined) throw new DistillError('USAGE', '--generate needs --recipe RECIPE (the recipe the image was built from)');
  const recipePath = flags.recipe;
  const lockPath = flags.lockfile ?? join(dirname(recipePath), `${basename(recipePath).replace(/\.ya?ml$/, '')}.lock.json`);
  const recipe = await readFile(recipePath).catch((error: Error) => {
    throw new DistillError('RECIPE_NOT_FOUND', `cannot read recipe ${recipePath}: ${error.message}`, { subject: recipePath });
  });
  const lockText = await readFile(lockPath, 'utf8').catch((error: Error) => {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot read lockfile ${lockPath}: ${error.message}`, { hint: `write it with \`distill lock ${recipePath}\` (the build's exact packages and their sha256)`, subject: lockPath });
  });
  // The lock parser lives with the builder; load it only for this path.
  const { parseLock } = await import('../build/lock.js');
  const lock = parseLock(lockText, lockPath);
  const subject = await resolveSubject(client, location);
  const dependencies: ResourceDescriptor[] = [{ uri: `file:${recipePath}`, digest: { sha256: digestOf(recipe).slice(7) } }];
  const seen = new Set<string>();
  for (const packages of Object.values(lock.archs)) {
    for (const item of packages) {
      if (seen.has(item.sha256)) continue;
      seen.add(item.sha256);
      dependencies.push({ uri: `${item.repository.uri.replace(/\/+$/, '')}/${item.filename}`, name: `pkg:deb/debian/${item.name}@${encodeURIComponent(item.version)}?arch=${item.architecture}`, digest: { sha256: item.sha256 } });
    }
  }
  const statement = buildSlsaProvenance({
    subject: { name: `${location.registry}/${location.repository}`, digest: subject.digest },
    externalParameters: { recipe: recipePath, lockfile: lockPath, archs: Object.keys(lock.archs), lockRecipeDigest: lock.recipeDigest },
    resolvedDependencies: dependencies,
    builderId: 'https://github.com/distill/distill',
    builderVersion: { distill: VERSION },
    finishedOn: pinnedNow(),
  });
  return Buffer.from(statement, 'utf8');
}

function attachKindCommand(kind: ArtifactKind, what: string): Command {
  const command = new Command(kind)
    .description(`attach ${what} to an image as an OCI artifact (subject = the image manifest)`)
    .argument('<image>', 'registry image: HOST[:PORT]/REPO[:TAG|@DIGEST]')
    .argument(kind === 'provenance' ? '[file]' : '<file>', what)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--form <form>', 'manifest form: OCI 1.1 artifactType (default, falls back to config if refused) or the config media type').choices(['artifactType', 'config']));
  if (kind === 'provenance') {
    command
      .option('--generate', 'write a SLSA provenance v1 statement for an image distill built (instead of FILE)')
      .option('--recipe <file>', 'with --generate: the recipe the image was built from')
      .option('--lockfile <file>', 'with --generate: its lockfile (default: RECIPE with .lock.json)');
  }
  addRegistryFlags(command);
  return command.action(async (image: string, file: string | undefined, flags: AttachFlags & ProvenanceFlags) => {
    const location = registryImageArg(image);
    if (flags.generate === true && file !== undefined) throw new DistillError('USAGE', 'give either FILE or --generate, not both');
    if (flags.generate !== true && file === undefined) throw new DistillError('USAGE', `missing FILE (${what})${kind === 'provenance' ? ', or --generate --recipe RECIPE' : ''}`);
    const client = registryClientFor(flags);
    try {
      const document =
        file === undefined
          ? await generateProvenance(client, location, flags)
          : await readFile(file).catch((error: Error) => {
              throw new DistillError('SOURCE_NOT_FOUND', `cannot read ${file}: ${error.message}`, { subject: file });
            });
      const title = file === undefined ? 'provenance.intoto.json' : basename(file);
      const result = await attachArtifact(client, location, { kind, document, title, created: pinnedNow(), ...(flags.form === undefined ? {} : { form: flags.form }) });
      if (flags.format === 'json') {
        await writeOutput(`${JSON.stringify({ image: describe(location), subject: result.subject, artifact: result.artifact, format: result.format, form: result.form, discovery: result.discovery, fallbackTag: result.fallbackTag ?? null }, null, 2)}\n`, undefined);
        return;
      }
      const where = result.discovery === 'referrers-api' ? 'indexed by the registry\'s referrers API' : `listed in the fallback tag ${location.registry}/${location.repository}:${result.fallbackTag ?? ''} (no referrers API)`;
      await writeOutput(`attached ${kind} (${result.format}) to ${location.registry}/${location.repository}@${result.subject.digest}\n  artifact ${result.artifact.digest} (${result.artifact.artifactType ?? ''})\n  ${where}\n`, undefined);
    } finally {
      await client.close();
    }
  });
}

export function registerAttachCommand(program: Command): void {
  const attach = program
    .command('attach')
    .description('attach SBOM, VEX and provenance documents to a registry image as OCI artifacts; list and fetch them')
    .addHelpText(
      'after',
      `
Artifacts are OCI image manifests with an artifactType and a subject (the image). They are found through the
registry's referrers API, or, where the registry lacks it (distribution 2.8), through the sha256-<hex> tag
index that distill keeps next to the image.

Examples:
  distill attach sbom 127.0.0.1:5000/distill/nginx:1.22 nginx.cdx.json
  distill attach vex 127.0.0.1:5000/distill/nginx:1.22 triage.openvex.json
  distill attach provenance 127.0.0.1:5000/distill/nginx:1.22 nginx.intoto.json
  distill attach provenance 127.0.0.1:5000/distill/nginx:1.22 --generate --recipe images/nginx.yaml
  distill attach list 127.0.0.1:5000/distill/nginx:1.22
  distill attach fetch 127.0.0.1:5000/distill/nginx:1.22 --type sbom -o nginx.cdx.json
  distill scan 127.0.0.1:5000/distill/nginx:1.22 --vex attached

Exit codes: 0 done, 2 usage, 3 unusable input (bad file, bad reference, artifact not found), 4 registry or write failure.`,
    );
  attach.addCommand(attachKindCommand('sbom', 'a CycloneDX or SPDX JSON SBOM'));
  attach.addCommand(attachKindCommand('vex', 'an OpenVEX or CycloneDX VEX document'));
  attach.addCommand(attachKindCommand('provenance', 'an in-toto Statement (e.g. SLSA provenance v1) or a DSSE envelope around one'));

  const list = new Command('list')
    .description('list the artifacts attached to an image')
    .argument('<image>', 'registry image: HOST[:PORT]/REPO[:TAG|@DIGEST]')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(new Option('--type <kind>', 'only this kind').choices([...ARTIFACT_KINDS]));
  addRegistryFlags(list);
  list.action(async (image: string, flags: ListFlags) => {
    const location = registryImageArg(image);
    const client = registryClientFor(flags);
    try {
      const listing = await listArtifacts(client, location, flags.type === undefined ? {} : { kind: flags.type });
      if (flags.format === 'json') {
        await writeOutput(`${JSON.stringify({ image: describe(location), subject: listing.subject, discovery: listing.discovery, artifacts: listing.artifacts }, null, 2)}\n`, undefined);
        return;
      }
      await writeOutput(`${describe(location)} (${listing.subject.digest}), found via ${listing.discovery}\n${listingTable(listing.artifacts)}`, undefined);
    } finally {
      await client.close();
    }
  });
  attach.addCommand(list);

  const fetch = new Command('fetch')
    .description('print (or write) an attached document: the newest of a kind, or one by artifact digest')
    .argument('<image>', 'registry image: HOST[:PORT]/REPO[:TAG|@DIGEST]')
    .addOption(new Option('--type <kind>', 'the newest artifact of this kind').choices([...ARTIFACT_KINDS]))
    .option('--digest <digest>', 'the artifact manifest digest (from `attach list`)')
    .option('-o, --output <file>', 'write to a file (atomically) instead of stdout');
  addRegistryFlags(fetch);
  fetch.action(async (image: string, flags: FetchFlags) => {
    if ((flags.type === undefined) === (flags.digest === undefined)) throw new DistillError('USAGE', 'give exactly one of --type KIND or --digest DIGEST');
    const location = registryImageArg(image);
    const client = registryClientFor(flags);
    try {
      const listing = await listArtifacts(client, location, flags.type === undefined ? {} : { kind: flags.type });
      const candidates = flags.digest === undefined ? [...listing.artifacts].sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '')) : listing.artifacts.filter((entry) => entry.digest === flags.digest);
      const entry = candidates[0];
      if (entry === undefined) {
        throw new DistillError('ARTIFACT_NOT_FOUND', `no ${flags.type ?? `artifact ${flags.digest ?? ''}`} attached to ${describe(location)} (${listing.subject.digest}, via ${listing.discovery})`, { subject: describe(location) });
      }
      const fetched = await fetchArtifact(client, location, listing.subject, entry);
      await writeOutput(fetched.document.toString('utf8'), flags.output);
    } finally {
      await client.close();
    }
  });
  attach.addCommand(fetch);
}
