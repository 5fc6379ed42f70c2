/** @module test/global-setup — builds the heavy shared reference artifacts once, before the test workers start. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ociArchiveOf, ociLayoutOf, stockImage, trivyImagePackages, umociRootfs } from './helpers/oracles.js';
import { smallImage } from './helpers/small-image.js';
import { expressInstall, goBinaries } from './fixtures/catalog-lang/lang-helpers.js';
import { aptClosure, bookwormPackages } from './fixtures/resolve/bookworm-index.js';
import { APT_ORACLE_PACKAGES } from './fixtures/resolve/apt-oracle-packages.js';

/**
 * The oracle helpers build synchronously (execFileSync) the first time. Inside a worker, a 40-second
 * `stock-image` run blocks the worker's event loop and vitest's worker RPC times out under CI load; here, in
 * the main process and before any worker exists, the same calls are harmless. Later calls are cache hits.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * CLI tests run the built `dist/cli/main.js`. Building it here, once and before any worker starts, means no test
 * rebuilds dist/ while another test file is running it (a half-written module fails with a SyntaxError).
 */
function ensureBuiltCli(): void {
  const main = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(root, 'src'))) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}

export default function setup(): void {
  ensureBuiltCli();
  for (const name of ['nginx', 'python']) {
    const archive = stockImage(name);
    trivyImagePackages(archive, name);
    const layout = ociLayoutOf(archive, name);
    ociArchiveOf(archive, name);
    umociRootfs(layout, 'latest', name);
  }
  smallImage();
  // The language fixtures (npm install, go build with a local module proxy) and the resolver's apt oracle
  // (apt-get -s per package over the real indices) are the other long synchronous builders.
  expressInstall();
  goBinaries();
  bookwormPackages();
  for (const name of APT_ORACLE_PACKAGES) aptClosure(name);
}
