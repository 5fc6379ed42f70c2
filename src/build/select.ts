/** @module build/select — chooses which files of a .deb go into the image (merged /usr, docs/man/locales dropped) and installs them into the tree. */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { DistillError } from '../errors.js';
import { ImageTree, treePath, type TreeNode } from './tree.js';

/**
 * One member of a package's data.tar, as the deb reader yields it. `path` is as stored (`./usr/bin/x`, `./bin/`);
 * `type` uses the filesystem model's names (`dir`; `directory` is accepted too).
 */
export interface DebFileEntry {
  path: string;
  type: 'file' | 'dir' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink target as stored, or the archive path a hardlink points at. */
  linkTarget?: string;
  content?: Buffer;
  mtime?: number;
}

/** Why an entry was left out. */
/** Why an entry was left out; `recipe` is the recipe's `exclude-paths`. */
export type DropRule = 'doc' | 'man' | 'info' | 'locale' | 'lintian' | 'linda' | 'groff' | 'special' | 'merged-usr' | 'recipe';

export interface SelectOptions {
  /** The package the entries belong to (recorded as each node's origin). */
  package: string;
  /** The package's conffiles (absolute paths from control.tar `conffiles`): never dropped. */
  conffiles?: readonly string[];
  /** `/usr/share/locale/<name>` directories to keep; `*` keeps them all. Default none. */
  locales?: readonly string[];
  /** The recipe's `exclude-paths` globs (compile once with {@link pathExcluder}). */
  exclude?: PathExcluder;
}

/** Tests a final image path against a recipe's `exclude-paths`. */
export type PathExcluder = (path: string) => boolean;

/**
 * Compiles `exclude-paths` globs: `**` matches across segments, `*` and `?` within one; a pattern matching a
 * directory also matches everything below it. `/usr/share/doc/<package>/copyright` never matches (licences stay).
 */
export function pathExcluder(patterns: readonly string[]): PathExcluder | undefined {
  if (patterns.length === 0) return undefined;
  const body = patterns.map((p) => p.replace(/\*\*|[*?]|[^*?]+/g, (t) => (t === '**' ? '.*' : t === '*' ? '[^/]*' : t === '?' ? '[^/]' : t.replace(/[.+^${}()|[\]\\]/g, '\\$&')))).join('|');
  const re = new RegExp(`^(?:${body})(?:/.*)?$`);
  return (path) => re.test(path) && !/^\/usr\/share\/doc\/[^/]+\/copyright$/.test(path);
}

/** An entry that goes into the image, with its final path. */
export interface SelectedEntry extends Omit<TreeNode, 'origin'> {
  /** Final absolute tree path (`/usr/lib/x86_64-linux-gnu/libc.so.6`). */
  path: string;
  /** Symlink target (rewritten if a relative target would break under merged /usr) or the hardlink's final tree path. */
  target?: string;
}

export interface Selection {
  package: string;
  entries: SelectedEntry[];
  /** Per rule: entries left out and the bytes they held (for `--explain`). */
  dropped: Partial<Record<DropRule, { entries: number; bytes: number }>>;
  /** Entries whose path moved into /usr. */
  rewritten: number;
  /** Top-level directories the package used that merged /usr turns into symlinks (`bin`, `lib64`, …). */
  usrMergedDirs: string[];
  /** Conffiles, at their final paths. */
  conffiles: string[];
}

/** Top-level directories that are symlinks into /usr on a merged-/usr system (bookworm's usrmerge/debootstrap set). */
const MERGED_DIR = /^(?:bin|sbin|lib|lib32|lib64|libx32|libo32)$/;
/** Always created: what every merged-/usr Debian system has, whatever the architecture. */
export const MERGED_USR_BASE: readonly string[] = ['bin', 'sbin', 'lib'];
/** Per-architecture extra links created even when no package ships into them (the dynamic loader path, e.g. /lib64/ld-linux-x86-64.so.2). */
export const MERGED_USR_ARCH: Readonly<Record<string, readonly string[]>> = { amd64: ['lib64'], i386: ['lib64'], ppc64el: ['lib64'], mips64el: ['lib64'], s390x: ['lib64'] };

/** `[prefix, rule]`, most specific first. Each prefix covers the directory itself and everything below. */
const DROP_PREFIXES: readonly [string, DropRule][] = [
  ['/usr/share/doc', 'doc'],
  ['/usr/share/man', 'man'],
  ['/usr/share/info', 'info'],
  ['/usr/share/locale', 'locale'],
  ['/usr/share/lintian', 'lintian'],
  ['/usr/share/linda', 'linda'],
  ['/usr/share/groff', 'groff'],
];

/** Maps a path under a merged top-level directory into /usr (`/lib/x` → `/usr/lib/x`); other paths are unchanged. */
export function mergedUsrPath(path: string): string {
  const second = path.indexOf('/', 1);
  const top = second < 0 ? path.slice(1) : path.slice(1, second);
  return MERGED_DIR.test(top) ? `/usr${path}` : path;
}

/** Which rule (if any) drops `path`, given the locales to keep. `/usr/share/doc/<pkg>/copyright` is always kept. */
export function dropRuleFor(path: string, locales: readonly string[] = []): DropRule | undefined {
  for (const [prefix, rule] of DROP_PREFIXES) {
    if (path !== prefix && !path.startsWith(prefix + '/')) continue;
    if (rule === 'doc') {
      const rest = path.slice(prefix.length + 1).split('/');
      if (rest.length === 2 && rest[1] === 'copyright') return undefined;
    }
    if (rule === 'locale' && path !== prefix) {
      if (locales.includes('*')) return undefined;
      const name = path.slice(prefix.length + 1).split('/')[0]!;
      // locale.alias and friends sit directly in /usr/share/locale: kept when any locale is.
      if (locales.includes(name) || (locales.length > 0 && !path.slice(prefix.length + 1).includes('/'))) return undefined;
    }
    return rule;
  }
  return undefined;
}

/**
 * Chooses the entries of one package that go into the image. Pure: reads nothing, writes nothing. Throws PATH_ESCAPE
 * for a member path that climbs out of the root (a hostile or broken package).
 */
export function selectFiles(entries: Iterable<DebFileEntry>, options: SelectOptions): Selection {
  const locales = options.locales ?? [];
  const conffiles = new Set((options.conffiles ?? []).map((c) => mergedUsrPath(treePath(c))));
  const selection: Selection = { package: options.package, entries: [], dropped: {}, rewritten: 0, usrMergedDirs: [], conffiles: [...conffiles].sort() };
  const mergedDirs = new Set<string>();
  const drop = (rule: DropRule, size: number): void => {
    const slot = (selection.dropped[rule] ??= { entries: 0, bytes: 0 });
    slot.entries++;
    slot.bytes += size;
  };
  for (const entry of entries) {
    const original = treePath(entry.path);
    if (original === '/') continue;
    const path = mergedUsrPath(original);
    const topLevel = original.slice(1).split('/')[0]!;
    if (path !== original) {
      mergedDirs.add(topLevel);
      if (original === `/${topLevel}`) {
        // The directory itself becomes the symlink into /usr.
        if (entry.type === 'dir' || entry.type === 'directory') {
          drop('merged-usr', 0);
          continue;
        }
      }
    }
    const type = entry.type === 'directory' ? 'dir' : entry.type;
    if (type !== 'file' && type !== 'dir' && type !== 'symlink' && type !== 'hardlink') {
      drop('special', 0);
      continue;
    }
    if (!conffiles.has(path)) {
      const rule = dropRuleFor(path, locales) ?? (options.exclude?.(path) === true ? 'recipe' : undefined);
      if (rule !== undefined) {
        drop(rule, type === 'file' ? entry.size : 0);
        continue;
      }
    }
    if (path !== original) selection.rewritten++;
    const out: SelectedEntry = { path, type, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid, mtime: entry.mtime ?? 0 };
    if (type === 'file') out.content = entry.content ?? Buffer.alloc(0);
    if (type === 'symlink') out.target = relinkTarget(original, path, entry.linkTarget ?? '');
    if (type === 'hardlink') out.target = mergedUsrPath(treePath(entry.linkTarget ?? ''));
    selection.entries.push(out);
  }
  selection.usrMergedDirs = [...mergedDirs].sort();
  // A hardlink to a file that was dropped would dangle: store it as the file it named, or drop it too.
  const files = new Map(selection.entries.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  selection.entries = selection.entries.filter((e) => {
    if (e.type !== 'hardlink') return true;
    if (files.has(e.target!)) return true;
    const rule = dropRuleFor(e.target!, locales) ?? 'special';
    drop(rule, 0);
    return false;
  });
  return selection;
}

/**
 * A relative symlink moved from `/lib/x` to `/usr/lib/x` still resolves against its new directory. When that
 * lands somewhere else than it did from the old place (read through merged /usr), the target is rewritten
 * relative to the new directory; otherwise it is kept byte for byte.
 */
function relinkTarget(original: string, moved: string, target: string): string {
  if (original === moved || target.startsWith('/') || target === '') return target;
  const intended = mergedUsrPath(posix.resolve(posix.dirname(original), target));
  const actual = mergedUsrPath(posix.resolve(posix.dirname(moved), target));
  if (intended === actual) return target;
  return posix.relative(posix.dirname(moved), intended) || '.';
}

/** The `/bin → usr/bin`-style links (plus `usr/<dir>` directories) for a merged-/usr tree. Idempotent. */
export function addMergedUsrLinks(tree: ImageTree, dirs: Iterable<string>, mtime = 0): void {
  for (const dir of [...new Set(dirs)].sort()) {
    if (!MERGED_DIR.test(dir)) throw new DistillError('TREE_CONFLICT', `/${dir} is not a merged-/usr directory`, { subject: `/${dir}` });
    const existing = tree.nodes.get(`/${dir}`);
    if (existing?.type === 'symlink' && existing.target === `usr/${dir}`) continue;
    if (existing !== undefined) throw new DistillError('TREE_CONFLICT', `/${dir} is a ${existing.type}${existing.origin ? ` from ${existing.origin}` : ''}; under merged /usr it must be the symlink usr/${dir}`, { subject: `/${dir}` });
    tree.mkdirp(`/usr/${dir}`, { mtime });
    tree.addSymlink(`/${dir}`, `usr/${dir}`, { mtime, origin: 'merged-usr' });
  }
}

/** A kept regular file and its MD5, for `/var/lib/dpkg/status.d/<package>.md5sums`. */
export interface KeptFile {
  /** Final absolute tree path. */
  path: string;
  md5: string;
}

/**
 * Writes a selection into the tree (directories first, so hardlinks find their files) and returns the regular
 * files (and hardlinks) kept, with their MD5s — conffiles left out, as dpkg's md5sums does. Directories a package
 * ships that already exist keep the first owner/mode seen.
 */
// A base package is installed into two trees (the base layer's and the image's): its files are hashed once.
const md5OfContent = new WeakMap<Buffer, string>();

function md5Of(content: Buffer): string {
  let md5 = md5OfContent.get(content);
  if (md5 === undefined) {
    md5 = createHash('md5').update(content).digest('hex');
    md5OfContent.set(content, md5);
  }
  return md5;
}

export function installSelection(tree: ImageTree, selection: Selection): KeptFile[] {
  addMergedUsrLinks(tree, selection.usrMergedDirs);
  const origin = selection.package;
  const kept: KeptFile[] = [];
  const conffiles = new Set(selection.conffiles);
  const md5ByPath = new Map<string, string>();
  const order = { dir: 0, file: 1, symlink: 2, hardlink: 3 } as const;
  const entries = [...selection.entries].sort((a, b) => order[a.type] - order[b.type]);
  for (const entry of entries) {
    if (entry.type === 'dir') {
      if (tree.nodes.get(entry.path)?.type === 'dir') continue;
      tree.mkdirp(entry.path, { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime, origin });
      continue;
    }
    const node = { type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime, origin } as const;
    if (entry.type === 'file') {
      const content = entry.content ?? Buffer.alloc(0);
      const path = tree.add(entry.path, { ...node, content });
      const md5 = md5Of(content);
      md5ByPath.set(entry.path, md5);
      if (!conffiles.has(entry.path)) kept.push({ path, md5 });
    } else {
      const path = tree.add(entry.path, { ...node, target: entry.target ?? '' });
      const md5 = entry.type === 'hardlink' ? md5ByPath.get(entry.target ?? '') : undefined;
      if (md5 !== undefined && !conffiles.has(entry.path)) kept.push({ path, md5 });
    }
  }
  kept.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return kept;
}
