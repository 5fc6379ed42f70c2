/** @module oci/reference — parsing user image references (`oci:`, `oci-archive:`, `docker-archive:`, `dir:`, `registry:`, bare paths and bare registry references). */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { DistillError } from '../errors.js';
import { peekTarNames } from './archive/tar-peek.js';
import { formatRegistryReference, parseRegistryReference, type RegistryReference } from './registry/registry-reference.js';

export type Transport = 'oci' | 'oci-archive' | 'docker-archive' | 'dir' | 'registry';
export const TRANSPORTS: readonly Transport[] = ['oci', 'oci-archive', 'docker-archive', 'dir', 'registry'];

export interface ParsedReference {
  transport: Transport;
  /** File or directory path, as given (not resolved); for `registry`, `HOST/REPO` with Docker's defaults applied. */
  path: string;
  /** `registry` only: the parsed Docker reference (registry, repository, tag and/or digest). */
  registry?: RegistryReference;
  /** oci / oci-archive: the `org.opencontainers.image.ref.name`; docker-archive: `REPO:TAG`. */
  tag?: string;
  /** docker-archive `@N`: 0-based position in manifest.json. */
  index?: number;
  /** True when the user wrote the transport, false when it was detected from the content. */
  explicit: boolean;
  /** The reference as given. */
  text: string;
}

const TRANSPORT_HINT = 'use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG|@N], dir:PATH or registry:HOST/REPO[:TAG|@DIGEST]';
const EXPLICIT = /^(oci|oci-archive|docker-archive|dir):(.*)$/s;
const SCHEME = /^([a-z][a-z0-9+.-]*):/;
/** skopeo/podman transports distill does not read: refused instead of being taken for `name:tag`. */
const FOREIGN_TRANSPORTS: ReadonlySet<string> = new Set(['docker', 'docker-daemon', 'containers-storage', 'ostree', 'sif', 'tarball', 'http', 'https', 'file']);
/** Loose form of the OCI ref.name grammar: printable, no whitespace. */
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._:@+/-]*$/;

/** `registry:REF` / `docker://REF` → a registry ParsedReference (BAD_REFERENCE on a malformed REF). */
function registryReference(text: string, rest: string, explicit: boolean): ParsedReference {
  const parsed = parseRegistryReference(rest);
  const result: ParsedReference = { transport: 'registry', path: `${parsed.registry}/${parsed.repository}`, registry: parsed, explicit, text };
  if (parsed.tag !== undefined) result.tag = parsed.tag;
  return result;
}

/**
 * A bare reference is taken for a registry one only when no such local path exists and it cannot be a
 * mistyped path: it must name a tag or digest, or start with a registry host (`ghcr.io/…`, `localhost:5000/…`),
 * and not look like a file (`x.tar`, `./…`, `/…`).
 */
function bareRegistryReference(text: string): ParsedReference | undefined {
  const scheme = SCHEME.exec(text);
  if (scheme !== null && FOREIGN_TRANSPORTS.has(scheme[1]!)) return undefined;
  if (/^[./~]/.test(text) || text.includes('\\')) return undefined;
  let parsed: RegistryReference;
  try {
    parsed = parseRegistryReference(text);
  } catch {
    return undefined;
  }
  const first = text.split('/')[0]!;
  const hasHost = text.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const named = text.slice(text.lastIndexOf('/') + 1);
  const hasSelector = named.includes(':') || text.includes('@');
  if (!hasHost && !hasSelector) return undefined;
  const name = parsed.repository.slice(parsed.repository.lastIndexOf('/') + 1);
  if (/\.(tar|tgz|gz|zst|json|ya?ml)$/.test(name)) return undefined;
  return registryReference(text, text, false);
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function badReference(text: string, why: string): DistillError {
  return new DistillError('BAD_REFERENCE', `invalid image reference ${JSON.stringify(text)}: ${why}`, { hint: TRANSPORT_HINT, subject: text });
}

/**
 * Splits `PATH[:SUFFIX]`, preferring the longest prefix that exists on disk (so paths that contain ':'
 * work); when nothing exists, splits at the first ':' so the error names the likely path.
 */
function splitExisting(rest: string): { path: string; suffix?: string; stats?: Stats } {
  const whole = statOf(rest);
  if (whole !== undefined) return { path: rest, stats: whole };
  for (let i = rest.lastIndexOf(':'); i > 0; i = rest.lastIndexOf(':', i - 1)) {
    const stats = statOf(rest.slice(0, i));
    if (stats !== undefined) return { path: rest.slice(0, i), suffix: rest.slice(i + 1), stats };
  }
  const first = rest.indexOf(':');
  return first > 0 ? { path: rest.slice(0, first), suffix: rest.slice(first + 1) } : { path: rest };
}

function notFound(text: string, path: string): DistillError {
  return new DistillError('SOURCE_NOT_FOUND', `${path} does not exist`, {
    hint: `check the path in ${JSON.stringify(text)}`,
    subject: path,
  });
}

function readHead(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Classifies a tar file by its member names: docker save markers first, then an OCI layout. */
export function detectArchiveTransport(path: string): 'oci-archive' | 'docker-archive' {
  const head = readHead(path, 4);
  const { isTar, names } = peekTarNames(path, (name) => name === 'manifest.json' || name === 'repositories');
  if (!isTar) {
    const compressed = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    throw new DistillError('SOURCE_UNRECOGNIZED', `${path} is not a tar archive${compressed ? ' (it is gzip-compressed)' : ''}`, {
      hint: compressed ? `decompress it first (gunzip -k ${path}), then ${TRANSPORT_HINT}` : TRANSPORT_HINT,
      subject: path,
    });
  }
  const set = new Set(names);
  if (set.has('manifest.json') || set.has('repositories')) return 'docker-archive';
  if (set.has('oci-layout') || set.has('index.json')) return 'oci-archive';
  throw new DistillError('SOURCE_UNRECOGNIZED', `${path} is a tar archive but neither an OCI archive (oci-layout, index.json) nor a docker save (manifest.json, repositories)`, {
    hint: `${TRANSPORT_HINT}; a plain root filesystem tar can be unpacked and opened as dir:PATH`,
    subject: path,
  });
}

function detectDirectoryTransport(path: string): 'oci' | 'dir' {
  return statOf(join(path, 'oci-layout'))?.isFile() ? 'oci' : 'dir';
}

function checkTag(text: string, tag: string): string {
  if (!TAG_PATTERN.test(tag) || tag.length > 256) throw badReference(text, `invalid tag ${JSON.stringify(tag)}`);
  return tag;
}

/** Applies the transport's suffix syntax: `:TAG` for OCI, `:REPO:TAG` or `:@N` / `@N` for docker-archive. */
function withSuffix(result: ParsedReference, suffix: string | undefined): ParsedReference {
  if (suffix === undefined) return result;
  if (suffix === '') throw badReference(result.text, 'empty tag after ":"');
  if (result.transport === 'dir') throw badReference(result.text, 'dir: references take no tag');
  if (result.transport === 'docker-archive' && suffix.startsWith('@')) {
    if (!/^@\d{1,6}$/.test(suffix)) throw badReference(result.text, `invalid image index ${JSON.stringify(suffix)}`);
    return { ...result, index: Number(suffix.slice(1)) };
  }
  return { ...result, tag: checkTag(result.text, suffix) };
}

/** `path@N` (no colon) for docker-archive, when `path@N` itself does not exist. */
function splitAtIndex(rest: string): { path: string; suffix: string } | undefined {
  const match = /^(.*)(@\d{1,6})$/s.exec(rest);
  if (match === null || statOf(rest) !== undefined || statOf(match[1]!) === undefined) return undefined;
  return { path: match[1]!, suffix: match[2]! };
}

/**
 * Parses an image reference. Explicit transports are checked against what is on disk; bare paths are
 * classified by content (directory with oci-layout → oci, other directory → dir, tar → by member names).
 * Throws BAD_REFERENCE, SOURCE_NOT_FOUND or SOURCE_UNRECOGNIZED.
 */
export function parseReference(text: string): ParsedReference {
  if (typeof text !== 'string' || text.trim() === '') throw badReference(String(text), 'empty');
  if (text.includes('\0')) throw badReference(text.replace(/\0/g, '\\0'), 'contains a NUL byte');
  if (statOf(text) === undefined) {
    if (text.startsWith('registry:')) {
      if (text.length === 'registry:'.length) throw badReference(text, 'no image after "registry:"');
      return registryReference(text, text.slice('registry:'.length), true);
    }
    if (text.startsWith('docker://')) return registryReference(text, text.slice('docker://'.length), true);
  }
  const explicit = EXPLICIT.exec(text);
  if (explicit !== null && statOf(text) === undefined) {
    const transport = explicit[1] as Transport;
    const rest = explicit[2]!;
    if (rest === '') throw badReference(text, `no path after "${transport}:"`);
    const split = (transport === 'docker-archive' ? splitAtIndex(rest) : undefined) ?? splitExisting(rest);
    const stats = 'stats' in split ? split.stats : statOf(split.path);
    if (stats === undefined) throw notFound(text, split.path);
    if (transport === 'oci' || transport === 'dir') {
      if (!stats.isDirectory()) {
        throw new DistillError('SOURCE_UNRECOGNIZED', `${split.path} is not a directory`, {
          hint: transport === 'oci' ? `for a tar of a layout use oci-archive:${split.path}` : TRANSPORT_HINT,
          subject: split.path,
        });
      }
    } else if (!stats.isFile()) {
      throw new DistillError('SOURCE_UNRECOGNIZED', `${split.path} is not a file`, {
        hint: `for a layout directory use oci:${split.path}; for a root filesystem use dir:${split.path}`,
        subject: split.path,
      });
    }
    return withSuffix({ transport, path: split.path, explicit: true, text }, split.suffix);
  }

  // A bare path (or something that only looks like a transport).
  const split = splitAtIndex(text) ?? splitExisting(text);
  const stats = 'stats' in split ? split.stats : undefined;
  if (stats === undefined) {
    const bare = bareRegistryReference(text);
    if (bare !== undefined) return bare;
    const scheme = SCHEME.exec(text);
    if (scheme !== null && statOf(text.slice(0, text.indexOf(':'))) === undefined && /^[a-z]/.test(text)) {
      if (FOREIGN_TRANSPORTS.has(scheme[1]!) || text.includes('//')) {
        throw badReference(text, `transport "${scheme[1]}" is not supported by this source`);
      }
    }
    throw notFound(text, split.path);
  }
  let transport: Transport;
  if (stats.isDirectory()) transport = detectDirectoryTransport(split.path);
  else if (stats.isFile()) transport = detectArchiveTransport(split.path);
  else {
    throw new DistillError('SOURCE_UNRECOGNIZED', `${split.path} is neither a file nor a directory`, { hint: TRANSPORT_HINT, subject: split.path });
  }
  return withSuffix({ transport, path: split.path, explicit: false, text }, split.suffix);
}

/** Formats a parsed reference back into the explicit `transport:path[:tag]` form. */
export function formatReference(reference: ParsedReference): string {
  if (reference.transport === 'registry' && reference.registry !== undefined) return `registry:${formatRegistryReference(reference.registry)}`;
  const suffix = reference.index !== undefined ? `:@${reference.index}` : reference.tag !== undefined ? `:${reference.tag}` : '';
  return `${reference.transport}:${reference.path}${suffix}`;
}
