/** @module catalog/python/python-cataloger.test — Python cataloger against real Debian packages (oracle: importlib.metadata) and hostile metadata. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianRoot, directoryContext, freshDir, run, removeFreshDirs } from '../../../test/fixtures/catalog-lang/lang-helpers.js';
import { classifierLicense, normalizePythonName, parseCoreMetadata, pypiPurl, pythonCataloger, pythonLicenses } from './python-cataloger.js';

function write(root: string, path: string, content: string | Buffer): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
}

const ORACLE = `
import importlib.metadata as m, json, sys
print(json.dumps(sorted({d.metadata['Name'] + '@' + d.version for d in m.distributions(path=[sys.argv[1]])})))
`;

afterAll(removeFreshDirs);

describe('pythonCataloger', () => {
  it('finds the distributions importlib.metadata finds in real Debian python3 packages', async () => {
    const root = debianRoot('python', ['python3-yaml', 'python3-requests', 'python3-six', 'python3-jwt', 'python3-urllib3', 'python3-idna']);
    const site = join(root, 'usr/lib/python3/dist-packages');
    const oracle = JSON.parse(run('/usr/bin/python3', ['-c', ORACLE, site])) as string[];
    expect(oracle.length).toBe(6);
    const result = await pythonCataloger.catalog(await directoryContext(root));
    expect(result.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(oracle);
    expect(result.issues).toEqual([]);
    const requests = result.packages.find((p) => p.name === 'requests');
    expect(requests?.purl).toBe('pkg:pypi/requests@2.28.1');
    expect(requests?.licenses).toContain('Apache-2.0');
    expect(requests?.locations[0]?.path).toMatch(/^\/usr\/lib\/python3\/dist-packages\/requests-2\.28\.1\.(egg|dist)-info\/(PKG-INFO|METADATA)$/);
    const yaml = result.packages.find((p) => p.name === 'PyYAML');
    expect(yaml?.purl).toBe('pkg:pypi/pyyaml@6.0');
    expect(yaml?.licenses).toContain('MIT');
    expect(yaml?.id).toBe(`${yaml?.purl}#${yaml?.locations[0]?.path}`);
  });

  it('parses headers with continuation lines and stops at the body', () => {
    const fields = parseCoreMetadata('Metadata-Version: 2.1\r\nName: a\nLicense: line one\n        line two\nClassifier: X\nClassifier: Y\n\nName: body\n');
    expect(fields.get('name')).toEqual(['a']);
    expect(fields.get('license')).toEqual(['line one\nline two']);
    expect(fields.get('classifier')).toEqual(['X', 'Y']);
  });

  it('maps license fields and OSI classifiers to SPDX ids, most specific first', () => {
    expect(classifierLicense('License :: OSI Approved :: MIT License')).toBe('MIT');
    expect(classifierLicense('License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)')).toBe('GPL-2.0-or-later');
    expect(classifierLicense('License :: OSI Approved :: BSD License')).toBe('BSD License');
    expect(classifierLicense('License :: Public Domain')).toBe('Public Domain');
    expect(classifierLicense('License :: OSI Approved')).toBeUndefined();
    expect(classifierLicense('Programming Language :: Python')).toBeUndefined();
    const fields = parseCoreMetadata(
      'Name: x\nLicense-Expression: MIT OR Apache-2.0\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: Apache Software License\nClassifier: License :: OSI Approved :: MIT License\n',
    );
    expect(pythonLicenses(fields)).toEqual(['MIT OR Apache-2.0', 'Apache-2.0', 'MIT']);
    expect(pythonLicenses(parseCoreMetadata('License: Copyright (c) x\n   Permission is hereby granted\n'))).toEqual([]);
  });

  it('normalises names per PEP 503 for the purl', () => {
    expect(normalizePythonName('Zope.Interface__x--Y')).toBe('zope-interface-x-y');
    expect(pypiPurl('ruamel.yaml', '0.17.21')).toBe('pkg:pypi/ruamel-yaml@0.17.21');
  });

  it('reads single-file egg-info and records hostile metadata as issues', async () => {
    const root = freshDir('python-hostile');
    const sp = 'usr/lib/python3.11/site-packages';
    write(root, `${sp}/single-1.0.egg-info`, 'Metadata-Version: 1.1\nName: single\nVersion: 1.0\nLicense: BSD\n');
    write(root, `${sp}/good-2.0.dist-info/METADATA`, 'Metadata-Version: 2.1\nName: Good_Pkg\nVersion: 2.0\n\nbody\n');
    write(root, `${sp}/trunc-1.0.dist-info/METADATA`, 'Metadata-Version: 2.1\nName: trunc\nVers');
    write(root, `${sp}/empty-1.0.dist-info/METADATA`, '');
    write(root, `${sp}/latin-1.0.dist-info/METADATA`, Buffer.concat([Buffer.from('Name: latin\nVersion: 1.0\nAuthor: J'), Buffer.from([0xf6]), Buffer.from('rg\n')]));
    write(root, `${sp}/huge-1.0.dist-info/METADATA`, 'Name: huge\nVersion: 1\n\n' + 'x'.repeat(9 * 1024 * 1024));
    write(root, `${sp}/garbage-1.0.dist-info/METADATA`, Buffer.from([0x00, 0x01, 0xff, 0x7f, 0x45, 0x4c, 0x46, 0x00]));
    const result = await pythonCataloger.catalog(await directoryContext(root));
    expect(result.packages.map((p) => p.purl).sort()).toEqual(['pkg:pypi/good-pkg@2.0', 'pkg:pypi/latin@1.0', 'pkg:pypi/single@1.0']);
    expect(result.packages.find((p) => p.name === 'single')?.licenses).toEqual(['BSD']);
    const byPath = (name: string): string[] => result.issues.filter((i) => i.path?.includes(name)).map((i) => i.code);
    expect(byPath('/trunc-')).toEqual(['FIELD_MISSING']);
    expect(byPath('/empty-')).toEqual(['FIELD_MISSING']);
    expect(byPath('/latin-')).toEqual(['INVALID_UTF8']);
    expect(byPath('/huge-')).toEqual(['FILE_TOO_LARGE']);
    expect(byPath('/garbage-')).toEqual(['INVALID_UTF8', 'FIELD_MISSING']);
    expect(result.issues).toHaveLength(6);
  });
});
