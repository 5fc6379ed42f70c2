/** @module build/oci-writer.test — written images against oci-image-tool, skopeo, umoci, podman, GNU tar and the project's own reader. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openImage } from '../oci/open-image.js';
import { isDistillError } from '../errors.js';
import { buildLayer, type FileTree, type TreeNode } from './layer.js';
import { buildImage, buildIndex, writeDockerArchive, writeOciArchive, writeOciLayout, type BuiltImage, type ImageInput } from './oci-writer.js';

const work = mkdtempSync(join(tmpdir(), 'oci-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EPOCH = 1717171717;
const f = (content: string, mode = 0o644, uid = 0, gid = 0): TreeNode => ({ type: 'file' as const, mode, uid, gid, content: Buffer.from(content) });

function baseTree(): FileTree {
  return new Map<string, TreeNode>([
    ['/etc/passwd', f('root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n')],
    ['/etc/group', f('root:x:0:\nnonroot:x:65532:\n')],
    ['/usr/lib/os-release', f('ID=debian\nVERSION_ID="12"\n')],
    ['/etc/os-release', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: '../usr/lib/os-release' }],
    ['/tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0 }],
    ['/home/nonroot', { type: 'dir', mode: 0o700, uid: 65532, gid: 65532 }],
    ['/usr/share/zoneinfo/UTC', f('TZif2-fake', 0o644, 0, 0)],
    ['/usr/share/zoneinfo/Etc/UTC', { type: 'hardlink', mode: 0o644, uid: 0, gid: 0, linkTarget: '/usr/share/zoneinfo/UTC' }],
    ['/bin', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'usr/bin' }],
  ]);
}

function appTree(arch: string): FileTree {
  return new Map<string, TreeNode>([
    ['/usr/bin/app', f(`#!app for ${arch}\n`, 0o755)],
    ['/var/lib/app', { type: 'dir', mode: 0o750, uid: 65532, gid: 65532 }],
    ['/var/lib/app/state', f('x', 0o600, 65532, 65532)],
  ]);
}

async function images(): Promise<BuiltImage[]> {
  const base = await buildLayer(baseTree(), { mtime: EPOCH, comment: 'base: glibc, CA certificates, tzdata' });
  const out: BuiltImage[] = [];
  for (const architecture of ['amd64', 'arm64']) {
    const app = await buildLayer(appTree(architecture), { mtime: EPOCH, comment: 'app' });
    const input: ImageInput = {
      platform: { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) },
      layers: [base, app],
      created: EPOCH,
      config: {
        entrypoint: ['/usr/bin/app'],
        cmd: ['--serve'],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
        workingDir: '/home/nonroot',
        exposedPorts: ['8080', '8443/tcp'],
        labels: { 'org.opencontainers.image.title': 'app', 'dev.distill.recipe.digest': 'sha256:0' },
        stopSignal: 'SIGQUIT',
      },
      annotations: { 'org.opencontainers.image.base.name': 'distill/base' },
    };
    out.push(buildImage(input));
  }
  return out;
}

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
/** A listing that identifies a tree: type, mode, owners, size, link target and content hash per path. */
const treeListing = (dir: string): string =>
  sh(`cd "$1" && find . -mindepth 1 -printf '%P %y %m %U %G %s %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum`, dir);

describe('OCI writer', async () => {
  const [amd64, arm64] = (await images()) as [BuiltImage, BuiltImage];
  const index = buildIndex([amd64, arm64]);

  const single = join(work, 'single');
  const multi = join(work, 'multi');
  const dockerTar = join(work, 'docker.tar');
  const ociTar = join(work, 'oci.tar');
  await writeOciLayout(single, amd64, { tag: 'latest' });
  await writeOciLayout(multi, index, { tag: '1.0', platformTags: true });
  await writeDockerArchive(dockerTar, amd64, { repoTags: ['distill/app'] });
  await writeOciArchive(ociTar, index, { tag: '1.0' });

  it('writes configs with the runtime settings and shares the base layer', () => {
    const config = JSON.parse(amd64.config.toString()) as Record<string, any>;
    expect(config.created).toBe('2024-05-31T16:08:37Z');
    expect(config.config).toEqual({
      User: '65532:65532',
      ExposedPorts: { '8080/tcp': {}, '8443/tcp': {} },
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
      Entrypoint: ['/usr/bin/app'],
      Cmd: ['--serve'],
      WorkingDir: '/home/nonroot',
      Labels: { 'dev.distill.recipe.digest': 'sha256:0', 'org.opencontainers.image.title': 'app' },
      StopSignal: 'SIGQUIT',
    });
    expect(config.history).toHaveLength(2);
    expect(amd64.layers[0]!.digest).toBe(arm64.layers[0]!.digest);
    expect(amd64.layers[1]!.digest).not.toBe(arm64.layers[1]!.digest);
    // The shared base blob is stored once.
    expect(readdirSync(join(multi, 'blobs', 'sha256'))).toHaveLength(1 + 2 * 3 + 1);
  });

  it('oci-image-tool validates the single and multi-platform layouts', () => {
    expect(sh('oci-image-tool validate --type image --ref name=latest "$1" 2>&1', single)).toMatch(/validation succeeded/i);
    // oci-image-tool (1.0.0-rc) does not descend into a nested index: the per-platform names are what it checks fully.
    expect(sh('oci-image-tool validate --type image "$1" 2>&1', multi)).toMatch(/verify all refs[\s\S]*validation succeeded/i);
    expect(sh('oci-image-tool validate --type image --ref name=1.0-amd64 "$1" 2>&1', multi)).toMatch(/validation succeeded/i);
    const bad = join(work, 'bad');
    sh('cp -r "$1" "$2"', single, bad);
    const blob = join(bad, 'blobs', 'sha256', amd64.layers[1]!.digest.slice(7));
    writeFileSync(blob, Buffer.concat([readFileSync(blob), Buffer.from('x')]));
    expect(() => sh('oci-image-tool validate --type image --ref name=latest "$1" 2>&1', bad)).toThrow();
    // A damaged arm64-only blob fails the all-refs check of the multi-platform layout.
    const badMulti = join(work, 'bad-multi');
    sh('cp -r "$1" "$2"', multi, badMulti);
    writeFileSync(join(badMulti, 'blobs', 'sha256', arm64.layers[1]!.digest.slice(7)), Buffer.from('garbage'));
    expect(() => sh('oci-image-tool validate --type image "$1" 2>&1', badMulti)).toThrow();
  });

  it('skopeo inspects the layout (both platforms), the OCI archive and the docker archive', () => {
    const one = JSON.parse(sh('skopeo inspect oci:"$1":latest', single)) as Record<string, any>;
    expect(one.Digest).toBe(amd64.manifestDigest);
    expect(one.Architecture).toBe('amd64');
    expect(one.Layers).toEqual(amd64.layers.map((l) => l.digest));
    expect(one.Env).toContain('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt');
    for (const [image, arch] of [[amd64, 'amd64'], [arm64, 'arm64']] as const) {
      const raw = JSON.parse(sh(`skopeo --override-arch ${arch} inspect --config oci:"$1":1.0`, multi)) as Record<string, any>;
      expect(raw.architecture).toBe(arch);
      expect(raw.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));
    }
    const archive = JSON.parse(sh('skopeo --override-arch arm64 inspect oci-archive:"$1":1.0', ociTar)) as Record<string, any>;
    // skopeo reports the digest of what the tag names (the index) and the layers of the platform it picked.
    expect(archive.Digest).toBe(index.digest);
    expect(archive.Architecture).toBe('arm64');
    expect(archive.Layers).toEqual(arm64.layers.map((l) => l.digest));
    const docker = JSON.parse(sh('skopeo inspect docker-archive:"$1"', dockerTar)) as Record<string, any>;
    expect(docker.Architecture).toBe('amd64');
    expect(docker.Layers).toEqual(amd64.layers.map((l) => l.diffId)); // uncompressed layer.tar: digest = diffId
    const dockerConfig = JSON.parse(sh('skopeo inspect --config docker-archive:"$1"', dockerTar)) as Record<string, any>;
    expect(dockerConfig.config.ExposedPorts).toEqual({ '8080/tcp': {}, '8443/tcp': {} });
    expect(dockerConfig.config.User).toBe('65532:65532');
  });

  it('umoci unpack of the layout gives the same tree as tar -x of the docker archive layers', () => {
    const bundle = join(work, 'bundle');
    sh('umoci unpack --image "$1":latest "$2" >/dev/null 2>&1', single, bundle);
    const flat = join(work, 'flat');
    const layers = join(work, 'layers');
    mkdirSync(flat);
    mkdirSync(layers);
    sh('tar -xf "$1" -C "$2"', dockerTar, layers);
    const manifest = JSON.parse(readFileSync(join(layers, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    for (const layer of manifest[0]!.Layers) sh('tar --numeric-owner -xpf "$1" -C "$2"', join(layers, layer), flat);
    const fromUmoci = treeListing(join(bundle, 'rootfs'));
    expect(fromUmoci).toBe(treeListing(flat));
    // The multi-platform layout, through the per-platform name umoci can follow.
    const multiBundle = join(work, 'bundle-multi');
    sh('umoci unpack --image "$1":1.0-amd64 "$2" >/dev/null 2>&1', multi, multiBundle);
    expect(treeListing(join(multiBundle, 'rootfs'))).toBe(fromUmoci);
    expect(fromUmoci).toContain('tmp d 1777 0 0');
    expect(fromUmoci).toContain('var/lib/app/state f 600 65532 65532 1');
    expect(fromUmoci).toContain('etc/os-release l 777 0 0');
  });

  it('podman loads the docker archive (private storage) with the same image id', () => {
    const storage = mkdtempSync(join(tmpdir(), 'podman-'));
    const base = `--root "${join(storage, 'root')}" --runroot "${join(storage, 'run')}" --storage-driver vfs`;
    try {
      const loaded = sh(`podman ${base} load -q -i "$1"`, dockerTar);
      expect(loaded).toMatch(/distill\/app:latest/);
      const inspect = JSON.parse(sh(`podman ${base} image inspect localhost/distill/app:latest`)) as Record<string, any>[];
      expect(inspect[0]!.Id).toBe(amd64.configDigest.slice(7));
      expect(inspect[0]!.Config.User).toBe('65532:65532');
      expect(inspect[0]!.RootFS.Layers).toEqual(amd64.layers.map((l) => l.diffId));
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });

  it('openImage reads back exactly what was written', async () => {
    for (const [reference, image] of [
      [`oci:${single}:latest`, amd64],
      [`oci:${multi}:1.0`, amd64],
      [`oci-archive:${ociTar}:1.0`, amd64],
    ] as const) {
      const opened = await openImage(reference);
      expect(await opened.digest()).toBe(image.manifestDigest);
      expect((await opened.rawConfig()).equals(image.config)).toBe(true);
      expect((await opened.layers()).map((l) => [l.digest, l.diffId])).toEqual(image.layers.map((l) => [l.digest, l.diffId]));
      await opened.close();
    }
    const arm = await openImage(`oci:${multi}:1.0`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(await arm.digest()).toBe(arm64.manifestDigest);
    await arm.close();
    const docker = await openImage(`docker-archive:${dockerTar}`);
    expect((await docker.rawConfig()).equals(amd64.config)).toBe(true);
    expect(await docker.tags()).toEqual(['distill/app:latest']);
    const layers = await docker.layers();
    expect(layers.map((l) => l.diffId)).toEqual(amd64.layers.map((l) => l.diffId));
    const chunks: Buffer[] = [];
    for await (const chunk of await layers[1]!.uncompressed()) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(amd64.layers[1]!.tar)).toBe(true);
    await docker.close();
  });

  it('is reproducible: rebuilt at another time into other directories, every byte is the same', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const [again64, againArm] = (await images()) as [BuiltImage, BuiltImage];
    const again = buildIndex([again64, againArm]);
    expect(again.digest).toBe(index.digest);
    const other = mkdtempSync(join(tmpdir(), 'oci-writer-again-'));
    try {
      await writeOciLayout(join(other, 'multi'), again, { tag: '1.0', platformTags: true });
      await writeOciArchive(join(other, 'oci.tar'), again, { tag: '1.0' });
      await writeDockerArchive(join(other, 'docker.tar'), again64, { repoTags: ['distill/app'] });
      expect(treeListing(join(other, 'multi'))).toBe(treeListing(multi));
      expect(readFileSync(join(other, 'oci.tar')).equals(readFileSync(ociTar))).toBe(true);
      expect(readFileSync(join(other, 'docker.tar')).equals(readFileSync(dockerTar))).toBe(true);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('replaces an existing output whole and leaves no temp files, even when a write fails', async () => {
    const target = join(work, 'replace');
    await writeOciLayout(target, index, { tag: 'old' });
    await writeOciLayout(target, amd64, { tag: 'new' });
    expect(JSON.parse(readFileSync(join(target, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('new');
    expect(readdirSync(join(target, 'blobs', 'sha256'))).toHaveLength(4); // the old arm64 blobs are gone
    // A directory where the archive file should go: the write fails with IO and nothing is left behind.
    const blocked = join(work, 'blocked.tar');
    mkdirSync(join(blocked, 'inside'), { recursive: true });
    const error = await writeDockerArchive(blocked, amd64, { repoTags: ['x'] }).catch((e: unknown) => e);
    expect(isDistillError(error, 'IO')).toBe(true);
    expect(readdirSync(work).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(existsSync(join(blocked, 'inside'))).toBe(true);
  });
});
