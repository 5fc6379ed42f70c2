/** @module oci/signature/ecdsa — ECDSA P-256 / SHA-256 signatures (ASN.1 DER, base64) over payload bytes, and DSSE envelopes as cosign attestations carry them. */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { DistillError } from '../../errors.js';

/** Signs `payload` with SHA-256 + ECDSA; returns the DER signature in standard base64, as cosign stores it. */
export function signPayload(privateKey: KeyObject, payload: Buffer): string {
  return cryptoSign('sha256', payload, { key: privateKey, dsaEncoding: 'der' }).toString('base64');
}

/** Whether `base64Signature` is a valid ECDSA P-256 / SHA-256 signature of `payload` under `publicKey`. */
export function verifyPayload(publicKey: KeyObject, payload: Buffer, base64Signature: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64Signature) || base64Signature.length > 512) return false;
  const signature = Buffer.from(base64Signature, 'base64');
  try {
    return cryptoVerify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    // A signature that is not DER at all makes OpenSSL throw: that is a failed verification, not a crash.
    return false;
  }
}

/** DSSE pre-authentication encoding: `DSSEv1 <len> <type> <len> <payload>` (lengths in bytes, decimal). */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export interface DsseEnvelope {
  payloadType: string;
  /** The decoded payload bytes. */
  payload: Buffer;
  signatures: { keyid: string; sig: string }[];
}

/** Parses a DSSE envelope (`{payloadType, payload: base64, signatures: [{keyid, sig}]}`). */
export function parseDsseEnvelope(data: Buffer, subject = 'DSSE envelope'): DsseEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new DistillError('SIGNATURE_INVALID', `${subject}: not JSON`, { subject, cause: error });
  }
  const object = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  const payloadType = object?.payloadType;
  const payload = object?.payload;
  const signatures = object?.signatures;
  if (typeof payloadType !== 'string' || typeof payload !== 'string' || !Array.isArray(signatures)) {
    throw new DistillError('SIGNATURE_INVALID', `${subject}: needs payloadType, payload and signatures`, { subject });
  }
  return {
    payloadType,
    payload: Buffer.from(payload, 'base64'),
    signatures: signatures.map((entry: unknown, index) => {
      const item = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
      if (typeof item.sig !== 'string') throw new DistillError('SIGNATURE_INVALID', `${subject}: signatures[${index}].sig must be a string`, { subject });
      return { keyid: typeof item.keyid === 'string' ? item.keyid : '', sig: item.sig };
    }),
  };
}

/** True when at least one signature of the envelope verifies over its PAE under `publicKey`. */
export function verifyDsseEnvelope(publicKey: KeyObject, envelope: DsseEnvelope): boolean {
  const pae = dssePae(envelope.payloadType, envelope.payload);
  return envelope.signatures.some((signature) => verifyPayload(publicKey, pae, signature.sig));
}
