/** @module storage/sqlite/vuln-db.test — the SQLite store against the shared contract, its query plans, and hostile files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeVulnStoreContract } from '../../../test/contracts/vuln-store-contract.js';
import { createVulnDb, openVulnDb, type SqliteVulnStore } from './vuln-db.js';

describeVulnStoreContract('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-vulndb-'));
  const path = join(dir, 'vuln.db');
  const readers: SqliteVulnStore[] = [];
  return {
    write(fn) {
      const writer = createVulnDb(path);
      try {
        fn(writer);
        writer.finish();
      } catch (error) {
        writer.abort();
        throw error;
      }
    },
    open() {
      const reader = openVulnDb(path);
      readers.push(reader);
      return reader;
    },
    dispose() {
      for (const r of readers) r.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
