/** @module test/build-outputs.test — `distill build` outputs against the OCI tools: a two-platform layout (oci-image-tool, skopeo, aarch64 ELF), umoci's tree equals the docker archive's, and distill's own scanner reads back exactly the resolved packages. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, linkSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuildOptions, type BuildResult } from '../src/build/index.js';
import { catalogSource } from '../src/catalog/catalog-source.js';
import { hostAptSources } from '../src/cli/build-command.js';
import { isDistillError } from '../src/errors.js';
import { cacheDir, hasCommand } from './helpers/oracles.js';

const repoRoot = resolve(import.meta.dirname, '..');
const recipe = join(repoRoot, 'images', 'nginx.yaml');
const debCache = join(cacheDir, 'build-debs');
const work = mkdtempSync(join(tmpdir(), 'distill-outputs-'));
const sources = hostAptSources();
const tools = ['oci-image-tool', 'skopeo', 'umoci', 'tar'].every(hasCommand);
const ready = sources.length > 0 && tools;

function options(extra: Partial<BuildOptions> = {}): BuildOptions {
  return { cacheDir: debCache, hostSources: sources, env: {}, ...extra };
}

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string> }

function blob(layout: string, digest: string): Buffer {
  return readFileSync(join(layout, 'blobs', ...digest.split(':')));
}

/** The manifests the layout's `latest` names, following a nested index. */
function platformManifests(layout: string): Descriptor[] {
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const tagged = top.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
  if (tagged === undefined) throw new Error('no latest in index.json');
  if (tagged.mediaType !== 'application/vnd.oci.image.index.v1+json') return [tagged];
  return (JSON.parse(blob(layout, tagged.digest).toString('utf8')) as { manifests: Descriptor[] }).manifests;
}

/**
 * A one-image view of a layout (same blobs, an index.json naming one manifest): oci-image-tool 1.0.0-rc1
 * reports "descriptor … is not unique" for refs into an index that also lists a nested index, and umoci wants a manifest.
 */
function singleImageView(layout: string, manifest: Descriptor, ref: string): string {
  const view = join(work, `view-${ref}`);
  mkdirSync(view, { recursive: true });
  // Hard links: oci-image-tool refuses a symlinked blobs directory.
  mkdirSync(join(view, 'blobs', 'sha256'), { recursive: true });
  for (const f of readdirSync(join(layout, 'blobs', 'sha256'))) if (!existsSync(join(view, 'blobs', 'sha256', f))) linkSync(join(layout, 'blobs', 'sha256', f), join(view, 'blobs', 'sha256', f));
  writeFileSync(join(view, 'oci-layout'), readFileSync(join(layout, 'oci-layout')));
  const entry = { ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } };
  writeFileSync(join(view, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  return view;
}

/** Applies the layers (gzip or plain tar) in order with GNU tar, keeping numeric owners and modes. */
function extractLayers(layers: string[], into: string): void {
  mkdirSync(into, { recursive: true });
  for (const layer of layers) execFileSync('tar', ['-xf', layer, '-C', into, '--numeric-owner', '--same-owner', '-p'], { stdio: 'pipe' });
}

/** path → type, mode, owner, size, link target, content sha256: what two extractions must agree on. */
function treeOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(dir, path);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      const owner = `${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(path, `link ${mode} ${owner} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.set(path, `dir ${mode} ${owner}`);
        walk(path);
      } else if (st.isFile()) out.set(path, `file ${mode} ${owner} ${st.size} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
      else out.set(path, `other ${st.mode.toString(8)} ${owner} ${st.rdev}`);
    }
  };
  walk('');
  return out;
}

/** ELF e_machine of every ELF regular file under dir (62 = x86-64, 183 = AArch64). */
function elfMachines(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const header = Buffer.alloc(20);
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size >= 20) {
        const fd = openSync(join(dir, path), 'r');
        try {
          readSync(fd, header, 0, 20, 0);
        } finally {
          closeSync(fd);
        }
        if (header.readUInt32BE(0) !== 0x7f454c46) continue;
        // EI_DATA 1 = little-endian; e_machine sits at offset 18.
        out.set(path, header[5] === 1 ? header.readUInt16LE(18) : header.readUInt16BE(18));
      }
    }
  };
  walk('');
  return out;
}

describe.skipIf(!ready)('distill build outputs (nginx, amd64 + arm64, real bookworm archive)', () => {
  let multi: BuildResult;
  let archive: BuildResult;
  const layoutPath = join(work, 'nginx-oci');
  const archivePath = join(work, 'nginx.tar');

  beforeAll(async () => {
    multi = await buildImage(recipe, options({ archs: ['amd64', 'arm64'], output: `oci:${layoutPath}` }));
    archive = await buildImage(recipe, options({ archs: ['amd64'], output: `docker-archive:${archivePath}` }));
  }, 400_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes one layout whose index lists linux/amd64 and linux/arm64', () => {
    const manifests = platformManifests(layoutPath);
    expect(manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(manifests.map((m) => m.digest).sort()).toEqual([...multi.manifestDigests].sort());
    // The amd64 image is the same whether built alone or beside arm64.
    expect(archive.manifestDigests).toEqual([multi.archs.find((a) => a.arch === 'amd64')!.image.manifestDigest]);
  });

  it('oci-image-tool validates the nested index and each platform image', () => {
    const top = JSON.parse(readFileSync(join(layoutPath, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const nested = top.manifests.find((d) => d.mediaType === 'application/vnd.oci.image.index.v1+json');
    if (nested !== undefined) execFileSync('oci-image-tool', ['validate', '--type', 'imageIndex', join(layoutPath, 'blobs', ...nested.digest.split(':'))], { stdio: 'pipe' });
    for (const manifest of platformManifests(layoutPath)) {
      const arch = manifest.platform!.architecture;
      const view = singleImageView(layoutPath, manifest, arch);
      const out = execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', `name=${arch}`, view], { encoding: 'utf8', stdio: 'pipe' });
      expect(out).toContain('Validation succeeded');
    }
  });

  it('skopeo picks arm64 from the index, and its ELF binaries are AArch64 while amd64\'s are x86-64', () => {
    const config = JSON.parse(execFileSync('skopeo', ['--override-arch', 'arm64', 'inspect', '--config', `oci:${layoutPath}:latest`], { encoding: 'utf8' })) as { architecture: string; os: string };
    expect(config.architecture).toBe('arm64');
    expect(config.os).toBe('linux');
    const amd = JSON.parse(execFileSync('skopeo', ['--override-arch', 'amd64', 'inspect', '--config', `oci:${layoutPath}:latest`], { encoding: 'utf8' })) as { architecture: string };
    expect(amd.architecture).toBe('amd64');
    for (const [arch, machine] of [['arm64', 183], ['amd64', 62]] as const) {
      const built = multi.archs.find((a) => a.arch === arch)!;
      const root = join(work, `rootfs-${arch}`);
      extractLayers(built.image.layers.map((l) => join(layoutPath, 'blobs', ...l.digest.split(':'))), root);
      const machines = elfMachines(root);
      expect(machines.get('usr/sbin/nginx')).toBe(machine);
      expect([...machines.keys()].some((p) => /^usr\/lib\/[^/]+\/libc\.so\.6$/.test(p))).toBe(true);
      // Every ELF file in the image is for its platform (no amd64 file leaked into arm64).
      expect([...machines].filter(([, m]) => m !== machine)).toEqual([]);
      expect(machines.size).toBeGreaterThan(10);
    }
    if (hasCommand('file')) expect(execFileSync('file', ['-b', join(work, 'rootfs-arm64', 'usr', 'sbin', 'nginx')], { encoding: 'utf8' })).toMatch(/aarch64/);
  });

  it('arm64 .debs are checked against their Packages SHA256 like amd64\'s', async () => {
    const arm = multi.archs.find((a) => a.arch === 'arm64')!;
    expect(arm.packages.map((p) => p.name).sort()).toEqual(multi.archs.find((a) => a.arch === 'amd64')!.packages.map((p) => p.name).sort());
    for (const p of arm.packages) {
      expect(['arm64', 'all']).toContain(p.architecture);
      const cached = join(debCache, 'sha256', `${p.sha256}.deb`);
      expect(createHash('sha256').update(readFileSync(cached)).digest('hex')).toBe(p.sha256);
    }
    expect(arm.packages.some((p) => p.architecture === 'arm64')).toBe(true);
    // A flipped byte in a cached arm64-only .deb refuses the arm64 build.
    const tampered = join(work, 'tampered-cache');
    mkdirSync(join(tampered, 'sha256'), { recursive: true });
    for (const f of readdirSync(join(debCache, 'sha256'))) if (!f.startsWith('.tmp')) copyFileSync(join(debCache, 'sha256', f), join(tampered, 'sha256', f));
    const nginx = arm.packages.find((p) => p.name === 'nginx')!;
    expect(nginx.architecture).toBe('arm64');
    const file = join(tampered, 'sha256', `${nginx.sha256}.deb`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const error = await buildImage(recipe, options({ archs: ['arm64'], cacheDir: tampered })).catch((e: unknown) => e);
    expect(isDistillError(error) && error.code).toBe('DEB_HASH_MISMATCH');
  }, 120_000);

  it('umoci unpack of the amd64 layout gives the same tree as tar -x of the docker archive\'s layers', () => {
    const amd = platformManifests(layoutPath).find((m) => m.platform?.architecture === 'amd64')!;
    const view = singleImageView(layoutPath, amd, 'amd64-umoci');
    const bundle = join(work, 'umoci-bundle');
    execFileSync('umoci', ['unpack', '--image', `${view}:amd64-umoci`, bundle], { stdio: 'pipe' });
    const unpacked = join(work, 'docker-archive-x');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xf', archivePath, '-C', unpacked]);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const fromArchive = join(work, 'docker-rootfs');
    extractLayers(manifest[0]!.Layers.map((l) => join(unpacked, l)), fromArchive);
    const expected = treeOf(fromArchive);
    const actual = treeOf(join(bundle, 'rootfs'));
    expect(expected.size).toBeGreaterThan(100);
    expect(expected.get('usr/sbin/nginx')).toMatch(/^file 755 0:0 /);
    expect(expected.get('tmp')).toBe('dir 1777 0:0');
    const diff = [...new Set([...expected.keys(), ...actual.keys()])].filter((k) => expected.get(k) !== actual.get(k)).map((k) => `${k}: ${expected.get(k)} | ${actual.get(k)}`);
    expect(diff).toEqual([]);
  });

  it('distill\'s own scanner reads back exactly the resolved packages, per platform', async () => {
    for (const built of multi.archs) {
      const sbom = await catalogSource(`oci:${layoutPath}:latest`, { platform: { os: 'linux', architecture: built.arch } });
      expect(sbom.subject.digest).toBe(built.image.manifestDigest);
      const found = sbom.packages.filter((p) => p.type === 'deb').map((p) => `${p.name} ${p.version} ${p.type === 'deb' ? p.architecture : ''}`).sort();
      expect(found).toEqual(built.packages.map((p) => `${p.name} ${p.version} ${p.architecture}`).sort());
      expect(sbom.packages.filter((p) => p.type !== 'deb')).toEqual([]);
      expect(sbom.distro?.id).toBe('debian');
    }
  });
});
