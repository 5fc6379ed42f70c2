/** @module storage/vuln-db-location — where the vulnerability DB lives (XDG cache conventions, overridable). */
import { isAbsolute, join } from 'node:path';
import { DistillError } from '../errors.js';

export interface VulnDbLocationEnv {
  XDG_CACHE_HOME?: string | undefined;
  HOME?: string | undefined;
  DISTILL_DB?: string | undefined;
}

/**
 * `$DISTILL_DB`, else `$XDG_CACHE_HOME/distill/vuln.db`, else `$HOME/.cache/distill/vuln.db`.
 * The caller passes the environment: only the CLI reads the real one. Per the XDG spec a relative
 * XDG_CACHE_HOME is invalid and ignored; empty values count as unset.
 */
export function defaultVulnDbPath(env: VulnDbLocationEnv): string {
  if (env.DISTILL_DB !== undefined && env.DISTILL_DB !== '') return env.DISTILL_DB;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'distill', 'vuln.db');
  const home = env.HOME;
  if (home !== undefined && home !== '') return join(home, '.cache', 'distill', 'vuln.db');
  throw new DistillError('USAGE', 'cannot place the vulnerability database: neither DISTILL_DB, XDG_CACHE_HOME nor HOME is set', {
    hint: 'set DISTILL_DB to the database path, or pass --db PATH',
  });
}
