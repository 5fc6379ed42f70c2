#!/usr/bin/env node
/** @module cli/main — the `distill` command: parses flags, calls the library, renders, sets the exit code. */
import { Command, CommanderError } from 'commander';
import { isDistillError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { hintFor } from './hints.js';
import { VERSION } from './version.js';

// `distill … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command('distill')
  .description('Minimal container images from signed Debian packages, and answers for the CVEs that remain.')
  .version(VERSION, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 internal error, 2 usage error, 3 unusable input (missing, corrupt or unrecognised
source, digest mismatch, invalid SBOM, no vulnerability database), 4 file write failure or database
locked, 5 a gate failed (scan --fail-on, db status --fail-stale, comply --fail-on, verify).
Docs: docs/ in the distill repository (one page per command).`,
  );
/**
 * Each command module imports its own library (CycloneDX, openpgp, pg, hono, …). Loading only the module of the
 * command being run keeps start-up short; help, `help CMD` and unknown commands load every module so the
 * listing and the suggestions stay complete.
 */
const COMMAND_MODULES: Record<string, () => Promise<(program: Command) => void>> = {
  sbom: async () => (await import('./sbom-command.js')).registerSbomCommand,
  scan: async () => (await import('./scan-command.js')).registerScanCommand,
  db: async () => (await import('./db-command.js')).registerDbCommand,
  build: async () => (await import('./build-command.js')).registerBuildCommand,
  compare: async () => (await import('./compare-command.js')).registerCompareCommand,
  triage: async () => (await import('./triage-command.js')).registerTriageCommand,
  vex: async () => (await import('./vex-command.js')).registerVexCommand,
  comply: async () => (await import('./comply-command.js')).registerComplyCommand,
  copy: async () => (await import('./copy-command.js')).registerCopyCommand,
  attach: async () => (await import('./attach-command.js')).registerAttachCommand,
  sign: async () => (await import('./sign-command.js')).registerSignCommands,
  serve: async () => (await import('./serve-command.js')).registerServeCommand,
  worker: async () => (await import('./worker-command.js')).registerWorkerCommand,
  enqueue: async () => (await import('./enqueue-command.js')).registerEnqueueCommand,
  watch: async () => (await import('./watch-command.js')).registerWatchCommand,
};
/** Commands registered by a module under another name. */
const COMMAND_ALIASES: Record<string, string> = { lock: 'build', images: 'build', verify: 'sign', 'generate-key-pair': 'sign' };

const requested = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const moduleName = requested === undefined ? undefined : (COMMAND_ALIASES[requested] ?? requested);
const selected = moduleName !== undefined && moduleName in COMMAND_MODULES ? [moduleName] : Object.keys(COMMAND_MODULES);
for (const register of await Promise.all(selected.map((name) => COMMAND_MODULES[name]!()))) register(program);
// Registry credentials and TLS settings from the environment, for every command that may open a registry reference.
program.hook('preAction', async () => (await import('./registry-environment.js')).installRegistryDefaults());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message already; help and version are not errors.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (isDistillError(error)) {
    process.stderr.write(`distill: ${error.message} [${error.code}]\n`);
    process.stderr.write(`  hint: ${error.hint ?? hintFor(error.code)}\n`);
    return exitCodeFor(error.code);
  }
  process.stderr.write(`distill: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.stderr.write('  hint: this is a bug in distill; please report it with the command you ran\n');
  return EXIT.internal;
}
