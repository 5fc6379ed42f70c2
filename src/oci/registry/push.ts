/** @module oci/registry/push — push an OCI layout, an archive or an opened Image (all platforms of an index) to a registry. */
import type { Image } from '../image.js';
import { DirectoryLayoutStore, type LayoutStore } from '../layout/layout-store.js';
import { ArchiveLayoutStore } from '../archive/archive-layout-store.js';
import { TarIndex } from '../archive/tar-index.js';
import { RegistryClient } from './client.js';
import { copyContent, imageSource, layoutSource, registrySink, type CopyOptions, type CopyResult } from './copy.js';
import { formatRegistryReference, type RegistryReference } from './registry-reference.js';

export interface PushOptions extends Omit<CopyOptions, 'tag'> {
  /** Client to push with (its credentials, TLS and retry settings); a private one is made and closed otherwise. */
  client?: RegistryClient;
}

export interface PushResult extends CopyResult {
  /** `host/repo:tag@digest` as pushed. */
  reference: string;
}

async function withClient<T>(options: PushOptions, work: (client: RegistryClient) => Promise<T>): Promise<T> {
  const client = options.client ?? new RegistryClient();
  try {
    return await work(client);
  } finally {
    if (options.client === undefined) await client.close();
  }
}

function finish(target: RegistryReference, result: CopyResult): PushResult {
  return { ...result, reference: formatRegistryReference({ ...target, digest: result.digest }) };
}

/** The tag to store under: the target's tag, or none when the target names a digest only. */
function tagOf(target: RegistryReference): string | undefined {
  return target.tag;
}

/** Pushes the entry `sourceTag` (or the only / `latest` one) of a layout store, with every manifest of an index. */
export async function pushLayoutStore(store: LayoutStore, name: string, target: RegistryReference, sourceTag: string | undefined, options: PushOptions = {}): Promise<PushResult> {
  return withClient(options, async (client) => {
    const tag = tagOf(target);
    const result = await copyContent(layoutSource(store, name, sourceTag), registrySink(client, target), { ...options, ...(tag !== undefined ? { tag } : {}) });
    return finish(target, result);
  });
}

/** Pushes an OCI layout directory (`oci:DIR[:TAG]`). */
export async function pushOciLayout(dir: string, target: RegistryReference, sourceTag?: string, options: PushOptions = {}): Promise<PushResult> {
  const store = new DirectoryLayoutStore(dir);
  try {
    return await pushLayoutStore(store, `oci:${dir}`, target, sourceTag, options);
  } finally {
    await store.close();
  }
}

/** Pushes an OCI archive (`oci-archive:FILE[:TAG]`), reading blobs by byte range from the tar. */
export async function pushOciArchive(file: string, target: RegistryReference, sourceTag?: string, options: PushOptions = {}): Promise<PushResult> {
  const store = new ArchiveLayoutStore(await TarIndex.build(file));
  try {
    return await pushLayoutStore(store, `oci-archive:${file}`, target, sourceTag, options);
  } finally {
    await store.close();
  }
}

/** Pushes one opened image (e.g. from a docker archive) as a single manifest. The image is not closed. */
export async function pushImage(image: Image, target: RegistryReference, options: PushOptions = {}): Promise<PushResult> {
  return withClient(options, async (client) => {
    const tag = tagOf(target);
    const source = { ...imageSource(image) };
    delete source.close;
    const result = await copyContent(source, registrySink(client, target), { ...options, ...(tag !== undefined ? { tag } : {}) });
    return finish(target, result);
  });
}
