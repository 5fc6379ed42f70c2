import { describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { digestOf } from '../digest.js';
import { classifyDocument, kindOfArtifactType } from './artifact-kinds.js';
import { buildArtifactManifest, parseArtifactManifest } from './artifact-manifest.js';
import { mergeReferrersIndex, parseReferrersIndex, referrersTag, removeFromReferrersIndex } from './referrers-index.js';

const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('image'), size: 5 };
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return isDistillError(error) ? error.code : 'not a DistillError';
  }
  return undefined;
};

describe('referrers index (tag fallback)', () => {
  it('names the tag <alg>-<hex> and refuses digests that could escape a tag', () => {
    expect(referrersTag(`sha256:${'a'.repeat(64)}`)).toBe(`sha256-${'a'.repeat(64)}`);
    expect(code(() => referrersTag('sha256:../../etc'))).toBe('MANIFEST_INVALID');
  });

  it('merges by digest, keeps artifactType and annotations, removes', () => {
    const one = buildArtifactManifest({ artifactType: 'application/openvex+json', document: Buffer.from('{}'), subject, annotations: { a: '1' } });
    const two = buildArtifactManifest({ artifactType: 'application/spdx+json', document: Buffer.from('{"x":1}'), subject });
    let index = parseReferrersIndex(mergeReferrersIndex([], one.descriptor));
    index = parseReferrersIndex(mergeReferrersIndex(index, two.descriptor));
    index = parseReferrersIndex(mergeReferrersIndex(index, one.descriptor));
    expect(index.map((entry) => [entry.artifactType, entry.annotations])).toEqual([
      ['application/spdx+json', undefined],
      ['application/openvex+json', { a: '1' }],
    ]);
    expect(parseReferrersIndex(removeFromReferrersIndex(index, two.digest)).map((entry) => entry.digest)).toEqual([one.digest]);
  });

  it('hostile indexes are refused with a code, never a crash', () => {
    const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('x'), size: 1 };
    const cases: [string, string][] = [
      ['not json', 'x'],
      ['array', '[]'],
      ['docker list', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] })],
      ['no manifests', JSON.stringify({ schemaVersion: 2 })],
      ['bad digest', JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, digest: 'sha256:zz' }] })],
      ['negative size', JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, size: -1 }] })],
      ['artifactType not a string', JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, artifactType: 7 }] })],
      ['too many', JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: 10_001 }, () => entry) })],
    ];
    for (const [name, text] of cases) expect(code(() => parseReferrersIndex(Buffer.from(text))), name).toMatch(/MANIFEST_INVALID|UNSUPPORTED_MEDIA_TYPE/);
    expect(code(() => parseReferrersIndex(Buffer.alloc(5 * 1024 * 1024, 0x20)))).toBe('MANIFEST_INVALID');
  });
});

describe('artifact manifests', () => {
  it('OCI 1.1 form and the config fallback both read back with their artifact type and subject', () => {
    for (const form of ['artifactType', 'config'] as const) {
      const built = buildArtifactManifest({ artifactType: 'application/vnd.in-toto+json', document: Buffer.from('{}'), subject, form });
      const parsed = parseArtifactManifest(built.manifest);
      expect(parsed.artifactType).toBe('application/vnd.in-toto+json');
      expect(parsed.subject).toEqual(subject);
      expect(built.digest).toBe(digestOf(built.manifest));
    }
    const image = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('c'), size: 1 }, layers: [] });
    expect(parseArtifactManifest(Buffer.from(image)).artifactType).toBeUndefined();
    expect(code(() => parseArtifactManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }))))).toBe('MANIFEST_INVALID');
    expect(code(() => parseArtifactManifest(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json' }))))).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('classifies SBOM, VEX and provenance documents and refuses the wrong kind', () => {
    const cdx = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', vulnerabilities: [] }));
    expect(classifyDocument('sbom', cdx).format).toBe('CycloneDX 1.5');
    expect(classifyDocument('vex', cdx).format).toBe('CycloneDX 1.5 VEX');
    expect(classifyDocument('sbom', Buffer.from('{"spdxVersion":"SPDX-2.3"}')).mediaType).toBe('application/spdx+json');
    expect(classifyDocument('vex', Buffer.from('{"@context":"https://openvex.dev/ns/v0.2.0"}')).mediaType).toBe('application/openvex+json');
    const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x', digest: { sha256: 'a'.repeat(64) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} };
    expect(classifyDocument('provenance', Buffer.from(JSON.stringify(statement))).mediaType).toBe('application/vnd.in-toto+json');
    const dsse = { payloadType: 'application/vnd.in-toto+json', payload: '', signatures: [] };
    expect(classifyDocument('provenance', Buffer.from(JSON.stringify(dsse))).mediaType).toBe('application/vnd.dsse.envelope.v1+json');
    expect(code(() => classifyDocument('provenance', Buffer.from(JSON.stringify({ ...statement, subject: [{ name: 'x' }] }))))).toBe('SOURCE_UNRECOGNIZED');
    expect(code(() => classifyDocument('provenance', Buffer.from(JSON.stringify({ ...dsse, payloadType: 'text/plain' }))))).toBe('SOURCE_UNRECOGNIZED');
    expect(code(() => classifyDocument('sbom', Buffer.from('{"@context":"https://openvex.dev/ns/v0.2.0"}')))).toBe('SBOM_INVALID');
    expect(code(() => classifyDocument('vex', Buffer.from('{"bomFormat":"CycloneDX"}')))).toBe('VEX_INVALID');
    expect(code(() => classifyDocument('sbom', Buffer.from('"string"')))).toBe('SBOM_INVALID');
    expect(kindOfArtifactType('application/openvex+json')).toBe('vex');
    expect(kindOfArtifactType('application/octet-stream')).toBeUndefined();
  });
});
