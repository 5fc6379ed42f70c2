/** @module catalog/npm/npm-cataloger.test — npm cataloger against a real `npm install` tree (oracle: `npm ls --all --json`) and hostile manifests. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cached } from '../../../test/helpers/oracles.js';
import { directoryContext, expressInstall, freshDir, run, removeFreshDirs } from '../../../test/fixtures/catalog-lang/lang-helpers.js';
import { isInstalledPackageManifest, npmCataloger, npmLicenses, npmPurl } from './npm-cataloger.js';

interface NpmLsNode {
  version?: string;
  missing?: boolean;
  dependencies?: Record<string, NpmLsNode>;
}

function npmLsSet(node: NpmLsNode, out = new Set<string>()): Set<string> {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    if (child.version !== undefined && child.missing !== true) out.add(`${name}@${child.version}`);
    npmLsSet(child, out);
  }
  return out;
}

function write(root: string, path: string, content: string | Buffer): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
}

afterAll(removeFreshDirs);

describe('npmCataloger', () => {
  it('finds exactly the packages `npm ls --all` reports for a real express@4 install', async () => {
    const prefix = expressInstall();
    const oracle = npmLsSet(JSON.parse(run('npm', ['ls', '--all', '--json', '--prefix', prefix])) as NpmLsNode);
    expect(oracle.size).toBeGreaterThan(40);
    const result = await npmCataloger.catalog(await directoryContext(prefix));
    const ours = new Set(result.packages.map((p) => `${p.name}@${p.version}`));
    expect([...ours].sort()).toEqual([...oracle].sort());
    expect(result.issues).toEqual([]);
    const express = result.packages.find((p) => p.name === 'express');
    expect(express?.purl).toMatch(/^pkg:npm\/express@4\.\d+\.\d+$/);
    expect(express?.licenses).toEqual(['MIT']);
    expect(express?.locations[0]?.path).toBe('/node_modules/express/package.json');
    expect(express?.locations[0]?.layerDigest).toMatch(/^sha256:/);
    expect(express?.id).toBe(`${express?.purl}#/node_modules/express/package.json`);
    expect(express?.cpes).toEqual([]);
    expect(result.packages.every((p) => p.type === 'npm' && p.foundBy === 'npm')).toBe(true);
  });

  it('finds the global npm in /usr/lib/node_modules with its bundled dependencies', async () => {
    const root = cached('lang-npm-global', (tmp) => {
      mkdirSync(join(tmp, 'usr/lib/node_modules'), { recursive: true });
      cpSync('/usr/lib/node_modules/npm', join(tmp, 'usr/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    });
    const result = await npmCataloger.catalog(await directoryContext(root));
    const npm = result.packages.find((p) => p.locations[0]?.path === '/usr/lib/node_modules/npm/package.json');
    expect(npm?.name).toBe('npm');
    expect(npm?.version).toBe(run('npm', ['--version']).trim());
    // Oracle for the bundled tree: npm's own view of its install directory.
    // npm ls exits 1 here (npm's dev dependencies are not shipped) but still prints the installed tree.
    const ls = spawnSync('npm', ['ls', '--all', '--json', '--prefix', '/usr/lib/node_modules/npm'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const oracle = npmLsSet(JSON.parse(ls.stdout) as NpmLsNode);
    const ours = new Set(result.packages.filter((p) => p !== npm).map((p) => `${p.name}@${p.version}`));
    expect([...ours].sort()).toEqual([...oracle].sort());
    expect(ours.size).toBeGreaterThan(50);
  });

  it('accepts only package roots inside node_modules', () => {
    expect(isInstalledPackageManifest('/app/node_modules/a/package.json')).toBe(true);
    expect(isInstalledPackageManifest('/app/node_modules/@s/a/package.json')).toBe(true);
    expect(isInstalledPackageManifest('/app/node_modules/a/node_modules/b/package.json')).toBe(true);
    expect(isInstalledPackageManifest('/app/node_modules/a/test/fixtures/package.json')).toBe(false);
    expect(isInstalledPackageManifest('/app/node_modules/@s/package.json')).toBe(false);
    expect(isInstalledPackageManifest('/app/node_modules/a/lib/@s/b/package.json')).toBe(false);
    expect(isInstalledPackageManifest('/app/package.json')).toBe(false);
    expect(isInstalledPackageManifest('/app/node_modules/.bin/package.json')).toBe(false);
  });

  it('encodes scopes and reads every license form', () => {
    expect(npmPurl('@babel/core', '7.22.0')).toBe('pkg:npm/%40babel/core@7.22.0');
    expect(npmPurl('lodash', '4.17.21')).toBe('pkg:npm/lodash@4.17.21');
    expect(npmLicenses({ license: 'MIT' })).toEqual(['MIT']);
    expect(npmLicenses({ license: { type: 'BSD-3-Clause', url: 'x' } })).toEqual(['BSD-3-Clause']);
    expect(npmLicenses({ licenses: [{ type: 'MIT' }, 'Apache-2.0', { url: 'only' }] })).toEqual(['MIT', 'Apache-2.0']);
    expect(npmLicenses({ license: null, licenses: 'ISC' })).toEqual(['ISC']);
  });

  it('turns hostile manifests into issues with stable codes and keeps going', async () => {
    const root = freshDir('npm-hostile');
    write(root, 'app/node_modules/good/package.json', JSON.stringify({ name: 'good', version: '1.0.0', licenses: [{ type: 'MIT' }] }));
    write(root, 'app/node_modules/@sc/pkg/package.json', JSON.stringify({ name: '@sc/pkg', version: '2.0.0', license: { type: 'ISC' } }));
    write(root, 'app/node_modules/good/test/fixtures/package.json', JSON.stringify({ name: 'fixture', version: '9.9.9' }));
    write(root, 'app/node_modules/notjson/package.json', '{ "name": "notjson", ');
    write(root, 'app/node_modules/array/package.json', '[1,2]');
    write(root, 'app/node_modules/noversion/package.json', JSON.stringify({ name: 'noversion', private: true }));
    write(root, 'app/node_modules/badutf/package.json', Buffer.concat([Buffer.from('{"name":"bad'), Buffer.from([0xff, 0xfe]), Buffer.from('","version":"1.0.0"}')]));
    write(root, 'app/node_modules/huge/package.json', '{"name":"huge","version":"1.0.0","x":"' + 'a'.repeat(50 * 1024 * 1024) + '"}');
    write(root, 'app/node_modules/bom/package.json', '\ufeff' + JSON.stringify({ name: 'bom', version: '0.1.0' }));
    const result = await npmCataloger.catalog(await directoryContext(root));
    expect(result.packages.map((p) => p.purl).sort()).toEqual(['pkg:npm/%40sc/pkg@2.0.0', 'pkg:npm/bom@0.1.0', 'pkg:npm/good@1.0.0']);
    expect(result.packages.find((p) => p.name === 'good')?.licenses).toEqual(['MIT']);
    const codes = Object.fromEntries(result.issues.map((i) => [i.path, i.code]));
    expect(codes).toEqual({
      '/app/node_modules/notjson/package.json': 'PARSE_FAILED',
      '/app/node_modules/array/package.json': 'PARSE_FAILED',
      '/app/node_modules/noversion/package.json': 'FIELD_MISSING',
      '/app/node_modules/badutf/package.json': 'INVALID_UTF8',
      '/app/node_modules/huge/package.json': 'FILE_TOO_LARGE',
    });
    expect(result.issues.every((i) => i.source === 'npm')).toBe(true);
  });
});
