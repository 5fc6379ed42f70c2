/** @module filesystem/tar/tar-writer — deterministic ustar/pax tar writer for image layers and archives. */
import { DistillError } from '../../errors.js';
import { normalizePath } from '../file-entry.js';
import { BLOCK_SIZE } from './tar-header.js';
import type { TarHeaderFields } from './tar-types.js';

/** The entry types the writer emits (devices and fifos are never needed in built images). */
export type TarWriteType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** One entry to write. Paths may be given as `/usr/bin/x`, `./usr/bin/x` or `usr/bin/x`; they are stored as `usr/bin/x`. */
export interface TarWriteEntry {
  path: string;
  type: TarWriteType;
  /** Permission bits (mode & 0o7777 is written). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; clamped to {@link TarWriteOptions.mtime}. Default: the clamp value, or 0. */
  mtime?: number;
  /** Regular-file content (required for `file`, ignored otherwise). */
  content?: Buffer;
  /** Symlink target as it should be stored, or the path of the entry a hardlink points at (any of the path forms above). */
  linkTarget?: string;
  /** Extra pax records, e.g. `SCHILY.xattr.security.capability` (written sorted by key). */
  pax?: Record<string, string>;
}

export interface TarWriteOptions {
  /**
   * SOURCE_DATE_EPOCH: every mtime later than this is clamped to it, and entries without an mtime get it.
   * Without it, mtimes are written as given (missing ones as 0).
   */
  mtime?: number;
  /** Mode, uid and gid of the parent directories the writer adds when an entry's parent is missing. Default 0o755, 0, 0. */
  parentMode?: number;
  parentUid?: number;
  parentGid?: number;
}

const MAX_OCTAL_7 = 0o7777777; // 2097151: the largest value of an 8-byte field (7 digits + NUL).
const MAX_OCTAL_11 = 0o77777777777; // 8 GiB - 1: the largest value of a 12-byte field.
const END_OF_ARCHIVE = Buffer.alloc(BLOCK_SIZE * 2);
const ZERO_PAD = Buffer.alloc(BLOCK_SIZE);

function badEntry(path: string, message: string): DistillError {
  return new DistillError('PATH_ESCAPE', `tar entry "${path}": ${message}`, { subject: path });
}

/** Normalises a path to the stored form `a/b/c` (no leading `/` or `./`, no trailing `/`); refuses `..` and NUL. */
export function tarPath(raw: string): string {
  if (raw.includes('\0')) throw badEntry(raw, 'path contains a NUL byte');
  const path = normalizePath(raw, 'refuse');
  if (path === undefined) throw badEntry(raw, 'path contains ".."');
  return path.slice(1);
}

/** Byte-wise (UTF-8) path order: a parent always sorts before its children, and the order is locale-independent. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x01-\x7f]*$/.test(text);
}

/** Writes `value` as zero-padded octal into `length - 1` digits plus NUL. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const text = Math.trunc(value).toString(8).padStart(length - 1, '0');
  block.write(text, offset, length - 1, 'latin1');
  block[offset + length - 1] = 0;
}

/** One pax record: `"%d %s=%s\n"` where the decimal length counts the whole record including itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, 'utf8');
}

/** Splits a long ASCII name into ustar prefix (≤155) and name (≤100) at a `/`, or undefined when impossible. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (name.length <= 100) return { prefix: '', name };
  if (name.length > 256) return undefined;
  for (let cut = name.indexOf('/'); cut !== -1; cut = name.indexOf('/', cut + 1)) {
    if (cut <= 155 && name.length - cut - 1 <= 100 && name.length - cut - 1 > 0) return { prefix: name.slice(0, cut), name: name.slice(cut + 1) };
  }
  return undefined;
}

/** The ustar fields of one entry, before pax promotion. */
export type HeaderFields = TarHeaderFields;

function ustarBlock(fields: HeaderFields, prefix: string): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, fields.uid);
  writeOctal(block, 116, 8, fields.gid);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156); // checksum placeholder: eight spaces
  block.write(fields.typeflag, 156, 1, 'latin1');
  block.write(fields.linkName, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  // uname/gname stay empty: owners are numeric only. devmajor/devminor are written as zero octal, as GNU tar does.
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/**
 * The header blocks of one entry: an optional pax extended header (for names or link targets that are long or
 * non-ASCII, ids above 2097151, sizes from 8 GiB, extra records) followed by the ustar header. `fields.name`
 * is the stored name (directories with their trailing `/`).
 */
export function tarHeaderBlocks(fields: HeaderFields, extraPax: Record<string, string> = {}): Buffer[] {
  const records: [string, string][] = [];
  let name = fields.name;
  let prefix = '';
  const split = isAscii(name) ? splitUstarName(name) : undefined;
  if (split === undefined) {
    records.push(['path', name]);
    // A readable ASCII stand-in in the ustar field for tools that ignore pax.
    name = asciiStandIn(name, 100);
  } else {
    name = split.name;
    prefix = split.prefix;
  }
  let linkName = fields.linkName;
  if (Buffer.byteLength(linkName, 'utf8') > 100 || !isAscii(linkName)) {
    records.push(['linkpath', linkName]);
    linkName = asciiStandIn(linkName, 100);
  }
  let { uid, gid, size } = fields;
  if (uid > MAX_OCTAL_7) {
    records.push(['uid', String(uid)]);
    uid = 0;
  }
  if (gid > MAX_OCTAL_7) {
    records.push(['gid', String(gid)]);
    gid = 0;
  }
  if (size > MAX_OCTAL_11) {
    records.push(['size', String(size)]);
    size = 0;
  }
  let mtime = fields.mtime;
  if (mtime > MAX_OCTAL_11 || mtime < 0) {
    records.push(['mtime', String(mtime)]);
    mtime = Math.min(Math.max(mtime, 0), MAX_OCTAL_11);
  }
  for (const key of Object.keys(extraPax).sort()) records.push([key, extraPax[key]!]);
  const header = ustarBlock({ ...fields, name, linkName, uid, gid, size, mtime }, prefix);
  if (records.length === 0) return [header];
  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const paxName = asciiStandIn(`PaxHeaders/${fields.name.replace(/\/$/, '').split('/').pop() ?? ''}`, 100);
  const paxHeader = ustarBlock({ name: paxName, typeflag: 'x', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, linkName: '' }, '');
  const blocks = [paxHeader, body];
  const pad = (BLOCK_SIZE - (body.length % BLOCK_SIZE)) % BLOCK_SIZE;
  if (pad > 0) blocks.push(ZERO_PAD.subarray(0, pad));
  blocks.push(header);
  return blocks;
}

/** Replaces non-ASCII characters and cuts to `max` bytes. */
function asciiStandIn(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[^\x01-\x7f]/g, '_').slice(0, max);
}

interface Prepared {
  path: string;
  entry: TarWriteEntry;
  linkTarget: string;
}

/**
 * Normalises, validates and orders entries: byte-wise by path (so parents precede children), missing parent
 * directories added, duplicate paths refused, and hardlinks re-pointed so the content is stored under the first
 * path of its group in that order (a hardlink may only refer to an earlier entry).
 */
export function prepareTarEntries(entries: Iterable<TarWriteEntry>, options: TarWriteOptions = {}): TarWriteEntry[] {
  const byPath = new Map<string, Prepared>();
  for (const entry of entries) {
    const path = tarPath(entry.path);
    if (path === '') {
      if (entry.type !== 'dir') throw badEntry(entry.path, 'the root can only be a directory');
      continue; // The root directory is not stored: runtimes keep their own.
    }
    if (byPath.has(path)) throw badEntry(entry.path, 'duplicate path');
    let linkTarget = '';
    if (entry.type === 'symlink') {
      if (entry.linkTarget === undefined || entry.linkTarget === '') throw badEntry(entry.path, 'symlink without a target');
      if (entry.linkTarget.includes('\0')) throw badEntry(entry.path, 'symlink target contains a NUL byte');
      linkTarget = entry.linkTarget;
    } else if (entry.type === 'hardlink') {
      if (entry.linkTarget === undefined) throw badEntry(entry.path, 'hardlink without a target');
      linkTarget = tarPath(entry.linkTarget);
    } else if (entry.type === 'file' && entry.content === undefined) {
      throw badEntry(entry.path, 'regular file without content');
    }
    byPath.set(path, { path, entry, linkTarget });
  }
  // Parent directories the caller left out.
  for (const path of [...byPath.keys()]) {
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      const parent = path.slice(0, cut);
      const existing = byPath.get(parent);
      if (existing !== undefined) {
        if (existing.entry.type !== 'dir') throw badEntry(path, `its parent "${parent}" is a ${existing.entry.type}, not a directory`);
        break;
      }
      byPath.set(parent, {
        path: parent,
        entry: { path: parent, type: 'dir', mode: options.parentMode ?? 0o755, uid: options.parentUid ?? 0, gid: options.parentGid ?? 0 },
        linkTarget: '',
      });
    }
  }
  // Hardlink groups: resolve each link to the regular file it finally names, then store the content first.
  const groups = new Map<string, string[]>();
  for (const item of byPath.values()) {
    if (item.entry.type !== 'hardlink') continue;
    let target = item.linkTarget;
    const seen = new Set<string>([item.path]);
    for (;;) {
      const next = byPath.get(target);
      if (next === undefined) throw badEntry(item.path, `hardlink target "${target}" is not in the archive`);
      if (next.entry.type === 'file') break;
      if (next.entry.type !== 'hardlink' || seen.has(target)) throw badEntry(item.path, `hardlink target "${target}" is not a regular file`);
      seen.add(target);
      target = next.linkTarget;
    }
    const group = groups.get(target) ?? [target];
    group.push(item.path);
    groups.set(target, group);
  }
  for (const [fileTarget, members] of groups) {
    members.sort(comparePaths);
    const first = members[0]!;
    if (first === fileTarget) {
      for (const member of members.slice(1)) byPath.get(member)!.linkTarget = first;
      continue;
    }
    const file = byPath.get(fileTarget)!;
    for (const member of members) {
      const item = byPath.get(member)!;
      if (member === first) {
        item.entry = { ...file.entry, path: member, type: 'file', content: file.entry.content! };
        item.linkTarget = '';
      } else {
        if (member === fileTarget) item.entry = { ...file.entry, type: 'hardlink' };
        item.linkTarget = first;
      }
    }
  }
  // Keys encoded once: UTF-16 string order differs from UTF-8 byte order for astral characters.
  const keyed = [...byPath.values()].map((item) => ({ item, key: Buffer.from(item.path, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map(({ item: { path, entry, linkTarget } }) => {
    const out: TarWriteEntry = { path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid };
    if (entry.mtime !== undefined) out.mtime = entry.mtime;
    if (entry.type === 'file') out.content = entry.content!;
    if (linkTarget !== '') out.linkTarget = linkTarget;
    if (entry.pax !== undefined) out.pax = entry.pax;
    return out;
  });
}

function clampMtime(mtime: number | undefined, clamp: number | undefined): number {
  if (mtime === undefined) return clamp ?? 0;
  const whole = Math.trunc(mtime);
  return clamp !== undefined && whole > clamp ? clamp : whole;
}

/** The blocks of one already prepared entry: headers, content, padding. */
function* entryChunks(entry: TarWriteEntry, clamp: number | undefined): Generator<Buffer> {
  const isFile = entry.type === 'file';
  const content = isFile ? entry.content! : undefined;
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '1';
  const fields: HeaderFields = {
    name: entry.type === 'dir' ? `${entry.path}/` : entry.path,
    typeflag,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: content?.length ?? 0,
    mtime: clampMtime(entry.mtime, clamp),
    linkName: entry.linkTarget ?? '',
  };
  if (!Number.isSafeInteger(entry.uid) || entry.uid < 0 || !Number.isSafeInteger(entry.gid) || entry.gid < 0) {
    throw badEntry(entry.path, `invalid owner ${entry.uid}:${entry.gid}`);
  }
  yield* tarHeaderBlocks(fields, entry.pax);
  if (content !== undefined && content.length > 0) {
    yield content;
    const pad = (BLOCK_SIZE - (content.length % BLOCK_SIZE)) % BLOCK_SIZE;
    if (pad > 0) yield ZERO_PAD.subarray(0, pad);
  }
}

/**
 * Streams a deterministic tar: entries are normalised and sorted by {@link prepareTarEntries} (callers need not
 * sort), owners numeric with empty uname/gname, mtimes clamped, ended by two zero blocks (no 10 KiB record
 * padding). The same entries and options always give the same bytes. Content Buffers are yielded as-is, not copied.
 */
export function* tarChunks(entries: Iterable<TarWriteEntry>, options: TarWriteOptions = {}): Generator<Buffer> {
  for (const entry of prepareTarEntries(entries, options)) yield* entryChunks(entry, options.mtime);
  yield END_OF_ARCHIVE;
}

/** The whole tar as one Buffer (see {@link tarChunks}). */
export function writeTar(entries: Iterable<TarWriteEntry>, options: TarWriteOptions = {}): Buffer {
  return Buffer.concat([...tarChunks(entries, options)]);
}
