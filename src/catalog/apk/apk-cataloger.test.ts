import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDirectory } from '../../filesystem/directory-resolver.js';
import type { ApkPackage } from '../../sbom/package.js';
import { detectRelease } from '../linux-release.js';
import { APK_INSTALLED, apkCataloger, parseApkInstalled } from './apk-cataloger.js';

const fixture = join(import.meta.dirname, '../../../test/fixtures/catalog-os/alpine-3.20/rootfs');

async function catalog(root: string) {
  const resolver = await openDirectory(root);
  const { release } = await detectRelease(resolver);
  const result = await apkCataloger.catalog({ resolver, release, layerDigestOf: (p) => (p === APK_INSTALLED ? 'sha256:abc' : undefined) });
  return { ...result, packages: result.packages as ApkPackage[] };
}

function dbRoot(content: Buffer | string): string {
  const root = mkdtempSync(join(tmpdir(), 'apk-'));
  mkdirSync(join(root, 'lib/apk/db'), { recursive: true });
  writeFileSync(join(root, 'lib/apk/db/installed'), content);
  return root;
}

describe('apk cataloger', () => {
  it('reads the Alpine 3.20 installed db fixture', async () => {
    const { packages, issues } = await catalog(fixture);
    expect(issues).toEqual([]);
    // Expected values: the P/V/A/o/L lines of the fixture, counted independently with a regex.
    const text = readFileSync(join(fixture, 'lib/apk/db/installed'), 'utf8');
    const names = [...text.matchAll(/^P:(.*)$/gm)].map((m) => m[1]);
    expect(packages.map((p) => p.name)).toEqual(names);
    const libcrypto = packages.find((p) => p.name === 'libcrypto3')!;
    expect(libcrypto).toMatchObject({
      type: 'apk',
      version: '3.3.2-r0',
      architecture: 'x86_64',
      origin: 'openssl',
      licenses: ['Apache-2.0'],
      purl: 'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3',
      id: 'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3#/lib/apk/db/installed',
      locations: [{ path: '/lib/apk/db/installed', layerDigest: 'sha256:abc' }],
      foundBy: 'apk',
      cpes: [],
    });
    // F: sets the directory for the R: lines after it, including F: lines with no files of their own.
    expect(libcrypto.files).toEqual(['/lib/libcrypto.so.3', '/usr/lib/libcrypto.so.3', '/usr/lib/engines-3/afalg.so']);
    expect(packages.find((p) => p.name === 'busybox')!.files).toEqual([
      '/bin/busybox', '/bin/sh', '/etc/securetty', '/etc/udhcpd.conf', '/etc/logrotate.d/acpid', '/usr/share/udhcpc/default.script',
    ]);
    expect(packages.find((p) => p.name === 'ca-certificates-bundle')!.licenses).toEqual(['MPL-2.0 AND MIT']);
    const total = [...text.matchAll(/^R:/gm)].length;
    expect(packages.reduce((n, p) => n + p.files.length, 0)).toBe(total);
  });

  it('parses the checksum and maintainer fields', () => {
    const { records } = parseApkInstalled(readFileSync(join(fixture, 'lib/apk/db/installed')));
    expect(records[0]).toMatchObject({ name: 'musl', checksum: 'Q1mnrSxzBPNOj05oxLKC7Xf3ZGPvs=', maintainer: 'Timo Teräs <timo.teras@iki.fi>' });
  });

  it('is unaffected by CRLF and a missing final newline', async () => {
    const text = readFileSync(join(fixture, 'lib/apk/db/installed'), 'utf8');
    const original = (await catalog(fixture)).packages.map((p) => [p.name, p.version, p.files]);
    const crlf = await catalog(dbRoot(text.replace(/\n/g, '\r\n').trimEnd()));
    expect(crlf.packages.map((p) => [p.name, p.version, p.files])).toEqual(original);
  });

  it('records FIELD_MISSING, bad lines and invalid UTF-8 without aborting', async () => {
    const db = Buffer.concat([
      Buffer.from('P:nover\nA:x86_64\n\nV:1.0-r0\n\nP:ok\nV:1.0-r0\nA:x86_64\nT:bad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\nthis is not a field\n'),
    ]);
    const { packages, issues } = await catalog(dbRoot(db));
    expect(packages.map((p) => p.name)).toEqual(['ok']);
    expect(packages[0]!.purl).toBe('pkg:apk/alpine/ok@1.0-r0?arch=x86_64');
    expect(issues.map((i) => i.code).sort()).toEqual(['FIELD_MISSING', 'FIELD_MISSING', 'INVALID_UTF8', 'PARSE_FAILED']);
  });

  it('finds nothing, and says nothing, where there is no apk db', async () => {
    expect(await catalog(mkdtempSync(join(tmpdir(), 'apk-none-')))).toEqual({ packages: [], relationships: [], issues: [] });
  });
});
