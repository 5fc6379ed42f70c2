/** @module catalog/linux-release — detects the image's OS from os-release, debian_version and alpine-release. */
import { describeError, isDistillError, type Issue } from '../errors.js';
import type { FileResolver } from '../filesystem/file-resolver.js';
import type { LinuxRelease } from '../sbom/package.js';

/** Every file {@link detectRelease} reads (the layer pass must capture their content). */
export const RELEASE_GLOBS: readonly string[] = ['/etc/os-release', '/usr/lib/os-release', '/etc/debian_version', '/etc/alpine-release'];

const SOURCE = 'linux-release';
/** os-release and version files are a few hundred bytes; anything large is not one. */
const MAX_RELEASE_BYTES = 64 * 1024;

/**
 * Parses os-release(5): `KEY=value` lines, values optionally in single or double quotes, backslash escapes
 * (`\"`, `\\`, `\$`, `` \` `` inside double quotes; any character when unquoted), `#` comment lines.
 */
export function parseOsRelease(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    values.set(key, unquote(line.slice(eq + 1)));
  }
  return values;
}

function unquote(raw: string): string {
  let out = '';
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else out += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) out += raw[++i];
      else out += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < raw.length) out += raw[++i];
    else if (c === '#' && (i === 0 || raw[i - 1] === ' ' || raw[i - 1] === '\t')) break;
    else out += c;
  }
  return quote === undefined ? out.trimEnd() : out;
}

async function readSmall(resolver: FileResolver, path: string, issues: Issue[]): Promise<string | undefined> {
  if (resolver.stat(path)?.type !== 'file') return undefined;
  try {
    return (await resolver.readFile(path, { maxBytes: MAX_RELEASE_BYTES })).toString('utf8');
  } catch (error) {
    issues.push({
      code: isDistillError(error, 'FILE_TOO_LARGE') ? 'FILE_TOO_LARGE' : 'UNREADABLE',
      message: `cannot read ${path}: ${describeError(error)}`,
      path,
      source: SOURCE,
    });
    return undefined;
  }
}

/**
 * The image's OS: `/etc/os-release`, else `/usr/lib/os-release` (symlinks are followed by the resolver, as in
 * bookworm where the first links to the second), refined with the precise point release from
 * `/etc/debian_version` (Debian) or `/etc/alpine-release` (Alpine). Without os-release, those two files alone
 * still identify the OS, as older and stripped images need.
 */
export async function detectRelease(resolver: FileResolver): Promise<{ release: LinuxRelease | undefined; issues: Issue[] }> {
  const issues: Issue[] = [];
  let fields: Map<string, string> | undefined;
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    const text = await readSmall(resolver, path, issues);
    if (text === undefined) continue;
    const parsed = parseOsRelease(text);
    if (!parsed.get('ID')) {
      issues.push({ code: 'FIELD_MISSING', message: `${path} has no ID field`, path, source: SOURCE });
      continue;
    }
    fields = parsed;
    break;
  }

  let release: LinuxRelease | undefined;
  if (fields !== undefined) {
    release = { id: fields.get('ID')!.toLowerCase(), idLike: (fields.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean) };
    const versionId = fields.get('VERSION_ID');
    if (versionId) release.versionId = versionId;
    const codename = fields.get('VERSION_CODENAME');
    if (codename) release.versionCodename = codename;
    const pretty = fields.get('PRETTY_NAME');
    if (pretty) release.prettyName = pretty;
  }

  // debian_version holds "12.8" on Debian but "bookworm/sid" on Ubuntu and testing: only a number is precise.
  if (release === undefined || release.id === 'debian') {
    const text = await readSmall(resolver, '/etc/debian_version', issues);
    const precise = text?.trim().split(/\s+/)[0];
    if (precise !== undefined && /^\d+(\.\d+)*$/.test(precise)) {
      release ??= { id: 'debian', idLike: [], versionId: precise.split('.')[0]! };
      release.precise = precise;
    }
  }
  if (release === undefined || release.id === 'alpine') {
    const text = await readSmall(resolver, '/etc/alpine-release', issues);
    const precise = text?.trim().split(/\s+/)[0];
    if (precise !== undefined && /^\d+(\.\d+)*/.test(precise)) {
      release ??= { id: 'alpine', idLike: [], versionId: precise };
      release.precise = precise;
    }
  }
  return { release, issues };
}
