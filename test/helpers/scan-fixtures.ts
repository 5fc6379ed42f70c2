/** @module test/helpers/scan-fixtures — real scans for storage, queue and watch tests: a vulnerability DB imported from real PyPA + KEV data, real Python packages from Debian, the small two-layer image. */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { scanSource, type ScanOutcome } from '../../src/report/scan-source.js';
import { openVulnDb } from '../../src/storage/sqlite/vuln-db.js';
import { importPaths } from '../../src/storage/vuln-db-update.js';
import { debianRoot } from '../fixtures/catalog-lang/lang-helpers.js';
import { cachedAsync, sharedData } from './oracles.js';
import { smallImage } from './small-image.js';

/** Pinned times, so reports are reproducible. */
export const FIXTURE_NOW = new Date('2026-12-01T00:00:00.000Z');
export const FIXTURE_TOOL = { name: 'distill', version: 'test' };

function untar(archive: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['xzf', archive, '-C', into], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
  });
}

/** The feed directory: the whole CISA KEV catalog and every PyPA record (real data, ../shared/data). */
export function pypaKevFeeds(): Promise<string> {
  return cachedAsync('app-feeds-pypa-kev-v1', async (tmp) => {
    mkdirSync(tmp, { recursive: true });
    cpSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(tmp, 'kev.json'));
    await untar(join(sharedData, 'pypa-advisory-database', 'pypa-advisory-database-vulns.tar.gz'), tmp);
  });
}

/** A vulnerability DB holding only the KEV catalog (a different DB digest than pypaKevDb: for rescan tests). */
export function kevOnlyDb(): Promise<string> {
  return cachedAsync('app-vulndb-kev-v1', async (tmp) => {
    const feeds = join(tmp, 'feeds');
    mkdirSync(feeds, { recursive: true });
    cpSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'kev.json'));
    await importPaths(join(tmp, 'vuln.db'), [feeds], { now: FIXTURE_NOW });
  }).then((dir) => join(dir, 'vuln.db'));
}

/** The vulnerability DB imported from pypaKevFeeds(). */
export async function pypaKevDb(): Promise<string> {
  const feeds = await pypaKevFeeds();
  const dir = await cachedAsync('app-vulndb-pypa-kev-v1', async (tmp) => {
    mkdirSync(tmp, { recursive: true });
    await importPaths(join(tmp, 'vuln.db'), [feeds], { now: FIXTURE_NOW });
  });
  return join(dir, 'vuln.db');
}

/** Real python3-requests, -urllib3, -idna, -jwt, -yaml at their bookworm versions, extracted from Debian's .debs. */
export function pythonRoot(): string {
  return debianRoot('scan-python', ['python3-requests', 'python3-urllib3', 'python3-idna', 'python3-jwt', 'python3-yaml']);
}

export interface RealScans {
  /** dir: scan of pythonRoot() — PyPA findings of several severities. */
  python: ScanOutcome;
  /** docker-archive: scan of the small two-layer image (base-files, netbase). */
  small: ScanOutcome;
  pythonRef: string;
  smallRef: string;
  vulnDb: string;
}

export async function realScans(): Promise<RealScans> {
  const vulnDb = await pypaKevDb();
  const store = openVulnDb(vulnDb, { readonly: true });
  try {
    const pythonRef = `dir:${pythonRoot()}`;
    const smallRef = `docker-archive:${smallImage()}`;
    const python = await scanSource(pythonRef, { store, now: FIXTURE_NOW, tool: FIXTURE_TOOL });
    const small = await scanSource(smallRef, { store, now: FIXTURE_NOW, tool: FIXTURE_TOOL });
    return { python, small, pythonRef, smallRef, vulnDb };
  } finally {
    store.close();
  }
}
