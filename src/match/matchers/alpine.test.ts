import { beforeAll, describe, expect, it } from 'vitest';
import type { ApkPackage, LinuxRelease } from '../../sbom/package.js';
import { createMemoryStore } from '../../vuln/memory-store.js';
import { importAlpineSecdb } from '../../feeds/alpine-secdb.js';
import { alpineBranch, alpineMatcher } from './alpine.js';

const ALPINE: LinuxRelease = { id: 'alpine', idLike: [], versionId: '3.20.3', precise: '3.20.3' };

function apk(name: string, version: string, origin = name): ApkPackage {
  return { type: 'apk', id: `${name}-${version}`, name, version, purl: `pkg:apk/alpine/${name}@${version}`, cpes: [], licenses: [], locations: [], foundBy: 'apk', architecture: 'x86_64', origin, files: [] };
}

describe('alpine matcher', () => {
  const store = createMemoryStore();
  // A secdb document (v3.20/main.json format: secfixes per origin, "fixed version: [ids]").
  const secdb = {
    apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
    archs: ['x86_64'],
    reponame: 'main',
    urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
    distroversion: 'v3.20',
    packages: [
      { pkg: { name: 'musl', secfixes: { '1.2.5-r1': ['CVE-2025-26519'] } } },
      { pkg: { name: 'openssl', secfixes: { '3.3.2-r0': ['CVE-2024-6119'], '0': ['CVE-2022-1343'] } } },
      { pkg: { name: 'busybox', secfixes: { '1.36.1-r17': ['CVE-2023-42363'] } } },
    ],
  };
  beforeAll(async () => {
    await importAlpineSecdb(Buffer.from(JSON.stringify(secdb)), store, { origin: 'test secdb', fetchedAt: new Date(0) });
  });

  it('branch from alpine-release / VERSION_ID; edge for pre-releases', () => {
    expect(alpineBranch(ALPINE)).toBe('3.20');
    expect(alpineBranch({ id: 'alpine', idLike: [], versionId: '3.21_alpha20240807' })).toBe('edge');
    expect(alpineBranch({ id: 'debian', idLike: [], versionId: '12' })).toBeUndefined();
  });

  it('matches by origin with apk versions: -rN revisions, before / at / after the fix', () => {
    const ids = (p: ApkPackage) => alpineMatcher.match(p, { store, distro: ALPINE }).map((f) => f.vulnId);
    expect(ids(apk('musl', '1.2.5-r0'))).toEqual(['CVE-2025-26519']);
    expect(ids(apk('musl-utils', '1.2.5-r0', 'musl'))).toEqual(['CVE-2025-26519']);
    expect(ids(apk('musl', '1.2.5-r1'))).toEqual([]);
    expect(ids(apk('musl', '1.2.5-r10'))).toEqual([]);
    // apk orders 3.3.1-r2 before 3.3.2-r0, and 3.3.2_rc1 (a pre-release suffix) before 3.3.2.
    expect(ids(apk('libcrypto3', '3.3.1-r2', 'openssl'))).toEqual(['CVE-2024-6119']);
    expect(ids(apk('libcrypto3', '3.3.2_rc1-r0', 'openssl'))).toEqual(['CVE-2024-6119']);
    expect(ids(apk('libssl3', '3.3.2-r1', 'openssl'))).toEqual([]);
    // Version "0" in secfixes: never affected.
    expect(ids(apk('libssl3', '1.0.0-r0', 'openssl'))).toEqual(['CVE-2024-6119']);
    const [f] = alpineMatcher.match(apk('ssl_client', '1.36.1-r2', 'busybox'), { store, distro: ALPINE });
    expect(f).toMatchObject({ packageName: 'ssl_client', fixedVersions: ['1.36.1-r17'], evidence: { matcher: 'alpine', feed: 'alpine-secdb', namespace: 'alpine:3.20', searchedName: 'busybox', searchedVersion: '1.36.1-r2' } });
  });
});
