/** @module oci/layout/layout-store — file access to an OCI layout (directory or archive) and verified blob reads. */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DistillError } from '../../errors.js';
import type { Descriptor } from '../image.js';
import { digestOf, parseDigest } from '../digest.js';

/** Read access to the files of a layout by relative path (`index.json`, `blobs/sha256/…`). */
export interface LayoutStore {
  /** Human-readable location of the layout, for messages. */
  readonly location: string;
  /** Describes where a member lives, for messages. */
  describe(path: string): string;
  /** Size of a member, or undefined when absent. */
  size(path: string): Promise<number | undefined>;
  /** Reads a whole member, refusing ones larger than `maxSize`; undefined when absent. */
  read(path: string, maxSize: number): Promise<Buffer | undefined>;
  /** Streams a member; undefined when absent. */
  stream(path: string): Promise<Readable | undefined>;
  close(): Promise<void>;
}

/** `blobs/<alg>/<hex>` for a strictly validated digest (no path tricks possible). */
export function blobPath(digest: string, subject = 'digest'): string {
  const { algorithm, hex } = parseDigest(digest, subject);
  return `blobs/${algorithm}/${hex}`;
}

function blobNotFound(store: LayoutStore, descriptor: Descriptor, path: string): DistillError {
  return new DistillError('BLOB_NOT_FOUND', `blob ${descriptor.digest} (${descriptor.mediaType}) is missing from ${store.location}`, {
    hint: 'the layout is incomplete; copy the image again (e.g. skopeo copy) to fetch all blobs',
    subject: store.describe(path),
  });
}

/** Reads a small blob (manifest, index, config) and checks its size and digest against the descriptor. */
export async function readBlob(store: LayoutStore, descriptor: Descriptor, maxSize: number): Promise<Buffer> {
  const path = blobPath(descriptor.digest);
  if (descriptor.size > maxSize) {
    throw new DistillError('MANIFEST_INVALID', `blob ${descriptor.digest} declares ${descriptor.size} bytes, over the ${maxSize}-byte limit`, {
      subject: store.describe(path),
    });
  }
  const data = await store.read(path, maxSize);
  if (data === undefined) throw blobNotFound(store, descriptor, path);
  if (data.length !== descriptor.size) {
    throw new DistillError('SIZE_MISMATCH', `blob ${store.describe(path)}: expected ${descriptor.size} bytes, actual ${data.length}`, {
      subject: store.describe(path),
    });
  }
  const actual = digestOf(data, parseDigest(descriptor.digest).algorithm);
  if (actual !== descriptor.digest) {
    throw new DistillError('DIGEST_MISMATCH', `blob ${store.describe(path)}: expected digest ${descriptor.digest}, actual ${actual}`, {
      hint: 'the image is corrupt or was modified after its manifest was written',
      subject: store.describe(path),
    });
  }
  return data;
}

/** Opens a large blob (a layer) as a stream, failing with BLOB_NOT_FOUND when absent; verification is the caller's. */
export async function openBlob(store: LayoutStore, descriptor: Descriptor): Promise<Readable> {
  const path = blobPath(descriptor.digest);
  const stream = await store.stream(path);
  if (stream === undefined) throw blobNotFound(store, descriptor, path);
  return stream;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function tooLarge(location: string, size: number, maxSize: number): DistillError {
  return new DistillError('MANIFEST_INVALID', `${location}: ${size} bytes exceeds the ${maxSize}-byte limit`, { subject: location });
}

/** A layout in a directory. Paths come from constants or validated digests only. */
export class DirectoryLayoutStore implements LayoutStore {
  constructor(readonly location: string) {}

  describe(path: string): string {
    return join(this.location, path);
  }

  async size(path: string): Promise<number | undefined> {
    try {
      const info = await stat(join(this.location, path));
      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(path: string, maxSize: number): Promise<Buffer | undefined> {
    const full = join(this.location, path);
    let handle;
    try {
      handle = await open(full, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new DistillError('IO', `cannot open ${full}: ${(error as Error).message}`, { subject: full, cause: error });
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      if (info.size > maxSize) throw tooLarge(full, info.size, maxSize);
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async stream(path: string): Promise<Readable | undefined> {
    const full = join(this.location, path);
    try {
      const handle = await open(full, 'r');
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        return undefined;
      }
      return handle.createReadStream({ highWaterMark: 256 * 1024 });
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new DistillError('IO', `cannot open ${full}: ${(error as Error).message}`, { subject: full, cause: error });
    }
  }

  async close(): Promise<void> {}
}
