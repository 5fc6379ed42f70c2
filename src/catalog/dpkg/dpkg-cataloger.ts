/** @module catalog/dpkg/dpkg-cataloger — Debian packages from /var/lib/dpkg/status, status.d/ and info/*.list. */
import { describeError, isDistillError, type Issue } from '../../errors.js';
import type { FileResolver } from '../../filesystem/file-resolver.js';
import type { DebPackage } from '../../sbom/package.js';
import { debPurl } from '../../sbom/purl.js';
import type { CatalogContext, CatalogResult, Cataloger } from '../cataloger.js';
import { DEB822_MAX_BYTES, field, parseDeb822, type Deb822Paragraph } from '../../debian/deb822.js';
import { COPYRIGHT_MAX_BYTES, licensesFromCopyright } from '../licenses/copyright.js';

const NAME = 'dpkg';
const STATUS = '/var/lib/dpkg/status';
const STATUS_DIR = '/var/lib/dpkg/status.d';
const INFO_DIR = '/var/lib/dpkg/info';
/** A .list or .md5sums file lists paths; 16 MiB is far beyond any real package (texlive's largest is ~10 MiB). */
const LIST_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Whether a status entry stands for files on disk. Trivy drops an entry when its Status has the word
 * `deinstall` or `purge` (the selection), and keeps everything else, including entries without a Status
 * (status.d files written by distroless). dpkg itself also has no files on disk for the states `not-installed`
 * and `config-files`; dropping those too changes nothing for a real dpkg database (they come with
 * deinstall/purge) and avoids reporting phantom packages from hand-written ones.
 */
export function isInstalledStatus(status: string | undefined): boolean {
  if (status === undefined) return true;
  const words = status.split(/\s+/);
  if (words.includes('deinstall') || words.includes('purge')) return false;
  const state = words[2];
  return state !== 'not-installed' && state !== 'config-files';
}

/** `Source: glibc (2.36-9+deb12u4)` → name and version; the version defaults to the binary's. */
export function parseSourceField(source: string | undefined, name: string, version: string): { sourceName: string; sourceVersion: string } {
  const match = source === undefined ? null : /^\s*(\S+)(?:\s*\(\s*([^)\s]+)\s*\))?/.exec(source);
  if (match === null) return { sourceName: name, sourceVersion: version };
  return { sourceName: match[1]!, sourceVersion: match[2] ?? version };
}

async function readText(
  resolver: FileResolver,
  path: string,
  maxBytes: number,
  issues: Issue[],
): Promise<Buffer | undefined> {
  try {
    return await resolver.readFile(path, { maxBytes });
  } catch (error) {
    issues.push({
      code: isDistillError(error, 'FILE_TOO_LARGE') ? 'FILE_TOO_LARGE' : 'UNREADABLE',
      message: `cannot read ${path}: ${describeError(error)}`,
      path,
    });
    return undefined;
  }
}

/** Paths from a dpkg info/*.list file, without `/.` and without directories (entries that have children). */
export function parseListFile(text: string, isDir: (path: string) => boolean): string[] {
  const lines = text.split('\n');
  const files: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const path = lines[i]!.replace(/\r$/, '');
    if (path === '' || path === '/.' || !path.startsWith('/')) continue;
    const next = lines[i + 1];
    if (next !== undefined && next.startsWith(`${path}/`)) continue;
    if (isDir(path)) continue;
    files.push(path);
  }
  return files;
}

/** Paths from a md5sums file (`<md5>  <path relative to />`). */
export function parseMd5sums(text: string): string[] {
  const files: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const match = /^[0-9a-fA-F]{32}\s+\*?(.+)$/.exec(line);
    if (match === null) continue;
    const path = match[1]!;
    files.push(path.startsWith('/') ? path : `/${path}`);
  }
  return files;
}

interface Entry {
  paragraph: Deb822Paragraph;
  /** The status or status.d file it came from. */
  path: string;
  /** For status.d entries, the sibling md5sums file named after the status.d file. */
  md5sums?: string;
}

export const dpkgCataloger: Cataloger = {
  name: NAME,
  kind: 'os',
  globs: [
    STATUS,
    `${STATUS_DIR}/*`,
    `${INFO_DIR}/*.list`,
    '/usr/share/doc/*/copyright',
  ],
  async catalog(context: CatalogContext): Promise<CatalogResult> {
    const { resolver } = context;
    const issues: Issue[] = [];
    const entries: Entry[] = [];

    const collect = async (path: string): Promise<Deb822Paragraph[]> => {
      const content = await readText(resolver, path, DEB822_MAX_BYTES, issues);
      if (content === undefined) return [];
      const parsed = parseDeb822(content, { path });
      issues.push(...parsed.issues);
      return parsed.paragraphs;
    };

    if (resolver.stat(STATUS)?.type === 'file') {
      for (const paragraph of await collect(STATUS)) entries.push({ paragraph, path: STATUS });
    }
    const statusDir = resolver
      .glob(`${STATUS_DIR}/*`)
      .filter((entry) => !entry.path.endsWith('.md5sums') && resolver.stat(entry.path)?.type === 'file')
      .map((entry) => entry.path);
    for (const path of statusDir) {
      const md5sums = `${path}.md5sums`;
      for (const paragraph of await collect(path)) {
        entries.push(resolver.stat(md5sums)?.type === 'file' ? { paragraph, path, md5sums } : { paragraph, path });
      }
    }

    const packages: DebPackage[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const pkg = await toPackage(entry, context, issues);
      if (pkg === undefined) continue;
      // The same package in status and status.d (or twice in one file) is one package.
      if (seen.has(pkg.id)) continue;
      seen.add(pkg.id);
      packages.push(pkg);
    }
    return { packages, relationships: [], issues };
  },
};

async function toPackage(entry: Entry, context: CatalogContext, issues: Issue[]): Promise<DebPackage | undefined> {
  const { paragraph, path } = entry;
  const { resolver } = context;
  if (!isInstalledStatus(field(paragraph, 'Status'))) return undefined;
  const name = field(paragraph, 'Package');
  const version = field(paragraph, 'Version');
  if (!name || !version) {
    const missing = [name ? undefined : 'Package', version ? undefined : 'Version'].filter(Boolean).join(' and ');
    issues.push({
      code: 'FIELD_MISSING',
      message: `entry at line ${paragraph.line}${name ? ` (${name})` : ''} has no ${missing}; skipped`,
      path,
    });
    return undefined;
  }
  const architecture = field(paragraph, 'Architecture') ?? '';
  const { sourceName, sourceVersion } = parseSourceField(field(paragraph, 'Source'), name, version);
  // Trivy's rendering (epoch as a qualifier, no `upstream`): see sbom/purl.ts; source data lives in sourceName/Version.
  const purl = debPurl({ name, version, ...(architecture ? { architecture } : {}), ...(context.release ? { release: context.release } : {}) });

  let files: string[] = [];
  if (entry.md5sums !== undefined) {
    const content = await readText(resolver, entry.md5sums, LIST_MAX_BYTES, issues);
    if (content !== undefined) files = parseMd5sums(content.toString('utf8'));
  } else if (path === STATUS) {
    // Multi-arch: same packages have info/<name>:<arch>.list instead of info/<name>.list.
    for (const list of [`${INFO_DIR}/${name}.list`, `${INFO_DIR}/${name}:${architecture}.list`]) {
      if (resolver.stat(list)?.type !== 'file') continue;
      const content = await readText(resolver, list, LIST_MAX_BYTES, issues);
      if (content !== undefined) files = parseListFile(content.toString('utf8'), (p) => resolver.lstat(p)?.type === 'dir');
      break;
    }
  }

  let licenses: string[] = [];
  const copyright = `/usr/share/doc/${name}/copyright`;
  if (resolver.stat(copyright)?.type === 'file') {
    const content = await readText(resolver, copyright, COPYRIGHT_MAX_BYTES, issues);
    if (content !== undefined) licenses = licensesFromCopyright(content);
  }

  const layerDigest = context.layerDigestOf(path);
  const pkg: DebPackage = {
    type: 'deb',
    id: `${purl}#${path}`,
    name,
    version,
    purl,
    cpes: [],
    licenses,
    locations: [layerDigest === undefined ? { path } : { path, layerDigest }],
    foundBy: NAME,
    architecture,
    sourceName,
    sourceVersion,
    files,
  };
  const maintainer = field(paragraph, 'Maintainer');
  if (maintainer) pkg.maintainer = maintainer;
  // Installed-Size is in KiB, kept as declared.
  const installedSize = Number.parseInt(field(paragraph, 'Installed-Size') ?? '', 10);
  if (Number.isFinite(installedSize) && installedSize >= 0) pkg.installedSize = installedSize;
  return pkg;
}

