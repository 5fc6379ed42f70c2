/** @module triage/file-presence — whether each package's own files are in the image (squashed view), one streaming pass per layer. */
import { indexLayer, type LayerIndex } from '../filesystem/layer-index.js';
import { squash } from '../filesystem/squashed-resolver.js';
import { openImage, type OpenImageOptions } from '../oci/open-image.js';
import type { Package, Sbom } from '../sbom/package.js';
import type { PresenceState } from './risk-score.js';

export interface PackagePresence {
  state: PresenceState;
  /** Listed paths that exist in the image as something other than a directory. */
  present: number;
  /** Listed paths that do not exist in the image at all. */
  missing: number;
}

/** Packages whose files an image transport cannot show (an SBOM given as input). */
export const UNKNOWN_PRESENCE: PackagePresence = { state: 'unknown', present: 0, missing: 0 };

/** A package's listed files that can be checked: deb and apk file lists (dpkg `.list`, status.d md5sums, apk `F:`). */
function listedFiles(pkg: Package): readonly string[] {
  return pkg.type === 'deb' || pkg.type === 'apk' ? pkg.files : [];
}

/**
 * Checks every listed file of every package against a lookup: `present` when at least one listed path is a
 * non-directory in the image, `absent` when the list names paths and none of them is there as a file (the
 * package's content was deleted by a later layer or never unpacked: its vulnerable code cannot run),
 * `unknown` when there is no list to check (language packages are found *by* their files: `present`).
 */
export function presenceFromLookup(sbom: Sbom, lookup: (path: string) => 'file' | 'dir' | undefined): Map<string, PackagePresence> {
  const out = new Map<string, PackagePresence>();
  for (const pkg of sbom.packages) {
    const files = listedFiles(pkg);
    if (files.length === 0) {
      out.set(pkg.id, pkg.type === 'deb' || pkg.type === 'apk' ? UNKNOWN_PRESENCE : { state: pkg.locations.length > 0 ? 'present' : 'unknown', present: 0, missing: 0 });
      continue;
    }
    let present = 0;
    let missing = 0;
    for (const path of files) {
      const kind = lookup(path);
      if (kind === 'file') present++;
      else if (kind === undefined) missing++;
    }
    out.set(pkg.id, { state: present > 0 ? 'present' : missing > 0 ? 'absent' : 'unknown', present, missing });
  }
  return out;
}

/** Opens the scanned image and checks the SBOM's packages against its squashed filesystem. */
export async function imageFilePresence(reference: string, sbom: Sbom, options: OpenImageOptions = {}): Promise<Map<string, PackagePresence>> {
  const image = await openImage(reference, options);
  try {
    const layers = await image.layers();
    const indexes: LayerIndex[] = [];
    for (const [index, layer] of layers.entries()) indexes.push(await indexLayer(await layer.uncompressed(), { layer: index, label: layer.digest }));
    const resolver = squash(indexes, { openLayer: async (index) => layers[index]!.uncompressed() });
    return presenceFromLookup(sbom, (path) => {
      // lstat: a package's symlink (libfoo.so.3 → libfoo.so.3.0) is its file; following it could leave the image.
      const entry = resolver.lstat(path);
      return entry === undefined ? undefined : entry.type === 'dir' ? 'dir' : 'file';
    });
  } finally {
    await image.close();
  }
}
