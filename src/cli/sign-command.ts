/** @module cli/sign-command — `distill sign IMAGE --key cosign.key`, `distill verify IMAGE --key cosign.pub`, `distill generate-key-pair`: cosign-compatible key-pair signatures. */
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { DistillError } from '../errors.js';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../oci/signature/keys.js';
import { signImage, verifyImage } from '../oci/signature/sign-image.js';
import { addRegistryFlags, registryClientFor, registryImageArg, type RegistryFlags } from './attach-command.js';
import { writeOutput } from './output.js';

/** Reads a password from the terminal without echoing it. */
async function promptPassword(question: string): Promise<string> {
  const input = process.stdin;
  const rl = createInterface({ input, output: process.stderr, terminal: true });
  // Echo nothing but the prompt: readline writes typed characters through _writeToOutput.
  const muted = rl as unknown as { _writeToOutput: (text: string) => void };
  let prompted = false;
  muted._writeToOutput = (text: string) => {
    if (!prompted) {
      process.stderr.write(text);
      prompted = true;
    }
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** DISTILL_KEY_PASSWORD, else COSIGN_PASSWORD (as cosign reads it), else a prompt on a terminal. */
async function keyPassword(confirm: boolean): Promise<string> {
  const fromEnv = process.env.DISTILL_KEY_PASSWORD ?? process.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new DistillError('USAGE', 'no key password: set DISTILL_KEY_PASSWORD (or COSIGN_PASSWORD), or run on a terminal to be asked', { hint: 'an empty password is allowed: DISTILL_KEY_PASSWORD= distill …' });
  }
  const password = await promptPassword('Enter password for private key: ');
  if (confirm && (await promptPassword('Enter password for private key again: ')) !== password) throw new DistillError('USAGE', 'the passwords do not match');
  return password;
}

/** A key file's text; an unreadable file is KEY_INVALID (exit 3), as for a malformed key. */
export async function readKeyFile(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((error: Error) => {
    throw new DistillError('KEY_INVALID', `cannot read key file ${path}: ${error.message}`, { subject: path });
  });
}

/** `-a key=value` pairs into a record. */
function annotation(value: string, previous: Record<string, string>): Record<string, string> {
  const equals = value.indexOf('=');
  if (equals <= 0) throw new DistillError('USAGE', `annotation "${value}" is not key=value`);
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}

async function writeKeyPair(prefix: string, force: boolean): Promise<{ privatePath: string; publicPath: string }> {
  const password = await keyPassword(true);
  const pair = await generateKeyPair(password);
  const privatePath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  const flag = force ? 'w' : 'wx';
  try {
    await writeFile(privatePath, pair.privateKey, { mode: 0o600, flag });
    await writeFile(publicPath, pair.publicKey, { mode: 0o644, flag });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DistillError('IO', code === 'EEXIST' ? `${(error as NodeJS.ErrnoException).path ?? prefix} exists; pass --force to overwrite it` : `cannot write the key pair: ${(error as Error).message}`, { cause: error });
  }
  return { privatePath, publicPath };
}

interface SignFlags extends RegistryFlags {
  key?: string;
  generateKey?: boolean;
  keyPrefix: string;
  force?: boolean;
  annotation: Record<string, string>;
  format: 'text' | 'json';
}

interface VerifyFlags extends RegistryFlags {
  key: string;
  annotation: Record<string, string>;
  format: 'text' | 'json';
}

export function registerSignCommands(program: Command): void {
  const sign = program
    .command('sign')
    .description('sign a registry image with an ECDSA P-256 key, as `cosign sign --key` does (signature in the sha256-<hex>.sig tag)')
    .argument('[image]', 'registry image: HOST[:PORT]/REPO[:TAG|@DIGEST] (the digest it resolves to is what gets signed)')
    .option('--key <file>', 'cosign.key: an encrypted cosign/sigstore private key (password from DISTILL_KEY_PASSWORD or COSIGN_PASSWORD, else asked)')
    .option('--generate-key', 'write a new key pair (PREFIX.key, PREFIX.pub) first; signs IMAGE with it when given')
    .option('--key-prefix <prefix>', 'file name prefix for --generate-key', 'cosign')
    .option('--force', 'overwrite existing key files with --generate-key')
    .option('-a, --annotation <key=value>', 'extra claim in the signed payload\'s "optional" section (repeatable)', annotation, {} as Record<string, string>)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  DISTILL_KEY_PASSWORD=… distill sign --generate-key
  DISTILL_KEY_PASSWORD=… distill sign 127.0.0.1:5000/distill/nginx:1.22 --key cosign.key
  distill verify 127.0.0.1:5000/distill/nginx:1.22 --key cosign.pub

Keys and signatures follow cosign's formats: cosign verify --key cosign.pub accepts distill's signatures and
distill verify accepts cosign's key-pair signatures (no transparency log, no keyless certificates).`,
    );
  addRegistryFlags(sign);
  sign.action(async (image: string | undefined, flags: SignFlags) => {
    let keyPath = flags.key;
    if (flags.generateKey) {
      if (keyPath !== undefined) throw new DistillError('USAGE', 'give either --key or --generate-key, not both');
      const written = await writeKeyPair(flags.keyPrefix, flags.force === true);
      process.stderr.write(`distill: wrote ${written.privatePath} (private, encrypted) and ${written.publicPath}\n`);
      keyPath = written.privatePath;
      if (image === undefined) return;
    }
    if (image === undefined) throw new DistillError('USAGE', 'missing IMAGE (or --generate-key to only make a key pair)');
    if (keyPath === undefined) throw new DistillError('USAGE', 'missing --key cosign.key (or --generate-key)');
    const location = registryImageArg(image);
    const privateKey = await loadPrivateKey(await readKeyFile(keyPath), await keyPassword(false), keyPath);
    const client = registryClientFor(flags);
    try {
      const result = await signImage(client, location, { privateKey, annotations: flags.annotation });
      if (flags.format === 'json') {
        const { payload, ...rest } = result;
        await writeOutput(`${JSON.stringify({ ...rest, payload: payload.toString('utf8') }, null, 2)}\n`, undefined);
        return;
      }
      await writeOutput(`signed ${result.dockerReference}@${result.digest}\n  signature ${result.signatureReference} (${result.signatureCount} signature${result.signatureCount === 1 ? '' : 's'})\n`, undefined);
    } finally {
      await client.close();
    }
  });

  program
    .command('generate-key-pair')
    .description('write a new cosign-compatible key pair: PREFIX.key (ECDSA P-256, scrypt + nacl/secretbox encrypted) and PREFIX.pub')
    .option('--output-key-prefix <prefix>', 'file name prefix', 'cosign')
    .option('--force', 'overwrite existing files')
    .action(async (flags: { outputKeyPrefix: string; force?: boolean }) => {
      const written = await writeKeyPair(flags.outputKeyPrefix, flags.force === true);
      await writeOutput(`Private key written to ${written.privatePath}\nPublic key written to ${written.publicPath}\n`, undefined);
    });

  const verify = program
    .command('verify')
    .description('verify a registry image\'s cosign-style signature against a public key (exit 5 when missing or invalid)')
    .argument('<image>', 'registry image: HOST[:PORT]/REPO[:TAG|@DIGEST]')
    .requiredOption('--key <file>', 'cosign.pub: PEM PKIX ECDSA P-256 public key')
    .option('-a, --annotation <key=value>', 'require this claim in the payload\'s "optional" section (repeatable)', annotation, {} as Record<string, string>)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Checks, as cosign verify --key does (without a transparency log): the sha256-<hex>.sig object for the digest
IMAGE resolves to now exists, a payload's ECDSA signature verifies under the key, and the payload signs exactly
that digest with type "cosign container image signature".

Exit codes: 0 verified, 5 SIGNATURE_NOT_FOUND or SIGNATURE_INVALID (the reason is printed), 3 bad key or image.`,
    );
  addRegistryFlags(verify);
  verify.action(async (image: string, flags: VerifyFlags) => {
    const location = registryImageArg(image);
    const publicKey = loadPublicKey(await readKeyFile(flags.key), flags.key);
    const client = registryClientFor(flags);
    try {
      const result = await verifyImage(client, location, { publicKey, requireAnnotations: flags.annotation });
      if (flags.format === 'json') {
        await writeOutput(`${JSON.stringify(result, null, 2)}\n`, undefined);
        return;
      }
      const lines = [`verified ${location.registry}/${location.repository}@${result.digest} with ${flags.key}`];
      for (const item of result.verified) lines.push(`  payload ${item.payloadDigest}: ${item.claims.dockerReference} ${item.claims.manifestDigest}${item.claims.optional === null ? '' : ` ${JSON.stringify(item.claims.optional)}`}`);
      for (const item of result.rejected) lines.push(`  ignored ${item.payloadDigest}: ${item.reason}`);
      await writeOutput(`${lines.join('\n')}\n`, undefined);
    } finally {
      await client.close();
    }
  });
}
