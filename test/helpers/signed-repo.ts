/** @module test/helpers/signed-repo — a small real signed apt repository (gpg, dpkg-scanpackages, real .debs), cached; and re-signing a `stable` suite for tests whose archive changes. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

const runAsync = promisify(execFile);

/** dpkg-scanpackages --multiversion over `dirs` (relative to `cwd`), every version kept: the index as the archive tools write it. */
export async function scanPackages(cwd: string, dirs: readonly string[]): Promise<string> {
  const texts = await Promise.all(dirs.map(async (d) => (await runAsync('dpkg-scanpackages', ['--multiversion', d, '/dev/null'], { cwd })).stdout));
  return texts.map((t) => t.trimEnd()).join('\n\n') + '\n';
}

/**
 * Writes `dists/stable` (main, amd64) of `repoDir` afresh: the Packages text, its xz, a Release over both dated `date`,
 * and InRelease clearsigned with the key in `gnupg`, checked with gpgv against `keyring`.
 */
export async function signStableSuite(repoDir: string, packagesText: string, options: { gnupg: string; keyring: string; date: string; origin: string }): Promise<void> {
  const dists = join(repoDir, 'dists', 'stable');
  rmSync(dists, { recursive: true, force: true });
  mkdirSync(join(dists, 'main', 'binary-amd64'), { recursive: true });
  writeFileSync(join(dists, 'main', 'binary-amd64', 'Packages'), packagesText);
  const script = `set -euo pipefail
cd "$REPO"
dir=dists/stable/main/binary-amd64
xz -k -f "$dir/Packages"
{
  echo "Origin: $ORIGIN"; echo "Suite: stable"; echo "Codename: stable"; echo "Date: $DATE"
  echo "Architectures: amd64"; echo "Components: main"; echo "SHA256:"
  for f in Packages Packages.xz; do printf ' %s %16d %s\\n' "$(sha256sum "$dir/$f" | cut -d' ' -f1)" "$(stat -c %s "$dir/$f")" "main/binary-amd64/$f"; done
} > dists/stable/Release
gpg --homedir "$GNUPGHOME" --batch --quiet --yes --pinentry-mode loopback --passphrase '' --digest-algo SHA256 --clearsign -o dists/stable/InRelease dists/stable/Release
gpgv --keyring "$KEYRING" dists/stable/InRelease 2>/dev/null`;
  await runAsync('bash', ['-c', script], { env: { ...process.env, REPO: repoDir, GNUPGHOME: options.gnupg, DATE: options.date, KEYRING: options.keyring, ORIGIN: options.origin } });
}
