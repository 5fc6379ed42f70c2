/** @module test/registry-faults — the client against a fault-injecting HTTP proxy in front of the real docker-registry: 5xx/429 retries, dropped connections, corrupt blobs, huge manifests, wrong credentials. */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyReference, openRegistryImage, parseRegistryReference, pushOciLayout, RegistryClient, type RegistryClientOptions } from '../src/oci/registry/index.js';
import { multiPlatformLayout } from './fixtures/oci/fixtures.js';
import { freePort } from './helpers/build-helpers.js';
import { rejection, startRegistry, type TestRegistry } from './helpers/registry.js';

const run = promisify(execFile);
const cli = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'dist', 'cli', 'main.js');
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** What the proxy does with one request: pass it on, answer instead of the registry, or damage the answer. */
type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'drop-mid-body' }
  | { kind: 'corrupt-body' }
  | { kind: 'replace'; body: Buffer; headers: Record<string, string>; chunked?: boolean };

interface Seen {
  method: string;
  path: string;
  range: string | undefined;
}

/** A forwarding proxy (Host header kept, so upload Locations point back at it) with a per-request fault hook. */
class FaultProxy {
  readonly seen: Seen[] = [];
  fault: (req: IncomingMessage, seen: Seen[]) => Fault | undefined = () => undefined;
  private server: Server | undefined;
  host = '';

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(port, '127.0.0.1', ok));
    this.host = `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => this.server?.close(() => ok()) ?? ok());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: Seen = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, range: req.headers.range };
    this.seen.push(entry);
    const fault = this.fault(req, this.seen);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-length': '0', ...fault.headers }).end();
      return;
    }
    if (fault?.kind === 'replace') {
      req.resume();
      const headers = { ...fault.headers, ...(fault.chunked ? {} : { 'content-length': String(fault.body.length) }) };
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else if (fault.chunked) Readable.from([fault.body.subarray(0, 1024), fault.body.subarray(1024)]).pipe(res);
      else res.end(fault.body);
      return;
    }
    const upstream = httpRequest({ host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (fault?.kind === 'drop-mid-body') {
        const half = Math.floor(Number(answer.headers['content-length'] ?? 0) / 2);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= half) return;
          const part = chunk.subarray(0, half - sent);
          sent += part.length;
          res.write(part);
          if (sent >= half) {
            answer.destroy();
            // Let the bytes leave before the connection is cut.
            setTimeout(() => res.socket?.destroy(), 20);
          }
        });
        return;
      }
      if (fault?.kind === 'corrupt-body') {
        let flipped = false;
        answer.on('data', (chunk: Buffer) => {
          const copy = Buffer.from(chunk);
          if (!flipped && copy.length > 0) {
            copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
            flipped = true;
          }
          res.write(copy);
        });
        answer.on('end', () => res.end());
        return;
      }
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let registry: TestRegistry;
let proxy: FaultProxy;
let work: string;
const blob = randomBytes(512 * 1024 + 3);
const blobDescriptor = { digest: sha256(blob), size: blob.length };
let indexDigest: string;

const client = (options: RegistryClientOptions = {}) => new RegistryClient({ retryDelayMs: 10, ...options });
const viaProxy = (name: string) => parseRegistryReference(`${proxy.host}/${name}`);

beforeAll(async () => {
  registry = await startRegistry('anonymous');
  proxy = new FaultProxy(Number(registry.host.split(':')[1]));
  await proxy.start();
  work = mkdtempSync(join(tmpdir(), 'distill-faults-'));
  const direct = new RegistryClient();
  try {
    indexDigest = (await pushOciLayout(multiPlatformLayout(), parseRegistryReference(`${registry.host}/faults/multi:1`), 'multi', { client: direct })).digest;
    await direct.pushBlob(parseRegistryReference(`${registry.host}/faults/multi`), blobDescriptor, blob);
  } finally {
    await direct.close();
  }
});
afterAll(async () => {
  await proxy.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  proxy.seen.length = 0;
  proxy.fault = () => undefined;
});

const isManifest = (req: IncomingMessage) => req.method === 'GET' && /\/manifests\//.test(req.url ?? '');
const isBlobGet = (req: IncomingMessage, digest: string) => req.method === 'GET' && (req.url ?? '').endsWith(`/blobs/${digest}`);

describe('retries', () => {
  it('500 then 200: retried and succeeds', async () => {
    let failed = 0;
    proxy.fault = (req) => (isManifest(req) && failed++ === 0 ? { kind: 'status', status: 500 } : undefined);
    const c = client();
    try {
      expect((await c.getManifest(viaProxy('faults/multi:1'))).digest).toBe(indexDigest);
      expect(proxy.seen.filter((s) => s.path.includes('/manifests/'))).toHaveLength(2);
    } finally {
      await c.close();
    }
  });

  it('429 with Retry-After is honoured', async () => {
    let failed = 0;
    proxy.fault = (req) => (isManifest(req) && failed++ === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : undefined);
    const c = client();
    try {
      const start = Date.now();
      expect((await c.getManifest(viaProxy('faults/multi:1'))).digest).toBe(indexDigest);
      expect(Date.now() - start).toBeGreaterThanOrEqual(900);
    } finally {
      await c.close();
    }
  });

  it('a registry that keeps failing: REGISTRY_ERROR after a bounded number of attempts', async () => {
    proxy.fault = (req) => (isManifest(req) ? { kind: 'status', status: 503 } : undefined);
    const c = client({ retries: 2 });
    try {
      const error = await rejection(c.getManifest(viaProxy('faults/multi:1')));
      expect(error.code).toBe('REGISTRY_ERROR');
      expect(error.message).toContain('503');
      expect(proxy.seen.filter((s) => s.path.includes('/manifests/'))).toHaveLength(3);
    } finally {
      await c.close();
    }
  });

  it('a connection reset before the answer is retried', async () => {
    let failed = 0;
    proxy.fault = (req) => (isManifest(req) && failed++ === 0 ? { kind: 'reset' } : undefined);
    const c = client();
    try {
      expect((await c.getManifest(viaProxy('faults/multi:1'))).digest).toBe(indexDigest);
    } finally {
      await c.close();
    }
  });

  it('a 500 on the upload PUT is retried with the stream reopened', async () => {
    let failed = 0;
    proxy.fault = (req) => (req.method === 'PUT' && (req.url ?? '').includes('/blobs/uploads/') && failed++ === 0 ? { kind: 'status', status: 500 } : undefined);
    const c = client();
    try {
      const data = randomBytes(100_000);
      let opened = 0;
      const outcome = await c.pushBlob(viaProxy('faults/upload'), { digest: sha256(data), size: data.length }, async () => {
        opened++;
        return Readable.from([data.subarray(0, 50_000), data.subarray(50_000)]);
      });
      expect(outcome).toBe('uploaded');
      expect(opened).toBe(2);
      expect((await c.readBlob(viaProxy('faults/upload'), { digest: sha256(data), size: data.length }, 200_000)).equals(data)).toBe(true);
    } finally {
      await c.close();
    }
  });
});

describe('blobs', () => {
  it('a connection dropped mid-blob is resumed with a Range request and the bytes verify', async () => {
    let dropped = 0;
    proxy.fault = (req) => (isBlobGet(req, blobDescriptor.digest) && dropped++ === 0 ? { kind: 'drop-mid-body' } : undefined);
    const c = client();
    try {
      const data = await readAll(await c.openBlob(viaProxy('faults/multi'), blobDescriptor));
      expect(data.equals(blob)).toBe(true);
      const gets = proxy.seen.filter((s) => s.path.endsWith(blobDescriptor.digest));
      expect(gets).toHaveLength(2);
      expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(gets[1]!.range!)![0])).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
  });

  it('a connection dropped on every attempt fails with a clear error', async () => {
    proxy.fault = (req) => (isBlobGet(req, blobDescriptor.digest) ? { kind: 'drop-mid-body' } : undefined);
    const c = client({ retries: 1 });
    try {
      const error = await rejection(c.openBlob(viaProxy('faults/multi'), blobDescriptor).then(readAll));
      expect(error.code).toBe('REGISTRY_ERROR');
      expect(error.message).toContain(blobDescriptor.digest);
    } finally {
      await c.close();
    }
  });

  it('a blob whose bytes do not match its digest is rejected (DIGEST_MISMATCH), and a pull writes nothing for it', async () => {
    const c = client();
    try {
      const image = await openRegistryImage(viaProxy('faults/multi:1'), { client: c });
      const layer = (await image.layers())[0]!;
      proxy.fault = (req) => (isBlobGet(req, layer.digest) ? { kind: 'corrupt-body' } : undefined);
      expect((await rejection(layer.compressed().then(readAll))).code).toBe('DIGEST_MISMATCH');
      expect((await rejection(c.readBlob(viaProxy('faults/multi'), { digest: layer.digest, size: layer.size }, 1 << 20))).code).toBe('DIGEST_MISMATCH');
      const out = join(work, 'pulled');
      expect((await rejection(copyReference(`registry:${proxy.host}/faults/multi:1`, `oci:${out}:x`, { client: c }))).code).toBe('DIGEST_MISMATCH');
      expect(existsSync(join(out, 'blobs', 'sha256', layer.digest.slice(7)))).toBe(false);
      expect(existsSync(join(out, 'index.json'))).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('manifests', () => {
  const huge = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], pad: 'x'.repeat(5 * 1024 * 1024) }));

  it.each([false, true])('a manifest over the size limit is rejected (MANIFEST_TOO_LARGE; chunked=%s)', async (chunked) => {
    proxy.fault = (req) => (isManifest(req) ? { kind: 'replace', body: huge, chunked, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } } : undefined);
    const c = client();
    try {
      const error = await rejection(c.getManifest(viaProxy('faults/multi:1')));
      expect(error.code).toBe('MANIFEST_TOO_LARGE');
    } finally {
      await c.close();
    }
  });

  it('the limit is configurable: a real index over a tiny limit is refused', async () => {
    const c = client({ maxManifestSize: 100 });
    try {
      expect((await rejection(c.getManifest(viaProxy('faults/multi:1')))).code).toBe('MANIFEST_TOO_LARGE');
    } finally {
      await c.close();
    }
  });

  it('a manifest that does not hash to the digest asked for, or to Docker-Content-Digest, is rejected', async () => {
    proxy.fault = (req) => (isManifest(req) ? { kind: 'corrupt-body' } : undefined);
    const c = client();
    try {
      const repo = viaProxy('faults/multi');
      expect((await rejection(c.getManifest({ registry: repo.registry, repository: repo.repository, digest: indexDigest }))).code).toBe('DIGEST_MISMATCH');
      expect((await rejection(c.getManifest(viaProxy('faults/multi:1')))).code).toBe('DIGEST_MISMATCH');
    } finally {
      await c.close();
    }
  });
});

describe('credentials', () => {
  let basic: TestRegistry;
  beforeAll(async () => {
    basic = await startRegistry('basic');
  });
  afterAll(async () => basic.stop());

  it('wrong credentials: REGISTRY_AUTH_FAILED from distill copy, exit 3, the password never printed', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    let code = 0;
    let output = '';
    try {
      await run(process.execPath, [cli, 'copy', `oci:${multiPlatformLayout()}:multi`, `${basic.host}/x/y:1`], {
        env: { ...process.env, DISTILL_REGISTRY_CA: basic.caFile!, DISTILL_REGISTRY_USERNAME: basic.username!, DISTILL_REGISTRY_PASSWORD: secret },
      });
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      code = e.code;
      output = e.stdout + e.stderr;
    }
    expect(code).toBe(3);
    expect(output).toContain('[REGISTRY_AUTH_FAILED]');
    expect(output).toContain(basic.username!);
    expect(output).not.toContain(secret);
    expect(output).not.toContain(Buffer.from(`${basic.username}:${secret}`).toString('base64'));
    expect(readFileSync(join(multiPlatformLayout(), 'index.json'), 'utf8')).toContain('multi');
  });
});
