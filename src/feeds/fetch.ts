/** @module feeds/fetch — downloads feed files: streamed to a temp file, retried with backoff, proxy-aware, fast failure offline. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { Agent, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { DistillError, describeError } from '../errors.js';
import { NVD_API_KEY_HEADER, NVD_DELAY_MS, NVD_MAX_RESULTS_PER_PAGE, nvdPageUrl } from './sources.js';

/** The part of a fetch Response download() uses. */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
}
export interface FetchInit {
  headers: Record<string, string>;
  signal: AbortSignal;
  redirect: 'follow';
  /** undici dispatcher carrying the proxy and connect timeout; a custom fetchImpl may ignore it. */
  dispatcher?: Dispatcher;
}
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case), as the CLI read them from its environment. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface DownloadProgress {
  url: string;
  received: number;
  /** From Content-Length, when the server sent one. */
  total?: number;
  attempt: number;
}

export interface DownloadOptions {
  fetchImpl?: FetchLike;
  /** No byte for this long (waiting for headers or mid-body) aborts the attempt. Default 60 s. */
  timeoutMs?: number;
  /** TCP/TLS connect bound (default dispatcher only). Default 10 s. */
  connectTimeoutMs?: number;
  /** Extra attempts after the first for transient failures (5xx, 408, 429, truncation, stalls). Default 3. */
  retries?: number;
  /** First backoff; doubles per retry, capped at 30 s; Retry-After wins when given (capped at 60 s). Default 1 s. */
  backoffMs?: number;
  onProgress?: (progress: DownloadProgress) => void;
  proxy?: ProxyEnv;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface DownloadResult {
  url: string;
  path: string;
  bytes: number;
  /** sha256:<hex> of the bytes written. */
  digest: string;
  attempts: number;
  etag?: string;
  lastModified?: string;
  contentType?: string;
}

const OFFLINE_HINT = 'no network? bring the feed files in and run `distill db import DIR`';
/** Codes that mean "no route": retrying would only make the user wait. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** The proxy URL to use for `url`, or undefined when none applies (NO_PROXY, no variable set). */
export function proxyFor(url: string, env: ProxyEnv = {}): string | undefined {
  const target = new URL(url);
  const get = (name: string): string | undefined => nonEmpty(env[name.toLowerCase()]) ?? nonEmpty(env[name]);
  const proxy = target.protocol === 'https:' ? (get('HTTPS_PROXY') ?? get('HTTP_PROXY')) : get('HTTP_PROXY');
  if (proxy === undefined) return undefined;
  const noProxy = get('NO_PROXY');
  if (noProxy !== undefined && bypassed(target, noProxy)) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

/** curl-style NO_PROXY: `*`, host names matching as suffixes (`.example.com`, `example.com`), optional `:port`. */
function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const portMatch = /^(.*?)(?::(\d+))?$/.exec(entry.startsWith('[') ? entry.replace(/^\[(.*)\](:\d+)?$/, '$1$2') : entry);
    entry = portMatch?.[1] ?? entry;
    if (portMatch?.[2] !== undefined && portMatch[2] !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

function makeDispatcher(url: string, options: DownloadOptions): Dispatcher {
  const connect = { timeout: options.connectTimeoutMs ?? 10_000 };
  const proxy = proxyFor(url, options.proxy);
  return proxy === undefined ? new Agent({ connect }) : new ProxyAgent({ uri: proxy, connect, proxyTls: connect });
}

class Transient extends Error {
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Downloads `url` into `destFile`: streamed to a temp file beside it, renamed into place only when complete, so a
 * failed or interrupted download never leaves a partial `destFile`. DNS/connect failures throw NETWORK_UNREACHABLE
 * at once; HTTP errors and truncated bodies throw DOWNLOAD_FAILED after the retries.
 */
export async function download(url: string, destFile: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = options.retries ?? 3;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  await mkdir(dirname(destFile), { recursive: true });
  const dispatcher = options.fetchImpl === undefined ? makeDispatcher(url, options) : undefined;
  const fetchImpl: FetchLike = options.fetchImpl ?? ((u, init) => undiciFetch(u, init as Parameters<typeof undiciFetch>[1]) as unknown as Promise<FetchResponse>);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await attemptDownload(url, destFile, fetchImpl, dispatcher, attempt, options);
      } catch (error) {
        if (!(error instanceof Transient)) throw error;
        if (attempt > retries) {
          throw new DistillError('DOWNLOAD_FAILED', `download of ${url} failed after ${attempt} attempts: ${error.message}`, { subject: url, cause: error, hint: 'try again later, or bring the file in and run `distill db import DIR`' });
        }
        const backoff = Math.min((options.backoffMs ?? 1000) * 2 ** (attempt - 1), 30_000);
        await sleep(error.retryAfterMs ?? backoff);
      }
    }
  } finally {
    await dispatcher?.close().catch(() => undefined);
  }
}

async function attemptDownload(url: string, destFile: string, fetchImpl: FetchLike, dispatcher: Dispatcher | undefined, attempt: number, options: DownloadOptions): Promise<DownloadResult> {
  if (isCancelled(options.signal)) throw new DistillError('DOWNLOAD_FAILED', `download of ${url} was cancelled`, { subject: url });
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, timeoutMs);
  };
  const onCancel = (): void => controller.abort();
  options.signal?.addEventListener('abort', onCancel, { once: true });
  // A stable partial-file name beside the destination: a later attempt (or a later run, with --keep-downloads)
  // resumes it with an HTTP Range request when the server's validator (ETag / Last-Modified) still matches.
  const temp = partPath(destFile);
  const resume = await resumableState(temp, url);
  let keepPart = false;
  try {
    arm();
    let response: FetchResponse;
    try {
      const rangeHeaders: Record<string, string> = resume === undefined ? {} : { range: `bytes=${resume.size}-`, 'if-range': resume.validator };
      const init: FetchInit = { headers: { 'user-agent': 'distill', ...options.headers, ...rangeHeaders }, signal: controller.signal, redirect: 'follow' };
      if (dispatcher !== undefined) init.dispatcher = dispatcher;
      response = await fetchImpl(url, init);
    } catch (error) {
      if (isCancelled(options.signal)) throw new DistillError('DOWNLOAD_FAILED', `download of ${url} was cancelled`, { subject: url, cause: error });
      if (stalled) throw new Transient(`no response within ${timeoutMs} ms`, undefined, { cause: error });
      const code = errorCode(error);
      if (code !== undefined && UNREACHABLE.has(code)) {
        const via = proxyFor(url, options.proxy);
        throw new DistillError('NETWORK_UNREACHABLE', `cannot reach ${via === undefined ? new URL(url).host : `proxy ${redact(via)}`} (${code})`, { subject: url, cause: error, hint: OFFLINE_HINT });
      }
      throw new Transient(describeError(error), undefined, { cause: error });
    }
    const status = response.status;
    const resumed = resume !== undefined && status === 206 && contentRangeStart(response.headers.get('content-range')) === resume.size;
    if (status === 206 && !resumed) {
      await drain(response);
      await rm(temp, { force: true });
      throw new Transient('the server answered a resume request with a range distill did not ask for');
    }
    if (status < 200 || status > 299) {
      await drain(response);
      if (status === 408 || status === 429 || status >= 500) throw new Transient(`HTTP ${status}`, retryAfter(response.headers.get('retry-after')));
      throw new DistillError('DOWNLOAD_FAILED', `download of ${url} failed: HTTP ${status}`, { subject: url, hint: status === 404 ? 'the feed URL may have moved; override it with the feed URL flag or variable' : undefined });
    }
    const encoding = response.headers.get('content-encoding');
    const lengthHeader = response.headers.get('content-length');
    // With a content-encoding fetch hands out decoded bytes, which Content-Length does not describe.
    const offset = resumed ? resume.size : 0;
    const expected = lengthHeader !== null && (encoding === null || encoding === 'identity') ? offset + Number(lengthHeader) : undefined;
    const hash = createHash('sha256');
    if (resumed) hash.update(await readFile(temp));
    const validator = response.headers.get('etag') ?? response.headers.get('last-modified');
    if (!resumed) await writeFile(metaPath(temp), JSON.stringify({ url, validator }));
    const out = createWriteStream(temp, { flags: resumed ? 'a' : 'w' });
    // Kept so that an error the stream emits after destroy() (a write still in flight) is not an unhandled event.
    let writeError: unknown;
    out.on('error', (error) => {
      writeError ??= error;
    });
    let received = offset;
    try {
      for await (const chunk of response.body ?? []) {
        arm();
        received += chunk.byteLength;
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
        options.onProgress?.(expected === undefined ? { url, received, attempt } : { url, received, total: expected, attempt });
      }
      out.end();
      await once(out, 'finish');
      if (writeError !== undefined) throw writeError;
    } catch (error) {
      out.destroy();
      if (isCancelled(options.signal)) throw new DistillError('DOWNLOAD_FAILED', `download of ${url} was cancelled`, { subject: url, cause: error });
      // What arrived is kept for a resume when the server gave a validator to resume against.
      keepPart = validator !== null;
      throw new Transient(stalled ? `stalled for ${timeoutMs} ms after ${received} bytes` : `body interrupted after ${received} bytes: ${describeError(error)}`, undefined, { cause: error });
    }
    if (expected !== undefined && received !== expected) {
      keepPart = validator !== null && received < expected;
      throw new Transient(`truncated: got ${received} of ${expected} bytes`);
    }
    await rename(temp, destFile);
    const result: DownloadResult = { url, path: destFile, bytes: received, digest: `sha256:${hash.digest('hex')}`, attempts: attempt };
    const etag = response.headers.get('etag');
    if (etag !== null) result.etag = etag;
    const lastModified = response.headers.get('last-modified');
    if (lastModified !== null) result.lastModified = lastModified;
    const contentType = response.headers.get('content-type');
    if (contentType !== null) result.contentType = contentType;
    return result;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
    if (!keepPart) await Promise.all([rm(temp, { force: true }), rm(metaPath(temp), { force: true })]);
  }
}

export interface NvdDownloadOptions extends DownloadOptions {
  apiKey?: string;
  resultsPerPage?: number;
  /** Pause between page requests; default NVD's guidance (6 s without a key, 0.7 s with). */
  delayMs?: number;
}

/** Pages through the NVD CVE API into `destDir/nvd-page-NNNNNNN.json`; returns the files in order. */
export async function downloadNvdPages(baseUrl: string, destDir: string, options: NvdDownloadOptions = {}): Promise<string[]> {
  const perPage = options.resultsPerPage ?? NVD_MAX_RESULTS_PER_PAGE;
  const headers = { ...options.headers, ...(options.apiKey === undefined ? {} : { [NVD_API_KEY_HEADER]: options.apiKey }) };
  const delay = options.delayMs ?? (options.apiKey === undefined ? NVD_DELAY_MS.withoutKey : NVD_DELAY_MS.withKey);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const files: string[] = [];
  let total = Infinity;
  for (let start = 0; start < total; start += perPage) {
    if (start > 0) await sleep(delay);
    const file = join(destDir, `nvd-page-${String(start).padStart(7, '0')}.json`);
    await download(nvdPageUrl(baseUrl, start, perPage), file, { ...options, headers });
    files.push(file);
    const page = JSON.parse(await readFile(file, 'utf8')) as { totalResults?: unknown; resultsPerPage?: unknown };
    if (typeof page.totalResults !== 'number' || page.totalResults < 0) throw new DistillError('FEED_INVALID', 'NVD API page without totalResults', { subject: file });
    total = page.totalResults;
    // An empty page before the end would loop forever.
    if (page.resultsPerPage === 0 && start + perPage < total) throw new DistillError('FEED_INVALID', `NVD API returned an empty page at startIndex ${start} of ${total}`, { subject: file });
  }
  return files;
}

function isCancelled(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return code;
    // AggregateError (happy eyeballs) carries one error per address.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) {
      const c = errorCode(inner);
      if (c !== undefined) return c;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

async function drain(response: FetchResponse): Promise<void> {
  try {
    for await (const _ of response.body ?? []) { /* discard the error body so the connection is reusable */ }
  } catch { /* the error status is what matters */ }
}

function redact(proxy: string): string {
  try {
    const url = new URL(proxy);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return proxy;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `.NAME.part` beside the destination: hidden, and never mistaken for a finished feed file. */
function partPath(destFile: string): string {
  return join(dirname(destFile), `.${basename(destFile)}.part`);
}

function metaPath(part: string): string {
  return `${part}.json`;
}

/** A partial download of the same URL with a validator, which a Range request can continue. */
async function resumableState(part: string, url: string): Promise<{ size: number; validator: string } | undefined> {
  try {
    const [info, meta] = await Promise.all([stat(part), readFile(metaPath(part), 'utf8')]);
    const parsed = JSON.parse(meta) as { url?: unknown; validator?: unknown };
    if (parsed.url !== url || typeof parsed.validator !== 'string' || info.size === 0) return undefined;
    return { size: info.size, validator: parsed.validator };
  } catch {
    return undefined;
  }
}

/** The first byte of `Content-Range: bytes START-END/TOTAL`. */
function contentRangeStart(header: string | null): number | undefined {
  const match = header === null ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim());
  return match === null ? undefined : Number(match[1]);
}
