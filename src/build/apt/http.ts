/** @module build/apt/http — bounded HTTP GETs with retries and backoff, into memory or a file (hashing as it streams). */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DistillError } from '../../errors.js';

export type FetchImpl = (url: string, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  fetchImpl?: FetchImpl;
  /** Attempts after the first, for network errors and HTTP 408/429/5xx. Default 3. */
  retries?: number;
  /** First backoff delay in ms, doubled per attempt. Default 300. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** A 404/410 answer: the caller may try another path (by-hash → plain). */
export class NotFoundError extends DistillError {}

const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function networkError(url: string, error: unknown): DistillError {
  return new DistillError('NETWORK_UNREACHABLE', `cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}`, { subject: url, cause: error });
}

/** Runs `attempt` with retries on transient failures. `attempt` throws a DistillError marked transient to retry. */
async function withRetries<T>(url: string, options: HttpOptions, attempt: (response: Response) => Promise<T>): Promise<T> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const retries = options.retries ?? 3;
  const base = options.retryDelayMs ?? 300;
  let last: unknown;
  for (let i = 0; i <= retries; i++) {
    if (i > 0) await sleep(base * 2 ** (i - 1), options.signal);
    let response: Response;
    try {
      response = await fetchImpl(url, options.signal === undefined ? {} : { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      last = networkError(url, error);
      continue;
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      throw new NotFoundError('DOWNLOAD_FAILED', `${url}: HTTP ${response.status}`, { subject: url });
    }
    if (!response.ok) {
      await response.body?.cancel();
      last = new DistillError('DOWNLOAD_FAILED', `${url}: HTTP ${response.status}`, { subject: url });
      if (TRANSIENT.has(response.status)) continue;
      throw last;
    }
    try {
      return await attempt(response);
    } catch (error) {
      // A body cut short is transient; a body that breaks a bound is not.
      if (error instanceof DistillError && error.code !== 'DOWNLOAD_FAILED') throw error;
      last = error instanceof DistillError ? error : new DistillError('DOWNLOAD_FAILED', `${url}: ${error instanceof Error ? error.message : String(error)}`, { subject: url, cause: error });
    }
  }
  if (last instanceof DistillError) {
    throw new DistillError(last.code, `${last.message} (after ${retries + 1} attempts)`, { subject: url, cause: last });
  }
  throw new DistillError('DOWNLOAD_FAILED', `${url}: failed after ${retries + 1} attempts`, { subject: url, cause: last });
}

function tooLarge(url: string, maxBytes: number): DistillError {
  return new DistillError('FILE_TOO_LARGE', `${url} is larger than the ${maxBytes}-byte limit`, { subject: url });
}

/** GETs a URL (http(s) or file:) into memory, refusing bodies over maxBytes. */
export async function fetchBytes(url: string, maxBytes: number, options: HttpOptions = {}): Promise<Buffer> {
  if (url.startsWith('file:')) {
    try {
      const data = await readFile(fileURLToPath(url));
      if (data.byteLength > maxBytes) throw tooLarge(url, maxBytes);
      return data;
    } catch (error) {
      if (error instanceof DistillError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('DOWNLOAD_FAILED', `${url}: not found`, { subject: url });
      throw new DistillError('IO', `${url}: ${(error as Error).message}`, { subject: url, cause: error });
    }
  }
  return withRetries(url, options, async (response) => {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw tooLarge(url, maxBytes);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    if (response.body === null) return Buffer.alloc(0);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(url, maxBytes);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    if (Number.isFinite(declared) && size !== declared) throw new DistillError('DOWNLOAD_FAILED', `${url}: body ended after ${size} of ${declared} bytes`, { subject: url });
    return Buffer.concat(chunks, size);
  });
}

/** GETs a URL into `path` (created or truncated), at most maxBytes, and returns the SHA256 hex and size of what was written. */
export async function fetchToFile(url: string, path: string, maxBytes: number, options: HttpOptions = {}): Promise<{ sha256: string; size: number }> {
  if (url.startsWith('file:')) {
    const data = await fetchBytes(url, maxBytes, options);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, data);
    return { sha256: createHash('sha256').update(data).digest('hex'), size: data.byteLength };
  }
  return withRetries(url, options, async (response) => {
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(path);
    let writeError: Error | undefined;
    const done = new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', (error) => {
        writeError = error;
        reject(error);
      });
    });
    // Observed below (await done); this keeps an early write error from being reported as unhandled meanwhile.
    done.catch(() => {});
    try {
      if (response.body !== null) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > maxBytes) throw tooLarge(url, maxBytes);
          hash.update(chunk);
          if (!out.write(chunk)) await Promise.race([new Promise<void>((resolve) => out.once('drain', resolve)), done]);
        }
      }
    } catch (caught) {
      // A failed write (disk full) is an IO error, not a retryable download failure.
      const error = writeError === undefined ? caught : new DistillError('IO', `cannot write ${path}: ${writeError.message}`, { subject: path, cause: writeError });
      // Wait for the close: the stream opens its file asynchronously, and a caller removing the temp file
      // before that open would leave a fresh empty file behind.
      await new Promise<void>((resolve) => {
        out.once('close', resolve);
        out.destroy();
      });
      throw error;
    }
    out.end();
    try {
      await done;
    } catch (error) {
      throw new DistillError('IO', `cannot write ${path}: ${(error as Error).message}`, { subject: path, cause: error });
    }
    return { sha256: hash.digest('hex'), size };
  });
}
