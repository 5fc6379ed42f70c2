import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedData } from '../../test/helpers/oracles.js';
import { detectFeedFiles } from './import-dir.js';

const fixtures = resolve('test/fixtures/feeds-enrich');
const dir = mkdtempSync(join(tmpdir(), 'distill-import-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // Real files under neutral names, so classification has to come from content.
  copyFileSync(join(sharedData, 'format-samples/debian-tracker-sample.json'), join(dir, 'data.json'));
  copyFileSync(join(sharedData, 'cisa-kev/known_exploited_vulnerabilities.json'), join(dir, 'catalog.json'));
  writeFileSync(join(dir, 'catalog.json.gz'), gzipSync(readFileSync(join(sharedData, 'cisa-kev/known_exploited_vulnerabilities.json'))));
  mkdirSync(join(dir, 'nvd'));
  copyFileSync(join(fixtures, 'nvd-page-0000.json'), join(dir, 'nvd', 'p0.json'));
  copyFileSync(join(fixtures, 'nvd-page-0003.json.gz'), join(dir, 'nvd', 'p3.json.gz'));
  copyFileSync(join(fixtures, 'epss-2024-03-24.csv'), join(dir, 'scores.csv'));
  execFileSync('gzip', ['-k', join(dir, 'scores.csv')]);
  // Real PyPA OSV YAML records, unpacked as the user would.
  mkdirSync(join(dir, 'pypa'));
  execFileSync('tar', ['-xzf', join(sharedData, 'pypa-advisory-database/pypa-advisory-database-vulns.tar.gz'), '-C', join(dir, 'pypa'), '--wildcards', 'vulns/jinja2/*']);
  // The same advisories as OSV JSON, one file and a zip of them (the all.zip layout).
  const osv = { schema_version: '1.6.0', id: 'PYSEC-2019-217', modified: '2024-11-21T14:22:52Z', aliases: ['CVE-2019-10906'], affected: [{ package: { ecosystem: 'PyPI', name: 'jinja2' } }] };
  mkdirSync(join(dir, 'osvjson'));
  writeFileSync(join(dir, 'osvjson', 'PYSEC-2019-217.json'), JSON.stringify(osv));
  execFileSync('zip', ['-q', '-j', join(dir, 'all.zip'), join(dir, 'osvjson', 'PYSEC-2019-217.json')]);
  writeFileSync(join(dir, 'v3.20-main.json'), JSON.stringify({ apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk', archs: ['x86_64'], reponame: 'main', urlprefix: 'https://dl-cdn.alpinelinux.org/alpine', distroversion: 'v3.20', packages: [{ pkg: { name: 'openssl', secfixes: { '3.3.2-r0': ['CVE-2024-6119'] } } }] }));
  // Things that are not feeds.
  writeFileSync(join(dir, 'README.md'), '# feeds I brought\n');
  writeFileSync(join(dir, 'empty.json'), '');
  writeFileSync(join(dir, 'random.bin'), Buffer.from([0, 1, 2, 3, 255]));
  writeFileSync(join(dir, 'broken.csv.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  copyFileSync(join(sharedData, 'nodejs-security-wg/nodejs-security-wg-vuln.tar.gz'), join(dir, 'npm-advisories.tar.gz'));
  symlinkSync('/etc/passwd', join(dir, 'link.json'));
});

describe('detectFeedFiles', () => {
  it('classifies real feed files by content, and reports the rest', async () => {
    const found = await detectFeedFiles(dir);
    const byName = Object.fromEntries(found.files.map((f) => [f.path.slice(dir.length + 1), `${f.feed} ${f.format} ${f.compression}`]));
    expect(byName).toMatchObject({
      'data.json': 'debian-tracker debian-tracker-json none',
      'catalog.json': 'kev kev-json none',
      'catalog.json.gz': 'kev kev-json gzip',
      'nvd/p0.json': 'nvd nvd-json none',
      'nvd/p3.json.gz': 'nvd nvd-json gzip',
      'scores.csv': 'epss epss-csv none',
      'scores.csv.gz': 'epss epss-csv gzip',
      'osvjson/PYSEC-2019-217.json': 'osv osv-json none',
      'all.zip': 'osv osv-zip none',
      'v3.20-main.json': 'alpine-secdb alpine-secdb-json none',
    });
    const yaml = found.files.filter((f) => f.format === 'osv-yaml');
    expect(yaml.length).toBeGreaterThanOrEqual(3);
    expect(yaml.every((f) => f.path.includes('/pypa/vulns/jinja2/') && f.feed === 'osv')).toBe(true);
    expect(Object.keys(byName).length).toBe(10 + yaml.length);
    const unknown = Object.fromEntries(found.unknown.map((u) => [u.path.slice(dir.length + 1), u.reason]));
    expect(Object.keys(unknown).sort()).toEqual(['README.md', 'broken.csv.gz', 'empty.json', 'link.json', 'npm-advisories.tar.gz', 'random.bin']);
    expect(unknown['npm-advisories.tar.gz']).toMatch(/tar archive/);
    expect(unknown['link.json']).toMatch(/symbolic link/);
  });

  it('a missing directory is an error, a file is a usage error', async () => {
    await expect(detectFeedFiles(join(dir, 'nope'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(detectFeedFiles(join(dir, 'scores.csv'))).rejects.toMatchObject({ code: 'USAGE' });
  });
});
