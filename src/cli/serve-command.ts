/** @module cli/serve-command — `distill serve`: the dashboard and API on SQLite in the data dir, or PostgreSQL from DISTILL_DATABASE_URL. */
import { serve } from '@hono/node-server';
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DistillError } from '../errors.js';
import { createApp } from '../server/app.js';
import { openAppStore } from '../storage/app/open-app-store.js';
import { dbPathFrom } from './db-command.js';
import { VERSION } from './version.js';

interface ServeFlags {
  host: string;
  port: number;
  dataDir?: string;
  db?: string;
  maxUpload: number;
  rateLimit: number;
  corsOrigin: string[];
  createToken?: string;
}

/** `--data-dir`, else $DISTILL_DATA_DIR, else $XDG_DATA_HOME/distill, else ~/.local/share/distill. */
export function dataDirFrom(flag: string | undefined): string {
  if (flag !== undefined) return resolve(flag);
  const { DISTILL_DATA_DIR, XDG_DATA_HOME, HOME } = process.env;
  if (DISTILL_DATA_DIR) return resolve(DISTILL_DATA_DIR);
  if (XDG_DATA_HOME && isAbsolute(XDG_DATA_HOME)) return join(XDG_DATA_HOME, 'distill');
  if (HOME) return join(HOME, '.local', 'share', 'distill');
  throw new DistillError('USAGE', 'cannot place the data dir: neither DISTILL_DATA_DIR, XDG_DATA_HOME nor HOME is set', { hint: 'pass --data-dir DIR' });
}

/** DISTILL_DATABASE_URL when set (postgres://… or an SQLite path), else `<data dir>/distill.sqlite`. */
export function appStoreLocation(dataDir: string): string {
  const url = process.env.DISTILL_DATABASE_URL;
  return url !== undefined && url !== '' ? url : join(dataDir, 'distill.sqlite');
}

function positiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return Number(value);
  };
}

function mebibytes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a size in MiB, e.g. 512');
  return Number(value) * 1024 * 1024;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the dashboard and JSON API (SQLite in the data dir, or PostgreSQL from DISTILL_DATABASE_URL)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', positiveInt(65535), 8080)
    .option('--data-dir <dir>', 'SQLite database and upload temp files (default: $DISTILL_DATA_DIR, else $XDG_DATA_HOME/distill, else ~/.local/share/distill)')
    .option('--db <path>', 'vulnerability database for scanning uploads (default: $DISTILL_DB, else $XDG_CACHE_HOME/distill/vuln.db)')
    .addOption(new Option('--max-upload <MiB>', 'largest accepted upload, in MiB').argParser(mebibytes).default(512 * 1024 * 1024, '512'))
    .option('--rate-limit <n>', 'requests per minute per client address', positiveInt(1_000_000), 600)
    .addOption(new Option('--cors-origin <origin>', 'allow browser calls from this origin (repeatable; CORS is off without it)').argParser((value: string, all: string[]) => [...all, value]).default([], 'none'))
    .option('--create-token <name>', 'create an API token for writes, print it once, and exit')
    .addHelpText(
      'after',
      `
Examples:
  distill serve                                   # http://127.0.0.1:8080, SQLite in the data dir
  distill serve --create-token ci                 # prints a token once; only its hash is stored
  DISTILL_DATABASE_URL=postgres://distill@db/distill distill serve --host 0.0.0.0
  curl -H "Authorization: Bearer $TOKEN" --data-binary @image.tar 'http://127.0.0.1:8080/api/scans?image=nginx'

Reads are open; writes (POST /api/scans) need a token. API: /api/openapi.json. See docs/serve.md.`,
    )
    .action(async (flags: ServeFlags) => {
      const dataDir = dataDirFrom(flags.dataDir);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const store = await openAppStore({ location: appStoreLocation(dataDir) });
      if (flags.createToken !== undefined) {
        try {
          const { record, secret } = await store.createToken(flags.createToken);
          process.stdout.write(`${secret}\n`);
          process.stderr.write(`distill: created token "${record.name}" (${record.id}); it is shown only now\n`);
        } finally {
          await store.close();
        }
        return;
      }
      const app = createApp({
        store,
        dataDir,
        vulnDbPath: dbPathFrom(flags.db),
        version: VERSION,
        limits: { maxUploadBytes: flags.maxUpload, requestsPerMinute: flags.rateLimit },
        corsOrigins: flags.corsOrigin,
        onError: (error) => process.stderr.write(`distill serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`),
      });
      const server = serve({ fetch: app.fetch, hostname: flags.host, port: flags.port });
      await new Promise<void>((resolveListen, reject) => {
        server.once('listening', () => resolveListen());
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(new DistillError('IO', `cannot listen on ${flags.host}:${flags.port}: ${error.message}`, { cause: error, hint: error.code === 'EADDRINUSE' ? 'pick another --port' : 'check --host' })),
        );
      });
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : flags.port;
      process.stderr.write(`distill serve: http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}/ (${store.kind}, data dir ${dataDir})\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close(() => done());
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await store.close();
    });
}
