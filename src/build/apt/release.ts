/** @module build/apt/release — InRelease: OpenPGP clearsign verification against a keyring, Release field parsing, freshness. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { DistillError } from '../../errors.js';
import { readSealed, recordId, writeSealed, type CacheSeal } from '../cache-seal.js';
import { field, parseDeb822 } from '../../debian/deb822.js';
import { fetchBytes, type HttpOptions } from './http.js';
import type { Repository } from './sources.js';

/** Debian's InRelease files are well under 1 MiB; anything past this bound is refused unread. */
export const INRELEASE_MAX_BYTES = 16 * 1024 * 1024;

export type Keyring = openpgp.PublicKey[];

// openpgp is loaded only when a signature is actually verified: a warm build whose InReleases were verified before
// (see verifyInReleaseCached) never needs it, and loading it costs about 60 ms.
let openpgpModule: Promise<typeof openpgp> | undefined;
function pgp(): Promise<typeof openpgp> {
  return (openpgpModule ??= import('openpgp'));
}

/** A keyring not yet parsed: its identity (SHA256 of its bytes) and how to read it. */
export interface KeyringSource {
  /** SHA256 (hex) of the keyring's bytes: what a cached verification is bound to. */
  id: string;
  load(): Promise<Keyring>;
}

/** A keyring file as a source: read (and hashed) at once, parsed only when a signature must be verified. */
export async function keyringSource(path: string): Promise<KeyringSource> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot read keyring ${path}: ${(error as Error).message}`, { subject: path, cause: error, hint: 'install debian-archive-keyring, or give a keyring path in the recipe or apt Signed-By' });
  }
  return bytesKeyringSource(data, path);
}

/** A keyring given as bytes or armored text (an inline Signed-By) as a source. */
export function bytesKeyringSource(data: Buffer | string, subject: string): KeyringSource {
  let parsed: Promise<Keyring> | undefined;
  return { id: createHash('sha256').update(data).digest('hex'), load: () => (parsed ??= parseKeyring(data, subject)) };
}

/** One file listed under `SHA256:` in a Release. */
export interface ReleaseFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Release {
  origin?: string;
  label?: string;
  suite?: string;
  codename?: string;
  version?: string;
  date?: Date;
  validUntil?: Date;
  acquireByHash: boolean;
  architectures: string[];
  components: string[];
  /** SHA256 entries by path relative to `dists/<suite>/`. */
  sha256: Map<string, ReleaseFile>;
}

export interface VerifiedRelease {
  release: Release;
  /** The signed text (what the signature covers); nothing outside it is ever read. */
  signedText: string;
  /** Key IDs (hex) of the signatures that verified. */
  signers: string[];
}

/** Reads a keyring: binary OpenPGP (`.gpg`, as `gpg --export` writes) or armored (`.asc`). */
export async function parseKeyring(data: Buffer | string, subject = 'keyring'): Promise<Keyring> {
  const text = typeof data === 'string' ? data : undefined;
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  // GnuPG's keybox (`pubring.kbx`) is not an OpenPGP keyring: name it instead of failing obscurely.
  if (buf.byteLength >= 12 && buf.subarray(8, 12).toString('latin1') === 'KBXf') {
    throw new DistillError('USAGE', `${subject} is a GnuPG keybox, not an OpenPGP keyring; export it with gpg --export > keyring.gpg`, { subject });
  }
  const armored = text ?? (buf.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP') ? buf.toString('utf8') : undefined);
  try {
    const openpgp = await pgp();
    const keys = armored !== undefined ? await openpgp.readKeys({ armoredKeys: armored }) : await openpgp.readKeys({ binaryKeys: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    return keys.map((k) => k.toPublic());
  } catch (error) {
    throw new DistillError('USAGE', `${subject} is not a readable OpenPGP keyring: ${(error as Error).message}`, { subject, cause: error });
  }
}

/** Reads a keyring file. */
export async function loadKeyring(path: string): Promise<Keyring> {
  return (await keyringSource(path)).load();
}

/**
 * Verifies a clearsigned InRelease against a keyring, at time `now`. Accepts when at least one signature verifies
 * and none made by a key in the keyring fails. A failing digest is INRELEASE_BAD_SIGNATURE; signatures only by keys
 * not in the keyring (or none at all) are INRELEASE_UNKNOWN_KEY.
 */
export async function verifyInRelease(input: Buffer | string, keyring: Keyring, options: { now: Date; subject?: string }): Promise<{ signedText: string; signers: string[] }> {
  const subject = options.subject ?? 'InRelease';
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const openpgp = await pgp();
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (error) {
    throw new DistillError('INRELEASE_UNKNOWN_KEY', `${subject} is not a clearsigned OpenPGP message: ${(error as Error).message}`, { subject, cause: error });
  }
  const result = await openpgp.verify({ message, verificationKeys: keyring, date: options.now, format: 'utf8' });
  const signers: string[] = [];
  const unknown: string[] = [];
  const bad: string[] = [];
  for (const sig of result.signatures) {
    const id = sig.keyID.toHex();
    try {
      await sig.verified;
      signers.push(id);
    } catch (error) {
      const msg = (error as Error).message;
      if (/Could not find signing key/i.test(msg)) unknown.push(id);
      else bad.push(`${id}: ${msg}`);
    }
  }
  if (bad.length > 0) {
    throw new DistillError('INRELEASE_BAD_SIGNATURE', `${subject}: signature does not verify (${bad.join('; ')})`, { subject });
  }
  if (signers.length === 0) {
    const which = unknown.length === 0 ? 'carries no signature' : `is signed only by keys not in the keyring (${unknown.join(', ')})`;
    throw new DistillError('INRELEASE_UNKNOWN_KEY', `${subject} ${which}`, { subject });
  }
  return { signedText: result.data, signers };
}

function parseDate(value: string | undefined, name: string, subject: string): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new DistillError('RELEASE_INVALID', `${subject}: ${name} "${value}" is not a date`, { subject });
  return new Date(ms);
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses the fields of a (verified) Release text. */
export function parseRelease(signedText: string, subject = 'Release'): Release {
  const { paragraphs } = parseDeb822(signedText, { path: subject });
  const p = paragraphs[0];
  if (p === undefined) throw new DistillError('RELEASE_INVALID', `${subject} has no fields`, { subject });
  const sha256 = new Map<string, ReleaseFile>();
  const list = field(p, 'SHA256');
  if (list === undefined) throw new DistillError('RELEASE_INVALID', `${subject} has no SHA256 list (only weaker hashes are not accepted)`, { subject });
  for (const line of list.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const [hex, size, path, extra] = t.split(/\s+/);
    const n = Number(size);
    if (hex === undefined || path === undefined || extra !== undefined || !HEX64.test(hex) || !Number.isSafeInteger(n) || n < 0) {
      throw new DistillError('RELEASE_INVALID', `${subject}: malformed SHA256 line "${t.slice(0, 120)}"`, { subject });
    }
    sha256.set(path, { path, size: n, sha256: hex });
  }
  const release: Release = {
    acquireByHash: field(p, 'Acquire-By-Hash')?.trim().toLowerCase() === 'yes',
    architectures: (field(p, 'Architectures') ?? '').split(/\s+/).filter((w) => w !== ''),
    components: (field(p, 'Components') ?? '').split(/\s+/).filter((w) => w !== ''),
    sha256,
  };
  const strings = [['origin', 'Origin'], ['label', 'Label'], ['suite', 'Suite'], ['codename', 'Codename'], ['version', 'Version']] as const;
  for (const [key, name] of strings) {
    const v = field(p, name);
    if (v !== undefined) release[key] = v.trim();
  }
  const date = parseDate(field(p, 'Date'), 'Date', subject);
  if (date !== undefined) release.date = date;
  const validUntil = parseDate(field(p, 'Valid-Until'), 'Valid-Until', subject);
  if (validUntil !== undefined) release.validUntil = validUntil;
  return release;
}

/** Refuses a Release past its Valid-Until, or one that names another suite than the one asked for. */
export function checkRelease(release: Release, suite: string, now: Date, subject = 'Release'): void {
  if (release.validUntil !== undefined && release.validUntil.getTime() < now.getTime()) {
    throw new DistillError('RELEASE_EXPIRED', `${subject} expired at ${release.validUntil.toISOString()} (now ${now.toISOString()})`, { subject });
  }
  // apt's "conflicting distribution" check: a validly signed Release for another suite must not be replayed here.
  if (release.suite !== undefined || release.codename !== undefined) {
    if (release.suite !== suite && release.codename !== suite) {
      throw new DistillError('RELEASE_INVALID', `${subject} is for suite ${release.suite ?? '?'} (codename ${release.codename ?? '?'}), not ${suite}`, { subject });
    }
  }
}

/** The URL of a file under a repository's `dists/<suite>/`. */
export function distsUrl(repo: Repository, relative: string): string {
  return `${repo.uri}/dists/${repo.suite}/${relative}`;
}

/** Where verified InReleases are remembered: a cache directory and the seal its records must carry. */
export interface VerificationCache {
  cacheDir: string;
  seal: CacheSeal;
}

const VERIFIED_KIND = 'inrelease';

interface VerifiedRecord {
  signers: string[];
  signedText: string;
  /** When the signatures were verified (ms); the record is not used at an earlier time. */
  verifiedAt: number;
  /** The earliest expiry of a signing key (ms), or null when none expires; the record is not used from then on. */
  notAfter: number | null;
}

/**
 * The earliest expiry (ms) of the keys (primary and subkey) that made the verified signatures, null when none
 * expires, or undefined when openpgp cannot tell (then nothing is remembered).
 */
async function signingKeysExpiry(keyring: Keyring, signers: readonly string[]): Promise<number | null | undefined> {
  let earliest = Infinity;
  let found = 0;
  for (const key of keyring) {
    for (const k of key.getKeys()) {
      if (!signers.includes(k.getKeyID().toHex())) continue;
      found++;
      const times = [await key.getExpirationTime().catch(() => null)];
      if (k !== key) times.push(await (k as openpgp.Subkey).getExpirationTime().catch(() => null));
      for (const t of times) {
        if (t === null) return undefined;
        if (t instanceof Date) earliest = Math.min(earliest, t.getTime());
      }
    }
  }
  if (found === 0) return undefined;
  return earliest === Infinity ? null : earliest;
}

/**
 * verifyInRelease, remembered: the same InRelease bytes, verified before against the same keyring bytes, give the
 * same result without openpgp, provided the record authenticates under the cache's seal and `now` lies between the
 * verification and the earliest expiry of a signing key. A revoked or replaced key changes the keyring's bytes, so
 * the record no longer applies. Valid-Until is the caller's check (checkRelease), made on every use.
 */
export async function verifyInReleaseCached(input: Buffer, keyring: KeyringSource, options: { now: Date; subject?: string; cache?: VerificationCache }): Promise<{ signedText: string; signers: string[] }> {
  const cache = options.cache;
  const now = options.now.getTime();
  const id = recordId('inrelease v1', keyring.id, createHash('sha256').update(input).digest('hex'));
  if (cache !== undefined) {
    const body = await readSealed(cache.cacheDir, cache.seal, VERIFIED_KIND, id);
    if (body !== undefined) {
      try {
        const record = JSON.parse(body.toString('utf8')) as VerifiedRecord;
        if (record.verifiedAt <= now && (record.notAfter === null || now < record.notAfter) && record.signers.length > 0) return { signedText: record.signedText, signers: record.signers };
      } catch {
        // An unreadable record is a miss.
      }
    }
  }
  const keys = await keyring.load();
  const verified = await verifyInRelease(input, keys, { now: options.now, ...(options.subject === undefined ? {} : { subject: options.subject }) });
  if (cache !== undefined) {
    const notAfter = await signingKeysExpiry(keys, verified.signers);
    if (notAfter !== undefined && (notAfter === null || now < notAfter)) {
      const record: VerifiedRecord = { signers: verified.signers, signedText: verified.signedText, verifiedAt: now, notAfter };
      await writeSealed(cache.cacheDir, cache.seal, VERIFIED_KIND, id, Buffer.from(JSON.stringify(record)));
    }
  }
  return verified;
}

/**
 * Fetches `dists/<suite>/InRelease`, verifies it against the keyring and checks it is fresh and for this suite. With a
 * verification cache, an InRelease verified before (same bytes, same keyring) is not verified again.
 */
export async function fetchRelease(repo: Repository, keyring: Keyring | KeyringSource, options: HttpOptions & { now: Date; verificationCache?: VerificationCache }): Promise<VerifiedRelease> {
  const url = distsUrl(repo, 'InRelease');
  const body = await fetchBytes(url, INRELEASE_MAX_BYTES, options);
  const { signedText, signers } = Array.isArray(keyring)
    ? await verifyInRelease(body, keyring, { now: options.now, subject: url })
    : await verifyInReleaseCached(body, keyring, { now: options.now, subject: url, ...(options.verificationCache === undefined ? {} : { cache: options.verificationCache }) });
  const release = parseRelease(signedText, url);
  checkRelease(release, repo.suite, options.now, url);
  return { release, signedText, signers };
}
