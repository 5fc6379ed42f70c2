/** @module oci/registry/auth — registry credentials, `WWW-Authenticate` challenges, Docker config.json lookup, and the per-scope token cache. */
import { DistillError } from '../../errors.js';
import { DOCKER_HUB } from './registry-reference.js';

/** A username/password pair, or an OAuth2 refresh token (Docker's `identitytoken`). */
export type RegistryCredential = { username: string; password: string } | { identityToken: string; username?: string };

/** Looks up the credential for a registry (`host[:port]`, docker.io for Hub); undefined means anonymous. */
export type CredentialProvider = (registry: string) => Promise<RegistryCredential | undefined>;

/** The parts of `~/.docker/config.json` that hold credentials. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string } | undefined>;
  credHelpers?: Record<string, string | undefined>;
  credsStore?: string;
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin and returns its stdout
 * (`{"Username":…,"Secret":…}`). Supplied by the caller, since only the CLI starts processes.
 */
export type CredentialHelperRunner = (helper: string, serverUrl: string) => Promise<string>;

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="reg",scope="repository:x:pull"` (and Basic). Unknown schemes → undefined. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const text = match[2]!;
  pattern.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = pattern.exec(text)) !== null && m[0] !== '') {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return { scheme, params };
}

/** Keys under which config.json may list a registry (Hub has historical spellings). */
function configKeys(registry: string): string[] {
  if (registry === DOCKER_HUB) return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

function helperOutput(helper: string, text: string, registry: string): RegistryCredential {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DistillError('REGISTRY_AUTH_FAILED', `docker-credential-${helper} returned malformed output for ${registry}`, { subject: registry });
  }
  const record = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof record.Secret !== 'string') {
    throw new DistillError('REGISTRY_AUTH_FAILED', `docker-credential-${helper} returned no secret for ${registry}`, { subject: registry });
  }
  const username = typeof record.Username === 'string' ? record.Username : '';
  // Docker's convention: the user name <token> marks an identity (refresh) token.
  return username === '<token>' ? { identityToken: record.Secret } : { username, password: record.Secret };
}

/**
 * Credentials from a parsed Docker config: a per-registry `credHelpers` entry first, then `auths`
 * (base64 `user:password`, or `identitytoken`), then the global `credsStore`.
 */
export function dockerConfigCredentials(config: DockerConfigFile, runHelper?: CredentialHelperRunner): CredentialProvider {
  return async (registry) => {
    const keys = configKeys(registry);
    const helper = keys.map((k) => config.credHelpers?.[k]).find((h) => h !== undefined && h !== '');
    if (helper !== undefined && runHelper !== undefined) return helperOutput(helper, await runHelper(helper, keys[0]!), registry);
    for (const key of keys) {
      const entry = config.auths?.[key];
      if (entry === undefined) continue;
      if (entry.identitytoken) return { identityToken: entry.identitytoken };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new DistillError('REGISTRY_AUTH_FAILED', `the auths entry for ${key} in the Docker config is not base64 user:password`, { subject: key });
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    }
    if (config.credsStore && runHelper !== undefined) {
      try {
        return helperOutput(config.credsStore, await runHelper(config.credsStore, keys[0]!), registry);
      } catch {
        // A store without an entry for this registry means anonymous access, as Docker treats it.
        return undefined;
      }
    }
    return undefined;
  };
}

/** Tries providers in order; the first credential found wins (e.g. environment before config.json). */
export function chainCredentials(...providers: (CredentialProvider | undefined)[]): CredentialProvider {
  return async (registry) => {
    for (const provider of providers) {
      const found = await provider?.(registry);
      if (found !== undefined) return found;
    }
    return undefined;
  };
}

/** One fixed credential for one registry (or for every registry when `registry` is omitted). */
export function staticCredentials(credential: RegistryCredential, registry?: string): CredentialProvider {
  return async (asked) => (registry === undefined || registry === asked ? credential : undefined);
}

export function basicHeader(credential: RegistryCredential): string {
  const user = 'password' in credential ? credential.username : (credential.username ?? '<token>');
  const secret = 'password' in credential ? credential.password : credential.identityToken;
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  expires: number;
}

/** Bearer tokens cached per registry and scope set, dropped a little before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  static key(registry: string, scopes: readonly string[]): string {
    return `${registry} ${[...new Set(scopes)].sort().join(' ')}`;
  }

  get(key: string, now = Date.now()): string | undefined {
    const entry = this.tokens.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: string, expiresInSeconds: number | undefined, now = Date.now()): void {
    // The distribution spec says 60 s when expires_in is absent; keep a 10 s margin.
    const seconds = Math.max(expiresInSeconds ?? 60, 20);
    this.tokens.set(key, { token, expires: now + (seconds - 10) * 1000 });
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }
}
