import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cached, ociArchiveOf, stockImage } from '../../../test/helpers/oracles.js';
import { multiPlatformLayout, pythonTar, sh, sha256 } from '../../../test/fixtures/oci/fixtures.js';
import { drain, rejectsWith } from '../../../test/fixtures/oci/streams.js';
import type { Image } from '../image.js';
import { openImage } from '../open-image.js';
import { TarIndex } from './tar-index.js';

let work: string;
const opened: Image[] = [];
async function open(...args: Parameters<typeof openImage>): Promise<Image> {
  const image = await openImage(...args);
  opened.push(image);
  return image;
}
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-oci-archive-'));
});
afterAll(async () => {
  for (const image of opened) await image.close();
  rmSync(work, { recursive: true, force: true });
});

describe('oci-archive (skopeo copy of stock nginx)', () => {
  it('indexes member offsets that GNU tar agrees with', async () => {
    const archive = ociArchiveOf(stockImage('nginx'), 'nginx');
    const index = await TarIndex.build(archive);
    try {
      const listed = sh('tar', ['-tf', archive]).split('\n').filter((n) => n !== '' && !n.endsWith('/'));
      expect(index.names().sort()).toEqual(listed.map((n) => n.replace(/^\.\//, '')).sort());
      const json = index.get('index.json')!;
      expect((await index.read(json)).toString()).toBe(sh('tar', ['-xOf', archive, listed.find((n) => n.endsWith('index.json'))!]));
    } finally {
      await index.close();
    }
  });

  it('agrees with skopeo inspect (digest, raw manifest, config) and layers decompress to diffIds', async () => {
    const archive = ociArchiveOf(stockImage('nginx'), 'nginx');
    const raw = sh('skopeo', ['inspect', '--raw', `oci-archive:${archive}:latest`]);
    const skopeo = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${archive}:latest`])) as { Digest: string };
    const skopeoConfig = JSON.parse(sh('skopeo', ['inspect', '--config', `oci-archive:${archive}:latest`])) as { rootfs: { diff_ids: string[] } };
    for (const reference of [`oci-archive:${archive}:latest`, archive]) {
      const image = await open(reference);
      expect(image.transport).toBe('oci-archive');
      expect(await image.digest()).toBe(skopeo.Digest);
      expect((await image.rawManifest()).toString()).toBe(raw);
      expect((await image.config()).rootfs.diff_ids).toEqual(skopeoConfig.rootfs.diff_ids);
    }
    const image = await open(`oci-archive:${archive}`);
    const manifest = JSON.parse(raw) as { layers: { digest: string }[] };
    const layers = await image.layers();
    expect(layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
    for (const layer of layers) {
      expect((await drain(await layer.compressed())).digest).toBe(layer.digest);
      expect((await drain(await layer.uncompressed())).digest).toBe(layer.diffId);
    }
    expect((await rejectsWith(openImage(`oci-archive:${archive}:v2`), 'TAG_NOT_FOUND')).hint).toContain('latest');
  });

  it('selects platforms from a multi-platform layout archived with GNU tar', async () => {
    const archive = cached('oci-archive-multi.tar', (tmp) => sh('tar', ['-C', multiPlatformLayout(), '-cf', tmp, '.']));
    for (const arch of ['amd64', 'arm64']) {
      const image = await open(`oci-archive:${archive}:multi`, { platform: { os: 'linux', architecture: arch } });
      const skopeoConfig = JSON.parse(sh('skopeo', ['--override-arch', arch, 'inspect', '--config', `oci-archive:${archive}:multi`]));
      expect(JSON.parse((await image.rawConfig()).toString())).toEqual(skopeoConfig);
      for (const layer of await image.layers()) expect((await drain(await layer.uncompressed())).digest).toBe(layer.diffId);
    }
    await rejectsWith(openImage(archive, { platform: { os: 'windows', architecture: 'amd64' } }), 'PLATFORM_NOT_FOUND');
  });
});

describe('hostile oci archives', () => {
  it('ARCHIVE_TRUNCATED for a cut archive', async () => {
    const copy = join(work, 'cut.tar');
    execFileSync('cp', [ociArchiveOf(stockImage('nginx'), 'nginx'), copy]);
    truncateSync(copy, 10_000_000);
    await rejectsWith(openImage(`oci-archive:${copy}`), 'ARCHIVE_TRUNCATED');
  });

  it('PATH_ESCAPE for member names with ../, SOURCE_UNRECOGNIZED without oci-layout', async () => {
    const evil = join(work, 'evil.tar');
    pythonTar(evil, [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'blobs/sha256/../../../../tmp/x', data: 'x' },
      { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
    ]);
    await rejectsWith(openImage(`oci-archive:${evil}`), 'PATH_ESCAPE');
    const noMarker = join(work, 'nomarker.tar');
    pythonTar(noMarker, [{ name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' }]);
    await rejectsWith(openImage(`oci-archive:${noMarker}`), 'SOURCE_UNRECOGNIZED');
  });

  it('DIGEST_MISMATCH when a blob inside the archive was altered', async () => {
    const blob = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
    const archive = join(work, 'altered.tar');
    pythonTar(archive, [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: `blobs/sha256/${sha256(blob).slice(7)}`, data: blob.toString().replace('2', '3') },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(blob), size: blob.length }] }) },
    ]);
    await rejectsWith((await open(`oci-archive:${archive}`)).manifest(), 'DIGEST_MISMATCH');
  });
});
