import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData } from '../../../test/helpers/oracles.js';
import { cacheSeal } from '../cache-seal.js';
import { checkRelease, keyringSource, loadKeyring, parseRelease, verifyInRelease, verifyInReleaseCached, type KeyringSource } from './release.js';
import { isDistillError } from '../../errors.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const dataDir = join(sharedData, 'debian-bookworm-local-system');

function gpgvAccepts(text: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'gpgv-'));
  try {
    writeFileSync(join(dir, 'InRelease'), text);
    execFileSync('gpgv', ['--keyring', KEYRING, join(dir, 'InRelease')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('InRelease verification against the real Debian archive keyring', () => {
  for (const suite of ['bookworm', 'bookworm-security', 'bookworm-updates']) {
    it(`${suite}: verifies (as gpgv does), parses, and a one-byte change is INRELEASE_BAD_SIGNATURE`, async () => {
      const keyring = await loadKeyring(KEYRING);
      const text = readFileSync(join(dataDir, `${suite}_InRelease`), 'utf8');
      expect(gpgvAccepts(text)).toBe(true);
      const t0 = performance.now();
      const { signedText, signers } = await verifyInRelease(text, keyring, { now: new Date('2026-12-03T00:00:00Z') });
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(500);
      expect(signers.length).toBeGreaterThan(0);
      const release = parseRelease(signedText);
      expect(release.codename).toBe(suite);
      expect(() => checkRelease(release, suite, release.date!)).not.toThrow();
      expect(release.acquireByHash).toBe(true);
      expect(release.architectures).toContain('arm64');
      // The SHA256 list matches the real index beside it (recompressed from apt's lz4 lists, so the
      // uncompressed Packages entry is the one to compare).
      const { xz } = await import('@napi-rs/lzma');
      const { createHash } = await import('node:crypto');
      const plain = await xz.decompress(readFileSync(join(dataDir, `${suite}_main_Packages.xz`)));
      const entry = release.sha256.get('main/binary-amd64/Packages');
      expect(entry?.size).toBe(plain.byteLength);
      expect(entry?.sha256).toBe(createHash('sha256').update(plain).digest('hex'));
      expect(release.sha256.get('main/binary-amd64/Packages.xz')?.sha256).toMatch(/^[0-9a-f]{64}$/);

      // Flip one byte inside the signed body (not in the armor): gpgv and distill both refuse it.
      const at = text.indexOf('main/binary-amd64/Packages.xz') - 3;
      const tampered = text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
      expect(gpgvAccepts(tampered)).toBe(false);
      await expect(verifyInRelease(tampered, keyring, { now: new Date('2026-12-03T00:00:00Z') })).rejects.toMatchObject({ code: 'INRELEASE_BAD_SIGNATURE' });
    });
  }

  it('Valid-Until of bookworm-security is enforced against the given clock', async () => {
    const keyring = await loadKeyring(KEYRING);
    const { signedText } = await verifyInRelease(readFileSync(join(dataDir, 'bookworm-security_InRelease')), keyring, { now: new Date('2026-12-03T00:00:00Z') });
    const release = parseRelease(signedText);
    expect(release.validUntil?.toISOString()).toBe('2026-12-08T19:40:00.000Z');
    expect(() => checkRelease(release, 'bookworm-security', new Date('2026-12-05T00:00:00Z'))).not.toThrow();
    expect(() => checkRelease(release, 'bookworm-security', new Date('2026-12-09T00:00:00Z'))).toThrow(expect.objectContaining({ code: 'RELEASE_EXPIRED' }));
    // A validly signed Release replayed as another suite is refused.
    expect(() => checkRelease(release, 'bookworm', new Date('2026-12-05T00:00:00Z'))).toThrow(expect.objectContaining({ code: 'RELEASE_INVALID' }));
  });

  it('an unsigned text or a keyring without the signing key is INRELEASE_UNKNOWN_KEY', async () => {
    const keyring = await loadKeyring(KEYRING);
    const text = readFileSync(join(dataDir, 'bookworm_InRelease'), 'utf8');
    const err = await verifyInRelease('Origin: Debian\nSuite: bookworm\n', keyring, { now: new Date() }).catch((e: unknown) => e);
    expect(isDistillError(err, 'INRELEASE_UNKNOWN_KEY')).toBe(true);
    // Only the first key of the keyring (an old one, not a signer of bookworm).
    const signers = (await verifyInRelease(text, keyring, { now: new Date('2026-12-03T00:00:00Z') })).signers;
    const others = keyring.filter((k) => !k.getKeys().some((sub) => signers.includes(sub.getKeyID().toHex())));
    expect(others.length).toBeGreaterThan(0);
    await expect(verifyInRelease(text, others, { now: new Date('2026-12-03T00:00:00Z') })).rejects.toMatchObject({ code: 'INRELEASE_UNKNOWN_KEY' });
  });

  it('hostile Release text: malformed SHA256 lines and dates are RELEASE_INVALID', () => {
    expect(() => parseRelease('Suite: x\nSHA256:\n nothex 12 main/Packages\n')).toThrow(expect.objectContaining({ code: 'RELEASE_INVALID' }));
    expect(() => parseRelease('Suite: x\nDate: yesterday\nSHA256:\n')).toThrow(expect.objectContaining({ code: 'RELEASE_INVALID' }));
    expect(() => parseRelease('Suite: x\nMD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4 1 a\n')).toThrow(expect.objectContaining({ code: 'RELEASE_INVALID' }));
  });
});

describe('remembered InRelease verifications (verifyInReleaseCached)', () => {
  const now = new Date('2026-12-03T00:00:00Z');
  const body = readFileSync(join(dataDir, 'bookworm-security_InRelease'));
  /** The real Debian keyring as a source that counts how often it had to be parsed (a parse means openpgp verified). */
  const counted = async (): Promise<KeyringSource & { loads: number }> => {
    const inner = await keyringSource(KEYRING);
    const source = { id: inner.id, loads: 0, load: () => { source.loads++; return inner.load(); } };
    return source;
  };

  it('verifies once; the same bytes and keyring then give the same result without openpgp; any change verifies again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inrelease-cache-'));
    try {
      const cache = { cacheDir: dir, seal: cacheSeal(Buffer.alloc(32, 9)) };
      const keyring = await counted();
      const first = await verifyInReleaseCached(body, keyring, { now, cache });
      expect(keyring.loads).toBe(1);
      // Oracle: the uncached verification of the same bytes.
      expect(first).toEqual(await verifyInRelease(body, await keyring.load(), { now }));
      keyring.loads = 0;
      expect(await verifyInReleaseCached(body, keyring, { now, cache })).toEqual(first);
      expect(await verifyInReleaseCached(body, keyring, { now: new Date(now.getTime() + 86_400_000), cache })).toEqual(first);
      expect(keyring.loads).toBe(0);

      // The record stops applying at the signing keys' earliest expiry (read back from the record itself); from
      // then on openpgp decides again, exactly as without a cache.
      const [recordFile] = readdirSync(join(dir, 'sealed', 'inrelease'));
      const sealedRecord = readFileSync(join(dir, 'sealed', 'inrelease', recordFile!), 'utf8');
      const notAfter = (JSON.parse(sealedRecord.slice(sealedRecord.indexOf('\n') + 1)) as { notAfter: number | null }).notAfter;
      expect(typeof notAfter).toBe('number');
      const loads = keyring.loads;
      await verifyInReleaseCached(body, keyring, { now: new Date(notAfter! - 1000), cache });
      expect(keyring.loads).toBe(loads);
      const late = new Date(notAfter! + 1000);
      const uncached = await verifyInRelease(body, await keyring.load(), { now: late }).then((r) => r.signers, (e: { code?: string }) => e.code);
      keyring.loads = loads;
      const cachedLate = await verifyInReleaseCached(body, keyring, { now: late, cache }).then((r) => r.signers, (e: { code?: string }) => e.code);
      expect(keyring.loads).toBe(loads + 1);
      expect(cachedLate).toEqual(uncached);
      keyring.loads = 0;

      // Verified again: before the recorded verification, under another seal, with another keyring's bytes.
      await verifyInReleaseCached(body, keyring, { now: new Date(now.getTime() - 60_000), cache });
      expect(keyring.loads).toBe(1);
      await verifyInReleaseCached(body, keyring, { now, cache: { cacheDir: dir, seal: cacheSeal(Buffer.alloc(32, 8)) } });
      expect(keyring.loads).toBe(2);
      const otherKeyring = { id: '0'.repeat(64), loads: 0, load: keyring.load };
      await verifyInReleaseCached(body, otherKeyring, { now, cache });
      expect(otherKeyring.loads).toBe(0);
      expect(keyring.loads).toBe(3);

      // A one-byte change is other bytes: verified, and refused, however warm the cache.
      const tampered = Buffer.from(body.toString('utf8').replace('Codename: bookworm-security', 'Codename: bookworm-securitx'));
      await expect(verifyInReleaseCached(tampered, keyring, { now, cache })).rejects.toMatchObject({ code: 'INRELEASE_BAD_SIGNATURE' });
      await expect(verifyInReleaseCached(tampered, keyring, { now, cache })).rejects.toMatchObject({ code: 'INRELEASE_BAD_SIGNATURE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
