/** @module oci/digest — strict `alg:hex` digest parsing, hashing, and streams that verify digest and size as they flow. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DistillError } from '../errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex, exactly 64 (sha256) or 128 (sha512) characters. */
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_PATTERN = /^(sha256|sha512):([0-9a-f]+)$/;

/** Parses a digest strictly; anything else (other algorithms, upper case, `sha256:../x`) is rejected. */
export function parseDigest(text: unknown, subject = 'digest'): ParsedDigest {
  if (typeof text === 'string') {
    const match = DIGEST_PATTERN.exec(text);
    if (match) {
      const algorithm = match[1] as DigestAlgorithm;
      const hex = match[2]!;
      if (hex.length === HEX_LENGTH[algorithm]) return { algorithm, hex };
    }
  }
  const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 200)) : typeof text;
  throw new DistillError('MANIFEST_INVALID', `${subject}: invalid digest ${shown}`, {
    hint: 'digests must be sha256:<64 hex> or sha512:<128 hex>, lower case',
    subject,
  });
}

export function isDigest(text: unknown): text is string {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

/** Digest of a buffer in `alg:hex` form. */
export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export interface VerifyOptions {
  /** Expected digest (`alg:hex`); the algorithm of the hash follows it. Omit to only measure. */
  digest?: string;
  /** Expected byte count; exceeding it fails early, falling short fails at the end. */
  size?: number;
  /** What is being read, for error messages (a blob path or layer digest). */
  subject: string;
  /** Name used in mismatch messages: `blob` or `uncompressed layer (diffId)`. */
  what?: string;
}

/**
 * A pass-through stream that hashes and counts what flows through it and fails (SIZE_MISMATCH or
 * DIGEST_MISMATCH) instead of ending when the content is not what was expected.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private readonly expected: VerifyOptions;
  private readonly algorithm: DigestAlgorithm;
  private bytes = 0;

  constructor(options: VerifyOptions) {
    super();
    this.expected = options;
    this.algorithm = options.digest === undefined ? 'sha256' : parseDigest(options.digest, options.subject).algorithm;
    this.hash = createHash(this.algorithm);
  }

  /** Bytes seen so far. */
  get byteCount(): number {
    return this.bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { size } = this.expected;
    if (size !== undefined && this.bytes > size) {
      callback(this.sizeError(`at least ${this.bytes}`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { size, digest, subject } = this.expected;
    const what = this.expected.what ?? 'blob';
    if (size !== undefined && this.bytes !== size) {
      callback(this.sizeError(String(this.bytes)));
      return;
    }
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (digest !== undefined && actual !== digest) {
      callback(
        new DistillError('DIGEST_MISMATCH', `${what} ${subject}: expected digest ${digest}, actual ${actual}`, {
          hint: 'the image is corrupt or was modified after its manifest was written',
          subject,
        }),
      );
      return;
    }
    callback();
  }

  private sizeError(actual: string): DistillError {
    const { size, subject } = this.expected;
    const what = this.expected.what ?? 'blob';
    return new DistillError('SIZE_MISMATCH', `${what} ${subject}: expected ${size} bytes, actual ${actual}`, {
      hint: 'the blob is truncated or does not match its descriptor',
      subject,
    });
  }
}
