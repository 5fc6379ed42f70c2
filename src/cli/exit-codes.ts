/** @module cli/exit-codes — the documented process exit codes of every distill command. */
import type { ErrorCode } from '../errors.js';

export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** An unexpected internal failure (a bug: the stack is printed). */
  internal: 1,
  /** Bad command line: unknown flag, missing argument, invalid value. */
  usage: 2,
  /** The input could not be used: missing or unrecognised source, corrupt archive, digest mismatch, bad SBOM. */
  input: 3,
  /** Reading or writing files failed (permissions, disk full). */
  io: 4,
  /** A gate failed: `scan --fail-on` found a finding at or above the threshold; `db status --fail-stale`; `comply --fail-on`; `verify` (signature missing or invalid). */
  gate: 5,
} as const;

/** Maps a known error code to the exit code class it belongs to. */
export function exitCodeFor(code: ErrorCode): number {
  if (code === 'USAGE' || code === 'FORMAT_UNKNOWN' || code === 'BAD_REFERENCE' || code === 'FRAMEWORK_UNKNOWN' || code === 'DATABASE_URL_INVALID') return EXIT.usage;
  if (code === 'IO' || code === 'DB_LOCKED' || code === 'STORE_UNAVAILABLE') return EXIT.io;
  if (code === 'SIGNATURE_INVALID' || code === 'SIGNATURE_NOT_FOUND') return EXIT.gate;
  return EXIT.input;
}
