/** @module build/setup/ca-bundle — /etc/ssl/certs/ca-certificates.crt built from the tree, as update-ca-certificates would. */
import type { ImageTree } from '../tree.js';

export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';
const SHARE_DIR = '/usr/share/ca-certificates';
const LOCAL_DIR = '/usr/local/share/ca-certificates';
const CONF_PATH = '/etc/ca-certificates.conf';

export interface CaBundle {
  /** The bundle bytes: each certificate file, in order, each ending with a newline. */
  content: Buffer;
  /** The files it was made of, in bundle order (tree paths). */
  sources: string[];
  /** `/etc/ssl/certs/<name>.pem` → certificate links update-ca-certificates makes, keyed by link path. */
  links: Map<string, string>;
}

/**
 * update-ca-certificates' selection: the certificates `/etc/ca-certificates.conf` lists (relative to
 * /usr/share/ca-certificates, `!` lines deselect) — or, with no conf file, every `*.crt` there (what the
 * package's postinst writes into a fresh conf: all of them, sorted) — then every `*.crt` under
 * /usr/local/share/ca-certificates, sorted. Symlinks are followed (update-ca-certificates uses `find -L`).
 * Returns undefined when there is no certificate at all.
 */
export function buildCaBundle(tree: ImageTree): CaBundle | undefined {
  const shared = crtFilesUnder(tree, SHARE_DIR);
  let selected: string[];
  const conf = tree.lookup(CONF_PATH);
  if (conf !== undefined && conf.node.type === 'file') {
    const wanted: string[] = [];
    for (const raw of (conf.node.content ?? Buffer.alloc(0)).toString('utf8').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
      wanted.push(`${SHARE_DIR}/${line}`);
    }
    const present = new Set(shared);
    selected = wanted.filter((path) => present.has(path));
  } else selected = shared;
  const sources = [...selected, ...crtFilesUnder(tree, LOCAL_DIR)];
  if (sources.length === 0) return undefined;
  const parts: Buffer[] = [];
  const links = new Map<string, string>();
  for (const path of sources) {
    const base = path.slice(path.lastIndexOf('/') + 1, -'.crt'.length).replace(/ /g, '_').replace(/[()]/g, '=').replace(/,/g, '_');
    links.set(`/etc/ssl/certs/${base}.pem`, path);
    const content = tree.lookup(path)?.node.content ?? Buffer.alloc(0);
    parts.push(content);
    if (content.length > 0 && content[content.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
  }
  return { content: Buffer.concat(parts), sources, links };
}

/** `*.crt` regular files (through symlinks) below a directory, sorted bytewise like `sort` in the C locale. */
function crtFilesUnder(tree: ImageTree, dir: string): string[] {
  const out: string[] = [];
  const prefix = dir + '/';
  for (const [path, node] of tree.nodes) {
    if (!path.startsWith(prefix) || !path.endsWith('.crt')) continue;
    if (node.type === 'file' || (node.type === 'symlink' && tree.lookup(path)?.node.type === 'file')) out.push(path);
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
