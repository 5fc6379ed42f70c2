/** @module test/helpers/registry — starts Debian's docker-registry (distribution 2.8) on loopback: anonymous HTTP, htpasswd Basic over TLS, or Bearer tokens from a test token server. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll } from 'vitest';
import { digestOf } from '../../src/oci/digest.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { freePort } from './build-helpers.js';
import { smallImage } from './small-image.js';

// Kept here too: the registry tests imported it from this module before it moved to errors.ts.
export { rejection } from './errors.js';

const run = promisify(execFile);
export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export type RegistryMode = 'anonymous' | 'basic' | 'token';

export interface TokenRequest {
  account: string | undefined;
  scopes: string[];
  service: string | undefined;
  /** Whether the Basic credentials sent were right (undefined: none sent). */
  authenticated: boolean | undefined;
}

export interface TestRegistry {
  mode: RegistryMode;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, the registry part of references. */
  host: string;
  /** PEM of the test CA that signed the TLS certificate (basic mode). */
  ca?: string;
  /** Path of that CA file. */
  caFile?: string;
  username?: string;
  password?: string;
  /** Token mode: every request the token server answered, in order. */
  tokenRequests: TokenRequest[];
  /** Token mode: the token server's URL. */
  tokenUrl?: string;
  /** The registry's storage directory. */
  storage: string;
  /** Log of the registry process (stderr/stdout). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  username?: string;
  password?: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/** A test CA and a server certificate for 127.0.0.1 / localhost signed by it. */
async function makeTls(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=distill test CA'], dir);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Parses `repository:name:pull,push` scopes into JWT access claims. */
function accessOf(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  return scopes.flatMap((scope) => {
    const match = /^([^:]+):(.+):([^:]+)$/.exec(scope);
    return match === null ? [] : [{ type: match[1]!, name: match[2]!, actions: match[3]!.split(',') }];
  });
}

/**
 * A token server as distribution's token auth expects: Basic credentials in, a JWT (RS256, signed by a
 * self-signed certificate that the registry trusts via `rootcertbundle`, sent in `x5c`) out.
 */
async function startTokenServer(dir: string, service: string, issuer: string, username: string, password: string, requests: TokenRequest[]): Promise<{ server: Server; url: string; certFile: string }> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=distill test token signer'], dir);
  const key = readFileSync(join(dir, 'token.key'));
  const certPem = readFileSync(join(dir, 'token.crt'), 'utf8');
  const certDer = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const port = await freePort();
  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const header = req.headers.authorization;
    let authenticated: boolean | undefined;
    let account: string | undefined;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      account = decoded.slice(0, colon);
      authenticated = account === username && decoded.slice(colon + 1) === password;
    }
    requests.push({ account, scopes, service: url.searchParams.get('service') ?? undefined, authenticated });
    if (authenticated === false) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const head = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    // Anonymous callers get a token without access, so the registry refuses them (insufficient scope).
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: authenticated ? accessOf(scopes) : [] };
    const input = `${base64url(JSON.stringify(head))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${base64url(signature)}`, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${port}/token`, certFile: join(dir, 'token.crt') };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((ok) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        ok(true);
      });
      socket.once('error', () => ok(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not listen on ${port}:\n${log()}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** Starts a registry in `mode` with storage in a fresh temp dir; resolves once it accepts connections. */
export async function startRegistry(mode: RegistryMode, options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), `distill-registry-${mode}-`));
  const storage = join(dir, 'storage');
  const port = await freePort();
  const username = options.username ?? 'distill';
  const password = options.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const tokenRequests: TokenRequest[] = [];
  const lines = ['version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, `  secret: ${randomBytes(8).toString('hex')}`];
  let tokenServer: Server | undefined;
  let tls: Awaited<ReturnType<typeof makeTls>> | undefined;
  let tokenUrl: string | undefined;
  if (mode === 'basic') {
    tls = await makeTls(dir);
    lines.push('  tls:', `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`);
    // The registry accepts only bcrypt in htpasswd files; bcryptjs writes $2b$, Go reads $2a$ (same algorithm).
    const hash = bcrypt.hashSync(password, 4).replace(/^\$2b\$/, '$2a$');
    writeFileSync(join(dir, 'htpasswd'), `${username}:${hash}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: distill-test', `    path: ${join(dir, 'htpasswd')}`);
  } else if (mode === 'token') {
    const service = 'distill-test-registry';
    const issuer = 'distill-test-issuer';
    const started = await startTokenServer(dir, service, issuer, username, password, tokenRequests);
    tokenServer = started.server;
    tokenUrl = started.url;
    lines.push('auth:', '  token:', `    realm: ${started.url}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${started.certFile}`);
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  let output = '';
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const log = () => output;
  try {
    await waitForPort(port, child, log);
  } catch (error) {
    child.kill('SIGKILL');
    tokenServer?.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const host = `127.0.0.1:${port}`;
  const result: TestRegistry = {
    mode,
    url: `${mode === 'basic' ? 'https' : 'http'}://${host}`,
    host,
    storage,
    tokenRequests,
    log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await new Promise<void>((ok) => (tokenServer === undefined ? ok() : tokenServer.close(() => ok())));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (mode !== 'anonymous') {
    result.username = username;
    result.password = password;
  }
  if (tls !== undefined) {
    result.caFile = tls.caFile;
    result.ca = readFileSync(tls.caFile, 'utf8');
  }
  if (tokenUrl !== undefined) result.tokenUrl = tokenUrl;
  return result;
}

/** Pushes the two-package small test image with skopeo (an independent writer) as `reference` (`repo:tag`). */
export async function pushSmallImage(target: TestRegistry, reference: string): Promise<void> {
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${smallImage()}`, `docker://${target.host}/${reference}`]);
}

/**
 * Hooks the enclosing suite: before it, an anonymous registry holding the small image at `reference` and a client
 * allowed plain HTTP to it, handed to `ready`; after it, both closed (also when starting failed half-way).
 */
export function serveSmallImage(reference: string, ready: (registry: TestRegistry, client: RegistryClient) => void): void {
  let registry: TestRegistry | undefined;
  let client: RegistryClient | undefined;
  beforeAll(async () => {
    registry = await startRegistry('anonymous');
    client = new RegistryClient({ insecure: [registry.host] });
    await pushSmallImage(registry, reference);
    ready(registry, client);
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });
}

/** Moves `tag` to a different image (same layers, one more config label): other content, other digest. */
export async function pushVariant(client: RegistryClient, target: TestRegistry, repository: string, tag: string, label: string): Promise<string> {
  const location = { registry: target.host, repository };
  const manifest = JSON.parse((await client.getManifest({ ...location, tag })).data.toString());
  const config = JSON.parse((await client.readBlob(location, manifest.config, 1 << 20)).toString());
  config.config = { ...config.config, Labels: { ...config.config?.Labels, variant: label } };
  const configData = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: digestOf(configData), size: configData.length };
  await client.pushBlob(location, manifest.config, configData);
  return client.putManifest(location, tag, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
}
