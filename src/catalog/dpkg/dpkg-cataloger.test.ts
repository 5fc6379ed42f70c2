import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PackageURL } from 'packageurl-js';
import { describe, expect, it } from 'vitest';
import { cached, ociLayoutOf, sharedData, stockImage, trivyImagePackages, umociRootfs } from '../../../test/helpers/oracles.js';
import { openDirectory } from '../../filesystem/directory-resolver.js';
import type { DebPackage, LinuxRelease } from '../../sbom/package.js';
import type { CatalogResult } from '../cataloger.js';
import { debPurl } from '../../sbom/purl.js';
import { detectRelease } from '../linux-release.js';
import { dpkgCataloger, isInstalledStatus, parseSourceField } from './dpkg-cataloger.js';

const bookworm: LinuxRelease = { id: 'debian', idLike: [], versionId: '12', precise: '12.8' };
const realStatus = (): Buffer => gunzipSync(readFileSync(join(sharedData, 'debian-bookworm-local-system', 'dpkg-status.gz')));

async function catalogDir(root: string, release: LinuxRelease | undefined = bookworm): Promise<Omit<CatalogResult, "packages"> & { packages: DebPackage[] }> {
  const resolver = await openDirectory(root);
  const result = await dpkgCataloger.catalog({ resolver, release, layerDigestOf: () => undefined });
  return { ...result, packages: result.packages as DebPackage[] };
}

function statusRoot(status: Buffer | string): string {
  const root = mkdtempSync(join(tmpdir(), 'dpkg-'));
  mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), status);
  return root;
}

function dpkgQuery(admindir: string): string[] {
  const format = '${Package} ${Version} ${Architecture} ${source:Package} ${source:Version}\\n';
  return execFileSync('dpkg-query', ['--admindir', admindir, '-W', '-f', format], { maxBuffer: 1 << 26 }).toString().trim().split('\n').sort();
}

const line = (p: DebPackage): string => `${p.name} ${p.version} ${p.architecture} ${p.sourceName} ${p.sourceVersion}`;


describe('small parsers', () => {
  it('decides installed the way Trivy does', () => {
    expect(isInstalledStatus('install ok installed')).toBe(true);
    expect(isInstalledStatus('hold ok installed')).toBe(true);
    expect(isInstalledStatus('install ok half-configured')).toBe(true);
    expect(isInstalledStatus(undefined)).toBe(true);
    expect(isInstalledStatus('deinstall ok config-files')).toBe(false);
    expect(isInstalledStatus('deinstall ok installed')).toBe(false);
    expect(isInstalledStatus('purge ok not-installed')).toBe(false);
    expect(isInstalledStatus('install ok not-installed')).toBe(false);
  });
  it('splits Source: name (version)', () => {
    expect(parseSourceField('glibc (2.36-9+deb12u4)', 'libc6', '2.36-9+deb12u4+b1')).toEqual({ sourceName: 'glibc', sourceVersion: '2.36-9+deb12u4' });
    expect(parseSourceField('zlib', 'zlib1g', '1:1.2.13.dfsg-1')).toEqual({ sourceName: 'zlib', sourceVersion: '1:1.2.13.dfsg-1' });
    expect(parseSourceField(undefined, 'bash', '5.2.15-2+b2')).toEqual({ sourceName: 'bash', sourceVersion: '5.2.15-2+b2' });
  });
  it('renders purls as Trivy does (epoch qualifier, version without epoch)', () => {
    expect(debPurl({ name: 'zlib1g', version: '1:1.2.13.dfsg-1', architecture: 'amd64', release: bookworm })).toBe('pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.8');
    expect(debPurl({ name: 'bash', version: '5.2.15-2+b2', architecture: 'amd64', release: bookworm })).toBe('pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12.8');
  });
});

describe('dpkg cataloger', () => {
  it('reads the real bookworm status exactly as dpkg-query does (753 packages)', async () => {
    const root = statusRoot(realStatus());
    const oracle = dpkgQuery(join(root, 'var/lib/dpkg'));
    expect(oracle).toHaveLength(753);
    const { packages, issues } = await catalogDir(root);
    expect(issues).toEqual([]);
    expect(packages.map(line).sort()).toEqual(oracle);
    const libc = packages.find((p) => p.name === 'libc6')!;
    expect(libc.maintainer).toMatch(/GNU Libc Maintainers/);
    expect(libc.installedSize).toBeGreaterThan(1000);
    expect(libc.id).toBe(`${libc.purl}#/var/lib/dpkg/status`);
    expect(libc.locations).toEqual([{ path: '/var/lib/dpkg/status' }]);
  });

  it('skips entries dpkg-query reports as not installed or config-files only', async () => {
    // The real status with the Status of three entries changed; dpkg-query's db:Status-Abbrev is the oracle.
    const paragraphs = realStatus().toString('utf8').trimEnd().split('\n\n');
    const edits = ['deinstall ok config-files', 'purge ok not-installed', 'hold ok installed'];
    edits.forEach((status, i) => {
      paragraphs[i * 10] = paragraphs[i * 10]!.replace(/^Status: .*$/m, `Status: ${status}`);
    });
    const root = statusRoot(paragraphs.join('\n\n') + '\n');
    const abbrev = execFileSync('dpkg-query', ['--admindir', join(root, 'var/lib/dpkg'), '-W', '-f', '${Package} ${db:Status-Abbrev}\\n']).toString();
    const installed = abbrev.trim().split('\n').filter((l) => /^\S+ [ih]i/.test(l)).map((l) => l.split(' ')[0]).sort();
    const { packages } = await catalogDir(root);
    expect(packages.map((p) => p.name).sort()).toEqual(installed);
    expect(installed).toHaveLength(751);
  });

  it('finds the same packages as Trivy in the stock nginx image, with owned files and licenses', async () => {
    const image = stockImage('nginx');
    const root = umociRootfs(ociLayoutOf(image, 'nginx'), 'latest', 'nginx');
    const trivy = JSON.parse(readFileSync(trivyImagePackages(image, 'nginx'), 'utf8')) as {
      components: { name: string; purl?: string; properties?: { name: string; value: string }[] }[];
    };
    const expected = trivy.components
      .filter((c) => c.purl?.startsWith('pkg:deb/'))
      .map((c) => {
        const prop = (n: string) => c.properties?.find((p) => p.name === `aquasecurity:trivy:${n}`)?.value;
        const purl = PackageURL.fromString(c.purl!);
        return `${c.name} ${purl.version} ${purl.qualifiers?.arch} ${prop('SrcName')} ${c.purl!}`;
      })
      .sort();
    const resolver = await openDirectory(root);
    const { release } = await detectRelease(resolver);
    const { packages, issues } = await catalogDir(root, release);
    expect(issues).toEqual([]);
    expect(packages.map((p) => `${p.name} ${PackageURL.fromString(p.purl).version} ${p.architecture} ${p.sourceName} ${p.purl}`).sort()).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(100);

    // Owned files come from info/<name>.list (or <name>:<arch>.list), directories left out.
    const nginx = packages.find((p) => p.name === 'nginx')!;
    expect(nginx.files).toContain('/usr/sbin/nginx');
    expect(nginx.files).not.toContain('/usr/sbin');
    const libc = packages.find((p) => p.name === 'libc6')!;
    const listed = readFileSync(join(root, 'var/lib/dpkg/info/libc6:amd64.list'), 'utf8').trim().split('\n');
    expect(libc.files.length).toBeGreaterThan(10);
    for (const file of libc.files) expect(listed).toContain(file);
    expect(packages.find((p) => p.name === 'zlib1g')!.licenses).toEqual(['Zlib']);
  }, 600_000);
});

/** base-files, netbase and tzdata as distroless lays them out: status.d/<name> + status.d/<name>.md5sums. */
function distrolessRoot(): { root: string; debs: string[] } {
  const debDir = cached('debs-base-netbase-tzdata', (tmp) => {
    mkdirSync(tmp, { recursive: true });
    execFileSync('apt-get', ['download', 'base-files', 'netbase', 'tzdata'], { cwd: tmp, stdio: 'ignore' });
  });
  const debs = readdirSync(debDir).filter((f) => f.endsWith('.deb')).map((f) => join(debDir, f));
  const root = mkdtempSync(join(tmpdir(), 'distroless-'));
  mkdirSync(join(root, 'var/lib/dpkg/status.d'), { recursive: true });
  for (const deb of debs) {
    const name = execFileSync('dpkg-deb', ['-f', deb, 'Package']).toString().trim();
    writeFileSync(join(root, 'var/lib/dpkg/status.d', name), execFileSync('dpkg-deb', ['-f', deb]));
    const md5sums = execFileSync('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO ./md5sums', 'sh', deb]);
    writeFileSync(join(root, 'var/lib/dpkg/status.d', `${name}.md5sums`), md5sums);
    execFileSync('dpkg-deb', ['-x', deb, root]);
  }
  return { root, debs };
}

describe('dpkg cataloger on a distroless-style status.d', () => {
  it('reads one package per file, owned files from the md5sums siblings', async () => {
    const { root, debs } = distrolessRoot();
    expect(debs).toHaveLength(3);
    const { packages, issues } = await catalogDir(root);
    expect(issues).toEqual([]);
    const oracle = debs
      .map((deb) => execFileSync('dpkg-deb', ['-W', '--showformat', '${Package} ${Version} ${Architecture} ${source:Package}\\n', deb]).toString().trim())
      .sort();
    expect(packages.map((p) => `${p.name} ${p.version} ${p.architecture} ${p.sourceName}`).sort()).toEqual(oracle);
    for (const deb of debs) {
      const name = execFileSync('dpkg-deb', ['-f', deb, 'Package']).toString().trim();
      const pkg = packages.find((p) => p.name === name)!;
      expect(pkg.locations).toEqual([{ path: `/var/lib/dpkg/status.d/${name}` }]);
      // Oracle: the regular files of the data archive (dpkg-deb -c) minus the conffiles, which md5sums omits.
      const conffiles = execFileSync('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles 2>/dev/null || true', 'sh', deb])
        .toString().trim().split('\n').filter(Boolean);
      const regular = execFileSync('dpkg-deb', ['-c', deb]).toString().trim().split('\n')
        .filter((l) => l.startsWith('-'))
        .map((l) => l.slice(l.indexOf('./') + 1))
        .filter((p) => !conffiles.includes(p));
      expect(pkg.files.sort()).toEqual(regular.sort());
      expect(pkg.licenses.length).toBeGreaterThan(0);
    }
    expect(packages.find((p) => p.name === 'tzdata')!.licenses).toEqual(['public-domain']);
    expect(packages.find((p) => p.name === 'netbase')!.licenses).toEqual(['GPL-2.0-only']);
  }, 300_000);
});

describe('dpkg cataloger on hostile input', () => {
  it('reports entries without Package or Version as FIELD_MISSING and keeps the rest', async () => {
    const root = statusRoot('Package: ok\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\nPackage: noversion\nStatus: install ok installed\n\nVersion: 2.0\nStatus: install ok installed\n');
    const { packages, issues } = await catalogDir(root);
    expect(packages.map((p) => p.name)).toEqual(['ok']);
    expect(issues.map((i) => i.code)).toEqual(['FIELD_MISSING', 'FIELD_MISSING']);
    expect(issues[0]!.message).toContain('noversion');
    expect(issues[0]!.path).toBe('/var/lib/dpkg/status');
  });

  it('reads a truncated status up to the cut, a CRLF status like the original, invalid UTF-8 with an issue', async () => {
    const real = realStatus();
    const oracle = dpkgQuery(join(statusRoot(real), 'var/lib/dpkg'));
    const truncated = await catalogDir(statusRoot(real.subarray(0, real.indexOf('\nPackage: ', real.length / 2) + 30)));
    expect(truncated.packages.length).toBeGreaterThan(300);
    expect(truncated.packages.length).toBeLessThan(753);
    for (const p of truncated.packages.slice(0, -1)) expect(oracle).toContain(line(p));

    const crlf = await catalogDir(statusRoot(real.toString('utf8').replace(/\n/g, '\r\n')));
    expect(crlf.packages.map(line).sort()).toEqual(oracle);

    const bad = Buffer.from(real);
    bad[bad.indexOf('Maintainer: ') + 12] = 0xff;
    const invalid = await catalogDir(statusRoot(bad));
    expect(invalid.issues.map((i) => i.code)).toEqual(['INVALID_UTF8']);
    expect(invalid.packages).toHaveLength(753);
  });

  it('turns a 100 MB status with one giant field into an issue, fast', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dpkg-huge-'));
    mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
    const chunk = Buffer.alloc(1 << 20, ' xxxxxxxxxxxxxxx\n');
    const parts = [Buffer.from('Package: huge\nVersion: 1\nDescription: giant\n'), ...Array.from({ length: 100 }, () => chunk)];
    writeFileSync(join(root, 'var/lib/dpkg/status'), Buffer.concat(parts));
    const started = Date.now();
    const { packages, issues } = await catalogDir(root);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(packages).toEqual([]);
    expect(issues.map((i) => i.code)).toEqual(['FILE_TOO_LARGE']);

    // Under the file cap, the oversized field alone is dropped and the package survives.
    writeFileSync(join(root, 'var/lib/dpkg/status'), Buffer.concat(parts.slice(0, 9)));
    const second = await catalogDir(root);
    expect(second.packages.map((p) => p.name)).toEqual(['huge']);
    expect(second.issues.map((i) => i.code)).toEqual(['FILE_TOO_LARGE']);
  });
});
