import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { xz } from '@napi-rs/lzma';
import { sharedData } from '../../../test/helpers/oracles.js';
import { signedTestRepo } from '../../../test/helpers/signed-repo.js';
import { parsePackages } from './packages.js';
import { decodeParsedPackages, encodeParsedPackages } from './parsed-cache.js';
import { indexCache, openRepositories, type PackageIndex, type Repository } from './index.js';
import { PARSED_SUFFIX } from './fetch-deb.js';

const dataDir = join(sharedData, 'debian-bookworm-local-system');

// Relation forms the real index rarely or never shows: arch qualifiers, every operator, obsolete `<`, versioned
// provides, epochs, a malformed entry (an issue) and non-ASCII text in a kept paragraph.
const HOSTILE = `Package: a
Version: 1:2.0~rc1+dfsg-3
Architecture: amd64
Source: a-src (1:2.0~rc1+dfsg-2)
Depends: b:any (>= 1.0) | c (<< 2), d:native, e (= 1:3-1), f (< 4), g (>> 0~), h [amd64] <!nocheck>
Pre-Depends: libc6 (>= 2.36)
Recommends: r1 | r2
Conflicts: x (<= 9), y
Breaks: z (<< 1.2)
Provides: v1 (= 1.0), v2
Multi-Arch: same
Essential: yes
Priority: required
Section: libs
Filename: pool/main/a/a_2.0_amd64.deb
Size: 1234
SHA256: ${'ab'.repeat(32)}
Installed-Size: 56
Maintainer: Jörg Ünïcødé <j@example.org>
Description: thing — with “quotes”
 long line
 .
 more

Package: bad-relation
Version: 1
Architecture: all
Depends: ok, ((broken
Filename: pool/b.deb
Size: 1
SHA256: ${'cd'.repeat(32)}

Package: no-hash
Version: 1
Architecture: all
Filename: pool/n.deb
Size: 1
`;

describe('parsed-index cache encoding', () => {
  it('round-trips the real bookworm main index exactly (records, raw paragraphs, issues)', async () => {
    const text = await xz.decompress(readFileSync(join(dataDir, 'bookworm_main_Packages.xz')));
    const parsed = parsePackages(text, 'main');
    const encoded = encodeParsedPackages(parsed, 'f'.repeat(64));
    const t0 = performance.now();
    const decoded = decodeParsedPackages(encoded, 'f'.repeat(64), 'main');
    console.log(`decodeParsedPackages: ${decoded?.records.length} records in ${(performance.now() - t0).toFixed(0)} ms`);
    // Same keys in the same order: JSON of a decoded record is byte-identical to the parser's.
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(parsed));
    // The lazily decoded relations read the same through the record's properties.
    const libc = decoded!.records.find((r) => r.package === 'libc6')!;
    const orig = parsed.records.find((r) => r.package === 'libc6')!;
    for (const k of ['depends', 'preDepends', 'recommends', 'conflicts', 'breaks', 'provides', 'raw', 'sha256', 'source', 'priority', 'installedSize'] as const) expect(libc[k]).toEqual(orig[k]);
  }, 60_000);

  it('round-trips hostile relations, non-ASCII paragraphs and issues', () => {
    const parsed = parsePackages(HOSTILE, 'hostile');
    expect(parsed.records.map((r) => r.package)).toEqual(['a', 'bad-relation']);
    expect(parsed.issues.length).toBe(2);
    const decoded = decodeParsedPackages(encodeParsedPackages(parsed, 'e'.repeat(64)), 'e'.repeat(64), 'hostile');
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(parsed));
    const empty = parsePackages('', 'empty');
    expect(decodeParsedPackages(encodeParsedPackages(empty, 'e'.repeat(64)), 'e'.repeat(64), 'empty')).toEqual(empty);
    const a = decoded!.records[0]!;
    const b = parsed.records[0]!;
    expect([a.depends, a.preDepends, a.recommends, a.conflicts, a.breaks, a.provides, a.source, a.sourceVersion, a.raw]).toEqual([b.depends, b.preDepends, b.recommends, b.conflicts, b.breaks, b.provides, b.source, b.sourceVersion, b.raw]);
  });

  it('refuses damaged, truncated, foreign and mis-keyed entries', () => {
    const parsed = parsePackages(HOSTILE, 'hostile');
    const key = 'e'.repeat(64);
    const good = encodeParsedPackages(parsed, key);
    expect(decodeParsedPackages(good, key, 'hostile')).toBeDefined();
    // Another index's key.
    expect(decodeParsedPackages(good, 'd'.repeat(64), 'hostile')).toBeUndefined();
    // One byte changed anywhere in the body: in a SHA256 of a record, in a raw paragraph, at the end.
    const body = good.indexOf(0x0a) + 1;
    for (const at of [good.indexOf('abababab'), good.indexOf('Jörg'), good.length - 1, body]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x01;
      expect(decodeParsedPackages(bad, key, 'hostile'), `flip at ${at}`).toBeUndefined();
    }
    // A body re-hashed after editing must still be consistent: a record count that lies is refused.
    const header = JSON.parse(good.toString('utf8', 0, body - 1)) as { count: number };
    const lying = Buffer.concat([Buffer.from(`${JSON.stringify({ ...header, count: header.count + 1 })}\n`), good.subarray(body)]);
    expect(decodeParsedPackages(lying, key, 'hostile')).toBeUndefined();
    // Truncated, empty, garbage, a JSON header only.
    for (const junk of [good.subarray(0, good.length - 10), good.subarray(0, body - 1), Buffer.alloc(0), Buffer.from('\x00\xff garbage\n'), Buffer.from('{"format":"distill-parsed-packages-v1"}\n')]) {
      expect(decodeParsedPackages(junk, key, 'hostile')).toBeUndefined();
    }
  });
});

function snapshot(index: PackageIndex): string {
  return JSON.stringify({ size: index.size, issues: index.issues, packages: index.packages().map((p) => p.record), versions: index.packages().map((p) => index.versions(p.record.package).map((v) => v.record.version)) });
}

describe('parsed-index cache in openRepositories', () => {
  it('a corrupted entry is detected, ignored and rewritten; results are byte-identical with and without the cache', async () => {
    const repo = signedTestRepo();
    const repos: Repository[] = ['stable', 'updates'].map((suite) => ({ uri: pathToFileURL(repo.root).href, suite, components: ['main'] }));
    const open = (cacheDir: string): Promise<PackageIndex> => openRepositories(repos, { arch: 'amd64', keyringPath: repo.keyring, cacheDir, now: new Date() });
    const cold = mkdtempSync(join(tmpdir(), 'distill-parsed-cold-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'distill-parsed-'));
    try {
      const fresh = snapshot(await open(cold));
      const first = snapshot(await open(cacheDir));
      const entries = readdirSync(join(cacheDir, 'sha256')).filter((n) => n.endsWith(PARSED_SUFFIX));
      expect(entries.length).toBe(2);
      const warm = snapshot(await open(cacheDir));
      expect(first).toBe(fresh);
      expect(warm).toBe(fresh);

      // Corrupt one entry the way a torn write or bit rot would, and replace the other with a well-formed
      // encoding of another index: both are misses, the verified .xz is parsed again, the entries rewritten.
      const [a, b] = entries.map((n) => join(cacheDir, 'sha256', n));
      const good = readFileSync(a!);
      const bad = Buffer.from(good);
      bad[bad.length - 5] = bad[bad.length - 5]! ^ 0x20;
      writeFileSync(a!, bad);
      writeFileSync(b!, encodeParsedPackages(parsePackages(HOSTILE), 'e'.repeat(64)));
      const cache = indexCache(cacheDir);
      const keyOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1, -PARSED_SUFFIX.length);
      expect(await cache.getParsed!(keyOf(a!), 'x')).toBeUndefined();
      expect(await cache.getParsed!(keyOf(b!), 'x')).toBeUndefined();
      const rebuilt = snapshot(await open(cacheDir));
      expect(rebuilt).toBe(fresh);
      expect(createHash('sha256').update(readFileSync(a!)).digest('hex')).toBe(createHash('sha256').update(good).digest('hex'));
      expect(await cache.getParsed!(keyOf(b!), 'x')).toBeDefined();
      expect(snapshot(await open(cacheDir))).toBe(fresh);
    } finally {
      rmSync(cold, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
