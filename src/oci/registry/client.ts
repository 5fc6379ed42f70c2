/** @module oci/registry/client — an OCI distribution client: auth challenges, retries, TLS/proxy, verified manifests and blobs, uploads. */
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { PassThrough, Readable } from 'node:stream';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { DistillError, type ErrorCode } from '../../errors.js';
import type { Descriptor } from '../image.js';
import { digestOf, parseDigest, VerifyingStream, type VerifyOptions } from '../digest.js';
import { MAX_MANIFEST_SIZE, parseImageIndex, type ImageIndex } from '../manifest.js';
import { MediaType } from '../media-types.js';
import { basicHeader, parseChallenge, TokenCache, type Challenge, type CredentialProvider, type RegistryCredential } from './auth.js';
import { apiHost, formatRegistryReference, isLoopbackRegistry, type RegistryReference, type RepositoryRef } from './registry-reference.js';

/** Every manifest type distill reads, sent as Accept on manifest requests. */
export const MANIFEST_ACCEPT: readonly string[] = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest];

export interface ProxySettings {
  /** Proxy for https:// registries (HTTPS_PROXY). */
  httpsProxy?: string;
  /** Proxy for plain-HTTP registries (HTTP_PROXY). */
  httpProxy?: string;
  /** Comma-separated hosts, domains (`.example.com`), `*`, with optional ports, that bypass the proxy (NO_PROXY). */
  noProxy?: string;
}

export interface RegistryClientOptions {
  /** Where credentials come from; anonymous when omitted or when it returns undefined. */
  credentials?: CredentialProvider;
  /**
   * Registries reached over plain HTTP: `true` for all, or a list of `host[:port]`. Loopback registries
   * not listed are tried over HTTPS first and fall back to HTTP only when the server does not speak TLS.
   */
  insecure?: boolean | readonly string[];
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  proxy?: ProxySettings;
  /** Retries after the first attempt on 429/5xx and connection resets (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry with jitter (default 250). */
  retryDelayMs?: number;
  /** Upper bound for one wait, also for Retry-After (default 10 000 ms). */
  maxRetryDelayMs?: number;
  /** Largest manifest or index accepted (default 4 MiB): bigger ones fail with MANIFEST_TOO_LARGE. */
  maxManifestSize?: number;
  /** Upload blobs in PATCH chunks of this many bytes; omitted → one monolithic PUT. */
  chunkSize?: number;
  /** Time to wait for response headers and between body bytes (default 60 000 ms). */
  timeoutMs?: number;
  userAgent?: string;
}

/** A manifest or index as the registry returned it, digest-checked. */
export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  data: Buffer;
}

export type BlobPushOutcome = 'exists' | 'mounted' | 'uploaded';

/** Blob content for an upload: bytes, or a function that (re)opens a stream of exactly descriptor.size bytes. */
export type BlobContent = Buffer | (() => Promise<Readable>);

type Body = Buffer | (() => Promise<Readable>) | undefined;

interface Call {
  repo: RepositoryRef;
  method: Dispatcher.HttpMethod;
  /** Path below the registry root (`/v2/…`), or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: Body;
  scopes: string[];
  /** What the request is about, for messages. */
  subject: string;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: string;
}

type AuthState = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined };

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|ERR_OSSL)/;
const MAX_ERROR_BODY = 64 * 1024;
const MAX_TOKEN_BODY = 1024 * 1024;
const MAX_TAG_PAGES = 1000;

function ignore(): void {
  // see the comment where it is attached
}

function header(headers: Response['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
  }
  return undefined;
}

function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) parts.push(e.message);
  return parts.join(': ');
}

async function readCapped(body: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function drain(response: Response): Promise<void> {
  try {
    await response.body.dump({ limit: 256 * 1024 });
  } catch {
    // The connection is discarded either way.
  }
}

/** `{"errors":[{"code":"NAME_UNKNOWN","message":"…"}]}` → `NAME_UNKNOWN: …` (bounded read). */
async function registryErrorText(response: Response): Promise<string> {
  let data: Buffer | undefined;
  try {
    data = await readCapped(response.body, MAX_ERROR_BODY);
  } catch {
    return '';
  }
  if (data === undefined || data.length === 0) return '';
  try {
    const parsed = JSON.parse(data.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors
        .slice(0, 5)
        .map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(': '))
        .join('; ');
    }
  } catch {
    // not JSON
  }
  return data.toString('utf8').replace(/\s+/g, ' ').slice(0, 200);
}

function mediaTypeOf(contentType: string | undefined, data: Buffer): string {
  const fromHeader = contentType?.split(';')[0]?.trim();
  if (fromHeader && fromHeader !== 'application/json' && fromHeader !== 'text/plain') return fromHeader;
  try {
    const parsed = JSON.parse(data.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
    return Array.isArray(parsed.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return fromHeader ?? MediaType.ociManifest;
  }
}

/**
 * `source` piped through a VerifyingStream, with the source's errors carried to the result (plain
 * `pipe` drops them and leaves the reader waiting) and the source released when the result closes.
 */
export function verified(source: Readable, options: VerifyOptions): Readable {
  const verifier = new VerifyingStream(options);
  source.once('error', (error) => verifier.destroy(error));
  verifier.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(verifier);
}

/** Matches a host against a NO_PROXY list (`*`, `host`, `.domain`, `domain`, `host:port`). */
export function bypassesProxy(host: string, port: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined || noProxy.trim() === '') return false;
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const [entryHost, entryPort] = entry.startsWith('[') ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]] : (entry.split(':') as [string, string | undefined]);
    if (entryPort !== undefined && entryPort !== port) continue;
    const bare = entryHost!.replace(/^\*?\./, '');
    if (name === bare || name.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/** Client for one or more registries. Reuse one instance: it caches tokens, schemes and connections. */
export class RegistryClient {
  private readonly options: RegistryClientOptions;
  private readonly agent: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly tokens = new TokenCache();
  private readonly auth = new Map<string, AuthState>();
  private readonly credentials = new Map<string, Promise<RegistryCredential | undefined>>();
  private readonly schemes = new Map<string, 'https' | 'http'>();
  private readonly tls: { ca?: (string | Buffer)[] };

  constructor(options: RegistryClientOptions = {}) {
    this.options = options;
    const extra = options.ca === undefined ? [] : typeof options.ca === 'string' || Buffer.isBuffer(options.ca) ? [options.ca] : [...options.ca];
    this.tls = extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {};
    this.agent = new Agent({ connect: { ...this.tls }, headersTimeout: this.timeout, bodyTimeout: this.timeout });
  }

  private get timeout(): number {
    return this.options.timeoutMs ?? 60_000;
  }

  private get maxManifest(): number {
    return this.options.maxManifestSize ?? MAX_MANIFEST_SIZE;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await Promise.all([this.agent.close(), ...[...this.proxies.values()].map((p) => p.close())]);
  }

  private explicitlyInsecure(registry: string): boolean {
    const { insecure } = this.options;
    return insecure === true || (Array.isArray(insecure) && insecure.includes(registry));
  }

  private schemeOf(registry: string): 'https' | 'http' {
    return this.schemes.get(registry) ?? (this.explicitlyInsecure(registry) ? 'http' : 'https');
  }

  private baseUrl(registry: string): string {
    return `${this.schemeOf(registry)}://${apiHost(registry)}`;
  }

  private dispatcherFor(url: URL): Dispatcher {
    const proxy = url.protocol === 'https:' ? this.options.proxy?.httpsProxy : this.options.proxy?.httpProxy;
    if (!proxy) return this.agent;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (bypassesProxy(url.hostname, port, this.options.proxy?.noProxy)) return this.agent;
    let agent = this.proxies.get(proxy);
    if (agent === undefined) {
      agent = new ProxyAgent({ uri: proxy, requestTls: { ...this.tls }, proxyTls: { ...this.tls }, headersTimeout: this.timeout, bodyTimeout: this.timeout });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  private credentialFor(registry: string): Promise<RegistryCredential | undefined> {
    let found = this.credentials.get(registry);
    if (found === undefined) {
      found = this.options.credentials?.(registry) ?? Promise.resolve(undefined);
      this.credentials.set(registry, found);
    }
    return found;
  }

  private backoff(attempt: number): number {
    const base = this.options.retryDelayMs ?? 250;
    const cap = this.options.maxRetryDelayMs ?? 10_000;
    return Math.min(cap, base * 2 ** attempt * (0.75 + Math.random() * 0.5));
  }

  private retryAfter(response: Response): number | undefined {
    const value = header(response.headers, 'retry-after');
    if (value === undefined) return undefined;
    const cap = this.options.maxRetryDelayMs ?? 10_000;
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(cap, seconds * 1000);
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.min(cap, Math.max(0, date - Date.now()));
  }

  private authFailed(registry: string, detail: string, credential: RegistryCredential | undefined): DistillError {
    const what = credential === undefined ? 'anonymous access refused' : 'password' in credential ? `authentication as ${JSON.stringify(credential.username)} failed` : 'authentication with an identity token failed';
    return new DistillError('REGISTRY_AUTH_FAILED', `${registry}: ${what}: ${detail}`, {
      hint:
        credential === undefined
          ? `log in (docker login ${registry}) or set DISTILL_REGISTRY_USERNAME / DISTILL_REGISTRY_PASSWORD`
          : `check the credentials for ${registry} (~/.docker/config.json or DISTILL_REGISTRY_USERNAME / DISTILL_REGISTRY_PASSWORD)`,
      subject: registry,
    });
  }

  private async authorization(registry: string, scopes: string[]): Promise<string | undefined> {
    const state = this.auth.get(registry);
    if (state === undefined) return undefined;
    const credential = await this.credentialFor(registry);
    if (state.scheme === 'basic') return credential === undefined ? undefined : basicHeader(credential);
    const key = TokenCache.key(registry, scopes);
    const cached = this.tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    const token = await this.fetchToken(registry, state, scopes, credential);
    return `Bearer ${token}`;
  }

  private async fetchToken(registry: string, state: { realm: string; service: string | undefined }, scopes: string[], credential: RegistryCredential | undefined): Promise<string> {
    let url: URL;
    try {
      url = new URL(state.realm);
    } catch {
      throw new DistillError('REGISTRY_ERROR', `${registry}: the auth challenge names an invalid realm ${JSON.stringify(state.realm.slice(0, 200))}`, { subject: registry });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DistillError('REGISTRY_ERROR', `${registry}: token realm must be http(s)`, { subject: registry });
    const identity = credential !== undefined && 'identityToken' in credential;
    let method: Dispatcher.HttpMethod = 'GET';
    let body: string | undefined;
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'distill' };
    if (identity) {
      // OAuth2 refresh-token grant, as Docker does for identity tokens.
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'distill' });
      if (state.service !== undefined) form.set('service', state.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (state.service !== undefined) url.searchParams.set('service', state.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (credential !== undefined) {
        headers.authorization = basicHeader(credential);
        url.searchParams.set('account', credential.username ?? '');
      }
    }
    for (let attempt = 0; ; attempt++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, { method, headers, ...(body !== undefined ? { body } : {}), dispatcher: this.dispatcherFor(url) });
      } catch (error) {
        const code = errorCode(error);
        if (code !== undefined && RETRY_NETWORK.has(code) && attempt < (this.options.retries ?? 4)) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw this.networkError(registry, `token service ${url.origin}`, error);
      }
      const wrapped: Response = { status: response.statusCode, headers: response.headers, body: response.body, url: url.href };
      if (RETRY_STATUS.has(response.statusCode) && attempt < (this.options.retries ?? 4)) {
        const wait = this.retryAfter(wrapped) ?? this.backoff(attempt);
        await drain(wrapped);
        await sleep(wait);
        continue;
      }
      if (response.statusCode === 401 || response.statusCode === 403) {
        await drain(wrapped);
        throw this.authFailed(registry, `the token service answered HTTP ${response.statusCode}`, credential);
      }
      if (response.statusCode !== 200) {
        const text = await registryErrorText(wrapped);
        throw new DistillError('REGISTRY_ERROR', `${registry}: token service ${url.origin} answered HTTP ${response.statusCode}${text ? `: ${text}` : ''}`, { subject: registry });
      }
      const data = await readCapped(response.body, MAX_TOKEN_BODY);
      let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown } = {};
      try {
        parsed = data === undefined ? {} : (JSON.parse(data.toString('utf8')) as typeof parsed);
      } catch {
        // handled below
      }
      const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : undefined;
      if (token === undefined || token === '') throw new DistillError('REGISTRY_ERROR', `${registry}: the token service returned no token`, { subject: registry });
      this.tokens.set(TokenCache.key(registry, scopes), token, typeof parsed.expires_in === 'number' ? parsed.expires_in : undefined);
      return token;
    }
  }

  private networkError(registry: string, what: string, error: unknown): DistillError {
    const code = errorCode(error);
    if (error instanceof DistillError) return error;
    if (code !== undefined && TLS_CODES.test(code)) {
      return new DistillError('REGISTRY_TLS', `${registry}: TLS connection to ${what} failed: ${errorText(error)}`, {
        hint: `trust the registry's CA (--ca-file FILE or DISTILL_REGISTRY_CA), or, for a plain-HTTP registry, pass --insecure`,
        subject: registry,
        cause: error,
      });
    }
    return new DistillError('REGISTRY_ERROR', `${registry}: cannot reach ${what}: ${errorText(error)}`, {
      hint: 'check the registry address, the network and HTTPS_PROXY/NO_PROXY',
      subject: registry,
      cause: error,
    });
  }

  /** True for errors that show the server does not speak TLS at all (a plain-HTTP registry). */
  private static notTls(error: unknown): boolean {
    const code = errorCode(error);
    return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || /wrong version number|packet length too long/i.test(errorText(error));
  }

  /** Sends one logical request: answers auth challenges once, retries 429/5xx/resets with backoff. */
  private async send(call: Call): Promise<Response> {
    const registry = call.repo.registry;
    const retries = this.options.retries ?? 4;
    let attempt = 0;
    let answered = false;
    for (;;) {
      const url = new URL(/^https?:\/\//.test(call.path) ? call.path : `${this.baseUrl(registry)}${call.path}`);
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'distill', ...call.headers };
      // Upload Locations and Link pages come from the server: credentials go only to the registry's own host.
      const authorization = url.host === new URL(`${url.protocol}//${apiHost(registry)}`).host ? await this.authorization(registry, call.scopes) : undefined;
      if (authorization !== undefined) headers.authorization = authorization;
      let response: Response;
      try {
        const body = typeof call.body === 'function' ? await call.body() : call.body;
        const result = await request(url, { method: call.method, headers, ...(body !== undefined ? { body } : {}), dispatcher: this.dispatcherFor(url) });
        // undici turns destroy() of an unfinished body into a "Request aborted" error event; bodies are
        // abandoned on purpose (limits, failed verification), so that event must not go unhandled.
        result.body.on('error', ignore);
        response = { status: result.statusCode, headers: result.headers, body: result.body, url: url.href };
      } catch (error) {
        if (url.protocol === 'https:' && isLoopbackRegistry(registry) && this.schemes.get(registry) !== 'https' && RegistryClient.notTls(error)) {
          // A loopback registry without TLS: Docker's rule for localhost, documented in docs/registry.md.
          this.schemes.set(registry, 'http');
          if (/^https:\/\//.test(call.path)) call = { ...call, path: call.path.replace(/^https:/, 'http:') };
          continue;
        }
        const code = errorCode(error);
        if (code !== undefined && RETRY_NETWORK.has(code) && attempt < retries) {
          await sleep(this.backoff(attempt++));
          continue;
        }
        throw this.networkError(registry, `${url.protocol}//${url.host}`, error);
      }
      if (url.protocol === 'https:' && !this.schemes.has(registry)) this.schemes.set(registry, 'https');
      if (response.status === 401 && !answered) {
        answered = true;
        const challenge = parseChallenge(header(response.headers, 'www-authenticate'));
        await drain(response);
        await this.answer(registry, challenge, call.scopes);
        continue;
      }
      if (response.status === 401 || (response.status === 403 && this.auth.has(registry))) {
        const text = await registryErrorText(response);
        throw this.authFailed(registry, `HTTP ${response.status} for ${call.subject}${text ? ` (${text})` : ''}`, await this.credentialFor(registry));
      }
      if (RETRY_STATUS.has(response.status) && attempt < retries) {
        const wait = this.retryAfter(response) ?? this.backoff(attempt);
        attempt++;
        await drain(response);
        await sleep(wait);
        continue;
      }
      return response;
    }
  }

  private async answer(registry: string, challenge: Challenge | undefined, scopes: string[]): Promise<void> {
    const credential = await this.credentialFor(registry);
    if (challenge === undefined) throw this.authFailed(registry, 'HTTP 401 without a usable WWW-Authenticate challenge', credential);
    if (challenge.scheme === 'basic') {
      if (credential === undefined) throw this.authFailed(registry, 'the registry requires a user name and password', credential);
      this.auth.set(registry, { scheme: 'basic' });
      return;
    }
    const realm = challenge.params.realm;
    if (realm === undefined) throw this.authFailed(registry, 'Bearer challenge without a realm', credential);
    const state: AuthState = { scheme: 'bearer', realm, service: challenge.params.service };
    this.auth.set(registry, state);
    // The challenge's scope may name more than we asked for (e.g. a mount source): ask for both.
    const wanted = [...new Set([...scopes, ...(challenge.params.scope?.split(' ').filter(Boolean) ?? [])])];
    this.tokens.delete(TokenCache.key(registry, scopes));
    const token = await this.fetchToken(registry, state, wanted, credential);
    this.tokens.set(TokenCache.key(registry, scopes), token, undefined);
  }

  private async unexpected(response: Response, call: Pick<Call, 'repo' | 'subject' | 'method'>, code: ErrorCode = 'REGISTRY_ERROR'): Promise<DistillError> {
    const text = await registryErrorText(response);
    return new DistillError(code, `${call.repo.registry}: ${call.method} ${call.subject} answered HTTP ${response.status}${text ? `: ${text}` : ''}`, {
      ...(RETRY_STATUS.has(response.status) ? { hint: 'the registry kept failing after retries; try again later' } : {}),
      subject: call.subject,
    });
  }

  private static pull(repo: RepositoryRef): string[] {
    return [`repository:${repo.repository}:pull`];
  }

  private static push(repo: RepositoryRef): string[] {
    return [`repository:${repo.repository}:pull,push`];
  }

  /** GET a manifest or index by tag or digest; verifies its digest and the size limit. */
  async getManifest(reference: RegistryReference, accept: readonly string[] = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const selector = reference.digest ?? reference.tag;
    if (selector === undefined) throw new DistillError('BAD_REFERENCE', 'a manifest reference needs a tag or digest');
    const subject = `${reference.registry}/${reference.repository}${reference.digest !== undefined ? `@${reference.digest}` : `:${reference.tag}`}`;
    const call: Call = { repo: reference, method: 'GET', path: `/v2/${reference.repository}/manifests/${selector}`, headers: { accept: accept.join(', ') }, scopes: RegistryClient.pull(reference), subject };
    const response = await this.send(call);
    if (response.status === 404) {
      const text = await registryErrorText(response);
      if (reference.digest !== undefined) {
        throw new DistillError('MANIFEST_NOT_FOUND', `manifest ${subject} not found${text ? ` (${text})` : ''}`, { hint: 'check the digest and repository', subject });
      }
      throw new DistillError('TAG_NOT_FOUND', `tag ${subject} not found${text ? ` (${text})` : ''}`, { hint: 'check the repository and tag (distill lists none here: try skopeo list-tags)', subject });
    }
    if (response.status !== 200) throw await this.unexpected(response, call);
    const declared = Number(header(response.headers, 'content-length') ?? Number.NaN);
    if (declared > this.maxManifest) {
      response.body.destroy();
      throw this.tooLarge(subject, `${declared} bytes`);
    }
    const data = await readCapped(response.body, this.maxManifest).catch((error: unknown) => {
      throw this.networkError(reference.registry, subject, error);
    });
    if (data === undefined) throw this.tooLarge(subject, `more than ${this.maxManifest} bytes`);
    const algorithm = reference.digest !== undefined ? parseDigest(reference.digest).algorithm : 'sha256';
    const digest = digestOf(data, algorithm);
    const claimed = header(response.headers, 'docker-content-digest');
    const expected = reference.digest ?? (claimed !== undefined && claimed.startsWith(`${algorithm}:`) ? claimed : undefined);
    if (expected !== undefined && expected !== digest) {
      throw new DistillError('DIGEST_MISMATCH', `manifest ${subject}: expected digest ${expected}, actual ${digest}`, {
        hint: 'the registry (or something between it and you) served other content than asked for',
        subject,
      });
    }
    return { digest, mediaType: mediaTypeOf(header(response.headers, 'content-type'), data), size: data.length, data };
  }

  private tooLarge(subject: string, size: string): DistillError {
    return new DistillError('MANIFEST_TOO_LARGE', `manifest ${subject} is ${size}, over the ${this.maxManifest}-byte limit`, {
      hint: 'manifests are small JSON documents; a huge one is hostile or broken',
      subject,
    });
  }

  /** HEAD a manifest: its descriptor, or undefined when absent. */
  async headManifest(reference: RegistryReference): Promise<Descriptor | undefined> {
    const selector = reference.digest ?? reference.tag ?? 'latest';
    const subject = formatRegistryReference(reference);
    const call: Call = { repo: reference, method: 'HEAD', path: `/v2/${reference.repository}/manifests/${selector}`, headers: { accept: MANIFEST_ACCEPT.join(', ') }, scopes: RegistryClient.pull(reference), subject };
    const response = await this.send(call);
    await drain(response);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await this.unexpected(response, call);
    const digest = header(response.headers, 'docker-content-digest') ?? reference.digest;
    if (digest === undefined) return undefined;
    return { mediaType: header(response.headers, 'content-type')?.split(';')[0] ?? MediaType.ociManifest, digest, size: Number(header(response.headers, 'content-length') ?? 0) };
  }

  /** PUT a manifest under a tag or its digest; returns its digest. */
  async putManifest(repo: RepositoryRef, reference: string, data: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(data);
    const subject = `${repo.registry}/${repo.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    const call: Call = { repo, method: 'PUT', path: `/v2/${repo.repository}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: data, scopes: RegistryClient.push(repo), subject };
    const response = await this.send(call);
    if (response.status !== 201 && response.status !== 200) throw await this.unexpected(response, call);
    await drain(response);
    const returned = header(response.headers, 'docker-content-digest');
    if (returned !== undefined && returned.startsWith('sha256:') && returned !== digest) {
      throw new DistillError('DIGEST_MISMATCH', `${subject}: the registry stored the manifest as ${returned}, expected ${digest}`, { subject });
    }
    return digest;
  }

  /** HEAD a blob: true when the repository has it. */
  async hasBlob(repo: RepositoryRef, digest: string): Promise<boolean> {
    parseDigest(digest);
    const call: Call = { repo, method: 'HEAD', path: `/v2/${repo.repository}/blobs/${digest}`, scopes: RegistryClient.pull(repo), subject: `${repo.registry}/${repo.repository}@${digest}` };
    const response = await this.send(call);
    await drain(response);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await this.unexpected(response, call);
  }

  /** Opens a blob as the registry sends it (following redirects), from byte `offset`. */
  private async openRaw(repo: RepositoryRef, digest: string, offset: number): Promise<{ body: Readable; skip: number }> {
    const subject = `${repo.registry}/${repo.repository}@${digest}`;
    const call: Call = { repo, method: 'GET', path: `/v2/${repo.repository}/blobs/${digest}`, headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, scopes: RegistryClient.pull(repo), subject };
    let response = await this.send(call);
    for (let hops = 0; [301, 302, 303, 307, 308].includes(response.status); hops++) {
      const location = header(response.headers, 'location');
      await drain(response);
      if (location === undefined || hops >= 5) throw new DistillError('REGISTRY_ERROR', `${subject}: bad redirect`, { subject });
      // Redirects go to storage (S3, CDN) that must not see the registry's credentials.
      const target = new URL(location, response.url);
      const result = await request(target, { method: 'GET', headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, dispatcher: this.dispatcherFor(target) }).catch((error: unknown) => {
        throw this.networkError(repo.registry, target.host, error);
      });
      result.body.on('error', ignore);
      response = { status: result.statusCode, headers: result.headers, body: result.body, url: target.href };
    }
    if (response.status === 404) {
      await drain(response);
      throw new DistillError('BLOB_NOT_FOUND', `blob ${subject} not found in the registry`, { hint: 'the image is incomplete in the registry; push it again', subject });
    }
    if (response.status === 206 && offset > 0) return { body: response.body, skip: 0 };
    if (response.status === 200) return { body: response.body, skip: offset };
    throw await this.unexpected(response, call);
  }

  /**
   * Streams a blob. With `verify` (default) the stream checks size and digest and fails with
   * SIZE_MISMATCH / DIGEST_MISMATCH at the end; a connection dropped mid-blob is resumed with a Range
   * request (or re-read and skipped) up to the retry limit.
   */
  async openBlob(repo: RepositoryRef, descriptor: Pick<Descriptor, 'digest' | 'size'>, options: { verify?: boolean } = {}): Promise<Readable> {
    parseDigest(descriptor.digest);
    const subject = `${repo.registry}/${repo.repository}@${descriptor.digest}`;
    const retries = this.options.retries ?? 4;
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    const first = await this.openRaw(repo, descriptor.digest, 0);
    const pump = async (): Promise<void> => {
      let received = 0;
      let current: { body: Readable; skip: number } = first;
      for (let attempt = 0; ; ) {
        try {
          let skip = current.skip;
          for await (const raw of current.body) {
            let chunk = raw as Buffer;
            if (skip > 0) {
              if (chunk.length <= skip) {
                skip -= chunk.length;
                continue;
              }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            received += chunk.length;
            if (!out.write(chunk)) await new Promise<void>((resolve, reject) => {
              const done = (): void => { out.off('drain', done); out.off('close', done); resolve(); };
              out.once('drain', done);
              out.once('close', done);
              if (out.destroyed) reject(new Error('closed'));
            });
            if (out.destroyed) {
              current.body.destroy();
              return;
            }
          }
          out.end();
          return;
        } catch (error) {
          if (out.destroyed) return;
          const code = errorCode(error);
          const resumable = code === undefined || RETRY_NETWORK.has(code) || code === 'UND_ERR_ABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
          if (!resumable || attempt >= retries || received >= descriptor.size) throw this.networkError(repo.registry, subject, error);
          await sleep(this.backoff(attempt++));
          current = await this.openRaw(repo, descriptor.digest, received);
        }
      }
    };
    pump().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
    if (options.verify === false) return out;
    return verified(out, { digest: descriptor.digest, size: descriptor.size, subject, what: 'blob' });
  }

  /** Reads a small blob (config, artifact) whole, verified; refuses more than `maxSize` bytes. */
  async readBlob(repo: RepositoryRef, descriptor: Pick<Descriptor, 'digest' | 'size'>, maxSize: number): Promise<Buffer> {
    const subject = `${repo.registry}/${repo.repository}@${descriptor.digest}`;
    if (descriptor.size > maxSize) throw new DistillError('MANIFEST_INVALID', `blob ${subject} declares ${descriptor.size} bytes, over the ${maxSize}-byte limit`, { subject });
    const stream = await this.openBlob(repo, descriptor);
    const data = await readCapped(stream, maxSize);
    if (data === undefined) throw new DistillError('SIZE_MISMATCH', `blob ${subject} is larger than ${maxSize} bytes`, { subject });
    return data;
  }

  private location(response: Response, subject: string): string {
    const location = header(response.headers, 'location');
    if (location === undefined) throw new DistillError('REGISTRY_ERROR', `${subject}: upload response without a Location`, { subject });
    return new URL(location, response.url).href;
  }

  /**
   * Uploads a blob unless the repository has it: HEAD, then a cross-repository mount when `mountFrom`
   * names a repository of the same registry, then a monolithic PUT or PATCH chunks (`chunkSize`).
   */
  async pushBlob(repo: RepositoryRef, descriptor: Pick<Descriptor, 'digest' | 'size'>, content: BlobContent, options: { mountFrom?: string } = {}): Promise<BlobPushOutcome> {
    parseDigest(descriptor.digest);
    const subject = `${repo.registry}/${repo.repository}@${descriptor.digest}`;
    if (await this.hasBlob(repo, descriptor.digest)) return 'exists';
    const scopes = RegistryClient.push(repo);
    let start: Response;
    if (options.mountFrom !== undefined && options.mountFrom !== repo.repository) {
      const query = new URLSearchParams({ mount: descriptor.digest, from: options.mountFrom });
      const call: Call = { repo, method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/?${query}`, headers: { 'content-length': '0' }, scopes: [...scopes, `repository:${options.mountFrom}:pull`], subject };
      start = await this.send(call);
      if (start.status === 201) {
        await drain(start);
        return 'mounted';
      }
    } else {
      start = await this.send({ repo, method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/`, headers: { 'content-length': '0' }, scopes, subject });
    }
    if (start.status !== 202) throw await this.unexpected(start, { repo, method: 'POST', subject });
    await drain(start);
    let location = this.location(start, subject);
    const withDigest = (url: string): string => {
      const target = new URL(url);
      target.searchParams.set('digest', descriptor.digest);
      return target.href;
    };
    const chunkSize = this.options.chunkSize;
    if (chunkSize === undefined || descriptor.size <= chunkSize) {
      const body: Body = Buffer.isBuffer(content) ? content : async () => {
        const stream = await content();
        return verified(stream, { digest: descriptor.digest, size: descriptor.size, subject, what: 'blob' });
      };
      const call: Call = { repo, method: 'PUT', path: withDigest(location), headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) }, body, scopes, subject };
      const done = await this.send(call);
      if (done.status !== 201) throw await this.unexpected(done, call);
      await drain(done);
      return 'uploaded';
    }
    const stream = Buffer.isBuffer(content) ? Readable.from([content]) : verified(await content(), { digest: descriptor.digest, size: descriptor.size, subject, what: 'blob' });
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(pending);
      pending = [];
      pendingSize = 0;
      const call: Call = {
        repo,
        method: 'PATCH',
        path: location,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}`, 'content-length': String(chunk.length) },
        body: chunk,
        scopes,
        subject,
      };
      const response = await this.send(call);
      if (response.status !== 202) throw await this.unexpected(response, call);
      await drain(response);
      location = this.location(response, subject);
      offset += chunk.length;
    };
    for await (const raw of stream) {
      let chunk = raw as Buffer;
      while (chunk.length > 0) {
        const take = Math.min(chunk.length, chunkSize - pendingSize);
        pending.push(chunk.subarray(0, take));
        pendingSize += take;
        chunk = chunk.subarray(take);
        if (pendingSize === chunkSize) await flush();
      }
    }
    if (pendingSize > 0) await flush();
    const call: Call = { repo, method: 'PUT', path: withDigest(location), headers: { 'content-length': '0' }, scopes, subject };
    const done = await this.send(call);
    if (done.status !== 201) throw await this.unexpected(done, call);
    await drain(done);
    return 'uploaded';
  }

  /** Lists a repository's tags (following `Link` pagination). */
  async listTags(repo: RepositoryRef): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo.repository}/tags/list?n=1000`;
    for (let page = 0; path !== undefined && page < MAX_TAG_PAGES; page++) {
      const call: Call = { repo, method: 'GET', path, scopes: RegistryClient.pull(repo), subject: `${repo.registry}/${repo.repository} tags` };
      const response = await this.send(call);
      if (response.status === 404) {
        await drain(response);
        return tags;
      }
      if (response.status !== 200) throw await this.unexpected(response, call);
      const data = await readCapped(response.body, this.maxManifest);
      if (data === undefined) throw this.tooLarge(call.subject, `more than ${this.maxManifest} bytes`);
      let parsed: { tags?: unknown };
      try {
        parsed = JSON.parse(data.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new DistillError('REGISTRY_ERROR', `${call.subject}: the tag list is not JSON`, { subject: call.subject });
      }
      if (Array.isArray(parsed.tags)) for (const tag of parsed.tags) if (typeof tag === 'string') tags.push(tag);
      const link = header(response.headers, 'link');
      const next = link === undefined ? undefined : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
      path = next === undefined ? undefined : new URL(next, response.url).href;
    }
    return tags;
  }

  /** The referrers API (`/v2/<name>/referrers/<digest>`): an index of artifacts, or undefined when the registry lacks the API. */
  async referrers(repo: RepositoryRef, digest: string, artifactType?: string): Promise<ImageIndex | undefined> {
    parseDigest(digest);
    const query = artifactType === undefined ? '' : `?${new URLSearchParams({ artifactType })}`;
    const call: Call = { repo, method: 'GET', path: `/v2/${repo.repository}/referrers/${digest}${query}`, headers: { accept: MediaType.ociIndex }, scopes: RegistryClient.pull(repo), subject: `${repo.registry}/${repo.repository} referrers of ${digest}` };
    const response = await this.send(call);
    if (response.status === 404 || response.status === 405 || response.status === 400) {
      await drain(response);
      return undefined;
    }
    if (response.status !== 200) throw await this.unexpected(response, call);
    const data = await readCapped(response.body, this.maxManifest);
    if (data === undefined) throw this.tooLarge(call.subject, `more than ${this.maxManifest} bytes`);
    const type = header(response.headers, 'content-type')?.split(';')[0]?.trim();
    // Registry 2.8 answers unknown routes with HTML or plain text; only an OCI index is an answer.
    if (type !== MediaType.ociIndex) return undefined;
    return parseImageIndex(data, call.subject);
  }
}
