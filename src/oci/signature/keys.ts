/** @module oci/signature/keys — cosign-compatible ECDSA P-256 key pairs: PEM PKIX public keys, scrypt + nacl/secretbox encrypted private keys. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { DistillError } from '../../errors.js';

/** PEM label cosign writes since v2 (and reads, with the older one). */
export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** PEM label older cosign releases wrote; still accepted. */
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';

/** scrypt work factors cosign (go-securesystemslib `encrypted`) uses by default. */
export const DEFAULT_SCRYPT = { N: 32768, r: 8, p: 1 } as const;

/** Work factors above these are refused: a hostile key file must not make us allocate gigabytes. */
const MAX_SCRYPT_N = 1 << 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;
const MAX_KEY_FILE = 64 * 1024;

export interface KeyPairPem {
  /** `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----` … (cosign.key). */
  privateKey: string;
  /** `-----BEGIN PUBLIC KEY-----` … PKIX (cosign.pub). */
  publicKey: string;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function keyInvalid(message: string, subject?: string, cause?: unknown): DistillError {
  return new DistillError('KEY_INVALID', message, { ...(subject === undefined ? {} : { subject }), ...(cause === undefined ? {} : { cause }) });
}

interface PemBlock {
  label: string;
  der: Buffer;
}

/** The first PEM block of a text; strict about the armour, lenient about line length and surrounding text. */
export function decodePem(text: string, subject = 'key'): PemBlock {
  if (text.length > MAX_KEY_FILE) throw keyInvalid(`${subject}: ${text.length} bytes is too large for a key file`, subject);
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/.exec(text);
  if (match === null) throw keyInvalid(`${subject}: no PEM block found`, subject);
  const body = match[2]!.replace(/[\r\n]/g, '');
  if (body === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw keyInvalid(`${subject}: PEM body is not valid base64`, subject);
  return { label: match[1]!, der: Buffer.from(body, 'base64') };
}

function encodePem(label: string, data: Buffer): string {
  const lines = data.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function scryptKey(password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // 128·N·r bytes is what scrypt needs; leave headroom for Node's own bookkeeping.
    scrypt(password, salt, nacl.secretbox.keyLength, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function ensureP256(key: KeyObject, subject: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}` : (key.asymmetricKeyType ?? 'unknown');
    throw keyInvalid(`${subject}: a ${kind} key, distill signs and verifies with ECDSA P-256 only`, subject);
  }
}

/**
 * Encrypts a PKCS#8 DER private key the way cosign does: scrypt derives a 32-byte key from the password and a
 * random 32-byte salt, nacl/secretbox (XSalsa20-Poly1305) seals the DER under a random 24-byte nonce, and the
 * JSON envelope `{kdf, cipher, ciphertext}` is the PEM body.
 */
export async function encryptPrivateKeyDer(pkcs8: Buffer, password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const key = await scryptKey(Buffer.from(password, 'utf8'), salt, params);
  const sealed = nacl.secretbox(new Uint8Array(pkcs8), new Uint8Array(nonce), new Uint8Array(key));
  const envelope = {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
  return encodePem(SIGSTORE_PRIVATE_KEY_PEM, Buffer.from(JSON.stringify(envelope), 'utf8'));
}

function field(object: unknown, name: string, subject: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw keyInvalid(`${subject}: encrypted key envelope is malformed (expected an object around "${name}")`, subject);
  return (object as Record<string, unknown>)[name];
}

function base64Field(value: unknown, what: string, subject: string, length?: number): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw keyInvalid(`${subject}: ${what} is not base64`, subject);
  const data = Buffer.from(value, 'base64');
  if (length !== undefined && data.length !== length) throw keyInvalid(`${subject}: ${what} must be ${length} bytes, got ${data.length}`, subject);
  return data;
}

function intField(value: unknown, what: string, max: number, subject: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw keyInvalid(`${subject}: scrypt ${what} must be an integer from 1 to ${max}`, subject);
  return value;
}

/** Opens the body of an `ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY` block; returns the PKCS#8 DER. */
export async function decryptPrivateKeyEnvelope(envelopeJson: Buffer, password: string, subject = 'private key'): Promise<Buffer> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(envelopeJson.toString('utf8'));
  } catch (error) {
    throw keyInvalid(`${subject}: encrypted key envelope is not JSON`, subject, error);
  }
  const kdf = field(envelope, 'kdf', subject);
  const cipher = field(envelope, 'cipher', subject);
  if (field(kdf, 'name', subject) !== 'scrypt') throw keyInvalid(`${subject}: unsupported key derivation ${JSON.stringify(field(kdf, 'name', subject))} (cosign keys use scrypt)`, subject);
  if (field(cipher, 'name', subject) !== 'nacl/secretbox') throw keyInvalid(`${subject}: unsupported cipher ${JSON.stringify(field(cipher, 'name', subject))} (cosign keys use nacl/secretbox)`, subject);
  const params = field(kdf, 'params', subject);
  const N = intField(field(params, 'N', subject), 'N', MAX_SCRYPT_N, subject);
  if ((N & (N - 1)) !== 0 || N < 2) throw keyInvalid(`${subject}: scrypt N must be a power of two`, subject);
  const r = intField(field(params, 'r', subject), 'r', MAX_SCRYPT_R, subject);
  const p = intField(field(params, 'p', subject), 'p', MAX_SCRYPT_P, subject);
  const salt = base64Field(field(kdf, 'salt', subject), 'salt', subject);
  const nonce = base64Field(field(cipher, 'nonce', subject), 'nonce', subject, nacl.secretbox.nonceLength);
  const ciphertext = base64Field(field(envelope, 'ciphertext', subject), 'ciphertext', subject);
  if (ciphertext.length < nacl.secretbox.overheadLength) throw keyInvalid(`${subject}: ciphertext is truncated`, subject);
  const key = await scryptKey(Buffer.from(password, 'utf8'), salt, { N, r, p });
  const opened = nacl.secretbox.open(new Uint8Array(ciphertext), new Uint8Array(nonce), new Uint8Array(key));
  if (opened === null) throw keyInvalid(`${subject}: cannot decrypt: wrong password, or the key file was modified`, subject);
  return Buffer.from(opened);
}

/** A new ECDSA P-256 key pair, the private half encrypted under `password` (an empty password is allowed, as in cosign). */
export async function generateKeyPair(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<KeyPairPem> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { privateKey: await encryptPrivateKeyDer(pkcs8, password, params), publicKey: exportPublicKeyPem(publicKey) };
}

/** Reads cosign.key: an encrypted (SIGSTORE or COSIGN labelled) PKCS#8 ECDSA P-256 key. */
export async function loadPrivateKey(pem: string, password: string, subject = 'private key'): Promise<KeyObject> {
  const block = decodePem(pem, subject);
  if (block.label !== SIGSTORE_PRIVATE_KEY_PEM && block.label !== COSIGN_PRIVATE_KEY_PEM) {
    throw keyInvalid(`${subject}: PEM block "${block.label}" is not a cosign private key (expected ${SIGSTORE_PRIVATE_KEY_PEM})`, subject);
  }
  const der = await decryptPrivateKeyEnvelope(block.der, password, subject);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw keyInvalid(`${subject}: decrypted key is not PKCS#8 (${(error as Error).message})`, subject, error);
  }
  ensureP256(key, subject);
  return key;
}

/** Reads cosign.pub: a PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo) for ECDSA P-256. */
export function loadPublicKey(pem: string, subject = 'public key'): KeyObject {
  const block = decodePem(pem, subject);
  if (block.label !== 'PUBLIC KEY') throw keyInvalid(`${subject}: PEM block "${block.label}" is not a PUBLIC KEY`, subject);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch (error) {
    throw keyInvalid(`${subject}: not a PKIX public key (${(error as Error).message})`, subject, error);
  }
  ensureP256(key, subject);
  return key;
}

export function exportPublicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return encodePem('PUBLIC KEY', publicKey.export({ format: 'der', type: 'spki' }));
}
