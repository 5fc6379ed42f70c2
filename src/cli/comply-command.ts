/** @module cli/comply-command — `distill comply IMAGE`: CIS Docker 1.6 §4 and image checks with evidence, grouped per framework, with the --fail-on gate. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { DistillError, isDistillError } from '../errors.js';
import { COMPLY_FORMATS, encodeComplianceReport, type ComplyFormat } from '../compliance/comply-formats.js';
import type { SignatureVerdict, VerifiedImageSignature } from '../compliance/checks.js';
import { complyImage, gateFails, type ComplianceReport } from '../compliance/comply.js';
import { MAX_DOCKERFILE_BYTES, parseDockerfile } from '../compliance/dockerfile.js';
import { FRAMEWORKS, parseFramework, type Framework } from '../compliance/frameworks.js';
import type { ManifestLocation } from '../oci/artifacts/registry-port.js';
import { MediaType } from '../oci/media-types.js';
import { parsePlatform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { loadPublicKey } from '../oci/signature/keys.js';
import { verifyImage } from '../oci/signature/sign-image.js';
import { addRegistryFlags, registryClientFor, type RegistryFlags } from './attach-command.js';
import { defaultPlatform } from './environment.js';
import { EXIT } from './exit-codes.js';
import { writeOutput } from './output.js';
import { readKeyFile } from './sign-command.js';

interface ComplyFlags extends RegistryFlags {
  key: string[];
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

interface ImageKey {
  path: string;
  fingerprint: string;
  key: ReturnType<typeof loadPublicKey>;
}

async function loadKeys(paths: readonly string[]): Promise<ImageKey[]> {
  return Promise.all(
    paths.map(async (path) => {
      const key = loadPublicKey(await readKeyFile(path), path);
      return { path, key, fingerprint: createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex') };
    }),
  );
}

/** Signatures of `digest` under `key`; a missing or invalid signature is a reason, anything else (registry down) is thrown. */
async function verifyDigest(client: RegistryClient, repo: ManifestLocation, digest: string, key: ImageKey): Promise<{ signatures: VerifiedImageSignature[]; reasons: string[]; notFound: boolean }> {
  try {
    const result = await verifyImage(client, { registry: repo.registry, repository: repo.repository, digest }, { publicKey: key.key });
    return {
      signatures: result.verified.map((item) => ({ key: key.path, keyFingerprint: key.fingerprint, digest: result.digest, signatureReference: result.signatureReference, payloadDigest: item.payloadDigest })),
      reasons: [],
      notFound: false,
    };
  } catch (error) {
    if (isDistillError(error, 'SIGNATURE_NOT_FOUND') || isDistillError(error, 'SIGNATURE_INVALID')) {
      return { signatures: [], reasons: [`${key.path}: ${(error as Error).message}`], notFound: isDistillError(error, 'SIGNATURE_NOT_FOUND') };
    }
    throw error;
  }
}

/**
 * The signature check behind CIS 4.5 / 4.12, run on the manifest digest comply examined (so a tag that moves
 * meanwhile cannot lend another image's signature). When that manifest has no `.sig` and the reference names an
 * index listing it, the index's signature counts too (cosign signs the index a multi-platform tag points to).
 */
function signatureCheck(reference: string, keys: ImageKey[], client: RegistryClient): (digest: string) => Promise<SignatureVerdict> {
  const paths = keys.map((k) => k.path);
  return async (digest) => {
    const parsed = parseReference(reference);
    if (parsed.transport !== 'registry' || parsed.registry === undefined) {
      return { keys: paths, checked: false, verified: false, signatures: [], reasons: [`${parsed.transport} sources carry no signatures (cosign signatures live in the registry, in the sha256-<hex>.sig tag): comply the registry reference to check them`] };
    }
    const location = parsed.registry;
    const signatures: VerifiedImageSignature[] = [];
    const reasons: string[] = [];
    let index: string | undefined | null = null;
    for (const key of keys) {
      const direct = await verifyDigest(client, location, digest, key);
      signatures.push(...direct.signatures);
      if (!direct.notFound) {
        reasons.push(...direct.reasons);
        continue;
      }
      if (index === null) {
        const top = await client.getManifest(location);
        const listed = top.digest !== digest && (top.mediaType === MediaType.ociIndex || top.mediaType === MediaType.dockerManifestList) && (JSON.parse(top.data.toString('utf8')) as { manifests?: { digest?: unknown }[] }).manifests?.some((m) => m.digest === digest) === true;
        index = listed ? top.digest : undefined;
      }
      if (index === undefined) {
        reasons.push(...direct.reasons);
        continue;
      }
      const viaIndex = await verifyDigest(client, location, index, key);
      signatures.push(...viaIndex.signatures);
      reasons.push(...direct.reasons, ...viaIndex.reasons);
    }
    return { keys: paths, checked: true, digest, verified: signatures.length > 0, signatures, reasons };
  };
}

export function registerComplyCommand(program: Command): void {
  const comply = program
    .command('comply')
    .description('check an image against CIS Docker Benchmark 1.6 §4 and dockle-style checks, with evidence, mapped to NIST SP 800-190 and 800-53')
    .argument('<image>', 'oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | HOST[:PORT]/REPO[:TAG|@DIGEST]')
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
    .addOption(
      new Option('--key <file>', 'cosign.pub: decide CIS 4.5 and 4.12 by verifying the image\'s cosign signature with this public key (repeatable: any key may have signed)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .addHelpText(
      'after',
      `
Examples:
  distill comply oci:out/nginx
  distill comply oci:out/nginx --framework cis-docker-1.6 --format markdown
  distill comply docker-archive:stock-nginx.tar --dockerfile Dockerfile --framework nist-800-190
  distill comply docker-archive:app.tar --framework nist-800-53 --format html -o app-compliance.html
  distill comply oci:out/nginx --fail-on fail        # CI gate
  distill comply 127.0.0.1:5000/team/app:1.4 --key cosign.pub --fail-on fail   # 4.5/4.12 from the signature

Results: pass, fail, warn, manual (needs a person; the evidence found is shown), not-applicable.
Secrets are searched in every layer, including files a later layer deleted.
With --key, CIS 4.5 and 4.12 pass when a signature by one of the keys verifies for the manifest digest examined
and fail when none does (no .sig tag, other key, altered or replayed signature); archives and layouts carry no
signatures, so they stay manual there.
Exit codes: 0 done (and the gate passed), ${EXIT.gate} the --fail-on gate failed, 2 usage (unknown framework),
3 unusable input (missing or corrupt image, invalid Dockerfile, --key not a public key). See docs/comply.md.`,
    );
  addRegistryFlags(comply);
  comply.action(async (reference: string, flags: ComplyFlags) => {
    const frameworks: Framework[] = (flags.framework.length === 0 ? ['cis-docker-1.6'] : flags.framework).map(parseFramework);
    const dockerfile = flags.dockerfile === undefined ? undefined : await loadDockerfile(flags.dockerfile);
    const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
    const keys = await loadKeys(flags.key);
    // One client for reading the image and its signatures; without --key/--insecure/--ca, comply reads as before.
    const client = keys.length > 0 || flags.insecure === true || flags.ca !== undefined ? registryClientFor(flags) : undefined;
    let report: ComplianceReport;
    try {
      report = await complyImage(reference, {
        frameworks,
        ...(dockerfile !== undefined ? { dockerfile } : {}),
        ...(platform !== undefined ? { platform } : {}),
        defaultPlatform: defaultPlatform(),
        ...(client !== undefined ? { registryClient: client } : {}),
        ...(client !== undefined && keys.length > 0 ? { signature: signatureCheck(reference, keys, client) } : {}),
      });
    } finally {
      await client?.close();
    }
    await writeOutput(encodeComplianceReport(report, flags.format), flags.output);
    if (flags.failOn !== undefined && gateFails(report, flags.failOn)) {
      if (flags.format !== 'json') process.stderr.write(`distill: comply gate failed: ${report.counts.fail} failed, ${report.counts.warn} warned (--fail-on ${flags.failOn})\n`);
      process.exitCode = EXIT.gate;
    }
  });
}
