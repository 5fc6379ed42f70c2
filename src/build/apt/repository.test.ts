import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { signedTestRepo, type SignedTestRepo } from '../../../test/helpers/signed-repo.js';
import { fetchDeb, openRepositories, type Repository } from './index.js';

let repo: SignedTestRepo;
let server: Server;
let base: string;
/** Request paths, in order. */
const log: string[] = [];
/** Path → replacement body, or a status code to answer with (a list is consumed one per request). */
const overrides = new Map<string, Buffer | number | number[]>();

beforeAll(async () => {
  repo = signedTestRepo();
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    log.push(path);
    const o = overrides.get(path);
    const status = Array.isArray(o) ? o.shift() : typeof o === 'number' ? o : undefined;
    if (status !== undefined) {
      res.writeHead(status).end();
      return;
    }
    let body: Buffer;
    try {
      body = Buffer.isBuffer(o) ? o : readFileSync(join(repo.root, normalize(path).replace(/^(\.\.[/\\])+/, '')));
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.byteLength }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function suite(name: string): Repository {
  return { uri: base, suite: name, components: ['main'] };
}

function freshCache(): string {
  return mkdtempSync(join(tmpdir(), 'distill-apt-cache-'));
}

function opts(cacheDir: string, extra: Partial<Parameters<typeof openRepositories>[1]> = {}): Parameters<typeof openRepositories>[1] {
  return { arch: 'amd64', keyringPath: repo.keyring, cacheDir, now: new Date(), retryDelayMs: 5, ...extra };
}

describe('local signed repository over HTTP', () => {
  it('good signature: merges suites taking the highest version, by-hash where offered, plain otherwise', async () => {
    const cacheDir = freshCache();
    const fetched: string[] = [];
    const index = await openRepositories([suite('stable'), suite('updates')], opts(cacheDir, { onFetch: (u) => fetched.push(u) }));
    expect(index.repositories.map((r) => [r.repository.suite, r.packages])).toEqual([['stable', 4], ['updates', 1]]);
    // Distinct names over both suites (distill-probe is in both), counted before and after the sorted list exists.
    expect(index.size).toBe(4);
    for (const order of [[suite('updates'), suite('stable')], [suite('stable'), suite('updates')]]) {
      const again = await openRepositories(order, opts(cacheDir));
      const size = again.size;
      expect(size).toBe(new Set(again.names()).size);
      expect(again.size).toBe(size);
    }
    expect(index.repositories[0]!.signers.length).toBe(1);
    const probe = index.get('distill-probe')!;
    expect(probe.record.version).toBe('1.1');
    expect(probe.repository.suite).toBe('updates');
    expect(index.versions('distill-probe').map((p) => p.record.version)).toEqual(['1.1', '1.0']);
    expect(index.get('base-files')!.repository.suite).toBe('stable');
    expect(index.providers('distill-virtual').map((p) => [p.record.package, p.record.version])).toEqual([['distill-probe', '1.1']]);
    expect(index.packages().map((p) => p.record.package)).toEqual(['base-files', 'distill-probe', 'netbase', 'tzdata']);
    // By-hash for stable (Acquire-By-Hash: yes), the plain path for updates.
    const stableHash = readFileSync(join(repo.root, 'dists/stable/Release'), 'utf8').match(/^ ([0-9a-f]{64})\s+\d+ main\/binary-amd64\/Packages\.xz$/m)![1]!;
    expect(fetched).toContain(`${base}/dists/stable/main/binary-amd64/by-hash/SHA256/${stableHash}`);
    expect(fetched).toContain(`${base}/dists/updates/main/binary-amd64/Packages.xz`);
    expect(fetched.some((u) => u.endsWith('/dists/stable/main/binary-amd64/Packages.xz'))).toBe(false);
    // The raw paragraph is the one dpkg-scanpackages wrote.
    expect(readFileSync(join(repo.root, 'dists/stable/main/binary-amd64/Packages'), 'utf8')).toContain(index.get('netbase')!.record.raw);

    // Warm: the verified indices come from the content cache.
    const again: string[] = [];
    await openRepositories([suite('stable'), suite('updates')], opts(cacheDir, { onFetch: (u) => again.push(u) }));
    expect(again.every((u) => u.startsWith('cache:'))).toBe(true);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('an armored .asc keyring verifies too', async () => {
    const index = await openRepositories([suite('stable')], opts(freshCache(), { keyringPath: repo.keyringAsc }));
    expect(index.size).toBe(4);
  });

  it('bad signature: a tampered InRelease body is INRELEASE_BAD_SIGNATURE', async () => {
    const text = readFileSync(join(repo.root, 'dists/stable/InRelease'), 'utf8');
    overrides.set('/dists/stable/InRelease', Buffer.from(text.replace('Label: distill-test', 'Label: distill-tesT')));
    try {
      await expect(openRepositories([suite('stable')], opts(freshCache()))).rejects.toMatchObject({ code: 'INRELEASE_BAD_SIGNATURE' });
    } finally {
      overrides.delete('/dists/stable/InRelease');
    }
  });

  it('wrong key: a suite signed by another key, or the right suite with the wrong keyring, is INRELEASE_UNKNOWN_KEY', async () => {
    await expect(openRepositories([suite('wrongkey')], opts(freshCache()))).rejects.toMatchObject({ code: 'INRELEASE_UNKNOWN_KEY' });
    await expect(openRepositories([suite('stable')], opts(freshCache(), { keyringPath: repo.wrongKeyring }))).rejects.toMatchObject({ code: 'INRELEASE_UNKNOWN_KEY' });
    // gpgv agrees (the oracle).
    expect(() => execFileSync('gpgv', ['--keyring', repo.keyring, join(repo.root, 'dists/wrongkey/InRelease')], { stdio: 'ignore' })).toThrow();
  });

  it('expired Valid-Until is RELEASE_EXPIRED', async () => {
    await expect(openRepositories([suite('expired')], opts(freshCache()))).rejects.toMatchObject({ code: 'RELEASE_EXPIRED' });
  });

  it('a validly signed InRelease of another suite replayed here is RELEASE_INVALID', async () => {
    overrides.set('/dists/stable/InRelease', readFileSync(join(repo.root, 'dists/updates/InRelease')));
    try {
      await expect(openRepositories([suite('stable')], opts(freshCache()))).rejects.toMatchObject({ code: 'RELEASE_INVALID' });
    } finally {
      overrides.delete('/dists/stable/InRelease');
    }
  });

  it('Packages hash mismatch: an index replaced after signing is RELEASE_HASH_MISMATCH (by-hash and plain)', async () => {
    const other = readFileSync(join(repo.root, 'dists/updates/main/binary-amd64/Packages.xz'));
    const byHash = readdirSync(join(repo.root, 'dists/stable/main/binary-amd64/by-hash/SHA256')).map((h) => `/dists/stable/main/binary-amd64/by-hash/SHA256/${h}`);
    for (const p of byHash) overrides.set(p, other);
    overrides.set('/dists/updates/main/binary-amd64/Packages.xz', readFileSync(join(repo.root, 'dists/stable/main/binary-amd64/Packages.xz')));
    try {
      await expect(openRepositories([suite('stable')], opts(freshCache()))).rejects.toMatchObject({ code: 'RELEASE_HASH_MISMATCH' });
      await expect(openRepositories([suite('updates')], opts(freshCache()))).rejects.toMatchObject({ code: 'RELEASE_HASH_MISMATCH' });
    } finally {
      for (const p of byHash) overrides.delete(p);
      overrides.delete('/dists/updates/main/binary-amd64/Packages.xz');
    }
  });

  it('by-hash 404 falls back to the plain path, which is still checked', async () => {
    const byHash = readdirSync(join(repo.root, 'dists/stable/main/binary-amd64/by-hash/SHA256')).map((h) => `/dists/stable/main/binary-amd64/by-hash/SHA256/${h}`);
    for (const p of byHash) overrides.set(p, 404);
    const fetched: string[] = [];
    try {
      const index = await openRepositories([suite('stable')], opts(freshCache(), { onFetch: (u) => fetched.push(u) }));
      expect(index.size).toBe(4);
      expect(fetched).toEqual([`${base}/dists/stable/main/binary-amd64/Packages.xz`]);
    } finally {
      for (const p of byHash) overrides.delete(p);
    }
  });

  it('fetchDeb: verified download into the content cache, dpkg-deb reads it, a second call is a cache hit', async () => {
    const cacheDir = freshCache();
    const index = await openRepositories([suite('stable'), suite('updates')], opts(cacheDir));
    const netbase = index.get('netbase')!;
    const first = await fetchDeb(netbase.record, netbase.repository, cacheDir, { retryDelayMs: 5 });
    expect(first.cached).toBe(false);
    expect(first.path).toBe(join(cacheDir, 'sha256', `${netbase.record.sha256}.deb`));
    expect(execFileSync('dpkg-deb', ['--field', first.path, 'Package', 'Version'], { encoding: 'utf8' })).toBe(`Package: netbase\nVersion: ${netbase.record.version}\n`);
    const before = log.length;
    const second = await fetchDeb(netbase.record, netbase.repository, cacheDir);
    expect(second.cached).toBe(true);
    expect(log.length).toBe(before);
    // No temp files are left behind.
    expect(readdirSync(join(cacheDir, 'sha256')).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('.deb hash mismatch: a .deb replaced after indexing is refused and never enters the cache', async () => {
    const cacheDir = freshCache();
    const index = await openRepositories([suite('stable')], opts(cacheDir));
    const probe = index.get('distill-probe')!;
    overrides.set(`/${probe.record.filename}`, readFileSync(join(repo.root, 'pool/updates/distill-probe_1.1_all.deb')));
    try {
      const err = await fetchDeb(probe.record, probe.repository, cacheDir, { retryDelayMs: 5 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DEB_HASH_MISMATCH' });
      expect(readdirSync(join(cacheDir, 'sha256')).filter((f) => f.endsWith('.deb') || f.startsWith('.tmp-')), String(err)).toEqual([]);
      // A longer body is a mismatch too, not a silent truncation.
      overrides.set(`/${probe.record.filename}`, Buffer.concat([readFileSync(join(repo.root, probe.record.filename)), Buffer.from('x')]));
      await expect(fetchDeb(probe.record, probe.repository, cacheDir, { retryDelayMs: 5 })).rejects.toMatchObject({ code: 'DEB_HASH_MISMATCH' });
    } finally {
      overrides.delete(`/${probe.record.filename}`);
    }
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('a tampered cached .deb is DEB_HASH_MISMATCH with a hint naming the cache entry', async () => {
    const cacheDir = freshCache();
    const index = await openRepositories([suite('stable')], opts(cacheDir));
    const tz = index.get('tzdata')!;
    const got = await fetchDeb(tz.record, tz.repository, cacheDir);
    const bytes = readFileSync(got.path);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 1;
    writeFileSync(got.path, bytes);
    const err = await fetchDeb(tz.record, tz.repository, cacheDir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DEB_HASH_MISMATCH', subject: got.path });
    expect((err as { hint: string }).hint).toContain(got.path);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('retries transient HTTP errors with backoff; a 404 is not retried', async () => {
    const cacheDir = freshCache();
    const index = await openRepositories([suite('stable')], opts(cacheDir));
    const base_ = index.get('base-files')!;
    const path = `/${base_.record.filename}`;
    overrides.set(path, [503, 502]);
    try {
      const before = log.filter((p) => p === path).length;
      const got = await fetchDeb(base_.record, base_.repository, cacheDir, { retryDelayMs: 5 });
      expect(got.cached).toBe(false);
      expect(log.filter((p) => p === path).length - before).toBe(3);
      overrides.set(path, 404);
      rmSync(got.path);
      const n = log.filter((p) => p === path).length;
      await expect(fetchDeb(base_.record, base_.repository, cacheDir, { retryDelayMs: 5 })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
      expect(log.filter((p) => p === path).length - n).toBe(1);
      overrides.set(path, 503);
      await expect(fetchDeb(base_.record, base_.repository, cacheDir, { retryDelayMs: 1, retries: 2 })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
    } finally {
      overrides.delete(path);
    }
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('hostile sizes: an oversized InRelease is refused unread; a longer Packages.xz is a hash mismatch', async () => {
    overrides.set('/dists/stable/InRelease', Buffer.alloc(17 * 1024 * 1024, 0x41));
    try {
      await expect(openRepositories([suite('stable')], opts(freshCache()))).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    } finally {
      overrides.delete('/dists/stable/InRelease');
    }
    const plain = readFileSync(join(repo.root, 'dists/updates/main/binary-amd64/Packages.xz'));
    overrides.set('/dists/updates/main/binary-amd64/Packages.xz', Buffer.concat([plain, Buffer.alloc(4096)]));
    try {
      await expect(openRepositories([suite('updates')], opts(freshCache()))).rejects.toMatchObject({ code: 'RELEASE_HASH_MISMATCH' });
    } finally {
      overrides.delete('/dists/updates/main/binary-amd64/Packages.xz');
    }
  });

  it('a file: repository URI reads the same tree without HTTP', async () => {
    const cacheDir = freshCache();
    const fileRepo: Repository = { uri: `file://${repo.root}`, suite: 'stable', components: ['main'] };
    const index = await openRepositories([fileRepo], opts(cacheDir));
    const netbase = index.get('netbase')!;
    const got = await fetchDeb(netbase.record, netbase.repository, cacheDir);
    expect(readFileSync(got.path).equals(readFileSync(join(repo.root, netbase.record.filename)))).toBe(true);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('an injected fetchImpl is used for every request', async () => {
    const seen: string[] = [];
    const fetchImpl = (url: string, init?: RequestInit): Promise<Response> => {
      seen.push(url);
      return fetch(url, init);
    };
    await openRepositories([suite('updates')], opts(freshCache(), { fetchImpl }));
    expect(seen).toEqual([`${base}/dists/updates/InRelease`, `${base}/dists/updates/main/binary-amd64/Packages.xz`]);
  });
});
