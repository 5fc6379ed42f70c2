/** @module filesystem/directory-resolver — a root filesystem on disk (`dir:` sources), confined to its root. */
import { closeSync, constants, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DistillError, describeError, type Issue } from '../errors.js';
import { fileMeta, type FileEntry, type FileType } from './file-entry.js';
import type { FileResolver, ReadOptions } from './file-resolver.js';
import { comparePaths, EntryTree } from './entry-tree.js';
import { DEFAULT_MAX_READ_BYTES } from './layer-reader.js';


function typeOf(stats: Stats): FileType | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return undefined; // sockets: nothing an image can carry
}

function toEntry(path: string, stats: Stats, type: FileType): FileEntry {
  const raw = { mode: stats.mode, uid: stats.uid, gid: stats.gid, size: stats.size, mtime: Math.floor(stats.mtimeMs / 1000) };
  return { ...fileMeta(path, type, raw), layer: -1 };
}

export class DirectoryResolver extends EntryTree implements FileResolver {
  readonly kind = 'directory';
  private sorted: FileEntry[] | undefined;

  constructor(
    /** Canonical host path of the root. */
    readonly root: string,
    private readonly map: Map<string, FileEntry>,
    walkIssues: readonly Issue[],
  ) {
    super();
    this.issues.push(...walkIssues);
  }

  protected lookup(path: string): FileEntry | undefined {
    return this.map.get(path);
  }

  entries(): FileEntry[] {
    this.sorted ??= [...this.map.values()].sort((a, b) => comparePaths(a.path, b.path));
    return this.sorted;
  }

  private hostPath(imagePath: string): string {
    return imagePath === '/' ? this.root : this.root + imagePath;
  }

  /**
   * Opens the regular file an image path names without letting the OS follow any link: the path is resolved
   * by our own confined logic, every directory on the way must still be a real directory on disk, and the
   * final open refuses a symlink (O_NOFOLLOW).
   */
  private async openConfined(path: string, maxBytes: number | undefined) {
    // Map keys are real in-root paths, so the resolved entry's path is where it lives on disk.
    const real = this.resolveRegular(path).path;
    const parts = real.split('/').filter(Boolean);
    let prefix = this.root;
    for (const part of parts.slice(0, -1)) {
      prefix += '/' + part;
      const stats = await lstat(prefix).catch(() => undefined);
      if (stats === undefined || !stats.isDirectory()) {
        throw new DistillError('PATH_ESCAPE', `${prefix} changed on disk into something other than a directory`, {
          subject: path,
          hint: 'the directory is being modified while it is scanned',
        });
      }
    }
    let handle;
    try {
      handle = await open(this.hostPath(real), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new DistillError('PATH_ESCAPE', `${path} became a symlink on disk`, { subject: path, cause: error });
      throw new DistillError('FILE_NOT_FOUND', `cannot open ${path}: ${describeError(error)}`, { subject: path, cause: error });
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw new DistillError('FILE_NOT_FOUND', `${path} is not a regular file on disk`, { subject: path });
    }
    if (maxBytes !== undefined && stats.size > maxBytes) {
      await handle.close();
      throw new DistillError('FILE_TOO_LARGE', `${path} is ${stats.size} bytes, over the ${maxBytes}-byte limit`, {
        subject: path,
        hint: 'raise maxBytes or use openFile() to stream it',
      });
    }
    return { handle, size: stats.size };
  }

  async readFile(path: string, options: ReadOptions = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    const { handle, size } = await this.openConfined(path, maxBytes);
    try {
      const buffer = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === size ? buffer : buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  readEntry(entry: FileEntry, options: ReadOptions = {}): Promise<Buffer> {
    return this.readFile(entry.path, options);
  }

  async readEntries(entries: readonly FileEntry[], options: ReadOptions = {}): Promise<Map<FileEntry, Buffer | DistillError>> {
    const out = new Map<FileEntry, Buffer | DistillError>();
    for (const entry of entries) {
      try {
        out.set(entry, await this.readFile(entry.path, options));
      } catch (error) {
        if (!(error instanceof DistillError)) throw error;
        out.set(entry, error);
      }
    }
    return out;
  }

  async openFile(path: string): Promise<Readable> {
    const { handle } = await this.openConfined(path, undefined);
    return handle.createReadStream();
  }
}

function describeChild(path: string, canonical: string, issues: Issue[]): FileEntry | undefined {
  const host = canonical + path;
  let stats: Stats;
  try {
    stats = lstatSync(host);
  } catch (error) {
    issues.push({ code: 'UNREADABLE', message: `cannot stat ${path}: ${describeError(error)}`, path, source: 'directory' });
    return undefined;
  }
  const type = typeOf(stats);
  if (type === undefined) return undefined;
  const entry = toEntry(path, stats, type);
  if (type === 'symlink') {
    try {
      entry.linkTarget = readlinkSync(host);
    } catch (error) {
      issues.push({ code: 'UNREADABLE', message: `cannot read link ${path}: ${describeError(error)}`, path, source: 'directory' });
    }
  } else if (type === 'file') {
    entry.magic = entry.size === 0 ? Buffer.alloc(0) : readMagic(host, entry.size);
  }
  return entry;
}

function readMagic(hostPath: string, size: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const magic = Buffer.alloc(Math.min(4, size));
    const bytesRead = readSync(fd, magic, 0, magic.length, 0);
    return bytesRead === magic.length ? magic : magic.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** How many directories are listed between two yields to the event loop. */
const DIRECTORIES_PER_TICK = 64;

/**
 * Walks a root filesystem with lstat (host symlinks are recorded, never followed) into a resolver. The walk
 * uses synchronous syscalls (an order of magnitude faster than promise round-trips per file) and yields to
 * the event loop every few directories.
 */
export async function openDirectory(root: string): Promise<DirectoryResolver> {
  let canonical: string;
  let rootStats: Stats;
  try {
    canonical = await realpath(root);
    rootStats = await lstat(canonical);
  } catch (error) {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot open directory ${root}: ${describeError(error)}`, { subject: root, cause: error });
  }
  if (!rootStats.isDirectory()) throw new DistillError('SOURCE_NOT_FOUND', `${root} is not a directory`, { subject: root });
  const map = new Map<string, FileEntry>();
  const issues: Issue[] = [];
  map.set('/', toEntry('/', rootStats, 'dir'));
  const stack = ['/'];
  let listed = 0;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    if (++listed % DIRECTORIES_PER_TICK === 0) await new Promise<void>((done) => setImmediate(done));
    let names: string[];
    try {
      names = readdirSync(dir === '/' ? canonical : canonical + dir);
    } catch (error) {
      issues.push({ code: 'UNREADABLE', message: `cannot list ${dir}: ${describeError(error)}`, path: dir, source: 'directory' });
      continue;
    }
    for (const name of names) {
      const entry = describeChild(dir === '/' ? '/' + name : dir + '/' + name, canonical, issues);
      if (entry === undefined) continue;
      if (entry.type === 'dir') stack.push(entry.path);
      map.set(entry.path, entry);
    }
  }
  return new DirectoryResolver(canonical, map, issues);
}
