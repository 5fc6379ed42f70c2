/** @module feeds/debian-tracker.test — tracker JSON import on the real format sample, hand-built states, hostile input and a 50,000-CVE file. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../test/fixtures/oci/streams.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { sharedData } from '../../test/helpers/oracles.js';
import { importDebianTracker } from './debian-tracker.js';

const samplePath = join(sharedData, 'format-samples', 'debian-tracker-sample.json');
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'feeds');
const statesPath = join(fixtures, 'debian-tracker-states.json');
const opts = { origin: 'test', fetchedAt: new Date('2026-12-03T00:00:00Z') };

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield Buffer.from(bytes.subarray(i, i + size));
}

describe('importDebianTracker on the real tracker sample', () => {
  it('maps every release entry the way the tracker means it', async () => {
    const store = createMemoryStore();
    const result = await importDebianTracker(samplePath, store, opts);
    expect(result.feed).toBe('debian-tracker');
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(readFileSync(samplePath)).digest('hex')}`);
    // 4 releases × CVE-2007-2383 have fixed_version "0"; the rest: 4 + 4 + 4 + 5 rules.
    expect(result.skipped).toEqual({ notAffected: 4 });
    expect(result.records).toBe(17);
    expect(result.issues).toEqual([]);
    expect(result.vulnerabilities).toBe(4); // chromium CVEs carry no description

    const [proto] = store.affected('debian:stretch', 'prototypejs');
    expect(proto).toEqual({
      vulnId: 'CVE-2008-7220',
      namespace: 'debian:stretch',
      packageName: 'prototypejs',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.6.0.2-1' }] }],
      versions: [],
      fixState: 'fixed',
      fixedVersions: ['1.6.0.2-1'],
      feed: 'debian-tracker',
    }); // urgency high** is NVD's: no distro severity
    expect(store.affected('debian:buster', 'backupninja')[0]?.severity).toBe('medium');
    const buster = store.affected('debian:buster', 'chromium');
    expect(buster.map((r) => [r.fixState, r.ranges[0]?.events])).toEqual([['end-of-life', [{ introduced: '0' }]]]);
    const bullseye = store.affected('debian:bullseye', 'chromium')[0];
    expect(bullseye?.fixedVersions).toEqual(['98.0.4758.80-1~deb11u1']);
    expect(bullseye?.severity).toBeUndefined(); // not yet assigned
    expect(store.affected('debian:sid', 'chromium-browser')).toEqual([]);
    expect(store.vulnerabilities(['CVE-2013-1444']).get('CVE-2013-1444')?.[0]?.references).toContain('https://bugs.debian.org/724614');
    expect(store.feeds()).toEqual([{ feed: 'debian-tracker', origin: 'test', fetchedAt: '2026-12-03T00:00:00.000Z', digest: result.digest, records: 17 }]);
  });

  it('gives identical records whatever the chunking, and reads gzip transparently', async () => {
    const bytes = readFileSync(samplePath);
    const whole = createMemoryStore();
    const reference = await importDebianTracker(bytes, whole, opts);
    for (const size of [1, 7, 64, 1000]) {
      const store = createMemoryStore();
      const result = await importDebianTracker(chunked(bytes, size), store, opts);
      expect(result.records).toBe(reference.records);
      expect(store.affected('debian:bullseye', 'chromium')).toEqual(whole.affected('debian:bullseye', 'chromium'));
      expect(store.affected('debian:jessie', 'txt2man')).toEqual(whole.affected('debian:jessie', 'txt2man'));
    }
    const gz = gzipSync(bytes);
    const store = createMemoryStore();
    const result = await importDebianTracker(chunked(gz, 100), store, opts);
    expect(result.records).toBe(reference.records);
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(gz).digest('hex')}`);
  });

  it('imports only the requested releases', async () => {
    const store = createMemoryStore();
    const result = await importDebianTracker(samplePath, store, { ...opts, releases: ['bookworm'] });
    expect(result.records).toBe(1);
    expect(store.namespaces()).toEqual(['debian:bookworm']);
  });
});

describe('importDebianTracker fix states and hostile entries', () => {
  it('maps open, ignored, postponed, undetermined, unimportant; skips impossible rules with issues', async () => {
    const store = createMemoryStore();
    const result = await importDebianTracker(statesPath, store, opts);
    const zlib = store.affected('debian:bookworm', 'zlib')[0];
    expect(zlib?.fixState).toBe('wont-fix');
    expect(zlib?.severity).toBe('low');
    expect(zlib?.note).toBe('no-dsa (ignored): Minor issue');
    expect(store.affected('debian:trixie', 'zlib')[0]?.fixedVersions).toEqual(['1:1.3.dfsg-2']);
    const glibc = store.affected('debian:bookworm', 'glibc');
    expect(glibc.find((r) => r.vulnId === 'CVE-2010-4756')).toMatchObject({ fixState: 'not-fixed', severity: 'negligible' });
    expect(glibc.find((r) => r.vulnId === 'CVE-2023-4911')).toMatchObject({ fixState: 'fixed', severity: 'high', fixedVersions: ['2.36-9+deb12u3'] });
    expect(store.affected('debian:bookworm', 'openssl')[0]).toMatchObject({ fixState: 'deferred', severity: 'medium', note: 'no-dsa (postponed): Can be fixed in a point release' });
    const undetermined = store.affected('debian:bullseye', 'openssl')[0];
    expect(undetermined).toMatchObject({ fixState: 'not-fixed', note: 'status undetermined' });
    expect(undetermined?.severity).toBeUndefined();

    const unknownUrgency = store.affected('debian:trixie', 'openssl')[0];
    expect(unknownUrgency).toMatchObject({ fixState: 'fixed', fixedVersions: ['3.5.4-1'] });
    expect(unknownUrgency?.severity).toBeUndefined();
    expect(result.issues.some((i) => i.code === 'UNSUPPORTED' && i.message.includes('unknown urgency "catastrophic"'))).toBe(true);
    expect(result.records).toBe(7);
    expect(result.skipped).toEqual({ invalidVersion: 2, missingFixedVersion: 1, unknownStatus: 1, invalidEntry: 3, invalidPackage: 2 });
    const messages = result.issues.map((i) => i.message);
    expect(messages).toContain('openssl CVE-2099-0002 bookworm: fixed_version "not a version!" is not a valid Debian version; rule skipped');
    expect(messages.some((m) => m.includes('"Not_A_Package"'))).toBe(true);
    expect(result.issues.every((i) => i.source === 'debian-tracker')).toBe(true);
  });

  it('rejects malformed JSON with FEED_INVALID', async () => {
    const bytes = readFileSync(samplePath);
    await rejectsWith(importDebianTracker(bytes.subarray(0, 2000), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(bytes.subarray(0, bytes.length - 3), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(Buffer.from('[1,2]'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(Buffer.from('{"a": {"CVE-1": {"x": tru}}}'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(Buffer.from('{"a": {}} trailing'), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(Buffer.from(''), createMemoryStore(), opts), 'FEED_INVALID');
    await rejectsWith(importDebianTracker(gzipSync(bytes).subarray(0, 500), createMemoryStore(), opts), 'FEED_INVALID');
  });

  it('bounds the input and each package', async () => {
    const bytes = readFileSync(samplePath);
    await rejectsWith(importDebianTracker(bytes, createMemoryStore(), { ...opts, maxInputBytes: 1000 }), 'FEED_TOO_LARGE');
    await rejectsWith(importDebianTracker(bytes, createMemoryStore(), { ...opts, maxPackageBytes: 500 }), 'FEED_TOO_LARGE');
    // An endless string inside one package is cut off by the per-package bound, not by memory exhaustion.
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"pkg": {"CVE-1": {"description": "');
      const block = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < 64; i++) yield block;
    }
    await rejectsWith(importDebianTracker(endless(), createMemoryStore(), { ...opts, maxPackageBytes: 16 * 1024 * 1024 }), 'FEED_TOO_LARGE');
  });
});

describe('importDebianTracker at real scale', () => {
  it('imports 50,000 CVEs across 1,000 source packages in a few seconds', async () => {
    const codenames = ['bookworm', 'trixie', 'sid', 'bullseye'];
    const parts: string[] = ['{'];
    let cve = 0;
    for (let p = 0; p < 1000; p++) {
      const entries: string[] = [];
      for (let c = 0; c < 50; c++, cve++) {
        const releases = codenames.map((name, r) => {
          const kind = (cve + r) % 5;
          const release =
            kind === 0
              ? { status: 'resolved', repositories: { [name]: `1.${p}-${c + 2}` }, fixed_version: `1.${p}-${c + 1}+deb12u1`, urgency: 'medium' }
              : kind === 1
                ? { status: 'open', repositories: { [name]: `1.${p}-1` }, urgency: 'low', nodsa: 'Minor issue', nodsa_reason: 'ignored' }
                : kind === 2
                  ? { status: 'resolved', repositories: { [name]: `1.${p}-1` }, fixed_version: '0', urgency: 'unimportant' }
                  : kind === 3
                    ? { status: 'open', repositories: { [name]: `1.${p}-1` }, urgency: 'unimportant' }
                    : { status: 'resolved', repositories: { [name]: `1.${p}-1` }, fixed_version: `2:1.${p}.${c}-1`, urgency: 'high**' };
          return `${JSON.stringify(name)}:${JSON.stringify(release)}`;
        });
        const id = `CVE-${2000 + (cve % 26)}-${100000 + cve}`;
        const description = `Synthetic vulnerability ${cve} in package ${p}: a buffer overflow in the parser allows remote attackers to cause a denial of service.`;
        entries.push(`${JSON.stringify(id)}:{"scope":"remote","description":${JSON.stringify(description)},"releases":{${releases.join(',')}}}`);
      }
      parts.push(`${p > 0 ? ',' : ''}"synthetic-pkg-${p}":{${entries.join(',')}}`);
    }
    parts.push('}');
    const bytes = Buffer.from(parts.join(''));
    // Parser cost alone (a writer that only counts), then the same file into the in-memory store.
    let counted = 0;
    const counting = { clearFeed() {}, putAffected(r: Iterable<unknown>) { for (const _ of r) counted++; }, putVulnerabilities() {}, putEpss() {}, putKev() {}, setProvenance() {} };
    const parseStarted = performance.now();
    await importDebianTracker(chunked(bytes, 1024 * 1024), counting, opts);
    const parseMs = performance.now() - parseStarted;
    expect(counted).toBe(160_000);
    const store = createMemoryStore();
    const started = performance.now();
    const result = await importDebianTracker(chunked(bytes, 1024 * 1024), store, opts);
    const ms = performance.now() - started;
    expect(result.records).toBe(50_000 * 4 * (4 / 5));
    expect(result.skipped).toEqual({ notAffected: 40_000 });
    expect(result.vulnerabilities).toBe(50_000);
    expect(store.affected('debian:bookworm', 'synthetic-pkg-999')).toHaveLength(40);
    console.log(`debian tracker: ${(bytes.length / 1024 / 1024).toFixed(1)} MiB, 50,000 CVEs × 4 releases → ${result.records} rules: parse ${parseMs.toFixed(0)} ms, into the memory store ${ms.toFixed(0)} ms`);
    expect(parseMs).toBeLessThan(3000);
    expect(ms).toBeLessThan(8000);
  }, 60_000);
});
