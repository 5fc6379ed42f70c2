/** @module server/upload — streams a request body to a private temp file under the data dir (never buffered whole), bounded in size (a gzip-wrapped body is inflated on the way, the bound applying to the decompressed bytes), and sniffs what it is. */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { DistillError } from '../errors.js';
import { inflateToFile, isGzip } from '../oci/archive/gzip-archive.js';

export type UploadKind = 'image' | 'sbom';

export interface StoredUpload {
  /** The private directory holding the file; remove it with `discard`. */
  dir: string;
  path: string;
  /** Bytes stored: the decompressed size when the body was gzip-wrapped. */
  bytes: number;
  /** Bytes received, when the body was gzip-wrapped and inflated on the way to disk. */
  compressedBytes?: number;
  kind: UploadKind;
}

function tooLarge(limit: number): DistillError {
  return new DistillError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${limit} bytes`, { subject: 'request body' });
}

/** Yields the body's chunks, failing with PAYLOAD_TOO_LARGE once the bytes received pass `maxBytes`. */
async function* received(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    bytes += value.byteLength;
    if (bytes > maxBytes) throw tooLarge(maxBytes);
    yield value;
  }
}

/** Reads chunks until the first two bytes are known, and gives back those bytes plus a stream of the whole body. */
async function peek(chunks: AsyncGenerator<Uint8Array>): Promise<{ head: Uint8Array; all: AsyncGenerator<Uint8Array> }> {
  const seen: Uint8Array[] = [];
  let length = 0;
  while (length < 2) {
    const next = await chunks.next();
    if (next.done === true) break;
    seen.push(next.value);
    length += next.value.byteLength;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    yield* chunks;
  }
  return { head: Buffer.concat(seen).subarray(0, 2), all: all() };
}

/**
 * Writes the body to `<dataDir>/uploads/<random>/upload` (mode 0600), failing with PAYLOAD_TOO_LARGE as soon as
 * the declared or the counted length passes `maxBytes`; nothing is left behind on failure. The client's file
 * name is never used as a path. A gzip-wrapped body (magic 1f 8b, whatever the file name) is inflated while
 * it streams to disk, and `maxBytes` then bounds the DECOMPRESSED bytes too, so a gzip bomb stops at the limit.
 */
export async function receiveUpload(body: ReadableStream<Uint8Array> | null, options: { dataDir: string; maxBytes: number; declaredLength?: number }): Promise<StoredUpload> {
  if (options.declaredLength !== undefined && options.declaredLength > options.maxBytes) {
    await body?.cancel().catch(() => undefined);
    throw tooLarge(options.maxBytes);
  }
  if (body === null) throw new DistillError('USAGE', 'the request has no body: send the docker/OCI archive or SBOM as the request body', { subject: 'request body' });
  const dir = join(options.dataDir, 'uploads', randomUUID());
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'upload');
  const reader = body.getReader();
  let bytes = 0;
  let compressedBytes: number | undefined;
  try {
    const { head, all } = await peek(received(reader, options.maxBytes));
    if (isGzip(head)) {
      let raw = 0;
      const counted = (async function* () {
        for await (const chunk of all) {
          raw += chunk.byteLength;
          yield chunk;
        }
      })();
      bytes = await inflateToFile(counted, path, {
        subject: 'request body',
        maxBytes: options.maxBytes,
        tooLarge: (limit) => new DistillError('PAYLOAD_TOO_LARGE', `the gzip-compressed upload decompresses to more than the limit of ${limit} bytes`, { subject: 'request body' }),
      });
      compressedBytes = raw;
    } else {
      const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      try {
        for await (const value of all) {
          bytes += value.byteLength;
          if (!out.write(value)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'close');
      } catch (error) {
        out.destroy();
        throw error;
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  if (bytes === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new DistillError('SOURCE_UNRECOGNIZED', compressedBytes === undefined ? 'the upload is empty' : 'the upload decompresses to nothing', { subject: 'request body', hint: 'send a docker-archive or OCI archive (.tar, or .tar.gz) or a CycloneDX/SPDX JSON SBOM' });
  }
  try {
    return { dir, path, bytes, ...(compressedBytes !== undefined ? { compressedBytes } : {}), kind: await sniff(path) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export async function discard(upload: StoredUpload): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
}

/** Sniffs the stored (decompressed) file. A tar has "ustar" at offset 257 of its first header; an SBOM is a JSON object. Anything else is refused. */
async function sniff(path: string): Promise<UploadKind> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytesRead >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar') return 'image';
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (text.startsWith('{')) return 'sbom';
    if (isGzip(bytes)) {
      // The outer gzip layer is inflated on receipt; a second one inside is not unwrapped.
      throw new DistillError('SOURCE_UNRECOGNIZED', 'the upload is gzip-compressed twice', { subject: 'request body', hint: 'send the .tar written by `docker save`, `podman save` or `skopeo copy … oci-archive:`, plain or gzip-compressed once' });
    }
    throw new DistillError('SOURCE_UNRECOGNIZED', 'the upload is neither a tar archive (docker/OCI) nor a JSON SBOM', { subject: 'request body', hint: 'send a docker-archive or OCI archive (.tar) or a CycloneDX/SPDX JSON SBOM' });
  } finally {
    await handle.close();
  }
}
