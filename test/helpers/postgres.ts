/** @module test/helpers/postgres — a throwaway PostgreSQL 15 server per test file: initdb as user postgres into a postgres-owned temp dir, pg_ctl on a free port with its socket and log in that dir. */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql-15 puts its binaries (override with DISTILL_PG_BIN). */
export const PG_BIN = process.env.DISTILL_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function hasPostgres(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth on loopback). */
  url: string;
  port: number;
  /** The server's directory (data/, the socket, server.log). */
  dir: string;
  /** A fresh, empty database on this server; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (immediate shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let databases = 0;

/**
 * initdb refuses to run as root, so as root everything runs as the postgres user (via runuser) in a directory
 * that user owns: a log file in a root-owned directory makes pg_ctl fail silently.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'distill-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const pgUid = asRoot ? Number((await run('id', ['-u', 'postgres'])).stdout.trim()) : -1;
  const pgGid = asRoot ? Number((await run('id', ['-g', 'postgres'])).stdout.trim()) : -1;
  if (asRoot) chownSync(dir, pgUid, pgGid);
  const as = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], { cwd: dir }) : run(join(PG_BIN, command), args, { cwd: dir });
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await as('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', '-o', `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
      break;
    } catch (error) {
      // Another process took the port between the probe and the start: try another one.
      if (attempt >= 3) throw error;
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dir,
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `t${process.pid}_${++databases}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`bad database name ${db}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
