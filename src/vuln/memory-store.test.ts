/** @module vuln/memory-store.test — the in-memory store against the shared VulnStore contract. */
import { describeVulnStoreContract } from '../../test/contracts/vuln-store-contract.js';
import { createMemoryStore } from './memory-store.js';

describeVulnStoreContract('memory', () => {
  const store = createMemoryStore();
  return {
    write: (fn) => fn(store),
    open: () => store,
    dispose: () => store.close(),
  };
});
