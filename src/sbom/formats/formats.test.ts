import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { sampleSbom } from '../../../test/fixtures/sbom/sample-sbom.js';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { cached, sharedDir, stockImage, trivyImagePackages } from '../../../test/helpers/oracles.js';
import type { Package, Sbom } from '../package.js';
import { decodeSbom, detectSbomFormat, encodeCycloneDx, encodeSbom } from './index.js';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'sbom');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

async function validateCycloneDx(json: string): Promise<unknown> {
  return new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(json);
}

const spdxValidator = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(fixtures, 'spdx-schema-2.3.json'), 'utf8')) as object);
})();

/** The fields every format must carry through a round trip. */
function core(pkg: Package): Record<string, unknown> {
  const base: Record<string, unknown> = { type: pkg.type, name: pkg.name, version: pkg.version, purl: pkg.purl, cpes: pkg.cpes, licenses: pkg.licenses };
  if (pkg.type === 'deb') Object.assign(base, { architecture: pkg.architecture, sourceName: pkg.sourceName, sourceVersion: pkg.sourceVersion, maintainer: pkg.maintainer });
  if (pkg.type === 'apk') Object.assign(base, { architecture: pkg.architecture, origin: pkg.origin });
  if (pkg.type === 'java-archive') Object.assign(base, { groupId: pkg.groupId, artifactId: pkg.artifactId });
  return base;
}

function sortedCore(sbom: Sbom): Array<Record<string, unknown>> {
  return sbom.packages.map(core).sort((a, b) => String(a.purl).localeCompare(String(b.purl)));
}

describe('CycloneDX 1.6', () => {
  const sbom = sampleSbom();
  const text = encodeSbom(sbom, 'cyclonedx-json');
  const bom = JSON.parse(text) as Record<string, any>;

  it('validates against the official 1.6 JSON schema (strict)', async () => {
    expect(await validateCycloneDx(text)).toBeNull();
  });

  it('writes the documented structure', () => {
    expect(bom.specVersion).toBe('1.6');
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bom.metadata.component).toMatchObject({ type: 'container', name: sbom.subject.reference, version: sbom.subject.digest, 'bom-ref': 'image' });
    const zlib = bom.components.find((c: any) => c.name === 'zlib1g');
    expect(zlib.purl).toBe('pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12.15');
    expect(zlib.cpe).toBe('cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*');
    expect(zlib.licenses).toEqual([{ license: { id: 'Zlib' } }]);
    expect(zlib.properties).toContainEqual({ name: 'distill:source:name', value: 'zlib' });
    expect(zlib.properties).toContainEqual({ name: 'distill:source:version', value: '1:1.2.13.dfsg-1' });
    const libc = bom.components.find((c: any) => c.name === 'libc6');
    expect(libc.licenses).toEqual([{ license: { id: 'LGPL-2.1' } }, { license: { id: 'GPL-2.0' } }, { license: { name: 'public-domain' } }]);
    const curl = bom.components.find((c: any) => c.name === 'curl');
    // An expression among other licenses cannot be an `expression` entry: it is kept verbatim as a name.
    expect(curl.licenses).toEqual([{ license: { id: 'curl' } }, { license: { id: 'BSD-3-Clause' } }, { license: { name: 'ISC OR MIT' } }]);
    const image = bom.dependencies.find((d: any) => d.ref === 'image');
    expect(image.dependsOn).toHaveLength(sbom.packages.length + 1);
    const libcurl = sbom.packages.find((p) => p.name === 'libcurl4') as Package;
    expect(bom.dependencies.find((d: any) => d.ref === libcurl.id).dependsOn).toHaveLength(2);
    const purls = bom.components.filter((c: any) => c.purl).map((c: any) => c.purl);
    expect(purls).toEqual([...purls].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('a lone expression is written as an expression and validates', async () => {
    const one = sampleSbom();
    (one.packages[0] as Package).licenses = ['MIT OR Apache-2.0'];
    const json = encodeSbom(one, 'cyclonedx-json');
    expect(await validateCycloneDx(json)).toBeNull();
    const first = (JSON.parse(json).components as any[]).find((c) => c.name === one.packages[0]?.name);
    expect(first.licenses).toEqual([{ expression: 'MIT OR Apache-2.0' }]);
    expect(decodeSbom(json).packages.find((p) => p.name === one.packages[0]?.name)?.licenses).toEqual(['MIT OR Apache-2.0']);
  });

  it('is byte-identical across encodes and changes serialNumber with the content', () => {
    expect(encodeSbom(sampleSbom(), 'cyclonedx-json')).toBe(text);
    const reordered = { ...sbom, packages: [...sbom.packages].reverse() };
    expect(encodeSbom(reordered, 'cyclonedx-json')).toBe(text);
    const changed = { ...sbom, createdAt: '2026-12-04T00:00:00Z' };
    expect(JSON.parse(encodeSbom(changed, 'cyclonedx-json')).serialNumber).not.toBe(bom.serialNumber);
  });

  it('round-trips packages, ids, relationships, distro and subject', () => {
    const back = decodeSbom(text);
    expect(detectSbomFormat(bom)).toBe('cyclonedx-json');
    expect(back.issues).toEqual([]);
    expect(sortedCore(back)).toEqual(sortedCore(sbom));
    expect(back.packages.map((p) => p.id).sort()).toEqual(sbom.packages.map((p) => p.id).sort());
    expect(back.packages.find((p) => p.name === 'libc6')?.locations).toEqual(sbom.packages.find((p) => p.name === 'libc6')?.locations);
    expect(back.relationships).toEqual(sbom.relationships);
    expect(back.sourcePackages).toEqual(sbom.sourcePackages);
    expect(back.distro).toEqual(sbom.distro);
    expect(back.subject).toEqual(sbom.subject);
    expect(back.tool).toEqual(sbom.tool);
    const go = back.packages.find((p) => p.type === 'go-module');
    expect(go).toMatchObject({ goVersion: 'go1.22.1', main: false });
    // Re-encoding the decoded document gives the same bytes (timestamps aside, which are equal here).
    expect(encodeSbom({ ...back, createdAt: sbom.createdAt }, 'cyclonedx-json')).toBe(text);
  });
});

describe('older CycloneDX versions', () => {
  it.each([
    ['1.4', CDX.Spec.Version.v1dot4],
    ['1.5', CDX.Spec.Version.v1dot5],
  ] as const)('writes valid %s and reads it back to the same packages', async (version, schema) => {
    const sbom = sampleSbom();
    const text = encodeCycloneDx(sbom, { specVersion: version });
    expect(JSON.parse(text).specVersion).toBe(version);
    expect(await new CDX.Validation.JsonStrictValidator(schema).validate(text)).toBeNull();
    const back = decodeSbom(text);
    expect(back.issues).toEqual([]);
    expect(sortedCore(back)).toEqual(sortedCore(sbom));
    expect(back.tool).toEqual(sbom.tool);
  });
});

describe('SPDX 2.3', () => {
  const sbom = sampleSbom();
  const text = encodeSbom(sbom, 'spdx-json');
  const doc = JSON.parse(text) as Record<string, any>;

  it('validates against the official SPDX 2.3 JSON schema', () => {
    const ok = spdxValidator(doc);
    expect(spdxValidator.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('writes ids, externalRefs, licenses and relationships as documented', () => {
    expect(doc.creationInfo).toEqual({ created: '2026-12-03T11:22:43Z', creators: ['Tool: distill-0.1.0'] });
    expect(doc.documentNamespace).toMatch(/^https:\/\/spdx\.org\/spdxdocs\/distill-docker-archive-work-cache-stock-nginx\.tar-[0-9a-f-]{36}$/);
    for (const p of doc.packages) expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    const stdcpp = doc.packages.find((p: any) => p.name === 'libstdc++6');
    expect(stdcpp.SPDXID).toMatch(/^SPDXRef-Package-deb-libstdc-6-[0-9a-f]{16}$/);
    expect(stdcpp.externalRefs).toEqual([
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14+deb12u1?arch=amd64&distro=debian-12.15' },
      { referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: 'cpe:2.3:a:gcc-12:gcc-12:12.2.0:*:*:*:*:*:*:*' },
    ]);
    expect(stdcpp.licenseDeclared).toBe('NOASSERTION');
    const libc = doc.packages.find((p: any) => p.name === 'libc6');
    expect(libc.licenseDeclared).toBe('LGPL-2.1 AND GPL-2.0 AND LicenseRef-public-domain');
    expect(libc.licenseConcluded).toBe('NOASSERTION');
    expect(libc.supplier).toBe('Person: GNU Libc Maintainers (debian-glibc@lists.debian.org)');
    const curl = doc.packages.find((p: any) => p.name === 'curl');
    expect(curl.licenseDeclared).toBe('curl AND BSD-3-Clause AND (ISC OR MIT)');
    expect(doc.hasExtractedLicensingInfos).toEqual([
      { licenseId: 'LicenseRef-public-domain', extractedText: 'public-domain', name: 'public-domain' },
    ]);
    const types = new Map<string, number>();
    for (const r of doc.relationships) types.set(r.relationshipType, (types.get(r.relationshipType) ?? 0) + 1);
    expect(Object.fromEntries(types)).toEqual({ DESCRIBES: 1, CONTAINS: sbom.packages.length + 1, GENERATED_FROM: 10, DEPENDS_ON: 2 });
    const glibcSource = doc.packages.find((p: any) => p.primaryPackagePurpose === 'SOURCE' && p.name === 'glibc');
    expect(doc.relationships).toContainEqual({ spdxElementId: libc.SPDXID, relationshipType: 'GENERATED_FROM', relatedSpdxElement: glibcSource.SPDXID });
  });

  it('is byte-identical across encodes', () => {
    expect(encodeSbom(sampleSbom(), 'spdx-json')).toBe(text);
    expect(encodeSbom({ ...sbom, packages: [...sbom.packages].reverse() }, 'spdx-json')).toBe(text);
  });

  it('round-trips packages, ids, relationships and distro', () => {
    const back = decodeSbom(text);
    expect(back.issues).toEqual([]);
    expect(sortedCore(back)).toEqual(sortedCore(sbom));
    expect(back.packages.map((p) => p.id).sort()).toEqual(sbom.packages.map((p) => p.id).sort());
    expect(back.relationships).toEqual(sbom.relationships);
    expect(back.sourcePackages).toEqual(sbom.sourcePackages);
    expect(back.distro).toEqual(sbom.distro);
    expect(back.subject).toEqual(sbom.subject);
    expect(back.tool).toEqual(sbom.tool);
  });

  it('reads SPDX 2.2 documents', () => {
    const v22 = { ...doc, spdxVersion: 'SPDX-2.2' };
    const back = decodeSbom(JSON.stringify(v22));
    expect(back.issues).toEqual([]);
    expect(back.packages).toHaveLength(sbom.packages.length);
  });
});

describe('native JSON and table', () => {
  const sbom = sampleSbom();
  it('native JSON round-trips the whole document and sorts keys', () => {
    const text = encodeSbom(sbom, 'json');
    expect(text.startsWith('{\n  "schemaVersion": "1",\n  "createdAt"')).toBe(true);
    expect(decodeSbom(text)).toEqual(sbom);
    expect(encodeSbom({ ...sbom, packages: sbom.packages.map((p) => ({ ...p })) }, 'json')).toBe(text);
  });

  it('table has aligned sorted columns, ARCH/SOURCE for OS packages, and a summary line', () => {
    const table = encodeSbom(sbom, 'table');
    const [subject, blank, ...lines] = table.trimEnd().split('\n');
    expect(subject).toContain(sbom.subject.reference);
    expect(blank).toBe('');
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+TYPE\s+ARCH\s+SOURCE\s+PATH$/);
    const versionColumn = (lines[0] as string).indexOf('VERSION');
    const bsd = lines.find((l) => l.startsWith('bsdutils')) as string;
    expect(bsd.indexOf('1:2.38.1-5+deb12u3')).toBe(versionColumn);
    expect(bsd).toMatch(/amd64\s+util-linux 2\.38\.1-5\+deb12u3$/);
    const names = lines.slice(1, -2).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual([...names].sort((a, b) => ((a as string) < (b as string) ? -1 : 1)));
    expect(lines.at(-1)).toMatch(/^15 packages \(deb 10, go-module 1, java-archive 1, npm 2, python 1\), 7 source packages(, \d+ issues? \(see --format json\))?$/);
    const narrow = encodeSbom(sbom, 'table', { width: 60 });
    // Table rows fit; the summary is a sentence and is never cut.
    for (const line of narrow.trimEnd().split('\n').slice(2, -2)) expect([...line].length).toBeLessThanOrEqual(60);
    expect(narrow).toContain('…');
  });
});

describe('decoding real Trivy output', () => {
  it('reads Trivy’s CycloneDX of stock nginx: 118 packages with Trivy’s purls and source packages', () => {
    const text = readFileSync(trivyImagePackages(stockImage('nginx'), 'nginx'), 'utf8');
    const trivy = JSON.parse(text) as { components: Array<{ purl?: string; type: string }> };
    const sbom = decodeSbom(text);
    expect(sbom.issues).toEqual([]);
    expect(sbom.packages.length).toBeGreaterThanOrEqual(118);
    expect(sbom.packages.length).toBeLessThanOrEqual(119);
    expect(new Set(sbom.packages.map((p) => p.purl))).toEqual(new Set(trivy.components.filter((c) => c.purl).map((c) => c.purl)));
    expect(sbom.distro).toMatchObject({ id: 'debian', versionId: '12', precise: '12.15' });
    expect(sbom.packages.every((p) => p.type === 'deb')).toBe(true);
    const zlib = sbom.packages.find((p) => p.name === 'zlib1g');
    expect(zlib).toMatchObject({ type: 'deb', version: '1:1.2.13.dfsg-1+deb12u1', architecture: 'amd64', sourceName: 'zlib', sourceVersion: '1:1.2.13.dfsg-1+deb12u1' });
    expect(sbom.packages.find((p) => p.name === 'libc6')).toMatchObject({ sourceName: 'glibc', sourceVersion: '2.36-9+deb12u14' });
    // Trivy's own dependency graph (e.g. adduser → passwd) survives as depends-on edges.
    const adduser = sbom.packages.find((p) => p.name === 'adduser') as Package;
    const passwd = sbom.packages.find((p) => p.name === 'passwd') as Package;
    expect(sbom.relationships).toContainEqual({ from: adduser.id, to: passwd.id, type: 'depends-on' });
    expect(sbom.sourcePackages.find((s) => s.name === 'glibc')?.purl).toBe('pkg:deb/debian/glibc@2.36-9+deb12u14?arch=source&distro=debian-12.15');
  });

  it('reads the committed Trivy fixture subset and re-encodes it as valid CycloneDX 1.6 and SPDX 2.3', async () => {
    const sbom = decodeSbom(readFileSync(join(fixtures, 'trivy-nginx-subset.cdx.json')));
    expect(sbom.packages.map((p) => p.name).sort()).toEqual(['adduser', 'bsdutils', 'libc6', 'libstdc++6', 'nginx', 'passwd', 'tzdata', 'zlib1g']);
    expect(sbom.packages.find((p) => p.name === 'libstdc++6')?.purl).toBe('pkg:deb/debian/libstdc%2B%2B6@12.2.0-14+deb12u1?arch=amd64&distro=debian-12.15');
    expect(sbom.packages.find((p) => p.name === 'bsdutils')?.version).toBe('1:2.38.1-5+deb12u3');
    expect(sbom.subject.configDigest).toBe('sha256:f39b9f97cf4eb73599d41d7bc74b591e35a8f743cf1e345cf245cf4e50e58be1');
    expect(await validateCycloneDx(encodeSbom(sbom, 'cyclonedx-json'))).toBeNull();
    expect(spdxValidator(JSON.parse(encodeSbom(sbom, 'spdx-json')))).toBe(true);
  });
});

/** Trivy's SPDX JSON for a docker-archive (the same Trivy build and flags as trivy-packages, format spdx-json). */
function trivyImageSpdx(archive: string, key: string): string {
  const trivy = execFileSync(join(sharedDir, 'tools', 'trivy-packages'), ['path'], { encoding: 'utf8' }).trim();
  const cache = join(process.env.DISTILL_ORACLE_CACHE ?? join(homedir(), '.cache', 'distill-oracles'), 'trivy-cache');
  return cached(`trivy-${key}.spdx.json`, (tmp) =>
    execFileSync(trivy, ['image', '--cache-dir', cache, '--skip-db-update', '--offline-scan', '--scanners', 'license', '--skip-files', '**/*.jar', '--format', 'spdx-json', '--quiet', '-o', tmp, '--input', archive], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

describe('decoding real Trivy SPDX output', () => {
  it('reads Trivy’s SPDX of stock nginx into the same packages as its CycloneDX', () => {
    const fromCdx = decodeSbom(readFileSync(trivyImagePackages(stockImage('nginx'), 'nginx')));
    const fromSpdx = decodeSbom(readFileSync(trivyImageSpdx(stockImage('nginx'), 'nginx')));
    expect(fromSpdx.packages.length).toBeGreaterThanOrEqual(118);
    const view = (s: Sbom) => s.packages.map((p) => (p.type === 'deb' ? [p.purl, p.name, p.version, p.architecture, p.sourceName, p.sourceVersion, p.maintainer] : [])).sort();
    expect(view(fromSpdx)).toEqual(view(fromCdx));
    expect(fromSpdx.distro).toMatchObject({ id: 'debian', precise: '12.15' });
    expect(fromSpdx.subject.configDigest).toBe(fromCdx.subject.configDigest);
    expect(fromSpdx.subject.layers).toEqual(fromCdx.subject.layers);
    // Trivy writes SPDX license ids (GPL-2.0-only) where its CycloneDX has names (GPL-2.0).
    expect(fromSpdx.packages.find((p) => p.name === 'zlib1g')?.licenses).toEqual(['Zlib']);
    expect(fromSpdx.packages.find((p) => p.name === 'apt')?.licenses).toEqual(['GPL-2.0-only', 'BSD-3-Clause', 'Expat']);
  });
});

describe('hostile and malformed input', () => {
  function code(fn: () => unknown): string | undefined {
    try {
      fn();
    } catch (error) {
      return isDistillError(error) ? error.code : `non-distill: ${String(error)}`;
    }
    return undefined;
  }

  it('rejects oversize input, invalid JSON and unknown documents with stable codes and hints', () => {
    expect(code(() => decodeSbom('{"bomFormat":"CycloneDX"}', { maxBytes: 10 }))).toBe('SBOM_INVALID');
    expect(code(() => decodeSbom(Buffer.alloc(64, 0x20), { maxBytes: 32 }))).toBe('SBOM_INVALID');
    expect(code(() => decodeSbom('{"bomFormat": "CycloneDX", '))).toBe('SBOM_INVALID');
    expect(code(() => decodeSbom('<?xml version="1.0"?><bom/>'))).toBe('SBOM_INVALID');
    expect(code(() => decodeSbom('['.repeat(200_000) + ']'.repeat(200_000)))).toMatch(/SBOM_INVALID|FORMAT_UNKNOWN/);
    expect(code(() => decodeSbom('null'))).toBe('FORMAT_UNKNOWN');
    expect(code(() => decodeSbom('{"hello": "world"}'))).toBe('FORMAT_UNKNOWN');
    expect(code(() => decodeSbom('{"schemaVersion":"99","subject":{},"packages":[]}'))).toBe('SBOM_INVALID');
    expect(code(() => encodeSbom(sampleSbom(), 'xml' as never))).toBe('FORMAT_UNKNOWN');
    try {
      decodeSbom('not json');
    } catch (error) {
      expect(isDistillError(error) && error.hint).toMatch(/CycloneDX JSON, SPDX JSON/);
    }
  });

  it('turns missing and wrong fields into issues, not crashes', () => {
    const cdx = decodeSbom(
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '9.9',
        components: [
          null,
          42,
          { type: 'library', name: 'no-purl' },
          { type: 'library', name: 'bad', purl: 'pkg:::' },
          { type: 'library', name: 'gem', purl: 'pkg:gem/rails@7.1.0' },
          { type: 'library', name: 'lodash', purl: 'pkg:npm/lodash@4.17.21', licenses: [{ license: 'MIT' }, { expression: 7 }], properties: [{ name: 1 }, 'x'] },
          { type: 'library', name: '__proto__', purl: 'pkg:npm/__proto__@1.0.0', properties: [{ name: '__proto__', value: 'polluted' }] },
        ],
        dependencies: [{ ref: 'x', dependsOn: 'not-an-array' }, null],
      }),
    );
    expect(cdx.packages.map((p) => p.name)).toEqual(['lodash', '__proto__']);
    expect(cdx.packages[0]?.licenses).toEqual([]);
    const codes = cdx.issues.map((i) => i.code).sort();
    expect(codes).toEqual(['FIELD_MISSING', 'FIELD_MISSING', 'FIELD_MISSING', 'PARSE_FAILED', 'PARSE_FAILED', 'PARSE_FAILED', 'UNSUPPORTED', 'UNSUPPORTED']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const spdx = decodeSbom(JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [{ name: 'x' }, 'y', { name: 'musl', externalRefs: [{ referenceType: 'purl', referenceLocator: 'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64' }] }] }));
    expect(spdx.packages).toHaveLength(1);
    expect(spdx.packages[0]).toMatchObject({ type: 'apk', name: 'musl', origin: 'musl', architecture: 'x86_64' });
    expect(spdx.issues.map((i) => i.code).sort()).toEqual(['FIELD_MISSING', 'FIELD_MISSING', 'PARSE_FAILED']);

    const native = decodeSbom(JSON.stringify({ schemaVersion: '1', subject: { reference: 'x' }, packages: [{ type: 'rpm' }, null] }));
    expect(native.packages).toEqual([]);
    expect(native.issues.map((i) => i.code)).toEqual(['FIELD_MISSING', 'FIELD_MISSING']);
  });

  it('bounds deep component nesting and floods of bad components', () => {
    let nested: Record<string, unknown> = { type: 'library', name: 'leaf', purl: 'pkg:npm/leaf@1.0.0' };
    for (let i = 0; i < 40; i++) nested = { type: 'library', name: `n${i}`, purl: `pkg:npm/n${i}@1.0.0`, components: [nested] };
    const deep = decodeSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { timestamp: '2026-12-03T00:00:00Z', component: { type: 'container', name: 'x' } }, components: [nested] }));
    expect(deep.packages.length).toBe(17);
    expect(deep.issues.map((i) => i.code)).toEqual(['NESTING_TOO_DEEP']);

    const flood = decodeSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { timestamp: 't', component: { name: 'x' } }, components: Array.from({ length: 5000 }, () => ({ type: 'library', name: 'x' })) }));
    expect(flood.issues.length).toBeLessThanOrEqual(21);
    expect(flood.issues.at(-1)?.message).toMatch(/4980 more issues/);
  });
});
