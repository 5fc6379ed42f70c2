/** @module test/helpers/signed-repo — a small real signed apt repository (gpg, dpkg-scanpackages, real .debs), cached. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cached } from './oracles.js';

export interface SignedTestRepo {
  /** Directory to serve over HTTP: `dists/…`, `pool/…`. */
  root: string;
  /** Binary keyring (`gpg --export`) with the signing key. */
  keyring: string;
  /** The same key armored (`gpg --export --armor`). */
  keyringAsc: string;
  /** Binary keyring with a different key, which signed only the `wrongkey` suite. */
  wrongKeyring: string;
  /**
   * Suites: `stable` (Acquire-By-Hash: yes with by-hash copies; base-files, netbase, tzdata, distill-probe 1.0),
   * `updates` (no by-hash; distill-probe 1.1), `expired` (stable's index, Valid-Until a day before it was signed),
   * `wrongkey` (stable's index, signed by the wrong key).
   */
  suites: readonly ['stable', 'updates', 'expired', 'wrongkey'];
  /** When the Release files were signed (the cache may be older than the test run). */
  signedAt: Date;
}

// Real, small packages: amd64 and all, fetched with apt-get download from the host's configured archive.
const REAL_DEBS = ['base-files', 'netbase', 'tzdata'];

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'apt', 'make-signed-repo.sh');

/** Builds (once, cached) the signed test repository and returns where its parts are. */
export function signedTestRepo(): SignedTestRepo {
  const root = cached('apt-signed-repo-v1', (tmp) => {
    execFileSync('bash', [SCRIPT], { env: { ...process.env, OUT: tmp, REAL_DEBS: REAL_DEBS.join(' ') }, stdio: ['ignore', 'ignore', 'inherit'] });
  });
  return {
    root,
    keyring: join(root, 'keyring.gpg'),
    keyringAsc: join(root, 'keyring.asc'),
    wrongKeyring: join(root, 'wrong-keyring.gpg'),
    suites: ['stable', 'updates', 'expired', 'wrongkey'],
    signedAt: new Date(Number(readFileSync(join(root, 'signed-at'), 'utf8').trim()) * 1000),
  };
}
