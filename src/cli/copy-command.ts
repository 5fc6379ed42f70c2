/** @module cli/copy-command — `distill copy SRC DEST`: images between OCI layouts, archives and registries, every platform, digests unchanged. */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { qualifiedRepoTag, parseDockerArchiveDestination, recordedRepoTags, writeImageDockerArchive, type DockerArchiveWriteResult } from './docker-archive-writer.js';
import { openImage } from '../oci/open-image.js';
import { formatPlatform, parsePlatform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import { copyReference, parseDestination, type CopyReferenceResult } from '../oci/registry/copy-reference.js';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry/client.js';
import { defaultPlatform } from './environment.js';
import { writeLayoutArchive } from './oci-archive-writer.js';
import { writeOutput } from './output.js';
import { registryClientOptions } from './registry-environment.js';

interface CopyFlags {
  format: 'text' | 'json';
  output?: string;
  insecure?: boolean;
  caFile?: string;
  chunkSize?: string;
  retries?: string;
  platform?: string;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function positive(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,12}$/.test(text)) throw new DistillError('USAGE', `${name} must be a whole number, got "${text}"`);
  return Number(text);
}

/** One-line summary of a copy, as `copy` and `build --push` print it. */
export function copySummary(result: CopyReferenceResult): string {
  const { uploaded, exists, mounted } = result.blobs;
  const platforms = result.manifests.length > 1 ? `, ${result.manifests.length} manifests` : '';
  return `copied ${result.source} to ${result.destination} (${result.digest})${platforms}; blobs: ${uploaded} uploaded (${mb(result.bytes)}), ${exists} already there, ${mounted} mounted`;
}

/**
 * `copyReference`, plus `oci-archive:FILE[:TAG]` destinations: the image is copied into a temp layout
 * beside FILE, then tarred into place.
 */
async function copyToDestination(source: string, destination: string, clientOptions: RegistryClientOptions): Promise<CopyReferenceResult> {
  const archive = /^oci-archive:(.+?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/s.exec(destination);
  if (archive === null) return copyReference(source, destination, { clientOptions });
  const file = archive[1]!;
  const tag = archive[2] ?? 'latest';
  const scratch = await mkdtemp(join(dirname(resolve(file)), '.distill-copy-'));
  try {
    const result = await copyReference(source, `oci:${join(scratch, 'layout')}:${tag}`, { clientOptions });
    await writeLayoutArchive(join(scratch, 'layout'), file);
    return { ...result, destination: `oci-archive:${file}:${tag}` };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `copy SRC docker-archive:FILE[:REPO:TAG]`: one platform of the source (the asked or the host's), names from the spec or the source. */
async function copyToDockerArchive(source: string, destination: string, clientOptions: RegistryClientOptions, platform: string | undefined): Promise<DockerArchiveWriteResult & { source: string; destination: string }> {
  const target = parseDockerArchiveDestination(destination);
  const parsed = parseReference(source);
  const client = new RegistryClient(clientOptions);
  try {
    const image = await openImage(parsed, { ...(platform !== undefined ? { platform: parsePlatform(platform) } : {}), defaultPlatform: defaultPlatform(), registryClient: client });
    try {
      // Like docker save / skopeo: the name given, else the name:tag the source was reached by, else the names it records.
      let repoTags: string[];
      if (target.repoTag !== undefined) repoTags = [target.repoTag];
      else if (parsed.transport === 'registry' && parsed.registry?.tag !== undefined) repoTags = [qualifiedRepoTag(parsed.registry)];
      else repoTags = recordedRepoTags(await image.tags());
      const result = await writeImageDockerArchive(image, target.path, { repoTags });
      return { ...result, source, destination: `docker-archive:${target.path}${target.repoTag !== undefined ? `:${target.repoTag}` : ''}` };
    } finally {
      await image.close();
    }
  } finally {
    await client.close();
  }
}

function dockerArchiveSummary(result: DockerArchiveWriteResult & { source: string; destination: string }): string {
  const tags = result.repoTags.length > 0 ? `tagged ${result.repoTags.join(', ')}` : 'untagged';
  return `copied ${result.source} (${formatPlatform(result.platform)}, ${result.manifestDigest}) to ${result.destination}, ${tags}; config ${result.configDigest}, ${result.layers} layer${result.layers === 1 ? '' : 's'}, ${mb(result.bytes)} of blobs`;
}

export function registerCopyCommand(program: Command): void {
  program
    .command('copy')
    .description('copy an image (every platform of an index) between OCI layouts, archives and registries; digests stay the same')
    .argument('<source>', 'oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:REPO:TAG] | registry:HOST/REPO[:TAG|@DIGEST] | a bare reference (nginx:1.25)')
    .argument('<destination>', 'registry:HOST/REPO[:TAG] | a bare reference (127.0.0.1:5000/team/app:1.4) | oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:REPO:TAG] (one platform)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write the result to a file (atomically) instead of stdout')
    .option('--insecure', 'allow plain HTTP to the registries (loopback registries fall back to HTTP by themselves)')
    .option('--ca-file <file>', 'PEM file with extra CA certificates to trust (also $DISTILL_REGISTRY_CA)')
    .option('--chunk-size <bytes>', 'upload blobs in PATCH chunks of this size (default: one PUT per blob)')
    .option('--retries <n>', 'retries on 429/5xx and connection resets (default 4)')
    .option('--platform <os/arch>', 'docker-archive destinations: the platform to take from an index (default: this machine\'s)')
    .addHelpText(
      'after',
      `
Examples:
  distill copy oci:out/nginx 127.0.0.1:5000/distill/nginx:latest
  distill copy docker-archive:stock-nginx.tar registry:127.0.0.1:5000/stock/nginx:1.22
  distill copy 127.0.0.1:5000/distill/nginx:latest oci:/tmp/nginx-copy:latest
  distill copy 127.0.0.1:5000/distill/nginx:latest docker-archive:nginx.tar:distill/nginx:latest --platform linux/arm64

Credentials: DISTILL_REGISTRY_USERNAME / DISTILL_REGISTRY_PASSWORD, else ~/.docker/config.json (auths,
credHelpers, credsStore) or $REGISTRY_AUTH_FILE. Proxy: HTTPS_PROXY, HTTP_PROXY, NO_PROXY. See docs/registry.md.`,
    )
    .action(async (source: string, destination: string, flags: CopyFlags) => {
      const clientOptions = registryClientOptions({ ...(flags.insecure ? { insecure: true } : {}), ...(flags.caFile !== undefined ? { ca: flags.caFile } : {}) });
      const chunkSize = positive(flags.chunkSize, '--chunk-size');
      const retries = positive(flags.retries, '--retries');
      if (chunkSize !== undefined) {
        if (chunkSize < 1024) throw new DistillError('USAGE', '--chunk-size must be at least 1024 bytes');
        clientOptions.chunkSize = chunkSize;
      }
      if (retries !== undefined) clientOptions.retries = retries;
      if (destination.startsWith('docker-archive:')) {
        const written = await copyToDockerArchive(source, destination, clientOptions, flags.platform);
        await writeOutput(flags.format === 'json' ? `${JSON.stringify(written, null, 2)}\n` : `${dockerArchiveSummary(written)}\n`, flags.output);
        return;
      }
      if (flags.platform !== undefined) throw new DistillError('USAGE', '--platform applies to docker-archive: destinations only', { hint: 'other destinations get every platform of an index' });
      const result = await copyToDestination(source, destination, clientOptions);
      await writeOutput(flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${copySummary(result)}\n`, flags.output);
    });
}

/** What `distill build --push REF` needs: an output to push from (a temp OCI layout when -o is not given). */
export interface BuildPush {
  run(result: { output?: { transport: string; path: string }; recipe: { name: string } }, tag: string): Promise<CopyReferenceResult>;
}

/**
 * Checks `--push REF` before the build starts and, without `-o`, points the build at a temp OCI layout
 * (removed when the process exits). `run` pushes every architecture the build wrote.
 */
export async function prepareBuildPush(reference: string, options: { output?: string }): Promise<BuildPush> {
  const target = parseDestination(reference);
  if (target.kind !== 'registry') throw new DistillError('USAGE', `--push takes a registry reference, not ${reference}`, { hint: 'e.g. --push 127.0.0.1:5000/distill/nginx:1.22; use -o for local outputs' });
  if (options.output === undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'distill-push-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    options.output = `oci:${join(dir, 'image')}`;
  }
  return {
    async run(result, tag) {
      const output = result.output;
      if (output === undefined) throw new DistillError('USAGE', 'the build wrote no output to push');
      const source = output.transport === 'docker-archive' ? `docker-archive:${output.path}` : `${output.transport}:${output.path}:${tag}`;
      return copyReference(source, reference, { clientOptions: registryClientOptions() });
    },
  };
}
