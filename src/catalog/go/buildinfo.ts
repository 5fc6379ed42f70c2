/** @module catalog/go/buildinfo — Go build information in ELF binaries: locate `.go.buildinfo`, decode both formats, parse modinfo. */
import { ElfFormatError, PF_W, PF_X, PT_LOAD, parseElf, readAddress, sectionData, type ElfFile } from './elf.js';

/** `\xff Go buildinf:` — the 14-byte magic that opens the build info blob (16-byte aligned). */
export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;
/** The Go linker's own search window when there is no section table. */
const DATA_SCAN_BYTES = 64 * 1024;
const MAX_STRING_BYTES = 16 * 1024 * 1024;

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  /** `go1.19.8` (possibly with suffixes such as ` X:boringcrypto`). */
  goVersion: string;
  /** Package path of the main package (`path` line). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  /** `build` settings in order (`-ldflags`, `GOOS`, `vcs.revision`, …). */
  settings: Array<{ key: string; value: string }>;
}

/** A blob with the magic whose content cannot be decoded. */
export class BuildInfoFormatError extends Error {
  override readonly name = 'BuildInfoFormatError';
}

/**
 * Reads the build info of an ELF Go binary. Returns undefined for a valid ELF file that is not a Go binary
 * (no magic); throws ElfFormatError / BuildInfoFormatError for malformed input.
 */
export function readGoBuildInfo(buffer: Buffer): GoBuildInfo | undefined {
  const elf = parseElf(buffer);
  const found = locateBuildInfo(elf);
  if (found === undefined) return undefined;
  const { goVersion, modinfo } = decodeBlob(elf, found.data, found.at);
  if (goVersion === '') throw new BuildInfoFormatError('build info has an empty Go version');
  return { goVersion, ...parseModinfo(modinfo) };
}

/** The `.go.buildinfo` section when there is one, else the first 64 KiB of each writable data segment. */
function locateBuildInfo(elf: ElfFile): { data: Buffer; at: number } | undefined {
  const section = elf.sections.find((s) => s.name === '.go.buildinfo');
  const windows: Buffer[] = [];
  if (section !== undefined) windows.push(sectionData(elf, section));
  else {
    for (const seg of elf.segments) {
      if (seg.type !== PT_LOAD || (seg.flags & (PF_W | PF_X)) !== PF_W) continue;
      const end = Math.min(seg.offset + seg.filesz, elf.buffer.length);
      if (seg.offset >= end) continue;
      // Keep the whole rest of the segment: inline strings may run past the scan window.
      windows.push(elf.buffer.subarray(seg.offset, end));
    }
  }
  for (const data of windows) {
    const limit = section !== undefined ? data.length : Math.min(data.length, DATA_SCAN_BYTES);
    let from = 0;
    while (from < limit) {
      const at = data.indexOf(BUILDINFO_MAGIC, from);
      if (at < 0 || at >= limit) break;
      if (at % 16 === 0) return { data, at };
      from = at + 1;
    }
  }
  return undefined;
}

function decodeBlob(elf: ElfFile, data: Buffer, at: number): { goVersion: string; modinfo: string } {
  const { version, modinfo } = decodeStrings(elf, data, at);
  // modinfo is framed by two 16-byte sentinels (cmd/go's infoStart/infoEnd, not UTF-8): strip them as bytes.
  const framed = modinfo.length >= 33 && modinfo[modinfo.length - 17] === 0x0a;
  return { goVersion: version.toString('utf8'), modinfo: framed ? modinfo.toString('utf8', 16, modinfo.length - 16) : '' };
}

function decodeStrings(elf: ElfFile, data: Buffer, at: number): { version: Buffer; modinfo: Buffer } {
  if (at + HEADER_SIZE > data.length) throw new BuildInfoFormatError('build info header is truncated');
  const ptrSize = data[at + 14] ?? 0;
  const flags = data[at + 15] ?? 0;
  if ((flags & FLAG_INLINE_STRINGS) !== 0) {
    // Go 1.18+: two varint-prefixed strings right after the header.
    const first = readVarintString(data, at + HEADER_SIZE);
    const second = readVarintString(data, first.next);
    return { version: first.value, modinfo: second.value };
  } else {
    // Go < 1.18: two pointers to Go string headers {data *byte; len int} in the address space.
    if (ptrSize !== 4 && ptrSize !== 8) throw new BuildInfoFormatError(`unsupported pointer size ${ptrSize}`);
    const bigEndian = (flags & FLAG_BIG_ENDIAN) !== 0;
    if (at + 16 + 2 * ptrSize > data.length) throw new BuildInfoFormatError('build info pointers are truncated');
    const readPtr = (buf: Buffer, off: number): number =>
      ptrSize === 4
        ? bigEndian ? buf.readUInt32BE(off) : buf.readUInt32LE(off)
        : Number(bigEndian ? buf.readBigUInt64BE(off) : buf.readBigUInt64LE(off));
    const readGoString = (addr: number, what: string): Buffer => {
      const header = readAddress(elf, addr, 2 * ptrSize);
      if (header === undefined) throw new BuildInfoFormatError(`${what} string header at 0x${addr.toString(16)} is not mapped`);
      const strAddr = readPtr(header, 0);
      const length = readPtr(header, ptrSize);
      if (length === 0) return Buffer.alloc(0);
      if (length > MAX_STRING_BYTES) throw new BuildInfoFormatError(`${what} string is implausibly long (${length} bytes)`);
      const bytes = readAddress(elf, strAddr, length);
      if (bytes === undefined) throw new BuildInfoFormatError(`${what} string at 0x${strAddr.toString(16)} is not mapped`);
      return bytes;
    };
    return {
      version: readGoString(readPtr(data, at + 16), 'version'),
      modinfo: readGoString(readPtr(data, at + 16 + ptrSize), 'modinfo'),
    };
  }
}

function readVarintString(data: Buffer, offset: number): { value: Buffer; next: number } {
  let length = 0;
  let shift = 0;
  let pos = offset;
  for (;;) {
    const byte = data[pos];
    if (byte === undefined) throw new BuildInfoFormatError('build info string length is truncated');
    pos += 1;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift > 35) throw new BuildInfoFormatError('build info string length varint is too long');
  }
  if (length > MAX_STRING_BYTES || pos + length > data.length) {
    throw new BuildInfoFormatError(`build info string of ${length} bytes runs past the end of its data`);
  }
  return { value: data.subarray(pos, pos + length), next: pos + length };
}

function moduleOf(fields: string[]): GoModule | undefined {
  const path = fields[0];
  if (path === undefined || path === '') return undefined;
  const module: GoModule = { path, version: fields[1] ?? '' };
  const sum = fields[2];
  if (sum !== undefined && sum !== '') module.sum = sum;
  return module;
}

/** Parses modinfo text (`path`, `mod`, `dep`, `=>`, `build` lines); unknown lines are ignored. */
export function parseModinfo(text: string): Omit<GoBuildInfo, 'goVersion'> {
  const info: Omit<GoBuildInfo, 'goVersion'> = { deps: [], settings: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const verb = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    const fields = rest.split('\t');
    switch (verb) {
      case 'path':
        info.path = rest;
        break;
      case 'mod':
        info.main = moduleOf(fields);
        last = info.main;
        break;
      case 'dep': {
        const dep = moduleOf(fields);
        if (dep !== undefined) info.deps.push(dep);
        last = dep;
        break;
      }
      case '=>': {
        const replacement = moduleOf(fields);
        if (last !== undefined && replacement !== undefined) last.replace = replacement;
        last = undefined;
        break;
      }
      case 'build': {
        const setting = parseSetting(rest);
        if (setting !== undefined) info.settings.push(setting);
        break;
      }
    }
  }
  return info;
}

/** `key=value`, where key or value may be a Go-quoted string (keys containing `=`, values with spaces). */
function parseSetting(text: string): { key: string; value: string } | undefined {
  let key: string;
  let rest: string;
  if (text.startsWith('"')) {
    const end = quotedEnd(text);
    if (end < 0) return undefined;
    key = unquote(text.slice(0, end + 1));
    rest = text.slice(end + 1);
    if (!rest.startsWith('=')) return undefined;
    rest = rest.slice(1);
  } else {
    const eq = text.indexOf('=');
    if (eq < 0) return undefined;
    key = text.slice(0, eq);
    rest = text.slice(eq + 1);
  }
  const value = rest.startsWith('"') ? unquote(rest) : rest;
  return { key, value };
}

function quotedEnd(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Go's strconv.Quote output is valid JSON for the escapes cmd/go emits; fall back to the raw text. */
function unquote(quoted: string): string {
  try {
    const value: unknown = JSON.parse(quoted);
    return typeof value === 'string' ? value : quoted;
  } catch {
    return quoted.slice(1, -1);
  }
}

export { ElfFormatError };
