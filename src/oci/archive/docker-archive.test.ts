import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stockImage, cached } from '../../../test/helpers/oracles.js';
import { pythonTar, readIndex, sh, sha256, tinyDockerArchive } from '../../../test/fixtures/oci/fixtures.js';
import { drain, rejectsWith } from '../../../test/fixtures/oci/streams.js';
import { openImage } from '../open-image.js';
import type { Image } from '../image.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-docker-archive-'));
});
const opened: Image[] = [];
/** openImage, closing everything it opened at the end of the file. */
async function open(...args: Parameters<typeof openImage>): Promise<Image> {
  const image = await openImage(...args);
  opened.push(image);
  return image;
}
afterAll(async () => {
  for (const image of opened) await image.close();
  rmSync(work, { recursive: true, force: true });
});

/** Extracts a docker-archive into a directory (tests only; the source itself never extracts). */
function unpack(archive: string, name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  sh('tar', ['-xf', archive, '-C', dir]);
  return dir;
}

describe('docker-archive (stock nginx, podman-compatible docker save format)', () => {
  it('agrees with skopeo on config and layer digests; uncompressed layers have digest = diffId', async () => {
    const archive = stockImage('nginx');
    const raw = JSON.parse(sh('skopeo', ['inspect', '--raw', `docker-archive:${archive}`])) as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    const skopeoConfig = JSON.parse(sh('skopeo', ['inspect', '--config', `docker-archive:${archive}`])) as { rootfs: { diff_ids: string[] } };
    const image = await open(`docker-archive:${archive}`);
    try {
      expect(image.transport).toBe('docker-archive');
      const manifest = await image.manifest();
      expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(manifest.config.digest).toBe(raw.config.digest);
      expect(manifest.config.size).toBe(raw.config.size);
      expect(sha256(await image.rawConfig())).toBe(raw.config.digest);
      expect(await image.digest()).toBe(sha256(await image.rawManifest()));
      expect(JSON.parse((await image.rawManifest()).toString())).toEqual(manifest);
      const layers = await image.layers();
      expect(layers.map((l) => l.digest)).toEqual(raw.layers.map((l) => l.digest));
      expect(layers.map((l) => l.size)).toEqual(raw.layers.map((l) => l.size));
      expect(layers.map((l) => l.diffId)).toEqual(skopeoConfig.rootfs.diff_ids);
      for (const layer of layers) {
        expect(layer.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar');
        expect(layer.digest).toBe(layer.diffId);
        expect(await drain(await layer.uncompressed())).toEqual({ digest: layer.diffId, bytes: layer.size });
      }
      expect(await image.tags()).toEqual(['stock/nginx:latest']);
    } finally {
      await image.close();
    }
  });

  it('selects by REPO:TAG and @N, and reports unknown ones', async () => {
    const archive = stockImage('nginx');
    expect(await (await open(`docker-archive:${archive}:stock/nginx:latest`)).tags()).toEqual(['stock/nginx:latest']);
    expect(await (await open(`docker-archive:${archive}:@0`)).tags()).toEqual(['stock/nginx:latest']);
    expect(await (await open(`${archive}:stock/nginx`)).tags()).toEqual(['stock/nginx:latest']);
    const error = await rejectsWith(openImage(`docker-archive:${archive}:other/thing:1`), 'TAG_NOT_FOUND');
    expect(error.hint).toContain('stock/nginx:latest');
    await rejectsWith(openImage(`docker-archive:${archive}:@1`), 'TAG_NOT_FOUND');
    await rejectsWith(openImage(`docker-archive:${archive}`, { platform: { os: 'linux', architecture: 'arm64' } }), 'PLATFORM_NOT_FOUND');
  });
});

describe('docker-archive variants', () => {
  it('gzip-compressed layers are sniffed and hashed; the manifest records the stored blobs', async () => {
    const archive = cached('docker-gzip.tar', (tmp) => {
      const dir = unpack(tinyDockerArchive('amd64'), 'gzip-src');
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
      const entry = manifest[0]!;
      entry.Layers = entry.Layers.map((name, i) => {
        execFileSync('sh', ['-c', `gzip -n -9 -c '${join(dir, name)}' > '${join(dir, `layer${i}.tar.gz`)}'`]);
        return `layer${i}.tar.gz`;
      });
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      sh('tar', ['-C', dir, '-cf', tmp, entry.Config, 'layer0.tar.gz', 'layer1.tar.gz', 'manifest.json']);
    });
    // skopeo decompresses docker-archive layers and describes them by diffId and uncompressed size.
    const raw = JSON.parse(sh('skopeo', ['inspect', '--raw', `docker-archive:${archive}`])) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    const stored = execFileSync('sh', ['-c', `tar -xOf '${archive}' layer0.tar.gz | sha256sum; tar -xOf '${archive}' layer1.tar.gz | sha256sum`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => `sha256:${line.split(' ')[0]}`);
    const image = await open(archive);
    expect(image.transport).toBe('docker-archive');
    expect((await image.manifest()).config.digest).toBe(raw.config.digest);
    const layers = await image.layers();
    expect(layers.map((l) => l.digest)).toEqual(stored);
    expect(layers.map((l) => l.diffId)).toEqual(raw.layers.map((l) => l.digest));
    for (const [i, layer] of layers.entries()) {
      expect(layer.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      expect((await drain(await layer.compressed())).digest).toBe(layer.digest);
      expect(await drain(await layer.uncompressed())).toEqual({ digest: layer.diffId, bytes: raw.layers[i]!.size });
    }
    expect(await image.digest()).toBe(sha256(await image.rawManifest()));
  });

  it('docker ≥25 save (OCI layout plus manifest.json) reads as docker-archive and as oci-archive', async () => {
    const archive = cached('docker25.tar', (tmp) => {
      const layout = join(work, 'd25');
      sh('skopeo', ['copy', '--quiet', '--dest-decompress', `docker-archive:${tinyDockerArchive('amd64')}`, `oci:${layout}:latest`]);
      const index = readIndex(layout);
      const manifestDigest = index.manifests[0]!.digest;
      index.manifests[0]!.annotations = { 'io.containerd.image.name': 'docker.io/tiny/d25:latest', 'org.opencontainers.image.ref.name': 'latest' };
      writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
      const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;
      writeFileSync(join(layout, 'manifest.json'), JSON.stringify([{ Config: blob(manifest.config.digest), RepoTags: ['tiny/d25:latest'], Layers: manifest.layers.map((l) => blob(l.digest)) }]));
      sh('tar', ['-C', layout, '-cf', tmp, 'blobs', 'index.json', 'manifest.json', 'oci-layout']);
    });
    const asDocker = await open(archive);
    expect(asDocker.transport).toBe('docker-archive');
    const asOci = await open(`oci-archive:${archive}:latest`);
    expect(await asOci.digest()).toBe((JSON.parse(sh('skopeo', ['inspect', `oci-archive:${archive}:latest`])) as { Digest: string }).Digest);
    expect((await asDocker.manifest()).config.digest).toBe((await asOci.manifest()).config.digest);
    const dockerLayers = await asDocker.layers();
    expect(dockerLayers.map((l) => l.digest)).toEqual((await asOci.layers()).map((l) => l.digest));
    for (const layer of dockerLayers) expect((await drain(await layer.uncompressed())).digest).toBe(layer.diffId);
    expect(await asDocker.tags()).toEqual(['tiny/d25:latest']);
  });

  it('legacy layout (repositories + <id>/json + <id>/layer.tar, no manifest.json)', async () => {
    const src = unpack(tinyDockerArchive('amd64'), 'legacy-src');
    const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const layerFiles = manifest[0]!.Layers.map((l) => join(src, l));
    const ids = layerFiles.map((_, i) => sha256(`legacy layer ${i}`).slice(7));
    const dir = join(work, 'legacy');
    const members: { name: string; file?: string; data?: string }[] = [];
    ids.forEach((id, i) => {
      const json: Record<string, unknown> = {
        id,
        created: `1970-01-0${i + 1}T00:00:00Z`,
        container_config: { Cmd: ['/bin/sh', '-c', `step ${i}`] },
        architecture: 'amd64',
        os: 'linux',
      };
      if (i > 0) json.parent = ids[i - 1];
      if (i === ids.length - 1) json.config = { Cmd: ['/bin/hello'], Env: ['PATH=/bin'] };
      members.push({ name: `${id}/VERSION`, data: '1.0' }, { name: `${id}/json`, data: JSON.stringify(json) }, { name: `${id}/layer.tar`, file: layerFiles[i]! });
    });
    members.push({ name: 'repositories', data: JSON.stringify({ 'tiny/legacy': { latest: ids[ids.length - 1] } }) });
    mkdirSync(dir, { recursive: true });
    const archive = join(dir, 'legacy.tar');
    pythonTar(archive, members);
    const image = await open(archive);
    expect(image.transport).toBe('docker-archive');
    const expectedDiffIds = layerFiles.map((f) => sha256(readFileSync(f)));
    const config = await image.config();
    expect(config.rootfs.diff_ids).toEqual(expectedDiffIds);
    expect(config.config?.Cmd).toEqual(['/bin/hello']);
    expect(config.history?.map((h) => h.created_by)).toEqual(['/bin/sh -c step 0', '/bin/sh -c step 1']);
    expect((config as unknown as Record<string, unknown>).id).toBeUndefined();
    expect((await image.manifest()).config.digest).toBe(sha256(await image.rawConfig()));
    for (const [i, layer] of (await image.layers()).entries()) {
      expect(layer.digest).toBe(expectedDiffIds[i]);
      expect(await drain(await layer.uncompressed())).toEqual({ digest: expectedDiffIds[i], bytes: statSync(layerFiles[i]!).size });
    }
    expect(await image.tags()).toEqual(['tiny/legacy:latest']);
    expect(await (await open(`docker-archive:${archive}:tiny/legacy:latest`)).digest()).toBe(await image.digest());
  });
});

describe('hostile docker archives', () => {
  const tiny = (): { dir: string; manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] } => {
    const dir = unpack(tinyDockerArchive('amd64'), `h-${Math.random().toString(36).slice(2)}`);
    return { dir, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) };
  };
  const pack = (dir: string, manifest: unknown, names: string[]): string => {
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const out = `${dir}.tar`;
    sh('tar', ['-C', dir, '-cf', out, ...names, 'manifest.json']);
    return out;
  };

  it('DIGEST_MISMATCH when the config diff_ids do not match an uncompressed layer', async () => {
    const { dir, manifest } = tiny();
    const entry = manifest[0]!;
    const config = JSON.parse(readFileSync(join(dir, entry.Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids[1] = sha256('forged');
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(config));
    const archive = pack(dir, [{ ...entry, Config: 'forged.json' }], ['forged.json', ...entry.Layers]);
    const layer = (await (await open(archive)).layers())[1]!;
    const error = await rejectsWith(drain(await layer.uncompressed()), 'DIGEST_MISMATCH');
    expect(error.message).toContain(sha256('forged'));
    await rejectsWith(drain(await layer.compressed()), 'DIGEST_MISMATCH');
  });

  it('DIGEST_MISMATCH for a config whose <hex>.json name disagrees with its content', async () => {
    const { dir, manifest } = tiny();
    const entry = manifest[0]!;
    const text = readFileSync(join(dir, entry.Config), 'utf8').replace('/bin/hello', '/bin/evil!');
    writeFileSync(join(dir, entry.Config), text);
    const archive = pack(dir, manifest, [entry.Config, ...entry.Layers]);
    await rejectsWith((await open(archive)).config(), 'DIGEST_MISMATCH');
  });

  it('BLOB_NOT_FOUND for a missing layer, PATH_ESCAPE for ../ names, MANIFEST_INVALID for a broken manifest.json', async () => {
    const { dir, manifest } = tiny();
    const entry = manifest[0]!;
    const missing = pack(dir, manifest, [entry.Config, entry.Layers[0]!]);
    await rejectsWith((await open(missing)).layers(), 'BLOB_NOT_FOUND');
    const escape = pack(dir, [{ ...entry, Layers: ['../../etc/passwd', entry.Layers[1]] }], [entry.Config, ...entry.Layers]);
    await rejectsWith(openImage(escape), 'PATH_ESCAPE');
    const broken = pack(dir, { not: 'an array' }, [entry.Config]);
    await rejectsWith(openImage(`docker-archive:${broken}`), 'MANIFEST_INVALID');
    const evilMember = join(work, 'evil-member.tar');
    pythonTar(evilMember, [{ name: '../outside', data: 'x' }, { name: 'manifest.json', data: '[]' }]);
    await rejectsWith(openImage(`docker-archive:${evilMember}`), 'PATH_ESCAPE');
  });

  it('ARCHIVE_TRUNCATED for a truncated archive', async () => {
    const copy = join(work, 'truncated.tar');
    execFileSync('cp', [stockImage('nginx'), copy]);
    truncateSync(copy, 50_000_000);
    await rejectsWith(openImage(`docker-archive:${copy}`), 'ARCHIVE_TRUNCATED');
  });
});
