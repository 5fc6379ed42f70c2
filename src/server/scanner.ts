/** @module server/scanner — how the server scans an uploaded file: the library's scanSource/scanSbom against the vulnerability DB. */
import { sbomFor, scanSbom, type ScanOutcome } from '../report/scan-source.js';
import { vulnDbDigest } from '../storage/app/db-digest.js';
import { openVulnDb } from '../storage/sqlite/vuln-db.js';
import type { UploadKind } from './upload.js';

export interface ServerScanOutcome extends ScanOutcome {
  /** Digest over the feeds the DB held: stored with the scan, it tells a later rescan that the DB changed. */
  dbDigest: string;
}

/** The scan seam of createApp: given a file on disk and what it is, an outcome. */
export type ScanFile = (path: string, kind: UploadKind) => Promise<ServerScanOutcome>;

/**
 * Scans with the library: an image archive is cataloged (docker or OCI, detected from its members), an SBOM is
 * decoded; then matched against the DB at `vulnDbPath`, opened read-only per scan so a `db update` is picked up.
 */
export function libraryScanner(options: { vulnDbPath: string; now: () => Date; tool: { name: string; version: string } }): ScanFile {
  return async (path, kind) => {
    const sbom = await sbomFor(kind === 'sbom' ? `sbom:${path}` : path, { now: options.now() });
    const store = openVulnDb(options.vulnDbPath, { readonly: true });
    try {
      const outcome = scanSbom(sbom, { store, now: options.now(), tool: options.tool });
      return { ...outcome, dbDigest: vulnDbDigest(store.feeds()) };
    } finally {
      store.close();
    }
  };
}
