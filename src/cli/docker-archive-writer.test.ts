import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, mkdtempSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyDir, layoutOf, readIndex, sh, sha256, tinyDockerArchive } from '../../test/fixtures/oci/fixtures.js';
import { rejectsWith } from '../../test/fixtures/oci/streams.js';
import { openImage } from '../oci/open-image.js';
import type { Image } from '../oci/image.js';
import { parseRegistryReference } from '../oci/registry/registry-reference.js';
import { qualifiedRepoTag, parseDockerArchiveDestination, recordedRepoTags, writeImageDockerArchive } from './docker-archive-writer.js';

let work: string;
const opened: Image[] = [];
async function open(reference: string): Promise<Image> {
  const image = await openImage(reference);
  opened.push(image);
  return image;
}
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-da-writer-'));
});
afterAll(async () => {
  for (const image of opened) await image.close();
  rmSync(work, { recursive: true, force: true });
});

/** A layout with gzip layers, written by skopeo (an independent writer). */
const gzipLayout = () => layoutOf('da-writer-gzip', [{ archive: tinyDockerArchive('amd64'), tag: 'v1' }], ['--dest-compress']);

describe('destination syntax and names', () => {
  it('parses docker-archive:FILE[:REFERENCE] as skopeo does (path up to the first colon)', () => {
    expect(parseDockerArchiveDestination('docker-archive:out/n.tar')).toEqual({ path: 'out/n.tar' });
    expect(parseDockerArchiveDestination('docker-archive:n.tar:nginx:1.22')).toEqual({ path: 'n.tar', repoTag: 'docker.io/library/nginx:1.22' });
    expect(parseDockerArchiveDestination('docker-archive:n.tar:team/app')).toEqual({ path: 'n.tar', repoTag: 'docker.io/team/app:latest' });
    expect(parseDockerArchiveDestination('docker-archive:n.tar:127.0.0.1:5000/t/app:1')).toEqual({ path: 'n.tar', repoTag: '127.0.0.1:5000/t/app:1' });
  });

  it('refuses an empty path, a digest and a malformed name', () => {
    for (const bad of ['docker-archive:', 'docker-archive::nginx:1', `docker-archive:n.tar:nginx@sha256:${'a'.repeat(64)}`, 'docker-archive:n.tar:Bad Name']) {
      expect(() => parseDockerArchiveDestination(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_REFERENCE' }));
    }
  });

  it('writes qualified names and keeps, as spelled, only recorded tags that name a repository', () => {
    expect(qualifiedRepoTag(parseRegistryReference('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(qualifiedRepoTag(parseRegistryReference('team/app:2'))).toBe('docker.io/team/app:2');
    expect(qualifiedRepoTag(parseRegistryReference('ghcr.io/o/r:1'))).toBe('ghcr.io/o/r:1');
    expect(recordedRepoTags(['latest', 'v1.0', 'docker.io/library/nginx:1.22', 'nginx:1.22', 'localhost/x:1', 'Bad:x', 'nginx:1.22'])).toEqual(['docker.io/library/nginx:1.22', 'nginx:1.22', 'localhost/x:1']);
  });
});

describe('writeImageDockerArchive', () => {
  it('writes a docker save tar that GNU tar lists and distill and skopeo read back with the same config, layers and diffIDs', async () => {
    const source = await open(`oci:${gzipLayout()}:v1`);
    const manifest = await source.manifest();
    expect(manifest.layers.every((l) => l.mediaType.includes('gzip'))).toBe(true);
    const out = join(work, 'gzip.tar');
    const result = await writeImageDockerArchive(source, out, { repoTags: ['tiny/app:1'] });
    expect(result).toMatchObject({ path: out, configDigest: manifest.config.digest, repoTags: ['tiny/app:1'], layers: 2, platform: { os: 'linux', architecture: 'amd64' } });
    expect(result.size).toBe(statSync(out).size);

    const listing = sh('tar', ['--numeric-owner', '-tvf', out]).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).pop());
    const hex = (d: string) => d.slice('sha256:'.length);
    expect(names).toEqual([`${hex(manifest.config.digest)}.json`, 'blobs/', 'blobs/sha256/', ...manifest.layers.map((l) => `blobs/sha256/${hex(l.digest)}`), 'manifest.json']);
    expect(listing.every((line) => line.includes(' 0/0 ') && line.includes('1970-01-01 00:00'))).toBe(true);

    const entries = JSON.parse(sh('tar', ['-xOf', out, 'manifest.json'])) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(entries).toEqual([{ Config: `${hex(manifest.config.digest)}.json`, RepoTags: ['tiny/app:1'], Layers: manifest.layers.map((l) => `blobs/sha256/${hex(l.digest)}`) }]);
    // Blobs are stored as they came: the gzip bytes hash to the source's layer digests.
    for (const layer of manifest.layers) expect(sha256(execFileSync('tar', ['-xOf', out, `blobs/sha256/${hex(layer.digest)}`], { maxBuffer: 1 << 28 }))).toBe(layer.digest);

    const back = await open(`docker-archive:${out}:tiny/app:1`);
    expect((await back.manifest()).config.digest).toBe(manifest.config.digest);
    expect((await back.layers()).map((l) => [l.digest, l.diffId])).toEqual((await source.layers()).map((l) => [l.digest, l.diffId]));
    expect(sha256(Buffer.from(sh('skopeo', ['inspect', '--config', '--raw', `docker-archive:${out}`]), 'utf8'))).toBe(manifest.config.digest);
  });

  it('is deterministic: the same image written twice gives the same bytes', async () => {
    const source = await open(`oci:${gzipLayout()}:v1`);
    const [a, b] = [join(work, 'det-a.tar'), join(work, 'det-b.tar')];
    await writeImageDockerArchive(source, a, { repoTags: ['x:1'] });
    await writeImageDockerArchive(source, b, { repoTags: ['x:1'] });
    expect(sha256(readFileSync(a))).toBe(sha256(readFileSync(b)));
  });

  it('a layer whose bytes do not match its digest fails with DIGEST_MISMATCH and leaves no file, no temp file, and an older FILE intact', async () => {
    const layout = copyDir(gzipLayout(), join(work, 'corrupt-layout'));
    const manifestDigest = readIndex(layout).manifests[0]!.digest;
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const blob = join(layout, 'blobs', 'sha256', manifest.layers[1]!.digest.slice(7));
    const bytes = readFileSync(blob);
    const at = bytes.length - 20;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at); // same size, other content
    writeFileSync(blob, bytes);
    const dir = join(work, 'corrupt-out');
    mkdirSync(dir);
    const source = await open(`oci:${layout}:v1`);
    await rejectsWith(writeImageDockerArchive(source, join(dir, 'new.tar')), 'DIGEST_MISMATCH');
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'old.tar'), 'previous content');
    await rejectsWith(writeImageDockerArchive(source, join(dir, 'old.tar')), 'DIGEST_MISMATCH');
    expect(readdirSync(dir)).toEqual(['old.tar']);
    expect(readFileSync(join(dir, 'old.tar'), 'utf8')).toBe('previous content');
  });

  it('refuses a missing directory, a file as the directory and a directory in the way with IO', async () => {
    const source = await open(`docker-archive:${tinyDockerArchive('amd64')}`);
    const missing = await rejectsWith(writeImageDockerArchive(source, join(work, 'no-such-dir', 'x.tar')), 'IO');
    expect(missing.message).toContain('its directory does not exist');
    expect(existsSync(join(work, 'no-such-dir'))).toBe(false);
    writeFileSync(join(work, 'plain-file'), '');
    await rejectsWith(writeImageDockerArchive(source, join(work, 'plain-file', 'x.tar')), 'IO');
    mkdirSync(join(work, 'in-the-way.tar'));
    const inTheWay = await rejectsWith(writeImageDockerArchive(source, join(work, 'in-the-way.tar')), 'IO');
    expect(inTheWay.message).toContain('a directory is in the way');
  });
});
