import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../src/errors.js';
import { dssePae, parseDsseEnvelope, signPayload, verifyDsseEnvelope, verifyPayload } from '../src/oci/signature/ecdsa.js';
import { decodePem, exportPublicKeyPem, generateKeyPair, loadPrivateKey, loadPublicKey, SIGSTORE_PRIVATE_KEY_PEM } from '../src/oci/signature/keys.js';
import { encodeSimpleSigningPayload, goJson, parseSimpleSigningPayload, SIMPLE_SIGNING_MEDIA_TYPE } from '../src/oci/signature/payload.js';
import { buildSignatureManifest, parseSignatureManifest, SIGNATURE_ANNOTATION, signatureTag } from '../src/oci/signature/signature-manifest.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'cosign');
const fixture = (name: string): Buffer => readFileSync(join(fixtures, name));
// Cheap scrypt for round trips in tests; the cosign fixtures use cosign's real N=32768.
const FAST = { N: 1024, r: 8, p: 1 };

async function rejects(promise: Promise<unknown> | (() => unknown), code: string): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(isDistillError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return (error as Error).message;
  }
  throw new Error(`expected ${code}`);
}

describe('cosign test data (sigstore/cosign, see test/fixtures/cosign/PROVENANCE.md)', () => {
  const publicKey = loadPublicKey(fixture('attestation-key.pub').toString('utf8'), 'attestation-key.pub');

  it('verifies the signature cosign made over its SLSA provenance DSSE envelope', () => {
    const envelope = parseDsseEnvelope(fixture('slsa-provenance.dsse.json'));
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(verifyDsseEnvelope(publicKey, envelope)).toBe(true);
    expect(verifyDsseEnvelope(publicKey, parseDsseEnvelope(fixture('multiple-subjects.dsse.json')))).toBe(true);
  });

  it('rejects the cosign envelope after one payload byte changes, or under another key', () => {
    const envelope = parseDsseEnvelope(fixture('slsa-provenance.dsse.json'));
    const tampered = Buffer.from(envelope.payload);
    tampered[tampered.length - 3] ^= 1;
    expect(verifyDsseEnvelope(publicKey, { ...envelope, payload: tampered })).toBe(false);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    expect(verifyDsseEnvelope(other, envelope)).toBe(false);
    const signature = envelope.signatures[0]!.sig;
    expect(verifyPayload(publicKey, dssePae(envelope.payloadType, envelope.payload), signature)).toBe(true);
    expect(verifyPayload(publicKey, dssePae('application/json', envelope.payload), signature)).toBe(false);
  });

  it('decrypts cosign-encrypted private keys (SIGSTORE and COSIGN labels) with the password cosign used', async () => {
    for (const name of ['sigstore-labelled.key', 'cosign-labelled.key']) {
      const key = await loadPrivateKey(fixture(name).toString('utf8'), 'hello', name);
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      // The decrypted key signs, and its own public half verifies.
      const publicPem = exportPublicKeyPem(key);
      expect(verifyPayload(loadPublicKey(publicPem), Buffer.from('x'), signPayload(key, Buffer.from('x')))).toBe(true);
    }
  });

  it('refuses a wrong password, a SEC1 plaintext (cosign refuses it too) and a plain P-384 key', async () => {
    expect(await rejects(loadPrivateKey(fixture('sigstore-labelled.key').toString('utf8'), 'wrong'), 'KEY_INVALID')).toMatch(/wrong password/);
    expect(await rejects(loadPrivateKey(fixture('cosign-labelled-sec1.key').toString('utf8'), 'hello'), 'KEY_INVALID')).toMatch(/PKCS#8/);
    expect(await rejects(loadPrivateKey(fixture('ec-p384-plain.key').toString('utf8'), 'hello'), 'KEY_INVALID')).toMatch(/not a cosign private key/);
  });

  it('writes the exact simple-signing payload bytes cosign writes', () => {
    const payload = encodeSimpleSigningPayload({
      dockerReference: 'index.docker.io/namespace/image',
      manifestDigest: 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec',
    });
    expect(payload.equals(fixture('simple-signing-payload.json'))).toBe(true);
    const parsed = parseSimpleSigningPayload(payload);
    expect(parsed).toEqual({
      dockerReference: 'index.docker.io/namespace/image',
      manifestDigest: 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec',
      type: 'cosign container image signature',
      optional: null,
    });
  });
});

describe('keys', () => {
  it('round-trips an encrypted key pair: the PEM labels and envelope are cosign\'s', async () => {
    const pair = await generateKeyPair('s3cret', FAST);
    expect(pair.privateKey.startsWith(`-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM}-----\n`)).toBe(true);
    expect(pair.publicKey.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    const envelope = JSON.parse(decodePem(pair.privateKey).der.toString('utf8'));
    expect(envelope.kdf).toMatchObject({ name: 'scrypt', params: FAST });
    expect(Buffer.from(envelope.kdf.salt, 'base64')).toHaveLength(32);
    expect(envelope.cipher.name).toBe('nacl/secretbox');
    expect(Buffer.from(envelope.cipher.nonce, 'base64')).toHaveLength(24);
    const key = await loadPrivateKey(pair.privateKey, 's3cret');
    expect(exportPublicKeyPem(key)).toBe(pair.publicKey);
    await rejects(loadPrivateKey(pair.privateKey, 's3cret!'), 'KEY_INVALID');
  });

  it('default key generation uses cosign\'s scrypt cost and an empty password works', async () => {
    const pair = await generateKeyPair('');
    expect(JSON.parse(decodePem(pair.privateKey).der.toString('utf8')).kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    expect((await loadPrivateKey(pair.privateKey, '')).asymmetricKeyType).toBe('ec');
  });

  it('malformed keys are KEY_INVALID, never a crash', async () => {
    const pair = await generateKeyPair('pw', FAST);
    const der = decodePem(pair.privateKey).der;
    const envelope = JSON.parse(der.toString('utf8'));
    const rewrap = (value: unknown): string => `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM}-----\n${Buffer.from(JSON.stringify(value)).toString('base64')}\n-----END ${SIGSTORE_PRIVATE_KEY_PEM}-----\n`;
    const flipped = Buffer.from(envelope.ciphertext, 'base64');
    flipped[5] ^= 0x40;
    const cases: [string, string][] = [
      ['empty', ''],
      ['not PEM', 'hello world'],
      ['bad base64', `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM}-----\n@@@@\n-----END ${SIGSTORE_PRIVATE_KEY_PEM}-----\n`],
      ['not JSON', `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM}-----\n${Buffer.from('nope').toString('base64')}\n-----END ${SIGSTORE_PRIVATE_KEY_PEM}-----\n`],
      ['other kdf', rewrap({ ...envelope, kdf: { ...envelope.kdf, name: 'pbkdf2' } })],
      ['other cipher', rewrap({ ...envelope, cipher: { ...envelope.cipher, name: 'aes' } })],
      ['huge N (memory bomb)', rewrap({ ...envelope, kdf: { ...envelope.kdf, params: { N: 2 ** 30, r: 8, p: 1 } } })],
      ['N not a power of two', rewrap({ ...envelope, kdf: { ...envelope.kdf, params: { N: 1000, r: 8, p: 1 } } })],
      ['short nonce', rewrap({ ...envelope, cipher: { ...envelope.cipher, nonce: 'AAAA' } })],
      ['flipped ciphertext bit', rewrap({ ...envelope, ciphertext: flipped.toString('base64') })],
      ['truncated ciphertext', rewrap({ ...envelope, ciphertext: 'AAAA' })],
      ['public key given as private', pair.publicKey],
      ['huge file', 'A'.repeat(100_000)],
    ];
    for (const [name, pem] of cases) {
      const message = await rejects(loadPrivateKey(pem, 'pw', name), 'KEY_INVALID');
      expect(message, name).not.toContain('pw');
    }
  });

  it('public keys must be PKIX ECDSA P-256', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(await rejects(() => loadPublicKey(p384), 'KEY_INVALID')).toMatch(/secp384r1.*P-256/);
    expect(await rejects(() => loadPublicKey(rsa), 'KEY_INVALID')).toMatch(/rsa/);
    await rejects(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), 'KEY_INVALID');
    await rejects(() => loadPublicKey(fixture('sigstore-labelled.key').toString('utf8')), 'KEY_INVALID');
  });
});

describe('signatures and payloads', () => {
  it('sign + verify round trip; a changed payload, another key or a garbage signature fails', async () => {
    const pair = await generateKeyPair('pw', FAST);
    const key = await loadPrivateKey(pair.privateKey, 'pw');
    const publicKey = loadPublicKey(pair.publicKey);
    const payload = encodeSimpleSigningPayload({ dockerReference: '127.0.0.1:5000/team/app', manifestDigest: `sha256:${'a'.repeat(64)}` });
    const signature = signPayload(key, payload);
    expect(Buffer.from(signature, 'base64')[0]).toBe(0x30); // ASN.1 DER SEQUENCE, as cosign stores it
    expect(verifyPayload(publicKey, payload, signature)).toBe(true);
    const tampered = Buffer.from(payload.toString('utf8').replace('team/app', 'team/apq'));
    expect(verifyPayload(publicKey, tampered, signature)).toBe(false);
    expect(verifyPayload(loadPublicKey((await generateKeyPair('x', FAST)).publicKey), payload, signature)).toBe(false);
    for (const garbage of ['', 'not base64!', 'AAAA', 'MEUCIQ==', 'A'.repeat(2000)]) expect(verifyPayload(publicKey, payload, garbage)).toBe(false);
  });

  it('encodes like Go: HTML characters escaped, optional map keys sorted', () => {
    expect(goJson({ b: '<&>', a: [1, true, null] })).toBe('{"a":[1,true,null],"b":"\\u003c\\u0026\\u003e"}');
    const payload = encodeSimpleSigningPayload({ dockerReference: 'r/x', manifestDigest: `sha256:${'b'.repeat(64)}`, optional: { z: '1', a: '2' } });
    expect(payload.toString()).toContain('"optional":{"a":"2","z":"1"}');
    expect(parseSimpleSigningPayload(payload).optional).toEqual({ a: '2', z: '1' });
  });

  it('hostile payloads are SIGNATURE_INVALID', async () => {
    for (const text of ['', 'null', '[]', '{"critical":1}', '{"critical":{"identity":{},"image":{},"type":"x"}}', '{"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"d"},"type":"t"}}']) {
      await rejects(() => parseSimpleSigningPayload(Buffer.from(text)), 'SIGNATURE_INVALID');
    }
    await rejects(() => parseSimpleSigningPayload(Buffer.alloc(200_000, 0x20)), 'SIGNATURE_INVALID');
  });

  it('the .sig manifest: tag name, simple-signing layer with the signature annotation, signatures accumulate', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    expect(signatureTag(digest)).toBe(`sha256-${'c'.repeat(64)}.sig`);
    const payload = encodeSimpleSigningPayload({ dockerReference: 'r/x', manifestDigest: digest });
    const first = buildSignatureManifest([], payload, 'MEUCIQsig1');
    const manifest = JSON.parse(first.manifest.toString());
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(manifest.layers).toEqual([{ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: expect.stringMatching(/^sha256:/), annotations: { [SIGNATURE_ANNOTATION]: 'MEUCIQsig1' } }]);
    const again = buildSignatureManifest(parseSignatureManifest(first.manifest), payload, 'MEUCIQsig1');
    expect(again.manifest.equals(first.manifest)).toBe(true);
    const second = buildSignatureManifest(parseSignatureManifest(first.manifest), payload, 'MEUCIQsig2');
    expect(parseSignatureManifest(second.manifest).map((layer) => layer.signature)).toEqual(['MEUCIQsig1', 'MEUCIQsig2']);
    expect(() => signatureTag('sha256:../../x')).toThrow();
  });
});
