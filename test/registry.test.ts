/** @module test/registry — the distribution client against Debian's docker-registry (anonymous, htpasswd+TLS, token), with skopeo as the second opinion. */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../src/oci/open-image.js';
import { bypassesProxy, dockerConfigCredentials, openRegistryImage, parseRegistryReference, pushOciLayout, RegistryClient, staticCredentials, copyReference } from '../src/oci/registry/index.js';
import { multiPlatformLayout } from './fixtures/oci/fixtures.js';
import { openTunnel } from './helpers/connect-tunnel.js';
import { stockImage } from './helpers/oracles.js';
import { buildReady, debCache, freePort } from './helpers/build-helpers.js';
import { rejection, startRegistry, type TestRegistry } from './helpers/registry.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');

async function distill(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function skopeo(args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

const layoutIndex = (dir: string) => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-registry-test-'));
  if (!existsSync(cli)) throw new Error('run `npm run build` first: this suite runs the built CLI');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('anonymous registry over plain HTTP (loopback)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry('anonymous');
    client = new RegistryClient();
  });
  afterAll(async () => {
    await client.close();
    await registry.stop();
  });

  it('pushes a multi-arch index and pulls it back with identical digests; the second push skips every blob', async () => {
    const layout = multiPlatformLayout();
    const source = layoutIndex(layout).manifests[0]!.digest;
    const target = parseRegistryReference(`${registry.host}/distill/multi:1`);
    const pushed = await pushOciLayout(layout, target, 'multi', { client });
    expect(pushed.digest).toBe(source);
    expect(pushed.manifests).toHaveLength(2);
    expect(pushed.blobs.uploaded).toBeGreaterThan(0);
    const again = await pushOciLayout(layout, target, 'multi', { client });
    expect(again.blobs).toEqual({ uploaded: 0, exists: pushed.blobs.uploaded, mounted: 0 });

    // Pull back into a fresh layout: same index digest, and the registry serves the same manifest bytes.
    const back = join(work, 'pulled');
    const pulled = await copyReference(`registry:${registry.host}/distill/multi:1`, `oci:${back}:copy`, { client });
    expect(pulled.digest).toBe(source);
    expect(layoutIndex(back).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'copy')?.digest).toBe(source);
    const fetched = await client.getManifest(target);
    expect(fetched.digest).toBe(source);
    expect(fetched.data.equals(readFileSync(join(layout, 'blobs', 'sha256', source.slice(7))))).toBe(true);

    // Both platforms open through openImage, layers stream and verify (diffIds included).
    for (const architecture of ['amd64', 'arm64']) {
      const image = await openImage(`registry:${registry.host}/distill/multi:1`, { platform: { os: 'linux', architecture }, registryClient: client });
      expect(image.transport).toBe('registry');
      expect((await image.config()).architecture).toBe(architecture);
      for (const layer of await image.layers()) {
        const chunks: Buffer[] = [];
        for await (const chunk of await layer.uncompressed()) chunks.push(chunk as Buffer);
        expect(sha256(Buffer.concat(chunks))).toBe(layer.diffId);
      }
      await image.close();
    }
    await expect(rejection(openImage(`registry:${registry.host}/distill/multi:1`, { platform: { os: 'linux', architecture: 's390x' }, registryClient: client }))).resolves.toMatchObject({ code: 'PLATFORM_NOT_FOUND' });
    expect(await client.listTags(target)).toEqual(['1']);
  });

  it('skopeo reads what distill pushed (inspect, copy back with identical digests)', async () => {
    const layout = multiPlatformLayout();
    const source = layoutIndex(layout).manifests[0]!.digest;
    await pushOciLayout(layout, parseRegistryReference(`${registry.host}/distill/for-skopeo:2`), 'multi', { client });
    const raw = await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/distill/for-skopeo:2`]);
    expect(sha256(Buffer.from(raw))).toBe(source);
    const inspected = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${registry.host}/distill/for-skopeo:2`])) as { Architecture: string; Layers: string[] };
    expect(inspected.Architecture).toBe('arm64');
    const copy = join(work, 'skopeo-copy');
    await skopeo(['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${registry.host}/distill/for-skopeo:2`, `oci:${copy}:back`]);
    expect(layoutIndex(copy).manifests[0]!.digest).toBe(source);
  });

  it('distill reads what skopeo pushed: the SBOM of the registry image equals the SBOM of the archive', async () => {
    const archive = stockImage('nginx');
    await skopeo(['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${registry.host}/stock/nginx:1`]);
    const [fromArchive, fromRegistry] = await Promise.all([distill(['sbom', `docker-archive:${archive}`, '-f', 'json', '-q']), distill(['sbom', `${registry.host}/stock/nginx:1`, '-f', 'json', '-q'])]);
    expect(fromArchive.stderr).toBe('');
    expect(fromRegistry.code, fromRegistry.stderr).toBe(0);
    const a = JSON.parse(fromArchive.stdout) as { packages: unknown[]; sourcePackages: unknown[]; relationships: unknown[]; subject: { layers: string[]; configDigest: string } };
    const b = JSON.parse(fromRegistry.stdout) as typeof a & { subject: { transport: string } };
    expect(a.packages.length).toBeGreaterThan(100);
    expect(b.packages).toEqual(a.packages);
    expect(b.sourcePackages).toEqual(a.sourcePackages);
    expect(b.relationships).toEqual(a.relationships);
    expect(b.subject.layers).toEqual(a.subject.layers);
    expect(b.subject.transport).toBe('registry');
  }, 120_000);

  it('distill copy (CLI) between registry repositories mounts blobs; JSON output names the digest', async () => {
    await pushOciLayout(multiPlatformLayout(), parseRegistryReference(`${registry.host}/distill/src:1`), 'multi', { client });
    const result = await distill(['copy', `${registry.host}/distill/src:1`, `registry:${registry.host}/other/dst:1`, '-f', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { digest: string; blobs: { mounted: number; uploaded: number } };
    expect(json.digest).toBe(layoutIndex(multiPlatformLayout()).manifests[0]!.digest);
    expect(json.blobs.mounted).toBeGreaterThan(0);
    expect(json.blobs.uploaded).toBe(0);
    // Back out of the registry into an oci-archive: skopeo reads the same index digest from the tar.
    const archive = join(work, 'copied.tar');
    const toArchive = await distill(['copy', `${registry.host}/other/dst:1`, `oci-archive:${archive}:v1`]);
    expect(toArchive.code, toArchive.stderr).toBe(0);
    expect(sha256(Buffer.from(await skopeo(['inspect', '--raw', `oci-archive:${archive}:v1`])))).toBe(json.digest);
    const missing = await distill(['sbom', `${registry.host}/distill/src:nope`]);
    expect(missing.code, missing.stderr).toBe(3);
    expect(missing.stderr).toContain('[TAG_NOT_FOUND]');
  });

  it('uploads in PATCH chunks and reads the blob back verified', async () => {
    const chunked = new RegistryClient({ chunkSize: 64 * 1024 });
    try {
      const repo = parseRegistryReference(`${registry.host}/distill/chunks`);
      const data = randomBytes(300 * 1024 + 17);
      const descriptor = { digest: sha256(data), size: data.length };
      expect(await chunked.pushBlob(repo, descriptor, data)).toBe('uploaded');
      expect(await chunked.pushBlob(repo, descriptor, data)).toBe('exists');
      expect((await chunked.readBlob(repo, descriptor, 1024 * 1024)).equals(data)).toBe(true);
      // A stream whose bytes are not what the descriptor says is refused before it is committed.
      const other = randomBytes(1000);
      const lie = { digest: sha256(randomBytes(1000)), size: 1000 };
      await expect(rejection(chunked.pushBlob(repo, lie, async () => (await import('node:stream')).Readable.from([other])))).resolves.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(await chunked.hasBlob(repo, lie.digest)).toBe(false);
    } finally {
      await chunked.close();
    }
  });

  it('missing manifests and blobs have their own codes', async () => {
    const repo = parseRegistryReference(`${registry.host}/distill/multi`);
    const absent = `sha256:${'0'.repeat(64)}`;
    await expect(rejection(client.getManifest({ ...repo, tag: 'absent' }))).resolves.toMatchObject({ code: 'TAG_NOT_FOUND' });
    await expect(rejection(client.getManifest({ registry: repo.registry, repository: repo.repository, digest: absent }))).resolves.toMatchObject({ code: 'MANIFEST_NOT_FOUND' });
    await expect(rejection(client.readBlob(repo, { digest: absent, size: 1 }, 10))).resolves.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });
});

describe('htpasswd Basic auth over TLS with a test CA', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('basic');
  });
  afterAll(async () => registry.stop());

  it('pushes and pulls with the CA and the right password (from a Docker config auths entry)', async () => {
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
    const client = new RegistryClient({ ca: registry.ca!, credentials: dockerConfigCredentials({ auths: { [registry.host]: { auth } } }) });
    try {
      const target = parseRegistryReference(`${registry.host}/secure/multi:1`);
      const pushed = await pushOciLayout(multiPlatformLayout(), target, 'multi', { client });
      const image = await openRegistryImage(target, { client, platform: { os: 'linux', architecture: 'arm64' } });
      expect((await image.config()).architecture).toBe('arm64');
      expect((await client.getManifest(target)).digest).toBe(pushed.digest);
    } finally {
      await client.close();
    }
  });

  it('without the CA: REGISTRY_TLS, and no fallback to plain HTTP', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: registry.username!, password: registry.password! }), retries: 0 });
    try {
      const error = await rejection(client.getManifest(parseRegistryReference(`${registry.host}/secure/multi:1`)));
      expect(error.code).toBe('REGISTRY_TLS');
    } finally {
      await client.close();
    }
  });

  it('wrong or missing credentials: REGISTRY_AUTH_FAILED, the password never in the message (library and CLI)', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const bad = new RegistryClient({ ca: registry.ca!, credentials: staticCredentials({ username: registry.username!, password: wrong }) });
    const none = new RegistryClient({ ca: registry.ca! });
    try {
      const error = await rejection(bad.getManifest(parseRegistryReference(`${registry.host}/secure/multi:1`)));
      expect(error.code).toBe('REGISTRY_AUTH_FAILED');
      expect(`${error.message} ${error.hint}`).not.toContain(wrong);
      expect(error.message).toContain(registry.username!);
      expect((await rejection(none.getManifest(parseRegistryReference(`${registry.host}/secure/multi:1`)))).code).toBe('REGISTRY_AUTH_FAILED');
    } finally {
      await bad.close();
      await none.close();
    }
    const viaCli = await distill(['sbom', `${registry.host}/secure/multi:1`], { DISTILL_REGISTRY_CA: registry.caFile!, DISTILL_REGISTRY_USERNAME: registry.username!, DISTILL_REGISTRY_PASSWORD: wrong });
    expect(viaCli.code).toBe(3);
    expect(viaCli.stderr).toContain('[REGISTRY_AUTH_FAILED]');
    expect(viaCli.stderr + viaCli.stdout).not.toContain(wrong);
    const good = await distill(['sbom', `${registry.host}/secure/multi:1`, '-f', 'json', '-q'], { DISTILL_REGISTRY_CA: registry.caFile!, DISTILL_REGISTRY_USERNAME: registry.username!, DISTILL_REGISTRY_PASSWORD: registry.password! });
    expect(good.code, good.stderr).toBe(0);
  });
});

describe('Bearer token auth through a test token server', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('token');
  });
  afterAll(async () => registry.stop());

  it('asks for pull,push scopes, caches tokens per scope, and mounts with the source scope', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: registry.username!, password: registry.password! }) });
    try {
      const target = parseRegistryReference(`${registry.host}/team/app:1.4`);
      const pushed = await pushOciLayout(multiPlatformLayout(), target, 'multi', { client });
      const pushScopes = registry.tokenRequests.map((r) => r.scopes.join(' '));
      expect(pushScopes).toContain('repository:team/app:pull,push');
      expect(registry.tokenRequests.every((r) => r.service === 'distill-test-registry' && r.account === registry.username && r.authenticated)).toBe(true);
      const before = registry.tokenRequests.length;
      // Pulls reuse cached tokens: one new token for the pull scope at most, none on the second pull.
      await (await openRegistryImage(target, { client })).config();
      const afterFirst = registry.tokenRequests.length;
      expect(afterFirst - before).toBeLessThanOrEqual(1);
      await (await openRegistryImage(target, { client })).config();
      expect(registry.tokenRequests.length).toBe(afterFirst);

      const copied = await copyReference(`registry:${registry.host}/team/app:1.4`, `registry:${registry.host}/team/copy:1`, { client });
      expect(copied.digest).toBe(pushed.digest);
      expect(copied.blobs.mounted).toBeGreaterThan(0);
      expect(registry.tokenRequests.some((r) => r.scopes.includes('repository:team/copy:pull,push') && r.scopes.includes('repository:team/app:pull'))).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('wrong password at the token server, or an anonymous token without access: REGISTRY_AUTH_FAILED', async () => {
    const wrong = `nope-${randomBytes(6).toString('hex')}`;
    const bad = new RegistryClient({ credentials: staticCredentials({ username: registry.username!, password: wrong }) });
    const anonymous = new RegistryClient();
    try {
      const error = await rejection(bad.getManifest(parseRegistryReference(`${registry.host}/team/app:1.4`)));
      expect(error.code).toBe('REGISTRY_AUTH_FAILED');
      expect(`${error.message} ${error.hint}`).not.toContain(wrong);
      expect((await rejection(anonymous.getManifest(parseRegistryReference(`${registry.host}/team/app:1.4`)))).code).toBe('REGISTRY_AUTH_FAILED');
    } finally {
      await bad.close();
      await anonymous.close();
    }
  });
});

/** A CONNECT proxy (what HTTPS_PROXY points at) that records the tunnels it opened. */
async function connectProxy(): Promise<{ url: string; tunnels: string[]; server: Server }> {
  const tunnels: string[] = [];
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, socket, head) => {
    tunnels.push(req.url ?? '');
    openTunnel(req, socket, head);
  });
  const port = await freePort();
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${port}`, tunnels, server };
}

describe('proxies and credential helpers', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('basic');
  });
  afterAll(async () => registry.stop());

  it('NO_PROXY matching follows curl/Docker conventions', () => {
    expect(bypassesProxy('registry.example.com', '443', 'example.com')).toBe(true);
    expect(bypassesProxy('registry.example.com', '443', '.example.com')).toBe(true);
    expect(bypassesProxy('example.com', '443', '*.example.com')).toBe(true);
    expect(bypassesProxy('badexample.com', '443', 'example.com')).toBe(false);
    expect(bypassesProxy('127.0.0.1', '5000', 'localhost,127.0.0.1:5000')).toBe(true);
    expect(bypassesProxy('127.0.0.1', '5001', '127.0.0.1:5000')).toBe(false);
    expect(bypassesProxy('anything', '80', '*')).toBe(true);
    expect(bypassesProxy('anything', '80', '')).toBe(false);
  });

  it('HTTPS_PROXY tunnels TLS registry traffic through CONNECT; NO_PROXY bypasses it', async () => {
    const proxy = await connectProxy();
    const credentials = staticCredentials({ username: registry.username!, password: registry.password! });
    const through = new RegistryClient({ ca: registry.ca!, credentials, proxy: { httpsProxy: proxy.url } });
    const bypass = new RegistryClient({ ca: registry.ca!, credentials, proxy: { httpsProxy: proxy.url, noProxy: '127.0.0.1' } });
    try {
      const target = parseRegistryReference(`${registry.host}/proxied/multi:1`);
      const pushed = await pushOciLayout(multiPlatformLayout(), target, 'multi', { client: through });
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels)).toEqual(new Set([registry.host]));
      const before = proxy.tunnels.length;
      expect((await bypass.getManifest(target)).digest).toBe(pushed.digest);
      expect(proxy.tunnels.length).toBe(before);
    } finally {
      await through.close();
      await bypass.close();
      proxy.server.close();
    }
  });

  it('credHelpers: the CLI runs docker-credential-NAME get from a Docker config ($DOCKER_CONFIG)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-credhelper-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      // A real helper program speaking the docker-credential protocol (server URL on stdin, JSON on stdout).
      const helper = join(bin, 'docker-credential-distilltest');
      writeFileSync(helper, `#!/bin/sh\nread server\n[ "$1" = get ] || exit 2\n[ "$server" = "${registry.host}" ] || { echo "credentials not found" >&2; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${registry.username}","Secret":"${registry.password}"}' "$server"\n`);
      chmodSync(helper, 0o755);
      const config = join(dir, 'docker');
      mkdirSync(config);
      writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'distilltest' } }));
      const env = { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}`, DISTILL_REGISTRY_CA: registry.caFile!, DISTILL_REGISTRY_USERNAME: '', DISTILL_REGISTRY_PASSWORD: '' };
      const copied = await distill(['copy', `oci:${multiPlatformLayout()}:multi`, `${registry.host}/helper/multi:1`, '-f', 'json'], env);
      expect(copied.code, copied.stderr).toBe(0);
      expect((JSON.parse(copied.stdout) as { digest: string }).digest).toBe(layoutIndex(multiPlatformLayout()).manifests[0]!.digest);
      // Without the helper on PATH the registry refuses: the helper really was what authenticated.
      const without = await distill(['sbom', `${registry.host}/helper/multi:1`], { ...env, PATH: process.env.PATH ?? '' });
      expect(without.code).toBe(3);
      expect(without.stderr).toContain('REGISTRY_AUTH_FAILED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(buildReady)('distill build --push', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('anonymous');
  });
  afterAll(async () => registry.stop());

  it('builds both architectures and pushes the index; skopeo sees each platform', async () => {
    const result = await distill(['build', join(root, 'images', 'static.yaml'), '--push', `${registry.host}/distill/static:1`, '--format', 'json', '-q'], { DISTILL_CACHE: debCache });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { digest: string; manifestDigests: string[]; pushed: { digest: string; manifests: string[]; destination: string } };
    expect(json.pushed.digest).toBe(json.digest);
    expect(new Set(json.pushed.manifests)).toEqual(new Set(json.manifestDigests));
    const raw = await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/distill/static:1`]);
    expect(sha256(Buffer.from(raw))).toBe(json.digest);
    for (const arch of ['amd64', 'arm64']) {
      const inspected = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--override-arch', arch, `docker://${registry.host}/distill/static:1`])) as { Architecture: string };
      expect(inspected.Architecture).toBe(arch);
    }
  }, 300_000);
});
