/** @module server/upload — streams a request body to a private temp file under the data dir (never buffered whole), bounded in size, and sniffs what it is. */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { DistillError } from '../errors.js';

export type UploadKind = 'image' | 'sbom';

export interface StoredUpload {
  /** The private directory holding the file; remove it with `discard`. */
  dir: string;
  path: string;
  bytes: number;
  kind: UploadKind;
}

function tooLarge(limit: number): DistillError {
  return new DistillError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${limit} bytes`, { subject: 'request body' });
}

/**
 * Writes the body to `<dataDir>/uploads/<random>/upload` (mode 0600), failing with PAYLOAD_TOO_LARGE as soon as
 * the declared or the counted length passes `maxBytes`; nothing is left behind on failure. The client's file
 * name is never used as a path.
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
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  let bytes = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > options.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(options.maxBytes);
      }
      if (!out.write(value)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
  } catch (error) {
    out.destroy();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  if (bytes === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new DistillError('SOURCE_UNRECOGNIZED', 'the upload is empty', { subject: 'request body', hint: 'send a docker-archive or OCI archive (.tar) or a CycloneDX/SPDX JSON SBOM' });
  }
  try {
    return { dir, path, bytes, kind: await sniff(path) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export async function discard(upload: StoredUpload): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
}

/** A tar has "ustar" at offset 257 of its first header; an SBOM is a JSON object. Anything else is refused. */
async function sniff(path: string): Promise<UploadKind> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytesRead >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar') return 'image';
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (text.startsWith('{')) return 'sbom';
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      throw new DistillError('SOURCE_UNRECOGNIZED', 'the upload is gzip-compressed', { subject: 'request body', hint: 'send the uncompressed .tar written by `docker save`, `podman save` or `skopeo copy … oci-archive:`' });
    }
    throw new DistillError('SOURCE_UNRECOGNIZED', 'the upload is neither a tar archive (docker/OCI) nor a JSON SBOM', { subject: 'request body', hint: 'send a docker-archive or OCI archive (.tar) or a CycloneDX/SPDX JSON SBOM' });
  } finally {
    await handle.close();
  }
}
