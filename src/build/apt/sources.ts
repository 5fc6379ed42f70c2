/** @module build/apt/sources — apt repository lists: deb822 `.sources`, one-line `sources.list`, DISTILL_DEBIAN_MIRROR, recipe overrides. */
import { DistillError } from '../../errors.js';
import { field, parseDeb822 } from '../../debian/deb822.js';

/** One `deb` repository: one URI and one suite (deb822 entries with several URIs or suites expand into several). */
export interface Repository {
  /** Archive root, without a trailing slash (`…/debian`). */
  uri: string;
  suite: string;
  components: string[];
  /** Keyring file (binary `.gpg` or armored `.asc`) from Signed-By; absent means the caller's default keyring. */
  keyring?: string;
  /** An armored public key given inline in a deb822 Signed-By field. */
  inlineKey?: string;
  /** Architectures restricted by `Architectures:` / `arch=`; absent means every architecture asked for. */
  archs?: string[];
}

/** Where a sources text came from, for error messages (`/etc/apt/sources.list.d/debian.sources`). */
export interface SourcesText {
  path: string;
  text: string;
}

const SPLIT = /[\s,]+/;

function words(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(SPLIT).filter((w) => w !== '');
}

function normaliseUri(uri: string, subject: string): string {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new DistillError('USAGE', `repository URI "${uri}" is not a URL`, { subject });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && parsed.protocol !== 'file:') {
    throw new DistillError('USAGE', `repository URI "${uri}" uses ${parsed.protocol} — only http, https and file are supported`, { subject });
  }
  return uri.replace(/\/+$/, '');
}

function checkSuite(suite: string, subject: string): void {
  // Flat repositories (`./`, `suite/`) have no dists/ tree; the builder only reads standard archives.
  if (suite.endsWith('/')) throw new DistillError('USAGE', `flat repository suite "${suite}" is not supported (use an archive with dists/<suite>/)`, { subject });
  if (suite.includes('..') || suite.startsWith('/')) throw new DistillError('USAGE', `suite "${suite}" is not a plain suite name`, { subject });
}

/**
 * Parses deb822 `.sources` text. Only `Types: deb` entries count (deb-src is skipped); `Enabled: no` entries are
 * skipped; every URI × Suite pair becomes one Repository. Signed-By may name keyring files or hold an armored key.
 */
export function parseDeb822Sources(text: string, path = 'sources'): Repository[] {
  const { paragraphs } = parseDeb822(text, { path });
  const out: Repository[] = [];
  for (const p of paragraphs) {
    const subject = `${path}:${p.line}`;
    if (!words(field(p, 'Types')).includes('deb')) continue;
    const enabled = field(p, 'Enabled')?.trim().toLowerCase();
    if (enabled === 'no' || enabled === 'false') continue;
    const uris = words(field(p, 'URIs'));
    const suites = words(field(p, 'Suites'));
    const components = words(field(p, 'Components'));
    if (uris.length === 0) throw new DistillError('USAGE', `${subject}: deb822 source entry without URIs`, { subject });
    if (suites.length === 0) throw new DistillError('USAGE', `${subject}: deb822 source entry without Suites`, { subject });
    if (components.length === 0) throw new DistillError('USAGE', `${subject}: deb822 source entry without Components`, { subject });
    const signedBy = field(p, 'Signed-By');
    const archs = words(field(p, 'Architectures'));
    let keyring: string | undefined;
    let inlineKey: string | undefined;
    if (signedBy !== undefined) {
      if (signedBy.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) inlineKey = signedBy;
      else {
        // Several keyrings or fingerprints may be listed; the builder uses the first keyring file given.
        keyring = words(signedBy).find((w) => w.startsWith('/'));
      }
    }
    for (const uri of uris) {
      for (const suite of suites) {
        checkSuite(suite, subject);
        out.push(makeRepository(normaliseUri(uri, subject), suite, components, keyring, inlineKey, archs));
      }
    }
  }
  return out;
}

function makeRepository(uri: string, suite: string, components: string[], keyring: string | undefined, inlineKey: string | undefined, archs: string[]): Repository {
  const repo: Repository = { uri, suite, components: [...components] };
  if (keyring !== undefined) repo.keyring = keyring;
  if (inlineKey !== undefined) repo.inlineKey = inlineKey;
  if (archs.length > 0) repo.archs = [...archs];
  return repo;
}

/** Parses one-line `sources.list` text: `deb [signed-by=… arch=…] URI suite component…`; deb-src and comments are skipped. */
export function parseOneLineSources(text: string, path = 'sources.list'): Repository[] {
  const out: Repository[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const subject = `${path}:${i + 1}`;
    let line = lines[i]!;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === '') continue;
    const typeMatch = /^(\S+)\s+/.exec(line);
    if (typeMatch === null) throw new DistillError('USAGE', `${subject}: expected "deb [options] URI suite components"`, { subject });
    const type = typeMatch[1]!;
    if (type === 'deb-src') continue;
    if (type !== 'deb') throw new DistillError('USAGE', `${subject}: unknown source type "${type}"`, { subject });
    let rest = line.slice(typeMatch[0].length);
    const options = new Map<string, string>();
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new DistillError('USAGE', `${subject}: unterminated [options]`, { subject });
      for (const opt of rest.slice(1, close).trim().split(/\s+/)) {
        if (opt === '') continue;
        const eq = opt.indexOf('=');
        if (eq <= 0) throw new DistillError('USAGE', `${subject}: option "${opt}" is not key=value`, { subject });
        // `arch+=` / `arch-=` adjust the default list; treated as the plain value, which is what a builder needs.
        options.set(opt.slice(0, eq).replace(/[+-]$/, '').toLowerCase(), opt.slice(eq + 1));
      }
      rest = rest.slice(close + 1).trim();
    }
    const parts = rest.split(/\s+/).filter((w) => w !== '');
    const [uri, suite, ...components] = parts;
    if (uri === undefined || suite === undefined) throw new DistillError('USAGE', `${subject}: expected "deb [options] URI suite components"`, { subject });
    checkSuite(suite, subject);
    if (components.length === 0) throw new DistillError('USAGE', `${subject}: no components after suite "${suite}"`, { subject });
    const signedBy = options.get('signed-by');
    const keyring = signedBy === undefined ? undefined : words(signedBy).find((w) => w.startsWith('/'));
    out.push(makeRepository(normaliseUri(uri, subject), suite, components, keyring, undefined, words(options.get('arch'))));
  }
  return out;
}

/** Parses one sources file, choosing the syntax by its name (`*.sources` is deb822, anything else one-line). */
export function parseSourcesFile(source: SourcesText): Repository[] {
  return source.path.endsWith('.sources') ? parseDeb822Sources(source.text, source.path) : parseOneLineSources(source.text, source.path);
}

/** The two archives a `DISTILL_DEBIAN_MIRROR` value names. */
export interface MirrorSetting {
  /** The Debian archive (suites such as `bookworm`, `bookworm-updates`). */
  main: string;
  /** The security archive (`*-security` suites); absent keeps the security URIs of the base list. */
  security?: string;
}

/**
 * Reads `DISTILL_DEBIAN_MIRROR` from an environment object: `URI` or `URI security=URI` (space- or comma-separated).
 * Returns undefined when unset or empty.
 */
export function mirrorFromEnv(env: Readonly<Record<string, string | undefined>>): MirrorSetting | undefined {
  const value = env['DISTILL_DEBIAN_MIRROR']?.trim();
  if (value === undefined || value === '') return undefined;
  let main: string | undefined;
  let security: string | undefined;
  for (const token of words(value)) {
    if (token.startsWith('security=')) security = normaliseUri(token.slice('security='.length), 'DISTILL_DEBIAN_MIRROR');
    else if (main === undefined) main = normaliseUri(token, 'DISTILL_DEBIAN_MIRROR');
    else throw new DistillError('USAGE', `DISTILL_DEBIAN_MIRROR names two main archives ("${main}", "${token}")`, { subject: 'DISTILL_DEBIAN_MIRROR' });
  }
  if (main === undefined) throw new DistillError('USAGE', 'DISTILL_DEBIAN_MIRROR has no main archive URI', { subject: 'DISTILL_DEBIAN_MIRROR' });
  return security === undefined ? { main } : { main, security };
}

/** Points a repository list at a mirror: `*-security` suites to the security archive (when given), the rest to the main one. */
export function applyMirror(repos: readonly Repository[], mirror: MirrorSetting): Repository[] {
  return repos.map((r) => {
    const isSecurity = r.suite.endsWith('-security') || r.suite.endsWith('/updates');
    if (isSecurity) return mirror.security === undefined ? { ...r } : { ...r, uri: mirror.security };
    return { ...r, uri: mirror.main };
  });
}

export interface ResolveSourcesInput {
  /** Repositories written in the recipe: when non-empty they are used as they are. */
  recipe?: readonly Repository[];
  /** The environment object (the CLI passes its own environment); only DISTILL_DEBIAN_MIRROR is read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The host's apt sources files, already read by the caller. */
  host?: readonly SourcesText[];
  /**
   * Suites to use with DISTILL_DEBIAN_MIRROR when the host has no sources (e.g. `bookworm`, `bookworm-updates`,
   * `bookworm-security`), with `components` (default `main`).
   */
  suites?: readonly string[];
  components?: readonly string[];
}

/**
 * Chooses the repositories: the recipe's when it names any; otherwise the host's apt sources, re-pointed at
 * DISTILL_DEBIAN_MIRROR when that is set (or, with no host sources, the given suites on that mirror).
 * Throws USAGE when nothing names a repository.
 */
export function resolveRepositories(input: ResolveSourcesInput): Repository[] {
  if (input.recipe !== undefined && input.recipe.length > 0) return input.recipe.map((r) => ({ ...r, uri: normaliseUri(r.uri, 'recipe'), components: [...r.components] }));
  const host = (input.host ?? []).flatMap(parseSourcesFile);
  const mirror = input.env === undefined ? undefined : mirrorFromEnv(input.env);
  if (mirror !== undefined) {
    if (host.length > 0) return applyMirror(host, mirror);
    const suites = input.suites ?? [];
    if (suites.length === 0) throw new DistillError('USAGE', 'DISTILL_DEBIAN_MIRROR is set but no suites are known (no host apt sources, none in the recipe)', { subject: 'DISTILL_DEBIAN_MIRROR' });
    const components = input.components === undefined || input.components.length === 0 ? ['main'] : [...input.components];
    return applyMirror(suites.map((suite) => ({ uri: mirror.main, suite, components: [...components] })), mirror);
  }
  if (host.length === 0) {
    throw new DistillError('USAGE', 'no Debian repository configured: name repositories in the recipe, set DISTILL_DEBIAN_MIRROR, or configure apt sources on this host', { subject: 'repositories' });
  }
  return host;
}
