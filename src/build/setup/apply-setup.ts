/** @module build/setup/apply-setup — recreates what maintainer scripts and a base system would leave behind, into the image tree. */
import { parseDeb822, field } from '../../debian/deb822.js';
import { DistillError } from '../../errors.js';
import { accountUsers, resolveRunAs, type Recipe } from '../recipe/recipe.js';
import type { KeptFile } from '../select.js';
import { addMergedUsrLinks, MERGED_USR_ARCH, MERGED_USR_BASE } from '../select.js';
import type { ImageTree } from '../tree.js';
import { buildCaBundle, CA_BUNDLE_PATH } from './ca-bundle.js';
import { effectsFor, type EffectOwner } from './effects.js';

/** One installed package: its control file (as in control.tar) and the regular files kept from it. */
export interface SetupPackage {
  /** The package's `control` file, verbatim (one paragraph). */
  control: string | Buffer;
  /** Kept regular files with their MD5s (from installSelection), for `<package>.md5sums`. */
  files?: readonly KeptFile[];
}

export interface SetupOptions {
  packages: readonly SetupPackage[];
  recipe: Recipe;
  /** Image architecture, for the per-architecture merged-/usr links. */
  arch?: string;
  /** mtime of every synthesised node (the layer writer clamps it anyway). Default 0. */
  mtime?: number;
}

export interface SetupAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos: string;
}

export interface SetupReport {
  users: SetupAccount[];
  groups: { name: string; gid: number; members: string[] }[];
  /** Per package: what the effects table did (its `why`). */
  effects: Record<string, string>;
  /** `/etc/alternatives/<name>` → the implementation chosen. */
  alternatives: Record<string, string>;
  /** Certificate files that went into the CA bundle (tree paths), or empty when there is no bundle. */
  caCertificates: string[];
  /** status.d files written, one per package. */
  statusFiles: string[];
  /** The user the image runs as. */
  runAs: { uid: number; gid: number; name?: string };
}

export const STATUS_DIR = '/var/lib/dpkg/status.d';
/** The os-release distill writes when base-files does not say otherwise (the builder targets bookworm). */
const DEFAULT_RELEASE = { VERSION_ID: '12', VERSION_CODENAME: 'bookworm' };
const MAX_CONTROL_BYTES = 1024 * 1024;

/**
 * Applies, in order: merged-/usr links; the effects table for every installed package (accounts, directories,
 * alternatives, symlinks, files, copies); the recipe's `paths`; `/etc/passwd`, `/etc/group`, `/etc/nsswitch.conf`,
 * `/etc/os-release`; `/tmp` (1777), home directories; the CA bundle; `/var/lib/dpkg/status.d/<package>` and
 * `<package>.md5sums`. Nothing is executed. Throws RECIPE_INVALID for a recipe owner that names no account, and
 * TREE_CONFLICT when a recipe path collides with a directory.
 */
export function applySetup(tree: ImageTree, options: SetupOptions): SetupReport {
  const { recipe } = options;
  const mtime = options.mtime ?? 0;
  const controls = options.packages.map((p) => ({ ...parseControl(p.control), files: p.files ?? [] }));
  const names = new Set(controls.map((c) => c.name));
  const report: SetupReport = { users: [], groups: [], effects: {}, alternatives: {}, caCertificates: [], statusFiles: [], runAs: { uid: 0, gid: 0 } };

  addMergedUsrLinks(tree, [...MERGED_USR_BASE, ...(MERGED_USR_ARCH[options.arch ?? ''] ?? [])], mtime);

  // Accounts: built-ins, then package accounts, then the recipe's (a recipe account of the same name wins).
  const users = new Map<string, SetupAccount>();
  const groups = new Map<string, { name: string; gid: number; members: string[] }>();
  const dev = recipe.variant === 'dev';
  const addUser = (u: SetupAccount): void => void users.set(u.name, u);
  const addGroup = (g: { name: string; gid: number; members?: string[] }): void => void groups.set(g.name, { name: g.name, gid: g.gid, members: [...(g.members ?? [])] });
  addGroup({ name: 'root', gid: 0 });
  addGroup({ name: 'nogroup', gid: 65534 });
  addUser({ name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin', gecos: 'nobody' });
  const sortedNames = [...names].sort();
  for (const name of sortedNames) {
    const effects = effectsFor(name);
    for (const g of effects?.groups ?? []) addGroup(g);
    for (const u of effects?.users ?? []) addUser({ gecos: u.name, ...u });
  }
  for (const u of accountUsers(recipe)) addUser({ name: u.name, uid: u.uid, gid: u.gid, home: u.home, shell: dev && u.shell === '/sbin/nologin' ? '/bin/sh' : u.shell, gecos: u.name });
  for (const g of recipe.accounts.groups) addGroup(g);
  // Every user's primary group exists: one named after the user when nothing declares that gid.
  for (const u of users.values()) if (![...groups.values()].some((g) => g.gid === u.gid) && !groups.has(u.name)) addGroup({ name: u.name, gid: u.gid });

  const runAs = resolveRunAs(recipe);
  report.runAs = runAs.user === undefined ? { uid: runAs.uid, gid: runAs.gid } : { uid: runAs.uid, gid: runAs.gid, name: runAs.user.name };
  const ownerOf = (owner: EffectOwner, subject: string): { uid: number; gid: number } => {
    if (owner === 'root') return { uid: 0, gid: 0 };
    if (owner === 'run-as') return { uid: runAs.uid, gid: runAs.gid };
    return resolveOwner(owner, users, groups, subject);
  };

  // The effects table, package by package in name order (deterministic whatever the resolver's order).
  const alternatives = new Map<string, { link: string; path: string; priority: number }>();
  for (const name of sortedNames) {
    const effects = effectsFor(name);
    if (effects === undefined) continue;
    report.effects[name] = effects.why;
    for (const dir of effects.directories ?? []) tree.mkdirp(dir.path, { mode: dir.mode, ...ownerOf(dir.owner, dir.path), mtime, origin: `setup:${name}` });
    for (const alt of effects.alternatives ?? []) {
      if (tree.lookup(alt.path) === undefined) continue;
      const current = alternatives.get(alt.name);
      if (current === undefined || alt.priority > current.priority) alternatives.set(alt.name, alt);
    }
  }
  // Alternatives before plain symlinks, so a real implementation (mawk) wins over a busybox applet.
  for (const [name, alt] of [...alternatives].sort(([a], [b]) => (a < b ? -1 : 1))) {
    tree.mkdirp('/etc/alternatives', { mtime });
    tree.addSymlink(`/etc/alternatives/${name}`, alt.path, { mtime, origin: 'setup:alternatives' });
    if (tree.get(alt.link) === undefined) tree.addSymlink(alt.link, `/etc/alternatives/${name}`, { mtime, origin: 'setup:alternatives' });
    report.alternatives[name] = alt.path;
  }
  for (const name of sortedNames) {
    const effects = effectsFor(name);
    for (const link of effects?.symlinks ?? []) {
      const existing = tree.get(link.path);
      if (existing !== undefined && (link.replace !== true || existing.type === 'dir')) continue;
      tree.addSymlink(link.path, link.target, { mtime, origin: `setup:${name}` });
    }
    for (const file of effects?.files ?? []) {
      if (tree.get(file.path) !== undefined && file.replace !== true) continue;
      tree.addFile(file.path, file.content, { mode: file.mode, mtime, origin: `setup:${name}` });
    }
    for (const copy of effects?.copies ?? []) {
      const source = tree.lookup(copy.from);
      if (source?.node.type !== 'file' || tree.get(copy.path) !== undefined) continue;
      tree.addFile(copy.path, source.node.content ?? Buffer.alloc(0), { mode: copy.mode, mtime, origin: `setup:${name}` });
    }
  }

  // Base system files (the recipe's paths below may still replace them).
  const userList = [...users.values()].sort((a, b) => a.uid - b.uid || (a.name < b.name ? -1 : 1));
  const groupList = [...groups.values()].sort((a, b) => a.gid - b.gid || (a.name < b.name ? -1 : 1));
  tree.addFile('/etc/passwd', userList.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}\n`).join(''), { mtime, origin: 'setup' });
  tree.addFile('/etc/group', groupList.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join(''), { mtime, origin: 'setup' });
  if (tree.get('/etc/nsswitch.conf') === undefined) tree.addFile('/etc/nsswitch.conf', NSSWITCH, { mtime, origin: 'setup' });
  writeOsRelease(tree, mtime);
  tree.mkdirp('/tmp', { mode: 0o1777, uid: 0, gid: 0, mtime, origin: 'setup' });
  for (const u of userList) {
    if (u.uid === 0) tree.mkdirp(u.home, { mode: 0o700, uid: 0, gid: 0, mtime, origin: 'setup' });
    else if (u.home.startsWith('/home/')) tree.mkdirp(u.home, { mode: 0o700, uid: u.uid, gid: u.gid, mtime, origin: 'setup' });
  }

  // The recipe's own paths: they override anything a package or the table put there.
  for (const path of recipe.paths) {
    const owner = resolveOwner(path.owner, users, groups, path.path);
    const init = { mode: path.mode, ...owner, mtime, origin: 'recipe' };
    if (path.type === 'directory') tree.mkdirp(path.path, init);
    else {
      const existing = tree.get(path.path);
      if (existing?.type === 'dir') throw new DistillError('TREE_CONFLICT', `recipe path ${path.path} is a ${path.type}, but a package installs a directory there`, { subject: path.path });
      if (path.type === 'file') tree.addFile(path.path, path.content ?? Buffer.alloc(0), init);
      else tree.addSymlink(path.path, path.target ?? '', init);
    }
  }

  // CA bundle, from whatever certificates are in the tree now (packages and the recipe's extra CAs).
  const bundle = names.has('ca-certificates') || tree.get('/usr/local/share/ca-certificates') !== undefined ? buildCaBundle(tree) : undefined;
  if (bundle !== undefined) {
    tree.mkdirp('/etc/ssl/certs', { mtime });
    for (const [link, target] of bundle.links) if (tree.get(link) === undefined) tree.addSymlink(link, target, { mtime, origin: 'setup:ca-certificates' });
    tree.addFile(CA_BUNDLE_PATH, bundle.content, { mtime, origin: 'setup:ca-certificates' });
    report.caCertificates = bundle.sources;
  }

  // Scanner-visible package metadata, distroless-style: one control paragraph per file plus its md5sums.
  tree.mkdirp(STATUS_DIR, { mtime });
  for (const control of [...controls].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${STATUS_DIR}/${control.name}`;
    tree.addFile(path, control.status, { mtime, origin: `setup:${control.name}` });
    report.statusFiles.push(path);
    if (control.files.length > 0) tree.addFile(`${path}.md5sums`, control.files.map((f) => `${f.md5}  ${f.path.slice(1)}\n`).join(''), { mtime, origin: `setup:${control.name}` });
  }

  report.users = userList;
  report.groups = groupList;
  return report;
}

const NSSWITCH = `passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
`;

/**
 * `/usr/lib/os-release` (and `/etc/os-release` → `../usr/lib/os-release`, as base-files lays them out): Debian's
 * fields, so scanners detect the distribution, with distill named in PRETTY_NAME. VERSION_ID and the codename come
 * from base-files' own os-release when it is in the tree.
 */
function writeOsRelease(tree: ImageTree, mtime: number): void {
  const shipped = tree.lookup('/usr/lib/os-release') ?? tree.lookup('/etc/os-release');
  const fields: Record<string, string> = { ...DEFAULT_RELEASE };
  if (shipped?.node.type === 'file') {
    for (const line of (shipped.node.content ?? Buffer.alloc(0)).toString('utf8').split('\n')) {
      const m = /^(VERSION_ID|VERSION_CODENAME)=("?)([A-Za-z0-9._-]+)\2$/.exec(line.trim());
      if (m !== null) fields[m[1]!] = m[3]!;
    }
  }
  const version = fields.VERSION_ID!;
  const codename = fields.VERSION_CODENAME!;
  const text = [
    `PRETTY_NAME="Distill (Debian GNU/Linux ${version} ${codename})"`,
    'NAME="Debian GNU/Linux"',
    `VERSION_ID="${version}"`,
    `VERSION="${version} (${codename})"`,
    `VERSION_CODENAME=${codename}`,
    'ID=debian',
    'HOME_URL="https://www.debian.org/"',
    'SUPPORT_URL="https://www.debian.org/support"',
    'BUG_REPORT_URL="https://bugs.debian.org/"',
    '',
  ].join('\n');
  if (tree.get('/etc/os-release')?.type === 'dir' || tree.get('/usr/lib/os-release')?.type === 'dir') throw new DistillError('TREE_CONFLICT', 'os-release is a directory in the tree', { subject: '/etc/os-release' });
  tree.addFile('/usr/lib/os-release', text, { mtime, origin: 'setup' });
  tree.addSymlink('/etc/os-release', '../usr/lib/os-release', { mtime, origin: 'setup' });
}

/** The package name and its status.d text: the control paragraph with `Status: install ok installed` after `Package:`. */
function parseControl(control: string | Buffer): { name: string; status: string } {
  const size = typeof control === 'string' ? Buffer.byteLength(control) : control.byteLength;
  if (size > MAX_CONTROL_BYTES) throw new DistillError('DEB_INVALID', `control file is ${size} bytes, more than the ${MAX_CONTROL_BYTES}-byte limit`);
  const text = (typeof control === 'string' ? control : control.toString('utf8')).replace(/\r\n?/g, '\n');
  const { paragraphs } = parseDeb822(text);
  const paragraph = paragraphs[0];
  const name = paragraph === undefined ? undefined : field(paragraph, 'package');
  if (paragraph === undefined || paragraphs.length !== 1 || name === undefined || !/^[a-z0-9][a-z0-9+.-]+$/.test(name)) {
    throw new DistillError('DEB_INVALID', `control file is not one paragraph with a valid Package field${name === undefined ? '' : ` (Package: ${JSON.stringify(name.slice(0, 80))})`}`, { subject: name });
  }
  const lines = text.split('\n').filter((line) => !/^Status:/i.test(line));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  const at = lines.findIndex((line) => /^Package:/i.test(line));
  lines.splice(at + 1, 0, 'Status: install ok installed');
  return { name, status: lines.join('\n') + '\n' };
}

/** `uid[:gid]` or `user[:group]` against the final accounts; a bare user takes its primary group. */
function resolveOwner(owner: string, users: Map<string, SetupAccount>, groups: Map<string, { gid: number }>, subject: string): { uid: number; gid: number } {
  const [userPart = '', groupPart] = owner.split(':');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(userPart)) uid = Number(userPart);
  else {
    const user = users.get(userPart);
    if (user === undefined) throw new DistillError('RECIPE_INVALID', `${subject}: owner \`${owner}\` names no user (known: ${[...users.keys()].sort().join(', ')})`, { subject });
    uid = user.uid;
    gid = user.gid;
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.get(groupPart);
      if (group === undefined) throw new DistillError('RECIPE_INVALID', `${subject}: owner \`${owner}\` names no group (known: ${[...groups.keys()].sort().join(', ')})`, { subject });
      gid = group.gid;
    }
  }
  return { uid, gid: gid ?? [...users.values()].find((u) => u.uid === uid)?.gid ?? uid };
}
