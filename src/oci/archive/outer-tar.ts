/** @module oci/archive/outer-tar — header-only, seeking walk of an image archive's members (layer contents are never parsed here). */
import { DistillError } from '../../errors.js';

const BLOCK = 512;
const MAX_META = 1024 * 1024;
const MAX_ENTRIES = 1_000_000;

export interface OuterMember {
  /** Name as stored (after pax `path` / GNU long name). */
  name: string;
  typeflag: string;
  /** Link target (hard links), as stored. */
  linkName: string;
  size: number;
  /** Offset of the content in the archive. */
  dataOffset: number;
}

/** A read of `length` bytes at `offset`; the walker is resumed with what was read (shorter at EOF). */
export interface ReadRequest {
  offset: number;
  length: number;
}

function corrupt(label: string, offset: number, why: string): DistillError {
  return new DistillError('ARCHIVE_CORRUPT', `${label}: ${why} at byte ${offset}`, {
    hint: 'the file is not a valid tar archive, or it is damaged',
    subject: label,
  });
}

function truncated(label: string, offset: number): DistillError {
  return new DistillError('ARCHIVE_TRUNCATED', `${label} is truncated: it ends inside the member at byte ${offset}`, {
    hint: 'the archive was not written completely; export the image again',
    subject: label,
  });
}

function cString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

function numeric(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start]!;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement; only non-negative sizes make sense here.
    if (first & 0x40) return undefined;
    let value = first & 0x3f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = block.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function paxRecords(body: Buffer, label: string, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const space = body.indexOf(0x20, pos);
    const length = space === -1 ? NaN : Number(body.toString('latin1', pos, space));
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > body.length || body[pos + length - 1] !== 0x0a) {
      throw corrupt(label, offset, 'malformed pax record');
    }
    const record = body.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw corrupt(label, offset, 'pax record without a key');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

/**
 * Walks the headers of a tar, yielding read requests and calling `onMember` for every non-metadata
 * member. Ends at the end-of-archive block or at EOF on a header boundary.
 */
export function* walkOuterTar(label: string, fileSize: number, onMember: (member: OuterMember) => boolean | void): Generator<ReadRequest, void, Buffer> {
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  for (let entries = 0; ; entries++) {
    if (entries > MAX_ENTRIES) throw corrupt(label, offset, `more than ${MAX_ENTRIES} members`);
    if (offset >= fileSize) return;
    const block = yield { offset, length: BLOCK };
    if (block.length < BLOCK) throw truncated(label, offset);
    if (block.every((b) => b === 0)) return;
    if (!checksumOk(block)) throw corrupt(label, offset, 'bad header checksum');
    const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
    let size = numeric(block, 124, 12);
    if (size === undefined || !Number.isSafeInteger(size)) throw corrupt(label, offset, 'invalid size field');
    const dataOffset = offset + BLOCK;
    if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K' || typeflag === 'g') {
      if (size > MAX_META) throw corrupt(label, offset, `metadata record of ${size} bytes`);
      const body = yield { offset: dataOffset, length: size };
      if (body.length < size) throw truncated(label, dataOffset);
      if (typeflag === 'x') pax = paxRecords(body, label, dataOffset);
      else if (typeflag === 'L') longName = cString(body, 0, body.length);
      else if (typeflag === 'K') longLink = cString(body, 0, body.length);
      offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      continue;
    }
    if (typeflag === 'S') throw corrupt(label, offset, 'GNU sparse members are not supported in image archives');
    const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
    let name = cString(block, 0, 100);
    if (ustar) {
      const prefix = cString(block, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    name = pax?.get('path') ?? longName ?? name;
    const linkName = pax?.get('linkpath') ?? longLink ?? cString(block, 157, 100);
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw corrupt(label, offset, 'invalid pax size');
      size = Number(paxSize);
    }
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    // Link, device, directory and fifo headers carry no content whatever their size field says (as Go's archive/tar).
    const content = '123456'.includes(typeflag) ? 0 : size;
    if (dataOffset + content > fileSize) throw truncated(label, dataOffset);
    if (onMember({ name, typeflag, linkName, size: content, dataOffset }) === true) return;
    offset = dataOffset + Math.ceil(content / BLOCK) * BLOCK;
  }
}
