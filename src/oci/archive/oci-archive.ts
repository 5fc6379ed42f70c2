/** @module oci/archive/oci-archive — `oci-archive:FILE[:TAG]`: an OCI layout inside a tar, read by byte ranges. */
import { openLayoutImage, type LayoutImage, type SelectImageOptions } from '../layout/layout-image.js';
import { ArchiveLayoutStore } from './archive-layout-store.js';
import { TarIndex } from './tar-index.js';

/** Indexes the archive once and opens the selected image; `close()` releases the archive handle. */
export async function openOciArchive(path: string, reference: string, options: SelectImageOptions = {}): Promise<LayoutImage> {
  const store = new ArchiveLayoutStore(await TarIndex.build(path));
  try {
    return await openLayoutImage(store, reference, 'oci-archive', options);
  } catch (error) {
    await store.close();
    throw error;
  }
}
