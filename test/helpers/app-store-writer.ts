/** @module test/helpers/app-store-writer — a separate process that writes to an AppStore (the contract suite's concurrent-writers check): `tsx app-store-writer.ts LOCATION NAME COUNT`. */
import { openAppStore } from '../../src/storage/app/open-app-store.js';

const [location, name, countText] = process.argv.slice(2);
if (!location || !name || !countText) throw new Error('usage: app-store-writer LOCATION NAME COUNT');
const count = Number(countText);
const store = await openAppStore({ location });
try {
  // Every writer also races on the same idempotency keys: exactly one row per key must survive.
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await store.addEvent({ kind: 'scan', image: name, message: `${name} ${i}`, details: { i } });
      await store.addEvent({ kind: 'build', image: 'shared', message: `shared ${i}`, details: { i, by: name }, key: `shared-${i}` });
      await store.addBuild({ image: name, digest: `sha256:${i}`, arch: 'amd64', packages: [], reason: 'concurrency' });
    }),
  );
} finally {
  await store.close();
}
