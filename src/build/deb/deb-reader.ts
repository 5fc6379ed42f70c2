/** @module build/deb/deb-reader — reads a .deb (ar + control.tar + data.tar) into control fields, md5sums, conffiles and files. */
import { readFile, stat } from 'node:fs/promises';
import { DistillError, isDistillError, type Issue } from '../../errors.js';
import { parseDeb822 } from '../../debian/deb822.js';
import { fileMeta, normalizePath, type FileMeta, type FileType } from '../../filesystem/file-entry.js';
import { readTar } from '../../filesystem/tar/tar-reader.js';
import type { TarHeader } from '../../filesystem/tar/tar-types.js';
import { parseAr } from './ar-archive.js';
import { decompressMember, memberCompression, type DebCompression } from './deb-decompress.js';

export type { DebCompression } from './deb-decompress.js';
export { parseAr, type ArMember } from './ar-archive.js';

/** One entry of data.tar; a hardlink's linkTarget is the path of an earlier regular-file entry. */
export interface DebFile extends FileMeta {
  /** Regular-file content. */
  content?: Buffer;
  uname: string;
  gname: string;
}

export interface DebControl {
  /** The `control` file as UTF-8 text. */
  text: string;
  /** Its fields keyed by lower-cased name (see parseDeb822 for the value format). */
  fields: Map<string, string>;
  /** Problems parseDeb822 noted (never fatal). */
  issues: Issue[];
}

export interface DebPackage {
  control: DebControl;
  /** `md5sums`: absolute path (`/usr/bin/nginx`) → lower-case md5 hex. Empty when the package has none. */
  md5sums: Map<string, string>;
  /** `conffiles`: absolute paths, in file order (`remove-on-upgrade` flags dropped). */
  conffiles: string[];
  /** Every regular file of control.tar by name (`control`, `md5sums`, `postinst`, `triggers`, …). */
  controlFiles: Map<string, Buffer>;
  /** data.tar entries in archive order. */
  files: DebFile[];
  compression: { control: DebCompression; data: DebCompression };
}

export interface DebReadOptions {
  /** Larger .deb files are refused. Default 1 GiB. */
  maxDebSize?: number;
  /** Bound on the uncompressed control.tar. Default 64 MiB. */
  maxControlSize?: number;
  /** Bound on the uncompressed data.tar. Default 2 GiB. */
  maxDataSize?: number;
  /** Name used in errors (file name or package); default the path, or "deb". */
  label?: string;
  /**
   * A store of decompressed data.tar members keyed by the .deb's SHA256 (which the caller has verified against
   * the signed index, and passes as `debSha256`). A hit skips the decompression; a miss decompresses and stores.
   */
  dataTarCache?: DataTarCache;
  /** The verified SHA256 of the .deb being read; the dataTarCache is used only with it. */
  debSha256?: string;
}

/** See {@link DebReadOptions.dataTarCache}; `get` returns only an entry that re-verifies (else undefined: a miss). */
export interface DataTarCache {
  get(debSha256: string, maxSize: number): Promise<Buffer | undefined>;
  put(debSha256: string, tar: Buffer): Promise<void>;
}

const DEFAULT_MAX_DEB = 1024 ** 3;
const DEFAULT_MAX_CONTROL = 64 * 1024 ** 2;
const DEFAULT_MAX_DATA = 2 * 1024 ** 3;
const MAX_ENTRIES = 1_000_000;

function invalid(label: string, message: string, cause?: unknown): DistillError {
  return new DistillError('DEB_INVALID', `${label}: ${message}`, { subject: label, ...(cause === undefined ? {} : { cause }) });
}

/** `./usr/bin/x` → `/usr/bin/x`; refuses `..` components, NUL and empty names. */
function safePath(raw: string, label: string, what: string): string {
  if (raw === '' || raw.includes('\0')) throw invalid(label, `${what} has an empty or NUL-containing name`);
  const path = normalizePath(raw, 'refuse');
  if (path === undefined) throw invalid(label, `${what} ${JSON.stringify(raw)} contains ".." (path escape)`);
  return path;
}

interface TarItem {
  header: TarHeader;
  content: Buffer | undefined;
}

async function readMemberTar(tar: Buffer, label: string, maxEntrySize: number): Promise<TarItem[]> {
  const items: TarItem[] = [];
  async function* source(): AsyncIterable<Buffer> {
    yield tar;
  }
  try {
    await readTar(
      source(),
      {
        entry(header) {
          if (items.length >= MAX_ENTRIES) throw invalid(label, `more than ${MAX_ENTRIES} entries`);
          const item: TarItem = { header, content: undefined };
          items.push(item);
          if (header.type !== 'file') return undefined;
          const chunks: Buffer[] = [];
          return {
            write: (chunk) => chunks.push(chunk),
            end: () => {
              // The tar is one Buffer, so a single chunk is a view into it: copy so callers may drop the tar.
              item.content = chunks.length === 1 ? Buffer.from(chunks[0]!) : Buffer.concat(chunks);
            },
          };
        },
      },
      { maxEntrySize, label },
    );
  } catch (error) {
    if (isDistillError(error, 'DEB_INVALID')) throw error;
    throw invalid(label, isDistillError(error) ? error.message : `unreadable tar (${String(error)})`, error);
  }
  return items;
}

function parseMd5sums(text: string, label: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-fA-F]{32}) [ *]?(.+)$/.exec(line);
    if (match === null) throw invalid(label, `md5sums line ${JSON.stringify(line.slice(0, 80))} is malformed`);
    sums.set(safePath(match[2]!, label, 'md5sums entry'), match[1]!.toLowerCase());
  }
  return sums;
}

function parseConffiles(text: string, label: string): string[] {
  const files: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    // dpkg ≥ 1.20 allows flags before the path: "remove-on-upgrade /etc/x".
    const path = line.startsWith('/') ? line : line.slice(line.indexOf(' ') + 1).trim();
    files.push(safePath(path, label, 'conffiles entry'));
  }
  return files;
}

/**
 * Reads a .deb from a Buffer or a file path. Members must come in dpkg's order: `debian-binary` (version 2.x),
 * `control.tar[.gz|.xz|.zst]`, `data.tar[.gz|.xz|.zst]`; `_`-prefixed members are ignored, as dpkg does.
 * Every failure (bad magic, truncation, lying sizes, bzip2/lzma members, `..` paths, hardlinks to unknown
 * entries, oversized output) is a DistillError DEB_INVALID naming the file.
 */
export async function readDeb(input: Buffer | string, options: DebReadOptions = {}): Promise<DebPackage> {
  const label = options.label ?? (typeof input === 'string' ? input : 'deb');
  const maxDeb = options.maxDebSize ?? DEFAULT_MAX_DEB;
  let archive: Buffer;
  if (typeof input === 'string') {
    let size: number;
    try {
      size = (await stat(input)).size;
    } catch (error) {
      throw new DistillError('FILE_NOT_FOUND', `${input}: cannot read the .deb (${(error as Error).message})`, { subject: input, cause: error });
    }
    if (size > maxDeb) throw invalid(label, `${size} bytes is more than the ${maxDeb}-byte limit for a .deb`);
    archive = await readFile(input);
  } else {
    archive = input;
    if (archive.length > maxDeb) throw invalid(label, `${archive.length} bytes is more than the ${maxDeb}-byte limit for a .deb`);
  }

  const members = parseAr(archive, label).filter((m) => !m.name.startsWith('_'));
  const [version, control, data, ...extra] = members;
  if (version?.name !== 'debian-binary') throw invalid(label, `first member is ${JSON.stringify(version?.name ?? '(none)')}, not debian-binary`);
  const versionText = version.data.toString('latin1');
  if (!/^2\.\d+\n/.test(versionText)) throw invalid(label, `unsupported package format version ${JSON.stringify(versionText.slice(0, 16))} (expected 2.0)`);
  if (control === undefined || !control.name.startsWith('control.tar')) throw invalid(label, `second member is ${JSON.stringify(control?.name ?? '(none)')}, not control.tar`);
  if (data === undefined || !data.name.startsWith('data.tar')) throw invalid(label, `third member is ${JSON.stringify(data?.name ?? '(none)')}, not data.tar`);
  if (extra.length > 0) throw invalid(label, `unexpected member ${JSON.stringify(extra[0]!.name)} after data.tar`);
  const controlCompression = memberCompression(control.name, 'control.tar');
  const dataCompression = memberCompression(data.name, 'data.tar');
  for (const [member, compression] of [[control, controlCompression], [data, dataCompression]] as const) {
    if (compression === undefined) {
      throw invalid(label, `member ${member.name} uses a compression distill does not read (supported: gzip, xz, zstd, none)`);
    }
  }

  const maxControl = options.maxControlSize ?? DEFAULT_MAX_CONTROL;
  const maxData = options.maxDataSize ?? DEFAULT_MAX_DATA;
  const cache = options.debSha256 !== undefined && dataCompression !== 'none' ? options.dataTarCache : undefined;
  const dataMember = async (): Promise<Buffer> => {
    const hit = await cache?.get(options.debSha256!, maxData);
    if (hit !== undefined) return hit;
    const tar = await decompressMember(data.data, dataCompression!, maxData, `${label} ${data.name}`);
    // Stored only once the tar decompressed within bounds; a cache that cannot be written only costs speed.
    await cache?.put(options.debSha256!, tar).catch(() => {});
    return tar;
  };
  const [controlTar, dataTar] = await Promise.all([decompressMember(control.data, controlCompression!, maxControl, `${label} ${control.name}`), dataMember()]);

  const controlFiles = new Map<string, Buffer>();
  for (const item of await readMemberTar(controlTar, `${label} ${control.name}`, maxControl)) {
    if (item.header.type === 'dir') continue;
    const path = safePath(item.header.name, label, `control.tar entry`);
    if (item.header.type !== 'file') continue; // dpkg-deb refuses links here; they carry nothing we read.
    if (path.lastIndexOf('/') !== 0) throw invalid(label, `control.tar entry ${JSON.stringify(item.header.name)} is in a subdirectory`);
    controlFiles.set(path.slice(1), item.content ?? Buffer.alloc(0));
  }
  const controlData = controlFiles.get('control');
  if (controlData === undefined) throw invalid(label, 'control.tar has no control file');
  const parsed = parseDeb822(controlData, { path: 'DEBIAN/control' });
  const first = parsed.paragraphs[0];
  if (first === undefined || first.fields.get('package') === undefined) throw invalid(label, 'control file has no Package field');
  const md5Data = controlFiles.get('md5sums');
  const confData = controlFiles.get('conffiles');

  const files: DebFile[] = [];
  const seen = new Map<string, FileType>();
  for (const item of await readMemberTar(dataTar, `${label} ${data.name}`, maxData)) {
    const { header } = item;
    if (header.type === 'other') continue; // pax globals; GNU sparse files do not occur in .debs
    const path = safePath(header.name, label, 'data.tar entry');
    const previous = seen.get(path);
    if (previous !== undefined && !(previous === 'dir' && header.type === 'dir')) throw invalid(label, `data.tar has ${path} twice`);
    seen.set(path, header.type);
    const file: DebFile = { ...fileMeta(path, header.type, header), uname: header.uname, gname: header.gname };
    if (header.type === 'symlink') {
      if (header.linkName === '') throw invalid(label, `symlink ${path} has no target`);
      file.linkTarget = header.linkName;
    } else if (header.type === 'hardlink') {
      const target = safePath(header.linkName, label, `hardlink target of ${path}`);
      if (seen.get(target) !== 'file' || target === path) throw invalid(label, `hardlink ${path} points at ${target}, which is not an earlier regular file`);
      file.linkTarget = target;
    } else if (header.type === 'file') {
      file.content = item.content ?? Buffer.alloc(0);
    }
    files.push(file);
  }

  return {
    control: { text: controlData.toString('utf8'), fields: first.fields, issues: parsed.issues },
    md5sums: md5Data === undefined ? new Map() : parseMd5sums(md5Data.toString('utf8'), label),
    conffiles: confData === undefined ? [] : parseConffiles(confData.toString('utf8'), label),
    controlFiles,
    files,
    compression: { control: controlCompression!, data: dataCompression! },
  };
}
