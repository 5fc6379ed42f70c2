import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTunnel } from '../../test/helpers/connect-tunnel.js';
import { isDistillError } from '../errors.js';
import { createMemoryStore } from '../vuln/memory-store.js';
import { download, downloadNvdPages, proxyFor } from './fetch.js';
import { importNvd } from './nvd.js';

const fixtures = resolve('test/fixtures/feeds-enrich');
const body = readFileSync(join(fixtures, 'epss-2024-03-24.csv'));
const tmp = mkdtempSync(join(tmpdir(), 'distill-fetch-'));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let server: Server;
let base: string;

function listen(s: Server): Promise<number> {
  return new Promise((done) => s.listen(0, '127.0.0.1', () => done((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end('no');
      return;
    }
    handler(req, res);
  });
  base = `http://127.0.0.1:${await listen(server)}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fast = { backoffMs: 5, timeoutMs: 5000 };
const noParts = (dir: string): boolean => readdirSync(dir).every((name) => !name.endsWith('.part'));

describe('download', () => {
  it('streams a file to its destination with digest and progress', async () => {
    routes.set('/ok.csv', (_req, res) => res.writeHead(200, { 'content-length': body.length, etag: '"v1"' }).end(body));
    const dest = join(tmp, 'ok', 'epss.csv');
    const progress: number[] = [];
    const result = await download(`${base}/ok.csv`, dest, { ...fast, onProgress: (p) => progress.push(p.received) });
    expect(readFileSync(dest)).toEqual(body);
    expect(result).toMatchObject({ bytes: body.length, attempts: 1, etag: '"v1"', digest: `sha256:${createHash('sha256').update(body).digest('hex')}` });
    expect(progress.at(-1)).toBe(body.length);
  });

  it('retries a 500 and succeeds', async () => {
    let n = 0;
    routes.set('/flaky', (_req, res) => (n++ === 0 ? res.writeHead(500).end('boom') : res.writeHead(200).end(body)));
    const dest = join(tmp, 'flaky.csv');
    const result = await download(`${base}/flaky`, dest, fast);
    expect(result.attempts).toBe(2);
    expect(readFileSync(dest)).toEqual(body);
  });

  it('a truncated body (Content-Length mismatch) fails after the retries, leaving no file and no temp file', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(body);
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const dir = mkdtempSync(join(tmp, 'cut-'));
    const dest = join(dir, 'cut.csv');
    hits.delete('/cut');
    const error = await download(`${base}/cut`, dest, { ...fast, retries: 2 }).catch((e: unknown) => e);
    expect(isDistillError(error, 'DOWNLOAD_FAILED')).toBe(true);
    expect(hits.get('/cut')).toBe(3);
    expect(existsSync(dest)).toBe(false);
    expect(noParts(dir)).toBe(true);
  });

  it('resumes an interrupted download with a Range request (If-Range on the ETag), within a run and across runs', async () => {
    const big = Buffer.concat(Array.from({ length: 40 }, () => body));
    const ranges: (string | undefined)[] = [];
    let cutNext = true;
    routes.set('/resume', (req, res) => {
      ranges.push(req.headers.range);
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (match !== null && req.headers['if-range'] === '"r1"') {
        const start = Number(match[1]);
        res.writeHead(206, { 'content-length': big.length - start, 'content-range': `bytes ${start}-${big.length - 1}/${big.length}`, etag: '"r1"' }).end(big.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': big.length, etag: '"r1"' });
      if (cutNext) {
        // Send a third of it, then drop the connection.
        res.write(big.subarray(0, Math.floor(big.length / 3)), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      res.end(big);
    });
    const dir = mkdtempSync(join(tmp, 'resume-'));
    const dest = join(dir, 'big.csv');
    // Run 1: every attempt is cut, retries exhausted; the partial file stays for the next run.
    const first = await download(`${base}/resume`, dest, { ...fast, retries: 0 }).catch((e: unknown) => e);
    expect(isDistillError(first, 'DOWNLOAD_FAILED')).toBe(true);
    expect(existsSync(dest)).toBe(false);
    expect(noParts(dir)).toBe(false);
    // Run 2: continues from where run 1 stopped, and the result is the whole file.
    cutNext = false;
    const result = await download(`${base}/resume`, dest, fast);
    expect(readFileSync(dest)).toEqual(big);
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(big).digest('hex')}`);
    expect(ranges.at(-1)).toMatch(/^bytes=\d+-$/);
    expect(noParts(dir)).toBe(true);
  });

  it('a server that ignores Range (200 instead of 206) restarts from the beginning', async () => {
    let first = true;
    routes.set('/norange', (_req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"n1"' });
      if (first) {
        first = false;
        res.write(body.subarray(0, 100), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      res.end(body);
    });
    const dest = join(mkdtempSync(join(tmp, 'norange-')), 'x.csv');
    await download(`${base}/norange`, dest, fast);
    expect(readFileSync(dest)).toEqual(body);
  });

  it('a failed re-download leaves the previous file untouched', async () => {
    const dest = join(tmp, 'ok', 'epss.csv');
    routes.set('/gone', (_req, res) => res.writeHead(404).end());
    hits.delete('/gone');
    const error = await download(`${base}/gone`, dest, fast).catch((e: unknown) => e);
    expect(isDistillError(error, 'DOWNLOAD_FAILED')).toBe(true);
    expect(hits.get('/gone')).toBe(1); // 4xx is not retried
    expect(readFileSync(dest)).toEqual(body);
  });

  it('a stalled body is aborted by the inactivity timeout', async () => {
    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 });
      res.write('abc');
    });
    const started = Date.now();
    const error = await download(`${base}/stall`, join(tmp, 'stall'), { ...fast, timeoutMs: 300, retries: 0 }).catch((e: unknown) => e);
    expect(isDistillError(error, 'DOWNLOAD_FAILED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  describe('unreachable hosts fail fast with NETWORK_UNREACHABLE and the db import hint', () => {
    async function closedPort(): Promise<number> {
      const s = createServer();
      const port = await listen(s);
      await new Promise((done) => s.close(done));
      return port;
    }
    const cases: Array<[string, () => Promise<{ url: string; proxy?: Record<string, string> }>]> = [
      ['refused port', async () => ({ url: `http://127.0.0.1:${await closedPort()}/x` })],
      ['unknown host', async () => ({ url: 'https://feeds.distill-test.invalid/kev.json' })],
      ['unreachable proxy', async () => ({ url: `${base}/ok.csv`, proxy: { HTTP_PROXY: `http://127.0.0.1:${await closedPort()}` } })],
    ];
    for (const [name, setup] of cases) {
      it(name, async () => {
        const { url, proxy } = await setup();
        const started = Date.now();
        const error = await download(url, join(tmp, 'never'), proxy === undefined ? {} : { proxy }).catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(isDistillError(error, 'NETWORK_UNREACHABLE'), String(error)).toBe(true);
        expect((error as { hint?: string }).hint).toMatch(/distill db import DIR/);
        expect(existsSync(join(tmp, 'never'))).toBe(false);
      });
    }
  });

  describe('proxy', () => {
    let proxy: Server;
    let proxyUrl: string;
    const seen: string[] = [];
    beforeAll(async () => {
      // A minimal forward proxy: CONNECT tunnels and absolute-URI requests.
      proxy = createServer((req, res) => {
        seen.push(`GET ${req.url}`);
        const target = new URL(req.url ?? '');
        const upstream = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        req.pipe(upstream);
      });
      proxy.on('connect', (req: IncomingMessage, socket, head: Buffer) => {
        seen.push(`CONNECT ${req.url}`);
        openTunnel(req, socket, head);
      });
      proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
    });
    afterAll(() => {
      proxy.closeAllConnections();
      proxy.close();
    });

    it('goes through HTTP_PROXY when set, and around it for NO_PROXY hosts', async () => {
      seen.length = 0;
      const dest = join(tmp, 'via-proxy.csv');
      await download(`${base}/ok.csv`, dest, { ...fast, proxy: { HTTP_PROXY: proxyUrl } });
      expect(readFileSync(dest)).toEqual(body);
      const host = new URL(base).host;
      expect(seen.some((line) => line.includes(host))).toBe(true);
      seen.length = 0;
      await download(`${base}/ok.csv`, dest, { ...fast, proxy: { http_proxy: proxyUrl, NO_PROXY: 'localhost,127.0.0.1' } });
      expect(seen).toEqual([]);
    });
  });
});

describe('proxyFor', () => {
  it('follows HTTPS_PROXY / HTTP_PROXY / NO_PROXY like curl', () => {
    const env = { HTTPS_PROXY: 'http://p:3128', HTTP_PROXY: 'http://q:3128', NO_PROXY: '.internal.example, localhost,mirror.example:8080' };
    expect(proxyFor('https://services.nvd.nist.gov/x', env)).toBe('http://p:3128');
    expect(proxyFor('http://deb.debian.org/x', env)).toBe('http://q:3128');
    expect(proxyFor('https://a.internal.example/x', env)).toBeUndefined();
    expect(proxyFor('https://internal.example/x', env)).toBeUndefined();
    expect(proxyFor('http://localhost:9/x', env)).toBeUndefined();
    expect(proxyFor('http://mirror.example:8080/x', env)).toBeUndefined();
    expect(proxyFor('http://mirror.example/x', env)).toBe('http://q:3128');
    expect(proxyFor('https://x.example/', { HTTP_PROXY: 'q:3128' })).toBe('http://q:3128');
    expect(proxyFor('https://x.example/', { HTTPS_PROXY: 'http://p', NO_PROXY: '*' })).toBeUndefined();
    expect(proxyFor('https://x.example/', {})).toBeUndefined();
  });
});

describe('downloadNvdPages', () => {
  it('pages through an NVD-shaped API with the apiKey header; the pages import', async () => {
    const records = [
      ...(JSON.parse(readFileSync(join(fixtures, 'nvd-page-0000.json'), 'utf8')).vulnerabilities as unknown[]),
      ...(JSON.parse(gunzipSync(readFileSync(join(fixtures, 'nvd-page-0003.json.gz'))).toString()).vulnerabilities as unknown[]),
    ];
    const keys: Array<string | undefined> = [];
    routes.set('/rest/json/cves/2.0', (req, res) => {
      keys.push(req.headers.apikey as string | undefined);
      const q = new URL(req.url ?? '', base).searchParams;
      const start = Number(q.get('startIndex'));
      const per = Number(q.get('resultsPerPage'));
      const slice = records.slice(start, start + per);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ resultsPerPage: slice.length, startIndex: start, totalResults: records.length, format: 'NVD_CVE', version: '2.0', timestamp: '2024-07-01T12:00:00.000', vulnerabilities: slice }));
    });
    const dir = mkdtempSync(join(tmp, 'nvd-'));
    const delays: number[] = [];
    const files = await downloadNvdPages(`${base}/rest/json/cves/2.0`, dir, { ...fast, apiKey: 'k-123', resultsPerPage: 4, sleep: async (ms) => void delays.push(ms) });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['nvd-page-0000000.json', 'nvd-page-0000004.json']);
    expect(keys).toEqual(['k-123', 'k-123']);
    expect(delays).toEqual([700]);
    const result = await importNvd(dir, createMemoryStore(), { origin: 'test', fetchedAt: new Date() });
    expect(result.records).toBe(6);
  });
});
