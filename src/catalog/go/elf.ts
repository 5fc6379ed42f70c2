/** @module catalog/go/elf — a bounds-checked reader of ELF headers (32/64-bit, LE/BE): sections, segments, addresses. */

/** A malformed or truncated ELF file; the cataloger turns it into a PARSE_FAILED Issue. */
export class ElfFormatError extends Error {
  override readonly name = 'ElfFormatError';
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

export interface ElfFile {
  is64: boolean;
  littleEndian: boolean;
  sections: ElfSection[];
  segments: ElfSegment[];
  buffer: Buffer;
}

export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
const SHT_NOBITS = 8;
const MAX_HEADERS = 65_535;

export function hasElfMagic(bytes: Buffer | undefined): boolean {
  return bytes !== undefined && bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Parses the ELF identification, section headers (with names) and program headers of a whole-file buffer. */
export function parseElf(buffer: Buffer): ElfFile {
  if (buffer.length < 52 || !hasElfMagic(buffer)) throw new ElfFormatError('not an ELF file (bad magic or too short)');
  const elfClass = buffer[4];
  const data = buffer[5];
  if (elfClass !== 1 && elfClass !== 2) throw new ElfFormatError(`unknown ELF class ${elfClass}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown ELF data encoding ${data}`);
  const is64 = elfClass === 2;
  const le = data === 1;
  if (is64 && buffer.length < 64) throw new ElfFormatError('truncated ELF header');
  const u16 = (at: number): number => (le ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at));
  const u32 = (at: number): number => (le ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
  const u64 = (at: number): number => Number(le ? buffer.readBigUInt64LE(at) : buffer.readBigUInt64BE(at));
  const word = is64 ? u64 : u32;

  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const shoff = is64 ? u64(0x28) : u32(0x20);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);

  const table = (offset: number, entsize: number, count: number, minEntsize: number, what: string): number[] => {
    if (count === 0 || offset === 0) return [];
    if (count > MAX_HEADERS || entsize < minEntsize) throw new ElfFormatError(`implausible ${what} table (${count} × ${entsize})`);
    if (offset + entsize * count > buffer.length) throw new ElfFormatError(`${what} table at ${offset} runs past the end of the file (${buffer.length} bytes)`);
    return Array.from({ length: count }, (_, i) => offset + i * entsize);
  };

  const segments: ElfSegment[] = table(phoff, phentsize, phnum, is64 ? 56 : 32, 'program header').map((at) =>
    is64
      ? { type: u32(at), flags: u32(at + 4), offset: u64(at + 8), vaddr: u64(at + 16), filesz: u64(at + 32) }
      : { type: u32(at), offset: u32(at + 4), vaddr: u32(at + 8), filesz: u32(at + 16), flags: u32(at + 24) },
  );

  const raw = table(shoff, shentsize, shnum, is64 ? 64 : 40, 'section header').map((at) => ({
    nameOffset: u32(at),
    type: u32(at + 4),
    flags: word(at + 8),
    addr: is64 ? u64(at + 16) : u32(at + 12),
    offset: is64 ? u64(at + 24) : u32(at + 16),
    size: is64 ? u64(at + 32) : u32(at + 20),
  }));
  const strtab = raw[shstrndx];
  const names =
    strtab !== undefined && strtab.type !== SHT_NOBITS && strtab.offset + strtab.size <= buffer.length
      ? buffer.subarray(strtab.offset, strtab.offset + strtab.size)
      : undefined;
  const sections: ElfSection[] = raw.map((s) => {
    let name = '';
    if (names !== undefined && s.nameOffset < names.length) {
      const end = names.indexOf(0, s.nameOffset);
      name = names.toString('latin1', s.nameOffset, end < 0 ? names.length : end);
    }
    return { name, type: s.type, flags: s.flags, addr: s.addr, offset: s.offset, size: s.size };
  });
  return { is64, littleEndian: le, sections, segments, buffer };
}

/** The file bytes of a section, or an error when its range lies outside the file. */
export function sectionData(elf: ElfFile, section: ElfSection): Buffer {
  if (section.type === SHT_NOBITS) return Buffer.alloc(0);
  const end = section.offset + section.size;
  if (!Number.isSafeInteger(end) || end > elf.buffer.length) {
    throw new ElfFormatError(`section ${section.name || '?'} (${section.offset}+${section.size}) lies beyond the end of the file`);
  }
  return elf.buffer.subarray(section.offset, end);
}

/** Bytes at a virtual address, through the loadable segments (then allocated sections); undefined if unmapped. */
export function readAddress(elf: ElfFile, addr: number, length: number): Buffer | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || addr < seg.vaddr || addr + length > seg.vaddr + seg.filesz) continue;
    const start = seg.offset + (addr - seg.vaddr);
    if (start + length > elf.buffer.length) return undefined;
    return elf.buffer.subarray(start, start + length);
  }
  for (const sec of elf.sections) {
    if (sec.type === SHT_NOBITS || sec.addr === 0 || addr < sec.addr || addr + length > sec.addr + sec.size) continue;
    const start = sec.offset + (addr - sec.addr);
    if (start + length > elf.buffer.length) return undefined;
    return elf.buffer.subarray(start, start + length);
  }
  return undefined;
}
