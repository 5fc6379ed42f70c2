/** @module cli/catalog-flags — the catalog options `sbom` and `scan` take from their shared flags (--platform, --scope) and the environment. */
import type { CatalogSourceOptions } from '../catalog/catalog-source.js';
import type { ProgressListener } from '../events.js';
import { parsePlatform } from '../oci/platform.js';
import { defaultPlatform, pinnedNow } from './environment.js';
import { VERSION } from './version.js';

export interface CatalogFlags {
  platform?: string;
  scope: 'squashed' | 'all-layers';
}

/** Platform (else the host's), scope, progress, the pinned SBOM timestamp and the tool name for cataloging a reference. */
export function catalogOptions(flags: CatalogFlags, onProgress: ProgressListener): CatalogSourceOptions {
  return {
    platform: flags.platform === undefined ? undefined : parsePlatform(flags.platform),
    defaultPlatform: defaultPlatform(),
    scope: flags.scope,
    onProgress,
    now: pinnedNow(),
    tool: { name: 'distill', version: VERSION },
  };
}
