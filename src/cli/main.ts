#!/usr/bin/env node
/** @module cli/main — the `distill` command: parses flags, calls the library, renders, sets the exit code. */
import { Command, CommanderError } from 'commander';
import { isDistillError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { hintFor } from './hints.js';
import { registerAttachCommand } from './attach-command.js';
import { registerBuildCommand } from './build-command.js';
import { registerCompareCommand } from './compare-command.js';
import { registerComplyCommand } from './comply-command.js';
import { registerCopyCommand } from './copy-command.js';
import { registerDbCommand } from './db-command.js';
import { registerEnqueueCommand } from './enqueue-command.js';
import { registerSbomCommand } from './sbom-command.js';
import { registerSignCommands } from './sign-command.js';
import { registerScanCommand } from './scan-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerTriageCommand } from './triage-command.js';
import { registerVexCommand } from './vex-command.js';
import { registerWatchCommand } from './watch-command.js';
import { registerWorkerCommand } from './worker-command.js';
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
registerSbomCommand(program);
registerScanCommand(program);
registerDbCommand(program);
registerBuildCommand(program);
registerCompareCommand(program);
registerAttachCommand(program);
registerSignCommands(program);
registerServeCommand(program);
registerComplyCommand(program);
registerCopyCommand(program);
registerTriageCommand(program);
registerVexCommand(program);
registerWorkerCommand(program);
registerWatchCommand(program);
registerEnqueueCommand(program);

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
