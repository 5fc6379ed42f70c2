import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import type { Finding } from './finding.js';
import { applyVex, parseVex, purlCovers } from './vex.js';

function finding(vulnId: string, purl: string, aliases: string[] = [], packageId = purl): Finding {
  return {
    vulnId,
    aliases,
    packageId,
    packageName: purl.replace(/^pkg:[^/]+\/(?:[^/]+\/)?([^@?]+).*$/, '$1'),
    packageType: 'deb',
    installedVersion: '1',
    purl,
    fixState: 'fixed',
    fixedVersions: [],
    severity: { value: 'high', source: 'debian-tracker' },
    cvss: [],
    evidence: { matcher: 'debian', feed: 'debian-tracker', namespace: 'debian:bookworm', searchedName: 'x', searchedVersion: '1', rule: 'r', ranges: [] },
  };
}

const LIBC = 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12';
const ZLIB = 'pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12';

function openvex(statements: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 'test', timestamp: '2024-01-01T00:00:00Z', version: 1, statements, ...extra });
}

describe('purlCovers (purl spec matching)', () => {
  it('compares type/namespace/name, the version only when given, qualifiers only those given', () => {
    expect(purlCovers('pkg:deb/debian/libc6', LIBC)).toBe(true);
    expect(purlCovers('pkg:deb/debian/libc6@2.36-9%2Bdeb12u4', LIBC)).toBe(true);
    expect(purlCovers('pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64', LIBC)).toBe(true);
    expect(purlCovers('pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=arm64', LIBC)).toBe(false);
    expect(purlCovers('pkg:deb/debian/libc6@2.36-9%2Bdeb12u5', LIBC)).toBe(false);
    expect(purlCovers('pkg:deb/ubuntu/libc6', LIBC)).toBe(false);
    expect(purlCovers('pkg:rpm/debian/libc6', LIBC)).toBe(false);
    // The epoch may be written as a qualifier (Trivy) or in the version.
    expect(purlCovers('pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1', ZLIB)).toBe(true);
    expect(purlCovers('pkg:deb/debian/zlib1g@1.2.13.dfsg-1', ZLIB)).toBe(false);
    expect(purlCovers('pkg:pypi/Py_YAML@6.0', 'pkg:pypi/py-yaml@6.0')).toBe(true);
    expect(purlCovers('pkg:npm/%40babel/core@7.0.0', 'pkg:npm/%40babel/core@7.0.0')).toBe(true);
    expect(purlCovers('not a purl', LIBC)).toBe(false);
  });
});

describe('OpenVEX 0.2.0', () => {
  it('not_affected and fixed suppress with status, justification and statement id; affected does not', () => {
    const doc = parseVex(
      openvex([
        { vulnerability: { name: 'CVE-2023-4911' }, products: [{ '@id': 'pkg:deb/debian/libc6' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' },
        { vulnerability: { name: 'CVE-2023-45853', aliases: ['GHSA-xxxx'] }, products: [{ '@id': 'pkg:oci/nginx', subcomponents: [{ '@id': 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1' }] }], status: 'fixed' },
        { vulnerability: { name: 'CVE-2024-0001' }, products: [{ '@id': 'pkg:deb/debian/libc6' }], status: 'affected' },
        { vulnerability: { name: 'CVE-2099-0001' }, products: [{ '@id': 'pkg:deb/debian/openssl' }], status: 'not_affected', impact_statement: 'not shipped' },
      ]),
    );
    const input = [finding('CVE-2023-4911', LIBC), finding('DEBIAN-CVE-2023-45853', ZLIB, ['CVE-2023-45853']), finding('CVE-2024-0001', LIBC), finding('CVE-2023-4911', ZLIB)];
    const { findings, unmatchedStatements } = applyVex(input, [doc]);
    expect(findings[0]!.suppressed).toEqual({ kind: 'vex', reason: 'not_affected: vulnerable_code_not_in_execute_path', statement: 'https://example.com/vex/1#0' });
    expect(findings[1]!.suppressed).toEqual({ kind: 'vex', reason: 'fixed', statement: 'https://example.com/vex/1#1' });
    expect(findings[2]!.suppressed).toBeUndefined();
    expect(findings[3]!.suppressed).toBeUndefined();
    expect(unmatchedStatements).toHaveLength(1);
    expect(unmatchedStatements[0]).toMatch(/^https:\/\/example\.com\/vex\/1#3: CVE-2099-0001 \(not_affected\) for pkg:deb\/debian\/openssl matched no finding$/);
    expect(input[0]!.suppressed).toBeUndefined();
  });

  it('the latest statement per vulnerability and product wins, across documents', () => {
    const older = parseVex(openvex([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:deb/debian/libc6'], status: 'not_affected', justification: 'component_not_present', timestamp: '2024-01-01T00:00:00Z' }], { '@id': 'a' }));
    const newer = parseVex(openvex([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:deb/debian/libc6'], status: 'affected', timestamp: '2024-06-01T00:00:00Z' }], { '@id': 'b' }));
    expect(applyVex([finding('CVE-1', LIBC)], [newer, older]).findings[0]!.suppressed).toBeUndefined();
    const reinstated = parseVex(openvex([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:deb/debian/libc6'], status: 'not_affected', justification: 'inline_mitigations_already_exist', timestamp: '2024-07-01T00:00:00Z' }], { '@id': 'c' }));
    expect(applyVex([finding('CVE-1', LIBC)], [older, newer, reinstated]).findings[0]!.suppressed?.statement).toBe('c#0');
  });

  it('subcomponents need the product to be the scanned subject when subjects are given', () => {
    const doc = parseVex(openvex([{ vulnerability: { name: 'CVE-1' }, products: [{ '@id': 'pkg:oci/nginx?repository_url=docker.io/library/nginx', subcomponents: [{ '@id': 'pkg:deb/debian/libc6' }] }], status: 'fixed' }]));
    expect(applyVex([finding('CVE-1', LIBC)], [doc], { subjects: ['pkg:oci/redis'] }).findings[0]!.suppressed).toBeUndefined();
    expect(applyVex([finding('CVE-1', LIBC)], [doc], { subjects: ['pkg:oci/nginx@sha256%3Aabc?repository_url=docker.io/library/nginx'] }).findings[0]!.suppressed?.kind).toBe('vex');
  });

  it('hostile documents fail with VEX_INVALID naming the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['{', /malformed JSON/],
      ['[]', /JSON object/],
      ['{"hello": 1}', /neither OpenVEX/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:deb/debian/a'], status: 'not_affected' }]), /statements\[0\]: a not_affected statement needs/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:deb/debian/a'], status: 'maybe' }]), /statements\[0\]\.status: unknown status/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: [], status: 'fixed' }]), /statements\[0\]\.products/],
      [openvex([{ vulnerability: 7, products: ['x'], status: 'fixed' }]), /statements\[0\]\.vulnerability/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: [{ '@id': 5 }], status: 'fixed' }]), /products\[0\]\.@id/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: ['x'], status: 'fixed', timestamp: 'yesterday' }]), /timestamp: not a timestamp/],
      [openvex([{ vulnerability: { name: 'CVE-1' }, products: ['x'], status: 'not_affected', justification: 'trust me' }]), /unknown justification/],
      [JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0' }), /statements: missing/],
      ['['.repeat(200_000) + ']'.repeat(200_000), /JSON/],
      [JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', vulnerabilities: [{ id: 'CVE-1', analysis: { state: 'nope' }, affects: [{ ref: 'x' }] }] }), /analysis\.state: unknown state/],
      [JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', vulnerabilities: [{ id: 'CVE-1', analysis: { state: 'resolved' }, affects: [] }] }), /affects/],
    ];
    for (const [text, message] of bad) {
      let error: unknown;
      try {
        parseVex(text, 'vex.json');
      } catch (e) {
        error = e;
      }
      expect(isDistillError(error, 'VEX_INVALID'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as { hint?: string }).hint).toMatch(/OpenVEX 0\.2\.0/);
    }
    expect(() => parseVex(Buffer.alloc(65 << 20, 0x20))).toThrow(/larger than/);
  });
});

describe('CycloneDX VEX', () => {
  it('analysis.state not_affected / resolved / false_positive suppress, by purl ref, bom-ref or BOM-Link', () => {
    const doc = parseVex(
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
        version: 1,
        components: [{ 'bom-ref': 'libc-ref', type: 'library', name: 'libc6', purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4' }],
        vulnerabilities: [
          { id: 'CVE-1', analysis: { state: 'not_affected', justification: 'code_not_reachable', detail: 'only used at build time' }, affects: [{ ref: 'libc-ref' }] },
          { id: 'CVE-2', analysis: { state: 'resolved' }, affects: [{ ref: 'urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:deb/debian/zlib1g' }] },
          { id: 'CVE-3', analysis: { state: 'false_positive' }, affects: [{ ref: 'my-package-id' }] },
          { id: 'CVE-4', analysis: { state: 'exploitable' }, affects: [{ ref: 'libc-ref' }] },
          { id: 'CVE-5', ratings: [] },
        ],
      }),
    );
    expect(doc.statements).toHaveLength(4);
    const { findings, unmatchedStatements } = applyVex([finding('CVE-1', LIBC), finding('CVE-2', ZLIB), finding('CVE-3', ZLIB, [], 'my-package-id'), finding('CVE-4', LIBC)], [doc]);
    expect(findings.map((f) => f.suppressed?.reason)).toEqual(['not_affected: code_not_reachable: only used at build time', 'fixed', 'not_affected: false_positive', undefined]);
    expect(findings[0]!.suppressed?.statement).toBe('urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79#0');
    expect(unmatchedStatements).toEqual([]);
  });
});
