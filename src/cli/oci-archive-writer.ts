/** @module cli/oci-archive-writer — tars an OCI layout directory into an oci-archive file, streaming each blob (the copy destination `oci-archive:FILE`). */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarHeaderBlocks } from '../filesystem/tar/tar-writer.js';

const BLOCK = 512;

async function* layoutTar(dir: string, mtime: number): AsyncGenerator<Buffer> {
  const entry = (name: string, typeflag: string, mode: number, size: number) => tarHeaderBlocks({ name, typeflag, mode, uid: 0, gid: 0, size, mtime, linkName: '' });
  for (const name of ['blobs/', 'blobs/sha256/']) yield* entry(name, '5', 0o755, 0);
  const blobs = (await readdir(join(dir, 'blobs', 'sha256'))).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  const files = [...blobs.map((b) => `blobs/sha256/${b}`), 'oci-layout', 'index.json'];
  for (const name of files) {
    const path = join(dir, name);
    const { size } = await stat(path);
    yield* entry(name, '0', 0o644, size);
    for await (const chunk of createReadStream(path)) yield chunk as Buffer;
    if (size % BLOCK !== 0) yield Buffer.alloc(BLOCK - (size % BLOCK));
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** Writes `file` (via a temp name beside it) as a tar of the layout in `dir`, blobs first, index.json last. */
export async function writeLayoutArchive(dir: string, file: string, mtime = 0): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await pipeline(layoutTar(dir, mtime), createWriteStream(tmp, { flags: 'wx' }));
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}
