import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../src/errors.js';
import { digestOf } from '../src/oci/digest.js';
import { MediaType } from '../src/oci/media-types.js';
import type { RegistryClient } from '../src/oci/registry/client.js';
import { signImage, verifyImage } from '../src/oci/signature/sign-image.js';
import { pushSmallImage, pushVariant, serveSmallImage, type TestRegistry } from './helpers/registry.js';
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
    tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 1;
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
    flipped[5] = flipped[5]! ^ 0x40;
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

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('sign and verify against Debian docker-registry 2.8', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  const repo = () => ({ registry: registry.host, repository: 'team/app' });

  serveSmallImage('team/app:1.0', (served, servedClient) => {
    registry = served;
    client = servedClient;
  });

  it('a distill signature verifies; the .sig object is what cosign stores; it fails once the tag moves to other content', async () => {
    const pair = await generateKeyPair('pw', FAST);
    const privateKey = await loadPrivateKey(pair.privateKey, 'pw');
    const publicKey = loadPublicKey(pair.publicKey);
    const signed = await signImage(client, { ...repo(), tag: '1.0' }, { privateKey, annotations: { build: '42' } });
    const original = signed.digest;
    expect(signed.signatureReference).toBe(`${registry.host}/team/app:sha256-${original.slice(7)}.sig`);
    expect(signed.payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"${registry.host}/team/app"},"image":{"docker-manifest-digest":"${original}"},"type":"cosign container image signature"},"optional":{"build":"42"}}`,
    );

    // skopeo, an independent client, reads the signature object: the cosign layer type and annotation.
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${signed.signatureReference}`]);
    const sig = JSON.parse(stdout);
    expect(sig.mediaType).toBe(MediaType.ociManifest);
    expect(sig.layers).toEqual([{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: signed.payload.length, digest: digestOf(signed.payload), annotations: { 'dev.cosignproject.cosign/signature': signed.signature } }]);

    const verified = await verifyImage(client, { ...repo(), tag: '1.0' }, { publicKey });
    expect(verified.digest).toBe(original);
    expect(verified.verified.map((item) => item.claims.optional)).toEqual([{ build: '42' }]);
    await expect(verifyImage(client, { ...repo(), tag: '1.0' }, { publicKey, requireAnnotations: { build: '43' } })).rejects.toThrow(/lacks the required annotation\(s\) build=43/);

    // Another key does not verify it.
    const other = loadPublicKey((await generateKeyPair('x', FAST)).publicKey);
    const wrongKey = await verifyImage(client, { ...repo(), tag: '1.0' }, { publicKey: other }).catch((error: unknown) => error);
    expect(isDistillError(wrongKey, 'SIGNATURE_INVALID')).toBe(true);
    expect((wrongKey as Error).message).toMatch(/does not verify under this public key/);

    // The tag moves to different content: that content has no signature.
    const moved = await pushVariant(client, registry, 'team/app', '1.0', 'moved');
    expect(moved).not.toBe(original);
    const afterMove = await verifyImage(client, { ...repo(), tag: '1.0' }, { publicKey }).catch((error: unknown) => error);
    expect(isDistillError(afterMove, 'SIGNATURE_NOT_FOUND')).toBe(true);
    // The original content, named by digest, still verifies.
    expect((await verifyImage(client, { ...repo(), digest: original }, { publicKey })).verified).toHaveLength(1);

    // Replaying the old signature object under the new digest's .sig tag: the payload signs the old digest.
    const oldSig = await client.getManifest({ ...repo(), tag: `sha256-${original.slice(7)}.sig` });
    await client.putManifest(repo(), `sha256-${moved.slice(7)}.sig`, oldSig.data, MediaType.ociManifest);
    const replayed = await verifyImage(client, { ...repo(), tag: '1.0' }, { publicKey }).catch((error: unknown) => error);
    expect(isDistillError(replayed, 'SIGNATURE_INVALID')).toBe(true);
    expect((replayed as Error).message).toContain(`the payload signs ${original}, but 1.0 now resolves to ${moved}`);
  });

  it('a tampered payload fails; a second key adds a second signature and both verify', async () => {
    await pushSmallImage(registry, 'team/tamper:1');
    const location = { registry: registry.host, repository: 'team/tamper', tag: '1' };
    const first = await generateKeyPair('a', FAST);
    const firstKey = await loadPrivateKey(first.privateKey, 'a');
    const signed = await signImage(client, location, { privateKey: firstKey });

    // An attacker rewrites the payload (other docker-reference) and keeps the signature annotation.
    const tag = `sha256-${signed.digest.slice(7)}.sig`;
    const sigManifest = JSON.parse((await client.getManifest({ ...location, tag })).data.toString());
    const tampered = Buffer.from(signed.payload.toString().replace('team/tamper', 'team/tamperX'));
    await client.pushBlob(location, { digest: digestOf(tampered), size: tampered.length }, tampered);
    const forged = { ...sigManifest, layers: [{ ...sigManifest.layers[0], digest: digestOf(tampered), size: tampered.length }] };
    await client.putManifest(location, tag, Buffer.from(JSON.stringify(forged)), MediaType.ociManifest);
    const error = await verifyImage(client, location, { publicKey: loadPublicKey(first.publicKey) }).catch((caught: unknown) => caught);
    expect(isDistillError(error, 'SIGNATURE_INVALID')).toBe(true);

    // Re-sign (the forged layer stays, rejected), then a second key signs too.
    await signImage(client, location, { privateKey: firstKey });
    const second = await generateKeyPair('b', FAST);
    const both = await signImage(client, location, { privateKey: await loadPrivateKey(second.privateKey, 'b') });
    expect(both.signatureCount).toBe(3);
    for (const pair of [first, second]) {
      const result = await verifyImage(client, location, { publicKey: loadPublicKey(pair.publicKey) });
      expect(result.verified).toHaveLength(1);
      expect(result.rejected).toHaveLength(2);
    }
  });

  it('distill generate-key-pair / sign / verify (CLI): exit 0 when valid, 5 with the reason when not', async () => {
    await pushSmallImage(registry, 'cli/signed:1');
    const dir = mkdtempSync(join(tmpdir(), 'distill-sign-cli-'));
    const env = { ...process.env, DISTILL_KEY_PASSWORD: 'cli-pass' };
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      run('node', [CLI, ...args], { env: { ...env, ...extra }, cwd: dir }).then(
        (out) => ({ code: 0, ...out }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const generated = await cli(['generate-key-pair']);
    expect(generated).toMatchObject({ code: 0, stdout: 'Private key written to cosign.key\nPublic key written to cosign.pub\n' });
    expect(statSync(join(dir, 'cosign.key')).mode & 0o777).toBe(0o600);
    expect((await cli(['generate-key-pair'])).code).toBe(4); // never overwrites a key silently
    const image = `${registry.host}/cli/signed:1`;
    const signed = await cli(['sign', image, '--key', 'cosign.key']);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/^signed 127\.0\.0\.1:\d+\/cli\/signed@sha256:[0-9a-f]{64}\n {2}signature .*:sha256-[0-9a-f]{64}\.sig \(1 signature\)\n$/);
    const verified = await cli(['verify', image, '--key', 'cosign.pub']);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^verified .* with cosign\.pub\n/);
    const wrongPassword = await cli(['sign', image, '--key', 'cosign.key'], { DISTILL_KEY_PASSWORD: 'nope' });
    expect(wrongPassword.code, wrongPassword.stderr).toBe(3);
    expect(wrongPassword.stderr).toContain('[KEY_INVALID]');
    expect(wrongPassword.stderr).not.toContain('nope');
    // COSIGN_PASSWORD works too, as with cosign.
    const viaCosignEnv = await run('node', [CLI, 'sign', image, '--key', 'cosign.key'], { env: { ...process.env, DISTILL_KEY_PASSWORD: undefined, COSIGN_PASSWORD: 'cli-pass' }, cwd: dir });
    expect(viaCosignEnv.stdout).toContain('signed ');
    expect((await cli(['sign', '--generate-key', '--key-prefix', 'other'])).code).toBe(0);
    expect(existsSync(join(dir, 'other.pub'))).toBe(true);
    const wrongKey = await cli(['verify', image, '--key', 'other.pub']);
    expect(wrongKey.code).toBe(5);
    expect(wrongKey.stderr).toMatch(/no valid signature .*does not verify under this public key.*\[SIGNATURE_INVALID\]/);
    await pushVariant(client, registry, 'cli/signed', '1', 'moved');
    const moved = await cli(['verify', image, '--key', 'cosign.pub']);
    expect(moved.code).toBe(5);
    expect(moved.stderr).toMatch(/no signature for .*\[SIGNATURE_NOT_FOUND\]/);
    const badKey = await cli(['verify', image, '--key', 'cosign.key']);
    expect(badKey.code).toBe(3);
    expect(badKey.stderr).toContain('[KEY_INVALID]');
  });
});
