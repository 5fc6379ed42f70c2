import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociLayoutOf, stockImage } from '../../../test/helpers/oracles.js';
import {
  copyDir,
  layoutOf,
  multiPlatformLayout,
  readIndex,
  sh,
  sha256,
  tinyDockerArchive,
  validateLayout,
  writeBlob,
} from '../../../test/fixtures/oci/fixtures.js';
import { drain, rejectsWith } from '../../../test/fixtures/oci/streams.js';
import { openImage } from '../open-image.js';

const skopeoJson = (args: string[]): Record<string, unknown> => JSON.parse(sh('skopeo', args)) as Record<string, unknown>;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-layout-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('oci layout (skopeo-written stock nginx)', () => {
  it('matches skopeo inspect --raw / --config and layers decompress to their diffIds', async () => {
    const layout = ociLayoutOf(stockImage('nginx'), 'nginx');
    expect(validateLayout(layout)).toContain('Validation succeeded');
    const image = await openImage(`oci:${layout}:latest`);
    try {
      const raw = sh('skopeo', ['inspect', '--raw', `oci:${layout}:latest`]);
      expect((await image.rawManifest()).toString()).toBe(raw);
      expect(await image.digest()).toBe(sha256(raw));
      expect(await image.digest()).toBe(skopeoJson(['inspect', `oci:${layout}:latest`]).Digest);
      const skopeoManifest = JSON.parse(raw) as { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
      const manifest = await image.manifest();
      expect(manifest.config.digest).toBe(skopeoManifest.config.digest);
      const skopeoConfig = skopeoJson(['inspect', '--config', `oci:${layout}:latest`]) as { rootfs: { diff_ids: string[] }; architecture: string };
      const config = await image.config();
      expect(config.rootfs.diff_ids).toEqual(skopeoConfig.rootfs.diff_ids);
      expect(sha256(await image.rawConfig())).toBe(skopeoManifest.config.digest);
      expect(await image.tags()).toEqual(['latest']);
      const layers = await image.layers();
      expect(layers.map((l) => l.digest)).toEqual(skopeoManifest.layers.map((l) => l.digest));
      expect(layers.map((l) => l.size)).toEqual(skopeoManifest.layers.map((l) => l.size));
      expect(layers.map((l) => l.diffId)).toEqual(skopeoConfig.rootfs.diff_ids);
      for (const layer of layers) {
        expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
        const compressed = await drain(await layer.compressed());
        expect(compressed).toEqual({ digest: layer.digest, bytes: layer.size });
        const plain = await drain(await layer.uncompressed());
        expect(plain.digest).toBe(layer.diffId);
      }
    } finally {
      await image.close();
    }
  });

  it('picks the single image without a tag, and checks an explicit platform against its config', async () => {
    const layout = ociLayoutOf(stockImage('nginx'), 'nginx');
    const image = await openImage(`oci:${layout}`);
    expect((await image.config()).architecture).toBe('amd64');
    await rejectsWith(openImage(`oci:${layout}`, { platform: { os: 'linux', architecture: 'arm64' } }), 'PLATFORM_NOT_FOUND');
    const error = await rejectsWith(openImage(`oci:${layout}:nope`), 'TAG_NOT_FOUND');
    expect(error.hint).toContain('latest');
  });
});

describe('multi-platform layout (index → index → manifests)', () => {
  const layout = (): string => multiPlatformLayout();

  it('is a valid layout', () => {
    expect(validateLayout(layout())).toContain('Validation succeeded');
  });

  it('selects linux/arm64 and linux/amd64 as skopeo does', async () => {
    for (const arch of ['arm64', 'amd64']) {
      const image = await openImage(`oci:${layout()}:multi`, { platform: { os: 'linux', architecture: arch } });
      const skopeoConfig = skopeoJson(['--override-arch', arch, 'inspect', '--config', `oci:${layout()}:multi`]);
      expect(JSON.parse((await image.rawConfig()).toString())).toEqual(skopeoConfig);
      expect((await image.config()).architecture).toBe(arch);
      const manifestDigest = readIndex(layout()).manifests[0]!.digest;
      const nested = JSON.parse(readFileSync(join(layout(), 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as {
        manifests: { digest: string; platform: { architecture: string } }[];
      };
      expect(await image.digest()).toBe(nested.manifests.find((m) => m.platform.architecture === arch)!.digest);
      for (const layer of await image.layers()) expect((await drain(await layer.uncompressed())).digest).toBe(layer.diffId);
      expect(await image.tags()).toEqual(['multi']);
    }
  });

  it('uses the default platform when none is asked for, linux/amd64 without one', async () => {
    expect((await (await openImage(`oci:${layout()}:multi`, { defaultPlatform: { os: 'linux', architecture: 'arm64' } })).config()).architecture).toBe('arm64');
    expect((await (await openImage(`oci:${layout()}`)).config()).architecture).toBe('amd64');
    expect((await (await openImage(`oci:${layout()}`, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } })).config()).architecture).toBe('arm64');
  });

  it('fails with PLATFORM_NOT_FOUND listing what is available', async () => {
    const error = await rejectsWith(openImage(`oci:${layout()}:multi`, { platform: { os: 'linux', architecture: 's390x' } }), 'PLATFORM_NOT_FOUND');
    expect(error.message).toContain('linux/amd64');
    expect(error.message).toContain('linux/arm64/v8');
    await rejectsWith(openImage(`oci:${layout()}`, { defaultPlatform: { os: 'linux', architecture: 'riscv64' } }), 'PLATFORM_NOT_FOUND');
    await rejectsWith(openImage(`oci:${layout()}`, { platform: { os: 'linux', architecture: 'arm64', variant: 'v7' } }), 'PLATFORM_NOT_FOUND');
  });
});

describe('layout image selection', () => {
  it('AMBIGUOUS_IMAGE for several same-platform images without a tag; tags select', async () => {
    const layout = layoutOf('two-tags', [
      { archive: tinyDockerArchive('amd64'), tag: 'one' },
      { archive: stockImage('nginx'), tag: 'two' },
    ]);
    expect(validateLayout(layout)).toContain('Validation succeeded');
    const error = await rejectsWith(openImage(`oci:${layout}`), 'AMBIGUOUS_IMAGE');
    expect(error.hint).toContain('one, two');
    expect((await (await openImage(`oci:${layout}:one`)).layers()).length).toBe(2);
    expect((await (await openImage(`oci:${layout}:two`)).layers()).length).toBe(1);
    const untagged = copyDir(layout, join(work, 'untagged'));
    const index = readIndex(untagged);
    for (const m of index.manifests) delete m.annotations;
    writeFileSync(join(untagged, 'index.json'), JSON.stringify(index));
    await rejectsWith(openImage(`oci:${untagged}`), 'AMBIGUOUS_IMAGE');
    await rejectsWith(openImage(`oci:${untagged}:one`), 'TAG_NOT_FOUND');
  });

  it('reads zstd layers (skopeo --dest-compress-format zstd) and verifies them against the diffIds', async () => {
    const layout = layoutOf('zstd', [{ archive: tinyDockerArchive('amd64'), tag: 'latest' }], ['--dest-compress', '--dest-compress-format', 'zstd']);
    // oci-image-tool predates zstd media types, so the oracle here is skopeo's own manifest and config.
    const raw = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${layout}:latest`])) as { layers: { mediaType: string; digest: string }[] };
    const config = skopeoJson(['inspect', '--config', `oci:${layout}:latest`]) as { rootfs: { diff_ids: string[] } };
    const image = await openImage(`oci:${layout}:latest`);
    const layers = await image.layers();
    expect(layers.map((l) => l.mediaType)).toEqual(raw.layers.map((l) => l.mediaType));
    expect(layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(layers.map((l) => l.digest)).toEqual(raw.layers.map((l) => l.digest));
    for (const [i, layer] of layers.entries()) {
      const plain = await drain(await layer.uncompressed());
      expect(plain.digest).toBe(config.rootfs.diff_ids[i]);
    }
    // GNU tar lists the decompressed layer: the fixture's own file is there.
    const blob = join(layout, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    expect(execFileSync('sh', ['-c', `zstd -dc ${blob} | tar -t`], { encoding: 'utf8' })).toContain('./etc/arch');
  });

  it('accepts a sha512 layer blob and a zstd blob written by the zstd CLI into a rewritten manifest', async () => {
    const base = layoutOf('tiny', [{ archive: tinyDockerArchive('amd64'), tag: 'latest' }]);
    const layout = copyDir(base, join(work, 'sha512'));
    const index = readIndex(layout);
    const manifestDigest = index.manifests[0]!.digest;
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as {
      layers: { mediaType: string; digest: string; size: number }[];
    };
    const first = manifest.layers[0]!;
    const plain = execFileSync('gzip', ['-dc', join(layout, 'blobs', 'sha256', first.digest.slice(7))]);
    const zst = execFileSync('zstd', ['-q', '-c', '-19'], { input: plain });
    const hex512 = execFileSync('sha512sum', { input: zst, encoding: 'utf8' }).split(' ')[0]!;
    execFileSync('mkdir', ['-p', join(layout, 'blobs', 'sha512')]);
    writeFileSync(join(layout, 'blobs', 'sha512', hex512), zst);
    manifest.layers[0] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: `sha512:${hex512}`, size: zst.length };
    const newManifest = writeBlob(layout, JSON.stringify(manifest));
    index.manifests[0] = { ...index.manifests[0]!, ...newManifest };
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    const image = await openImage(`oci:${layout}`);
    const layer = (await image.layers())[0]!;
    expect(layer.digest).toBe(`sha512:${hex512}`);
    expect(await drain(await layer.compressed())).toEqual({ digest: sha256(zst), bytes: zst.length });
    expect((await drain(await layer.uncompressed())).digest).toBe(sha256(plain));
    expect(layer.diffId).toBe(sha256(plain));
  });
});

describe('hostile layouts', () => {
  const fresh = (name: string): { layout: string; manifestPath: string; manifest: { layers: { digest: string; size: number; mediaType: string }[]; config: { digest: string } } } => {
    const layout = copyDir(layoutOf('tiny', [{ archive: tinyDockerArchive('amd64'), tag: 'latest' }]), join(work, name));
    const digest = readIndex(layout).manifests[0]!.digest;
    const manifestPath = join(layout, 'blobs', 'sha256', digest.slice(7));
    return { layout, manifestPath, manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) };
  };
  const rewrite = (layout: string, manifest: unknown): void => {
    const blob = writeBlob(layout, JSON.stringify(manifest));
    const index = readIndex(layout);
    index.manifests[0] = { ...index.manifests[0]!, ...blob };
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  };

  it('DIGEST_MISMATCH when a layer blob does not match the manifest digest', async () => {
    const { layout, manifest } = fresh('bad-digest');
    const layer = manifest.layers[1]!;
    const file = join(layout, 'blobs', 'sha256', layer.digest.slice(7));
    const data = readFileSync(file);
    data.writeUInt8(data[data.length - 20]! ^ 0xff, data.length - 20);
    writeFileSync(file, data);
    expect(() => validateLayout(layout)).toThrow();
    const image = await openImage(`oci:${layout}`);
    const error = await rejectsWith(drain(await (await image.layers())[1]!.compressed()), 'DIGEST_MISMATCH');
    expect(error.message).toContain(layer.digest);
    expect(error.message).toContain('actual sha256:');
    await rejectsWith(drain(await (await image.layers())[1]!.uncompressed()), 'DIGEST_MISMATCH', 'DECOMPRESS_FAILED');
  });

  it('DIGEST_MISMATCH on the diffId when the config lies about the uncompressed content', async () => {
    const { layout, manifest } = fresh('bad-diffid');
    const configPath = join(layout, 'blobs', 'sha256', manifest.config.digest.slice(7));
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids[0] = sha256('not the layer');
    const blob = writeBlob(layout, JSON.stringify(config));
    rewrite(layout, { ...manifest, config: { ...manifest.config, ...blob } });
    const layer = (await (await openImage(`oci:${layout}`)).layers())[0]!;
    expect((await drain(await layer.compressed())).digest).toBe(layer.digest);
    const error = await rejectsWith(drain(await layer.uncompressed()), 'DIGEST_MISMATCH');
    expect(error.message).toContain(sha256('not the layer'));
  });

  it('SIZE_MISMATCH / ARCHIVE_TRUNCATED for a truncated blob', async () => {
    const { layout, manifest } = fresh('truncated');
    const layer = manifest.layers[1]!;
    const file = join(layout, 'blobs', 'sha256', layer.digest.slice(7));
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const image = await openImage(`oci:${layout}`);
    const error = await rejectsWith(drain(await (await image.layers())[1]!.compressed()), 'SIZE_MISMATCH');
    expect(error.message).toContain(String(layer.size));
    await rejectsWith(drain(await (await image.layers())[1]!.uncompressed()), 'SIZE_MISMATCH', 'ARCHIVE_TRUNCATED');
  });

  it('DECOMPRESS_FAILED for garbage declared as gzip, BLOB_NOT_FOUND for a missing blob', async () => {
    const { layout, manifest } = fresh('garbage');
    const garbage = Buffer.alloc(4096, 0x41);
    const blob = writeBlob(layout, garbage);
    manifest.layers[0] = { ...manifest.layers[0]!, ...blob };
    rewrite(layout, manifest);
    const image = await openImage(`oci:${layout}`);
    await rejectsWith(drain(await (await image.layers())[0]!.uncompressed()), 'DECOMPRESS_FAILED');
    rmSync(join(layout, 'blobs', 'sha256', manifest.layers[1]!.digest.slice(7)));
    const error = await rejectsWith((await image.layers())[1]!.compressed(), 'BLOB_NOT_FOUND');
    expect(error.message).toContain(manifest.layers[1]!.digest);
    rmSync(join(layout, 'blobs', 'sha256', manifest.config.digest.slice(7)));
    await rejectsWith((await openImage(`oci:${layout}`)).config(), 'BLOB_NOT_FOUND');
  });

  it('MANIFEST_INVALID for malformed index.json and manifests, naming the field', async () => {
    const { layout, manifest } = fresh('malformed');
    const originalIndex = readFileSync(join(layout, 'index.json'));
    writeFileSync(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[{"mediaType":');
    await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:abc', size: 1 }] }));
    const error = await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
    expect(error.subject).toContain('manifests[0].digest');
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: -1 }] }));
    expect((await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID')).subject).toContain('manifests[0].size');
    writeFileSync(join(layout, 'index.json'), Buffer.alloc(5 * 1024 * 1024, 0x20));
    await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
    writeFileSync(join(layout, 'index.json'), originalIndex);
    rewrite(layout, { ...manifest, layers: 'nope' });
    expect((await rejectsWith((await openImage(`oci:${layout}`)).manifest(), 'MANIFEST_INVALID')).subject).toContain('#layers');
    rewrite(layout, { ...manifest, layers: [{ ...manifest.layers[0]!, mediaType: 'application/vnd.example.weird' }, manifest.layers[1]] });
    await rejectsWith((await openImage(`oci:${layout}`)).layers(), 'UNSUPPORTED_MEDIA_TYPE');
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
  });

  it('rejects digests with path traversal and an index that refers to itself', async () => {
    const { layout } = fresh('traversal');
    writeFileSync(join(work, 'x'), 'secret');
    for (const digest of ['sha256:../../x', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha256:${'a'.repeat(63)}/`]) {
      writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 6 }] }));
      await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
    }
    // An index cannot contain its own digest, but a chain of indexes can be deep: bounded.
    let child = writeBlob(layout, JSON.stringify({ schemaVersion: 2, manifests: [] }));
    for (let i = 0; i < 12; i++) {
      child = writeBlob(layout, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...child }] }));
    }
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...child }] }));
    await rejectsWith(openImage(`oci:${layout}`), 'MANIFEST_INVALID');
  });
});
