/** @module oci/registry/copy-reference — `copy SRC DEST` by reference: oci:, oci-archive:, docker-archive: or a registry image into a registry or an OCI layout. */
import { DistillError } from '../../errors.js';
import { openDockerArchive } from '../archive/docker-archive.js';
import { ArchiveLayoutStore } from '../archive/archive-layout-store.js';
import { TarIndex } from '../archive/tar-index.js';
import { DirectoryLayoutStore } from '../layout/layout-store.js';
import { parseReference } from '../reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { copyContent, imageSource, layoutSink, layoutSource, registrySink, registrySource, type ContentSink, type ContentSource, type CopyOptions, type CopyResult } from './copy.js';
import { formatRegistryReference, parseRegistryReference, type RegistryReference } from './registry-reference.js';

export type CopyDestination = { kind: 'registry'; reference: RegistryReference } | { kind: 'oci'; dir: string; tag: string };

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * Parses a copy destination: `oci:DIR[:TAG]` (the directory need not exist; TAG defaults to latest),
 * `registry:REF`, `docker://REF` or a bare Docker reference. Archives are not destinations.
 */
export function parseDestination(text: string): CopyDestination {
  if (text.startsWith('oci:')) {
    const rest = text.slice(4);
    const colon = rest.lastIndexOf(':');
    const suffix = colon > 0 ? rest.slice(colon + 1) : undefined;
    if (suffix !== undefined && TAG.test(suffix) && !suffix.includes('/')) return { kind: 'oci', dir: rest.slice(0, colon), tag: suffix };
    if (rest === '') throw new DistillError('BAD_REFERENCE', 'no directory after "oci:"', { subject: text });
    return { kind: 'oci', dir: rest, tag: 'latest' };
  }
  if (/^(oci-archive|docker-archive|dir):/.test(text)) {
    throw new DistillError('USAGE', `${text.split(':')[0]}: is not supported as a copy destination`, {
      hint: 'copy to oci:DIR[:TAG], oci-archive:FILE[:TAG] (distill copy) or a registry; distill build -o writes docker archives',
      subject: text,
    });
  }
  const body = text.startsWith('registry:') ? text.slice('registry:'.length) : text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  return { kind: 'registry', reference: parseRegistryReference(body) };
}

export function formatDestination(destination: CopyDestination): string {
  return destination.kind === 'oci' ? `oci:${destination.dir}:${destination.tag}` : `registry:${formatRegistryReference(destination.reference)}`;
}

export interface CopyReferenceOptions extends Omit<CopyOptions, 'tag'> {
  /** Client for registry sources and destinations; one is made from `clientOptions` (and closed) otherwise. */
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
}

export interface CopyReferenceResult extends CopyResult {
  source: string;
  destination: string;
}

async function openSource(text: string, client: RegistryClient): Promise<ContentSource> {
  const parsed = parseReference(text);
  switch (parsed.transport) {
    case 'registry':
      return registrySource(client, parsed.registry!);
    case 'oci':
      return layoutSource(new DirectoryLayoutStore(parsed.path), text, parsed.tag);
    case 'oci-archive':
      return layoutSource(new ArchiveLayoutStore(await TarIndex.build(parsed.path)), text, parsed.tag);
    case 'docker-archive':
      return imageSource(await openDockerArchive(parsed.path, text, { ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}), ...(parsed.index !== undefined ? { index: parsed.index } : {}) }));
    case 'dir':
      throw new DistillError('USAGE', `${parsed.path} is a root filesystem directory, not an image`, { hint: 'copy an OCI layout, an archive or a registry image', subject: text });
  }
}

/** Copies the image (every platform of an index) that `source` names to `destination`, keeping every digest. */
export async function copyReference(source: string, destination: string, options: CopyReferenceOptions = {}): Promise<CopyReferenceResult> {
  const target = parseDestination(destination);
  const client = options.client ?? new RegistryClient(options.clientOptions);
  try {
    const from = await openSource(source, client);
    try {
      const sink: ContentSink = target.kind === 'oci' ? layoutSink(target.dir) : registrySink(client, target.reference);
      const tag = target.kind === 'oci' ? target.tag : target.reference.tag;
      const result = await copyContent(from, sink, { ...options, ...(tag !== undefined ? { tag } : {}) });
      if (target.kind === 'registry' && target.reference.digest !== undefined && target.reference.digest !== result.digest) {
        throw new DistillError('DIGEST_MISMATCH', `${destination} names digest ${target.reference.digest}, but the source is ${result.digest}`, { subject: destination });
      }
      return { ...result, source, destination: formatDestination(target) };
    } finally {
      await from.close?.();
    }
  } finally {
    if (options.client === undefined) await client.close();
  }
}
