import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_ARCHIVE_KEYRING, fetchPackages, fetchRelease, loadKeyring, parseSourcesFile, type Repository } from './index.js';

const HOST = '/etc/apt/sources.list.d/debian.sources';

// Network test against the real Debian mirror named by this host's apt sources: bookworm InRelease and the
// amd64 and arm64 Packages.xz, verified against the host keyring. Set DISTILL_SKIP_NETWORK=1 to skip.
describe.skipIf(!existsSync(HOST) || !existsSync(DEBIAN_ARCHIVE_KEYRING) || process.env.DISTILL_SKIP_NETWORK === '1')('real Debian mirror from the host apt sources', () => {
  it('verifies bookworm InRelease and Packages.xz for amd64 and arm64', async () => {
    const repos = parseSourcesFile({ path: HOST, text: readFileSync(HOST, 'utf8') });
    const bookworm = repos.find((r) => r.suite === 'bookworm') as Repository;
    expect(bookworm).toBeDefined();
    const keyring = await loadKeyring(bookworm.keyring ?? DEBIAN_ARCHIVE_KEYRING);
    const t0 = performance.now();
    const { release, signers } = await fetchRelease(bookworm, keyring, { now: new Date() });
    const tRelease = performance.now() - t0;
    expect(signers.length).toBeGreaterThan(0);
    expect(release.codename).toBe('bookworm');
    const cacheDir = mkdtempSync(join(tmpdir(), 'distill-apt-net-'));
    try {
      for (const arch of ['amd64', 'arm64']) {
        const fetched: string[] = [];
        const t1 = performance.now();
        const { records, issues } = await fetchPackages(bookworm, release, 'main', arch, { onFetch: (u) => fetched.push(u) });
        const ms = performance.now() - t1;
        console.log(`${arch}: ${records.length} packages via ${fetched.join(', ')} in ${ms.toFixed(0)} ms (InRelease ${tRelease.toFixed(0)} ms)`);
        expect(records.length).toBeGreaterThan(50_000);
        expect(issues).toEqual([]);
        if (release.acquireByHash) expect(fetched[0]).toContain('/by-hash/SHA256/');
        expect(records.find((r) => r.package === 'libc6')?.architecture).toBe(arch);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
