/** @module build/deb/ar-archive — bounded parser for the `ar` container of .deb files (common/GNU format, no symbol tables). */
import { DistillError } from '../../errors.js';

export const AR_MAGIC = '!<arch>\n';
const HEADER_SIZE = 60;
/** A .deb has three members (plus rare `_`-prefixed extras); anything far beyond is hostile. */
const MAX_MEMBERS = 32;

export interface ArMember {
  /** Member name with GNU's trailing `/` removed. */
  name: string;
  /** Offset of the member's data in the archive. */
  offset: number;
  size: number;
  /** The member's bytes (a view into the archive Buffer, not a copy). */
  data: Buffer;
}

function invalid(label: string, message: string): DistillError {
  return new DistillError('DEB_INVALID', `${label}: ${message}`, { subject: label });
}

/**
 * Splits an ar archive into its members. Refuses a bad magic, malformed headers (size field not decimal, bad
 * terminator), members whose declared size runs past the end, names with `/` or control characters, and more
 * than {@link MAX_MEMBERS} members. The padding byte after an odd-sized last member may be missing (dpkg allows it).
 */
export function parseAr(archive: Buffer, label = 'ar archive'): ArMember[] {
  if (archive.length < AR_MAGIC.length || archive.toString('latin1', 0, AR_MAGIC.length) !== AR_MAGIC) {
    throw invalid(label, 'not an ar archive (bad magic; a .deb starts with "!<arch>\\n")');
  }
  const members: ArMember[] = [];
  let pos = AR_MAGIC.length;
  while (pos < archive.length) {
    if (archive.length - pos < HEADER_SIZE) throw invalid(label, `truncated member header at offset ${pos}`);
    const header = archive.subarray(pos, pos + HEADER_SIZE);
    if (header[58] !== 0x60 || header[59] !== 0x0a) throw invalid(label, `member header at offset ${pos} has a bad terminator`);
    const rawName = header.toString('latin1', 0, 16).replace(/ +$/, '');
    const name = rawName.endsWith('/') ? rawName.slice(0, -1) : rawName;
    // eslint-disable-next-line no-control-regex
    if (name === '' || name.includes('/') || /[\x00-\x1f\x7f]/.test(name) || name === '.' || name === '..') {
      throw invalid(label, `member at offset ${pos} has an invalid name ${JSON.stringify(rawName)}`);
    }
    const sizeField = header.toString('latin1', 48, 58);
    if (!/^\d+ *$/.test(sizeField)) throw invalid(label, `member "${name}" has a malformed size field ${JSON.stringify(sizeField)}`);
    const size = Number.parseInt(sizeField, 10);
    const offset = pos + HEADER_SIZE;
    if (size > archive.length - offset) {
      throw invalid(label, `member "${name}" declares ${size} bytes but only ${archive.length - offset} remain (truncated or lying size)`);
    }
    if (members.length >= MAX_MEMBERS) throw invalid(label, `more than ${MAX_MEMBERS} members`);
    members.push({ name, offset, size, data: archive.subarray(offset, offset + size) });
    pos = offset + size + (size % 2);
  }
  return members;
}
