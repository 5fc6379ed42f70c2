/** @module filesystem/tar/tar-header — parsing of single 512-byte tar header blocks and pax record bodies. */
import { isUtf8 } from 'node:buffer';
import { DistillError } from '../../errors.js';
import type { TarHeaderFields } from './tar-types.js';

export const BLOCK_SIZE = 512;

const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);

/** The header flavour, from the magic/version fields. */
export type TarHeaderFormat = 'ustar' | 'gnu' | 'star' | 'v7';

/**
 * The fields of one header block, before pax / GNU long-name records are applied: `name` is joined with the ustar
 * prefix field when present, `size` counts the content bytes that follow this header in the stream, and `mode`
 * drops the S_IFMT bits some writers also store.
 */
export interface TarHeaderBlock extends TarHeaderFields {
  /** Empty for v7 headers. */
  uname: string;
  gname: string;
  /** 0 for v7 headers. */
  devMajor: number;
  devMinor: number;
  format: TarHeaderFormat;
  /** Old GNU sparse ('S') headers: sparse extension blocks follow this header before the content. */
  sparseExtended: boolean;
}

/** True when the block is all zero bytes (end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  return block.length === BLOCK_SIZE && block.equals(ZERO_BLOCK);
}

/**
 * Decodes bytes as UTF-8 when they are valid UTF-8, else as latin1, so that any byte string
 * gives a usable, lossless-enough name and nothing throws.
 */
export function decodeTarString(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // U+FFFD only appears for invalid input or when the input really contains it; check precisely then.
  if (!text.includes('\uFFFD') || isUtf8(bytes)) return text;
  return bytes.toString('latin1');
}

/** A NUL-terminated string field of at most `length` bytes. */
function stringField(block: Buffer, start: number, length: number): Buffer {
  const limit = start + length;
  let end = block.indexOf(0, start);
  if (end === -1 || end > limit) end = limit;
  return block.subarray(start, end);
}

function corrupt(message: string, offset: number, label: string | undefined): DistillError {
  const where = label === undefined ? '' : ` in ${label}`;
  return new DistillError('TAR_CORRUPT', `tar header at offset ${offset}${where}: ${message}`, {
    hint: 'The archive or layer is damaged or is not a tar file; fetch it again or check its source.',
    ...(label === undefined ? {} : { subject: label }),
  });
}

/**
 * Parses a numeric field: octal (leading spaces/NULs allowed, terminated by space or NUL, as GNU tar
 * accepts) or GNU base-256 (high bit of the first byte set; 0xff first byte means negative).
 * Returns undefined when the field is malformed, ±Infinity for base-256 values beyond 2^53.
 */
export function parseNumericField(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start] ?? 0;
  if (first & 0x80) return parseBase256(block, start, length);
  const limit = start + length;
  let i = start;
  while (i < limit && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < limit; i++) {
    const c = block[i] as number;
    if (c >= 0x30 && c <= 0x37) {
      value = value * 8 + (c - 0x30);
      digits++;
    } else if (c === 0x20 || c === 0) {
      break;
    } else {
      return undefined;
    }
  }
  // Trailing garbage after the terminator is ignored (GNU tar does the same); but "0 7" style gaps are not digits.
  if (digits === 0) return 0;
  return value;
}

function parseBase256(block: Buffer, start: number, length: number): number | undefined {
  // Big-endian two's complement over the field with the marker bit (0x80 of the first byte) removed.
  const first = block[start] as number;
  let value = BigInt(first & 0x7f);
  for (let i = start + 1; i < start + length; i++) value = (value << 8n) | BigInt(block[i] as number);
  if (first & 0x40) value -= 1n << BigInt(length * 8 - 1);
  // Out-of-range values become ±Infinity so that a huge size reads as "too large" rather than as garbage.
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
  if (value < BigInt(Number.MIN_SAFE_INTEGER)) return -Infinity;
  return Number(value);
}

/** Unsigned and signed header checksums (the checksum field counted as eight spaces). */
export function headerChecksums(block: Buffer): { unsigned: number; signed: number } {
  let sum = 8 * 0x20;
  let high = 0;
  for (let i = 0; i < 148; i++) {
    const b = block[i] as number;
    sum += b;
    if (b >= 0x80) high++;
  }
  for (let i = 156; i < BLOCK_SIZE; i++) {
    const b = block[i] as number;
    sum += b;
    if (b >= 0x80) high++;
  }
  return { unsigned: sum, signed: sum - 256 * high };
}

const MAGIC_USTAR = Buffer.from('ustar\u000000', 'latin1');
const MAGIC_GNU = Buffer.from('ustar  \u0000', 'latin1');
const STAR_TRAILER = Buffer.from('tar\u0000', 'latin1');

function detectFormat(block: Buffer): TarHeaderFormat {
  if (block.compare(MAGIC_GNU, 0, 8, 257, 265) === 0) return 'gnu';
  // Some writers put "ustar\0" with a blank or missing version; treat any "ustar\0" as POSIX.
  if (block.compare(MAGIC_USTAR, 0, 6, 257, 263) === 0) {
    return block.compare(STAR_TRAILER, 0, 4, 508, 512) === 0 ? 'star' : 'ustar';
  }
  return 'v7';
}

/**
 * Parses one 512-byte header block, verifying its checksum (signed or unsigned sums are accepted).
 * `offset` (the block's position in the stream) and `label` only serve error messages.
 * Throws DistillError TAR_CORRUPT for a bad checksum or a malformed numeric field.
 * The caller checks for all-zero blocks (isZeroBlock) first.
 */
export function parseTarHeaderBlock(block: Buffer, offset = 0, label?: string): TarHeaderBlock {
  if (block.length < BLOCK_SIZE) throw corrupt(`short header block (${block.length} bytes)`, offset, label);
  const stored = parseNumericField(block, 148, 8);
  const sums = headerChecksums(block);
  if (stored === undefined || (stored !== sums.unsigned && stored !== sums.signed)) {
    throw corrupt('checksum mismatch (not a tar header)', offset, label);
  }
  const format = detectFormat(block);
  const numeric = (start: number, length: number, field: string): number => {
    const value = parseNumericField(block, start, length);
    if (value === undefined || !Number.isFinite(value)) throw corrupt(`invalid ${field} field`, offset, label);
    return value;
  };
  const typeflag = String.fromCharCode(block[156] as number);
  let nameBytes = stringField(block, 0, 100);
  if (format === 'ustar' || format === 'star') {
    const prefix = stringField(block, 345, format === 'star' ? 131 : 155);
    if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
  }
  const hasOwnerNames = format !== 'v7';
  // A size beyond 2^53 stays Infinity: the reader reports it as TAR_ENTRY_TOO_LARGE.
  const size = parseNumericField(block, 124, 12);
  if (size === undefined) throw corrupt('invalid size field', offset, label);
  if (size < 0) throw corrupt('negative size field', offset, label);
  const isDevice = typeflag === '3' || typeflag === '4';
  return {
    name: decodeTarString(nameBytes),
    typeflag,
    mode: numeric(100, 8, 'mode') & 0o7777,
    uid: numeric(108, 8, 'uid'),
    gid: numeric(116, 8, 'gid'),
    size,
    mtime: numeric(136, 12, 'mtime'),
    linkName: decodeTarString(stringField(block, 157, 100)),
    uname: hasOwnerNames ? decodeTarString(stringField(block, 265, 32)) : '',
    gname: hasOwnerNames ? decodeTarString(stringField(block, 297, 32)) : '',
    // Device numbers are only meaningful (and only reliably formatted) for device entries.
    devMajor: hasOwnerNames && isDevice ? numeric(329, 8, 'devmajor') : 0,
    devMinor: hasOwnerNames && isDevice ? numeric(337, 8, 'devminor') : 0,
    format,
    sparseExtended: typeflag === 'S' && format === 'gnu' && block[482] !== 0,
  };
}

/**
 * Parses a pax extended header body: records `"<len> <key>=<value>\n"`, where len counts the whole
 * record in bytes. Values are decoded as UTF-8 (latin1 if invalid). Throws TAR_CORRUPT on a malformed
 * record. `offset` is the body's position in the stream, for messages.
 */
export function parsePaxRecords(body: Buffer, offset = 0, label?: string): Record<string, string> {
  const records: Record<string, string> = Object.create(null) as Record<string, string>;
  let pos = 0;
  const end = body.length;
  while (pos < end) {
    // Some writers pad the body with NULs after the last record.
    if (body[pos] === 0) break;
    let length = 0;
    let i = pos;
    for (; i < end && i - pos < 20; i++) {
      const c = body[i] as number;
      if (c >= 0x30 && c <= 0x39) length = length * 10 + (c - 0x30);
      else break;
    }
    if (i === pos || body[i] !== 0x20 || length < i - pos + 4 || pos + length > end) {
      throw corrupt(`malformed pax record at body offset ${pos}`, offset, label);
    }
    const recordEnd = pos + length;
    if (body[recordEnd - 1] !== 0x0a) throw corrupt(`pax record at body offset ${pos} does not end in a newline`, offset, label);
    const eq = body.indexOf(0x3d, i + 1);
    if (eq === -1 || eq >= recordEnd - 1 || eq === i + 1) {
      throw corrupt(`pax record at body offset ${pos} has no key`, offset, label);
    }
    const key = body.toString('utf8', i + 1, eq);
    records[key] = decodeTarString(body.subarray(eq + 1, recordEnd - 1));
    pos = recordEnd;
  }
  return records;
}

/** A GNU long name / long link body: the string up to the first NUL. */
export function parseLongNameBody(body: Buffer): string {
  const nul = body.indexOf(0);
  return decodeTarString(nul === -1 ? body : body.subarray(0, nul));
}
