/** @module oci/open-image — `openImage(reference)`: resolves a reference to an Image from a layout, OCI archive, docker archive or registry. */
import { DistillError } from '../errors.js';
import type { ProgressListener } from '../events.js';
import type { Image } from './image.js';
import type { Platform } from './platform.js';
import { openDockerArchive } from './archive/docker-archive.js';
import { openOciArchive } from './archive/oci-archive.js';
import { DirectoryLayoutStore } from './layout/layout-store.js';
import { openLayoutImage } from './layout/layout-image.js';
import { parseReference, type ParsedReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import { registryDefaults } from './registry/defaults.js';
import { openRegistryImage } from './registry/registry-image.js';

export interface OpenImageOptions {
  /** The platform the user asked for: a single-platform source that does not match fails with PLATFORM_NOT_FOUND. */
  platform?: Platform;
  /** Used when a source holds several platforms and none was asked for (the CLI passes the host's); default linux/amd64. */
  defaultPlatform?: Platform;
  onProgress?: ProgressListener;
  /** Client for `registry:` references (credentials, TLS, retries); otherwise one is made from configureRegistryDefaults(). */
  registryClient?: RegistryClient;
}

/** Opens the image a reference names. `dir:` references are root filesystems, not images, and are refused. */
export async function openImage(reference: string | ParsedReference, options: OpenImageOptions = {}): Promise<Image> {
  const parsed = typeof reference === 'string' ? parseReference(reference) : reference;
  const select = {
    ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}),
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
    ...(options.defaultPlatform !== undefined ? { defaultPlatform: options.defaultPlatform } : {}),
  };
  let image: Image;
  switch (parsed.transport) {
    case 'oci':
      image = await openLayoutImage(new DirectoryLayoutStore(parsed.path), parsed.text, 'oci', select);
      break;
    case 'oci-archive':
      image = await openOciArchive(parsed.path, parsed.text, select);
      break;
    case 'docker-archive':
      image = await openDockerArchive(parsed.path, parsed.text, {
        ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}),
        ...(parsed.index !== undefined ? { index: parsed.index } : {}),
        ...(options.platform !== undefined ? { platform: options.platform } : {}),
      });
      break;
    case 'registry': {
      const target = parsed.registry;
      if (target === undefined) throw new DistillError('BAD_REFERENCE', `${parsed.text}: no registry reference`, { subject: parsed.text });
      try {
        image = await openRegistryImage(target, {
          ...(options.registryClient !== undefined ? { client: options.registryClient } : { clientOptions: registryDefaults() }),
          ...(options.platform !== undefined ? { platform: options.platform } : {}),
          ...(options.defaultPlatform !== undefined ? { defaultPlatform: options.defaultPlatform } : {}),
          text: parsed.explicit ? parsed.text : `registry:${parsed.text}`,
        });
      } catch (error) {
        // A bare reference may have been meant as a local path: say so next to the registry's answer.
        if (!parsed.explicit && error instanceof DistillError && error.code !== 'DIGEST_MISMATCH') {
          throw new DistillError(error.code, error.message, {
            hint: `${error.hint ? `${error.hint}; ` : ''}no local file or directory ${JSON.stringify(parsed.text)} exists, so it was taken for a registry reference`,
            subject: error.subject ?? parsed.text,
            cause: error,
          });
        }
        throw error;
      }
      break;
    }
    case 'dir':
      throw new DistillError('SOURCE_UNRECOGNIZED', `${parsed.path} is a directory without an oci-layout file, not an image`, {
        hint: `scan it as a root filesystem (dir:${parsed.path}), or point at an OCI layout or image archive`,
        subject: parsed.path,
      });
  }
  options.onProgress?.({ kind: 'source-opened', reference: parsed.text, transport: parsed.transport });
  return image;
}
