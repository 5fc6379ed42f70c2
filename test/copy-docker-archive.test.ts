/** @module test/copy-docker-archive — `distill copy SRC docker-archive:FILE[:REPO:TAG]` from a registry, layouts and archives, checked by skopeo, podman load and distill sbom; hostile destinations and corrupt blobs. */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiPlatformLayout, readIndex } from './fixtures/oci/fixtures.js';
import { podman, type Podman } from './helpers/build-helpers.js';
import { hasCommand, stockImage } from './helpers/oracles.js';
import { pushSmallImage, startRegistry, type TestRegistry } from './helpers/registry.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function distill(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function ok(args: string[]): Promise<string> {
  const r = await distill(args);
  if (r.code !== 0) throw new Error(`distill ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function skopeo(args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

interface ArchiveEntry { Config: string; RepoTags: string[]; Layers: string[] }
const archiveManifest = (file: string): ArchiveEntry[] => JSON.parse(spawnSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }).stdout) as ArchiveEntry[];

interface Sbom { packages: unknown[]; sourcePackages?: unknown[]; subject: { configDigest: string; layers: string[] } }
async function sbom(reference: string): Promise<Sbom> {
  return JSON.parse(await ok(['sbom', reference, '-f', 'json', '-q'])) as Sbom;
}

/** The source image's config bytes and diffIDs, as the registry serves them (skopeo is the reader). */
async function registryConfig(reference: string): Promise<{ digest: string; diffIds: string[]; architecture: string }> {
  const raw = Buffer.from(await skopeo(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${reference}`]));
  const config = JSON.parse(raw.toString('utf8')) as { rootfs: { diff_ids: string[] }; architecture: string };
  return { digest: sha256(raw), diffIds: config.rootfs.diff_ids, architecture: config.architecture };
}

let work: string;
let registry: TestRegistry;
let pm: Podman | undefined;
beforeAll(async () => {
  if (!existsSync(cli)) throw new Error('run `npm run build` first: this suite runs the built CLI');
  work = mkdtempSync(join(tmpdir(), 'distill-copy-da-'));
  registry = await startRegistry('anonymous');
  await pushSmallImage(registry, 'small/img:1');
}, 120_000);
afterAll(async () => {
  pm?.cleanup();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('registry → docker-archive', () => {
  it('writes an archive skopeo inspects and copies, named after the source reference, with the source config and diffIDs', async () => {
    const ref = `${registry.host}/small/img:1`;
    const source = await registryConfig(ref);
    const out = join(work, 'small.tar');
    const printed = await ok(['copy', ref, `docker-archive:${out}`]);
    expect(printed).toMatch(new RegExp(`^copied ${ref} \\(linux/amd64, sha256:[0-9a-f]{64}\\) to docker-archive:${out}, tagged ${registry.host}/small/img:1; config ${source.digest}, 2 layers`));

    expect(archiveManifest(out)[0]!.RepoTags).toEqual([`${registry.host}/small/img:1`]);
    const config = Buffer.from(await skopeo(['inspect', '--config', '--raw', `docker-archive:${out}`]));
    expect(sha256(config)).toBe(source.digest);
    const inspected = JSON.parse(await skopeo(['inspect', `docker-archive:${out}`])) as { Architecture: string; Layers: string[] };
    expect(inspected.Architecture).toBe('amd64');
    expect(inspected.Layers).toHaveLength(2);

    // skopeo copies it on into a layout (recompressing): the config is unchanged, the layers unpack to the source's diffIDs.
    const layout = join(work, 'skopeo-layout');
    await skopeo(['copy', '--quiet', `docker-archive:${out}`, `oci:${layout}:back`]);
    const manifest = JSON.parse(await skopeo(['inspect', '--raw', `oci:${layout}:back`])) as { config: { digest: string }; layers: { digest: string }[] };
    expect(manifest.config.digest).toBe(source.digest);
    expect(manifest.layers.map((l) => sha256(gunzipSync(readFileSync(join(layout, 'blobs', 'sha256', l.digest.slice(7))))))).toEqual(source.diffIds);
  }, 120_000);

  it('podman load takes it: the image id is the source config digest, the layers its diffIDs, the name the one given', async () => {
    const ref = `${registry.host}/small/img:1`;
    const source = await registryConfig(ref);
    const out = join(work, 'named.tar');
    await ok(['copy', `registry:${ref}`, `docker-archive:${out}:team/app:2`]);
    expect(archiveManifest(out)[0]!.RepoTags).toEqual(['docker.io/team/app:2']);
    pm = podman();
    const loaded = (await pm.runAsync(['load', '-i', out])).stdout;
    expect(loaded).toContain('docker.io/team/app:2');
    const inspect = JSON.parse((await pm.runAsync(['image', 'inspect', 'docker.io/team/app:2'])).stdout) as { Id: string; RootFS: { Layers: string[] }; RepoTags: string[] }[];
    expect(`sha256:${inspect[0]!.Id}`).toBe(source.digest);
    expect(inspect[0]!.RootFS.Layers).toEqual(source.diffIds);
  }, 180_000);

  it('round trip: the SBOM of the written archive equals the SBOM of the registry image', async () => {
    const ref = `${registry.host}/small/img:1`;
    const out = join(work, 'sbom.tar');
    await ok(['copy', ref, `docker-archive:${out}:small/img:1`]);
    const [fromRegistry, fromArchive] = await Promise.all([sbom(ref), sbom(`docker-archive:${out}:small/img:1`)]);
    expect(fromRegistry.packages.length).toBeGreaterThanOrEqual(2);
    expect(fromArchive.packages).toEqual(fromRegistry.packages);
    expect(fromArchive.subject.configDigest).toBe(fromRegistry.subject.configDigest);
    expect(fromArchive.subject.layers).toEqual(fromRegistry.subject.layers);
  }, 120_000);

  it.skipIf(!hasCommand('mmdebstrap'))('stock nginx: docker-archive → registry → docker-archive keeps every package and podman loads it', async () => {
    const stock = stockImage('nginx');
    await ok(['copy', `docker-archive:${stock}`, `${registry.host}/stock/nginx:1.22`]);
    const out = join(work, 'nginx.tar');
    const started = Date.now();
    await ok(['copy', `${registry.host}/stock/nginx:1.22`, `docker-archive:${out}`]);
    const seconds = (Date.now() - started) / 1000;
    expect(archiveManifest(out)[0]!.RepoTags).toEqual([`${registry.host}/stock/nginx:1.22`]);
    const [a, b] = [await sbom(`docker-archive:${stock}`), await sbom(`docker-archive:${out}`)];
    expect(a.packages.length).toBeGreaterThan(100);
    expect(b.packages).toEqual(a.packages);
    pm ??= podman();
    await pm.runAsync(['load', '-q', '-i', out]);
    const id = (await pm.runAsync(['image', 'inspect', '--format', '{{.Id}}', `${registry.host}/stock/nginx:1.22`])).stdout.trim();
    expect(`sha256:${id}`).toBe(a.subject.configDigest);
    console.log(`copy registry → docker-archive of stock nginx: ${seconds.toFixed(2)} s`);
  }, 300_000);
});

describe('layouts and archives → docker-archive, platforms', () => {
  it('an index without --platform gives the host platform; --platform picks another; an absent one is PLATFORM_NOT_FOUND', async () => {
    const layout = multiPlatformLayout();
    const host = join(work, 'multi-host.tar');
    const hostOut = JSON.parse(await ok(['copy', `oci:${layout}:multi`, `docker-archive:${host}:tiny/multi:1`, '-f', 'json'])) as { platform: { architecture: string }; configDigest: string };
    expect(hostOut.platform.architecture).toBe(process.arch === 'arm64' ? 'arm64' : 'amd64');
    const arm = join(work, 'multi-arm.tar');
    const armOut = JSON.parse(await ok(['copy', `oci:${layout}:multi`, `docker-archive:${arm}:tiny/multi:1`, '--platform', 'linux/arm64', '-f', 'json'])) as { configDigest: string; layers: number };
    const armConfig = JSON.parse(await skopeo(['inspect', '--config', '--raw', `docker-archive:${arm}`])) as { architecture: string; variant?: string };
    expect(armConfig.architecture).toBe('arm64');
    expect(armOut.configDigest).not.toBe(hostOut.configDigest);
    const absent = await distill(['copy', `oci:${layout}:multi`, `docker-archive:${join(work, 'none.tar')}`, '--platform', 'linux/s390x']);
    expect(absent.code).toBe(3);
    expect(absent.stderr).toContain('[PLATFORM_NOT_FOUND]');
    expect(existsSync(join(work, 'none.tar'))).toBe(false);
  });

  it('oci:, oci-archive: and docker-archive: sources give archives with the same config and layers', async () => {
    const ref = `${registry.host}/small/img:1`;
    const layout = join(work, 'from-registry');
    await ok(['copy', ref, `oci:${layout}:v1`]);
    await ok(['copy', ref, `oci-archive:${join(work, 'from-registry.tar')}:v1`]);
    const outs = { oci: join(work, 'o1.tar'), ociArchive: join(work, 'o2.tar'), docker: join(work, 'o3.tar') };
    await ok(['copy', `oci:${layout}:v1`, `docker-archive:${outs.oci}`]);
    await ok(['copy', `oci-archive:${join(work, 'from-registry.tar')}:v1`, `docker-archive:${outs.ociArchive}`]);
    await ok(['copy', `docker-archive:${outs.oci}`, `docker-archive:${outs.docker}:again/img:3`]);
    const configs = await Promise.all(Object.values(outs).map(async (f) => sha256(Buffer.from(await skopeo(['inspect', '--config', '--raw', `docker-archive:${f}`])))));
    expect(new Set(configs)).toEqual(new Set([(await registryConfig(ref)).digest]));
    // A layout's bare tag names no repository: untagged. A docker archive keeps the name it was given.
    expect(archiveManifest(outs.oci)[0]!.RepoTags).toEqual([]);
    expect(archiveManifest(outs.docker)[0]!.RepoTags).toEqual(['docker.io/again/img:3']);
    expect(archiveManifest(outs.docker)[0]!.Layers).toEqual(archiveManifest(outs.oci)[0]!.Layers);
    // Without a name, a docker-archive source passes on the names it records.
    await ok(['copy', `docker-archive:${outs.docker}`, `docker-archive:${join(work, 'o4.tar')}`]);
    expect(archiveManifest(join(work, 'o4.tar'))[0]!.RepoTags).toEqual(['docker.io/again/img:3']);
  });

  it('--platform is refused for destinations that copy every platform', async () => {
    const r = await distill(['copy', `oci:${multiPlatformLayout()}:multi`, `oci:${join(work, 'x')}`, '--platform', 'linux/arm64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[USAGE]');
  });
});

describe('hostile destinations and sources', () => {
  it('a missing directory is IO (exit 4) and creates nothing', async () => {
    const r = await distill(['copy', `${registry.host}/small/img:1`, `docker-archive:${join(work, 'missing', 'x.tar')}`]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot write the docker archive .*missing\/x\.tar: its directory does not exist \[IO\]/);
    expect(existsSync(join(work, 'missing'))).toBe(false);
  });

  it('a read-only directory is IO (exit 4) and leaves nothing behind', async (ctx) => {
    // A tmpfs mounted read-only (root ignores file modes); mounted and removed inside the test so nothing leaks.
    const mountPoint = mkdtempSync(join(tmpdir(), 'distill-ro-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint]).status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true });
      ctx.skip();
      return;
    }
    try {
      const r = await distill(['copy', `${registry.host}/small/img:1`, `docker-archive:${join(mountPoint, 'x.tar')}`]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('the directory is not writable [IO]');
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      spawnSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('a source blob with the wrong digest fails with DIGEST_MISMATCH and writes no file', async () => {
    const layout = join(work, 'corrupt');
    await ok(['copy', `${registry.host}/small/img:1`, `oci:${layout}:v1`]);
    const manifestDigest = readIndex(layout).manifests[0]!.digest;
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const blob = join(layout, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7));
    const bytes = readFileSync(blob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0x55, bytes.length >> 1);
    writeFileSync(blob, bytes);
    const dir = join(work, 'corrupt-out');
    mkdirSync(dir);
    const r = await distill(['copy', `oci:${layout}:v1`, `docker-archive:${join(dir, 'x.tar')}`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[DIGEST_MISMATCH]');
    expect(readdirSync(dir)).toEqual([]);
  });
});
