/** @module test/sbom-parity — acceptance: distill's dpkg packages equal Trivy's, for every transport of the same image. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogSource } from '../src/catalog/catalog-source.js';
import type { DebPackage, Sbom } from '../src/sbom/package.js';
import { hasCommand, ociArchiveOf, ociLayoutOf, podmanSaved, stockImage, trivyImagePackages, umociRootfs } from './helpers/oracles.js';

interface CdxComponent { name: string; version?: string; purl?: string; properties?: { name: string; value: string }[] }

/** Trivy's deb components as `name version arch source`; the epoch comes back from the purl qualifier. */
function trivyDebs(file: string): Set<string> {
  const bom = JSON.parse(readFileSync(file, 'utf8')) as { components: CdxComponent[] };
  const rows = new Set<string>();
  for (const component of bom.components) {
    if (!component.purl?.startsWith('pkg:deb/')) continue;
    const query = new URLSearchParams(component.purl.split('?')[1] ?? '');
    const epoch = query.get('epoch');
    const version = epoch ? `${epoch}:${component.version}` : component.version;
    const source = component.properties?.find((p) => p.name === 'aquasecurity:trivy:SrcName')?.value ?? component.name;
    rows.add(`${component.name} ${version} ${query.get('arch')} ${source}`);
  }
  return rows;
}

function distillDebs(sbom: Sbom): Set<string> {
  return new Set(
    sbom.packages.filter((pkg): pkg is DebPackage => pkg.type === 'deb').map((pkg) => `${pkg.name} ${pkg.version} ${pkg.architecture} ${pkg.sourceName}`),
  );
}

function trivyPurls(file: string): Set<string> {
  const bom = JSON.parse(readFileSync(file, 'utf8')) as { components: CdxComponent[] };
  return new Set(bom.components.flatMap((component) => (component.purl ? [component.purl] : [])));
}

const now = new Date('2026-12-03T00:00:00Z');
const tool = { name: 'distill', version: 'test' };

describe.each(['nginx', 'python'])('stock %s: distill sees what Trivy sees', (name) => {
  const archive = stockImage(name);
  const expected = trivyDebs(trivyImagePackages(archive, name));

  it('docker-archive: same dpkg packages (name, version, arch, source)', async () => {
    const sbom = await catalogSource(`docker-archive:${archive}`, { now, tool });
    expect(expected.size).toBeGreaterThan(80);
    expect(distillDebs(sbom)).toEqual(expected);
    expect(sbom.distro?.id).toBe('debian');
    expect(sbom.distro?.versionCodename).toBe('bookworm');
  });

  it('docker-archive: same purls as Trivy, byte for byte', async () => {
    const sbom = await catalogSource(archive, { now, tool }); // transport detected from content
    expect(new Set(sbom.packages.map((pkg) => pkg.purl))).toEqual(trivyPurls(trivyImagePackages(archive, name)));
  });

  it('oci layout (skopeo copy): same packages', async () => {
    const layout = ociLayoutOf(archive, name);
    const sbom = await catalogSource(`oci:${layout}:latest`, { now, tool });
    expect(distillDebs(sbom)).toEqual(expected);
    expect(sbom.subject.digest).toBe(`sha256:${execFileSync('sha256sum', [join(layout, 'blobs', 'sha256', (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest.slice(7))]).toString().split(' ')[0]}`);
  });

  it('oci-archive (skopeo copy): same packages', async () => {
    const sbom = await catalogSource(`oci-archive:${ociArchiveOf(archive, name)}`, { now, tool });
    expect(distillDebs(sbom)).toEqual(expected);
  });

  it.runIf(hasCommand('podman'))('podman save (docker-archive and oci-archive): same packages', async () => {
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const saved = podmanSaved(archive, name, format);
      const sbom = await catalogSource(saved, { now, tool }); // transport detected from content
      expect(sbom.subject.transport).toBe(format);
      expect(distillDebs(sbom)).toEqual(expected);
    }
  });

  it('dir: on the rootfs umoci unpacked: same packages', async () => {
    const rootfs = umociRootfs(ociLayoutOf(archive, name), 'latest', name);
    const sbom = await catalogSource(`dir:${rootfs}`, { now, tool });
    expect(distillDebs(sbom)).toEqual(expected);
    expect(sbom.subject.transport).toBe('dir');
  });
});
