import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { xz } from '@napi-rs/lzma';
import { sharedData } from '../../../test/helpers/oracles.js';
import { bookwormPackages } from '../../../test/fixtures/resolve/bookworm-index.js';
import { buildIndex, lazyIndex } from '../resolve/package-index.js';
import { resolve } from '../resolve/resolver.js';
import type { ResolverPackage } from '../resolve/types.js';
import { cachePath, indexCache, PACKAGES_TEXT_SUFFIX } from './fetch-deb.js';
import { indexPackages } from './packages-index.js';
import { parsePackages } from './packages.js';

const dataDir = join(sharedData, 'debian-bookworm-local-system');

describe('indexPackages (lazy name index over a verified Packages text)', () => {
  it('on the real bookworm index gives the full parser\'s names, records and providers', async () => {
    const text = await xz.decompress(readFileSync(join(dataDir, 'bookworm_main_Packages.xz')));
    const lazy = indexPackages(text, 'bookworm');
    const full = parsePackages(text, 'bookworm');
    const names = new Set(full.records.map((r) => r.package));
    expect(lazy.paragraphs).toBe(full.records.length);
    expect(new Set(lazy.names())).toEqual(names);
    // Every 25th name, records compared field by field (raw paragraph included).
    const byName = new Map<string, typeof full.records>();
    for (const r of full.records) byName.set(r.package, [...(byName.get(r.package) ?? []), r]);
    const sample = [...names].filter((_, i) => i % 25 === 0).concat(['nginx', 'libc6', 'libssl3', 'python3.11']);
    for (const n of sample) expect(lazy.records(n)).toEqual(byName.get(n));
    // Providers: the same owner sets for every provided name.
    const providers = new Map<string, Set<string>>();
    for (const r of full.records) for (const p of r.provides) providers.set(p.name, (providers.get(p.name) ?? new Set()).add(r.package));
    expect(new Set(lazy.providedNames())).toEqual(new Set(providers.keys()));
    for (const [v, owners] of providers) expect(new Set(lazy.providerNames(v))).toEqual(owners);
    expect(lazy.issues).toEqual([]);
  });

  const para = (name: string, extra = ''): string => `Package: ${name}\nVersion: 1.0\nArchitecture: amd64\n${extra}Filename: pool/${name}.deb\nSize: 10\nSHA256: ${'a'.repeat(64)}\nDescription: x\n .\n more\n`;

  it('unusual layouts (CRLF, whitespace-only separators, comments, Package not first) take the full parser and agree with it', () => {
    const texts = [
      `${para('a', 'Provides: v\n')}\n${para('b')}`.replace(/\n/g, '\r\n'),
      `${para('a')} \t\n${para('b', 'Provides: v (= 2)\n')}`,
      `# comment\n${para('a')}\n${para('b')}`,
      `Version: 1.0\nPackage: a\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 10\nSHA256: ${'a'.repeat(64)}\n\n${para('b')}`,
      `${para('a')}\n\n\n${para('b', 'Provides: v,\n w\n')}`,
      // Whitespace-only separators of every shape: space, tab, tab first, space then tab, at the very start.
      `${para('a')}  \n${para('b')}`,
      `${para('a')}\t\n${para('b')}`,
      `${para('a')}\t \n${para('b')}`,
      `${para('a')} \t \n${para('b')}`,
      ` \n${para('a')}\n${para('b')}`,
      `\t\n${para('a')}\n${para('b')}`,
      // Tabs and trailing blanks that are not separators stay on the fast path.
      `${para('a', 'Provides: v\t(= 1), w \n')}\n${para('b', 'Depends: a\t\n')}`,
      // Provides spelled oddly: empty alternatives, qualifiers, folds, tabs, NBSP (JavaScript whitespace), no space.
      `${para('a', 'Provides: ,v:any (= 1) | w [amd64],,\n\tx\n')}\n${para('b', 'Provides:y,\u00a0z\n')}`,
      `${para('a', 'Provides: v\n')}\n${para('b', 'Xprovides: q\nProvidesX: r\n')}`,
      // Field names in another case or with blanks before the colon: the full parser reads them as Provides.
      `${para('a', 'provides: v\n')}\n${para('b', 'PROVIDES : w\n')}`,
    ];
    for (const t of texts) {
      const lazy = indexPackages(Buffer.from(t), 'x');
      const full = parsePackages(Buffer.from(t), 'x');
      expect([...lazy.names()].sort()).toEqual([...new Set(full.records.map((r) => r.package))].sort());
      for (const n of ['a', 'b']) expect(lazy.records(n)).toEqual(full.records.filter((r) => r.package === n));
      // providerNames is a superset by contract; every real provider must be in it.
      for (const r of full.records) for (const p of r.provides) expect(lazy.providerNames(p.name)).toContain(r.package);
    }
    // A malformed paragraph (no SHA256) is not a record, and becomes an issue once read.
    const bad = indexPackages(Buffer.from(`${para('a')}\nPackage: b\nVersion: 1\nArchitecture: all\n`), 'x');
    expect(bad.records('b')).toEqual([]);
    expect(bad.issues.map((i) => i.code)).toEqual(['PARSE_FAILED']);
  });

  it('the lazy resolver index resolves exactly what the eager one does (real bookworm index)', () => {
    const pkgs = bookwormPackages();
    const eager = buildIndex(pkgs, 'amd64');
    const byName = new Map<string, ResolverPackage[]>();
    for (const p of pkgs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
    const providerNames = new Map<string, Set<string>>();
    for (const [v, list] of eager.providers) providerNames.set(v, new Set(list.map((p) => p.pkg.name)));
    const lazy = lazyIndex({
      names: () => byName.keys(),
      packages: (n) => byName.get(n) ?? [],
      providedNames: () => providerNames.keys(),
      providerCandidates: (v) => [...(providerNames.get(v) ?? [])].sort().flatMap((n) => byName.get(n) ?? []),
    }, 'amd64');
    for (const want of [['nginx'], ['python3'], ['nodejs'], ['redis-server'], ['ca-certificates', 'tzdata', 'libc6']]) {
      const a = resolve(eager, want, { arch: 'amd64' });
      const b = resolve(lazy, want, { arch: 'amd64' });
      expect(b.packages.map((p) => `${p.name}=${p.version}`)).toEqual(a.packages.map((p) => `${p.name}=${p.version}`));
      expect(b.excluded).toEqual(a.excluded);
    }
  });

  it('a cached Packages text is used only when it hashes to the signed SHA256 and size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-text-cache-'));
    try {
      const cache = indexCache(dir);
      const text = Buffer.from(para('a'));
      const sha = createHash('sha256').update(text).digest('hex');
      await cache.putText!(sha, text);
      expect(await cache.getText!(sha, text.length)).toEqual(text);
      expect(await cache.getText!(sha, text.length + 1)).toBeUndefined();
      // Tampered (same length, one byte changed): a miss, so the build decompresses the verified xz again.
      const path = cachePath(dir, sha, PACKAGES_TEXT_SUFFIX);
      const tampered = Buffer.from(text);
      tampered[10] = 0x41;
      writeFileSync(path, tampered);
      expect(await cache.getText!(sha, text.length)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
