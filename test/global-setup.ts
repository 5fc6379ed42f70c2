/** @module test/global-setup — builds the heavy shared reference artifacts once, before the test workers start. */
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
export default function setup(): void {
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
