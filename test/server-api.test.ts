/** @module test/server-api — the HTTP API of `distill serve`: tokens, size limits, hostile uploads and query strings, real uploads scanned and stored; in-process and over a loopback listener. */
import { serve, type ServerType } from '@hono/node-server';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSbom } from '../src/sbom/formats/index.js';
import { createApp, type AppDeps } from '../src/server/app.js';
import { scanSbom } from '../src/report/scan-source.js';
import type { AppStore, ScanHeader } from '../src/storage/app-store.js';
import { openAppStore } from '../src/storage/app/open-app-store.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { importPaths } from '../src/storage/vuln-db-update.js';
import { sharedData, stockImage, trivyImagePackages } from './helpers/oracles.js';
import { smallImage } from './helpers/small-image.js';

const now = new Date('2026-12-01T00:00:00Z');
let dir: string;
let dataDir: string;
let dbPath: string;
let store: AppStore;
let token: string;
let app: ReturnType<typeof createApp>;
let trivySbom: string;
let small: string;

// CONSTRUCTED (as in test/compare.test.ts): real CVE ids from the bookworm changelogs with fixed versions just above
// what stock nginx carries, so the stock packages match; CVE-2023-4911 is in the real CISA KEV list copied below.
const entry = (fixed: string, urgency: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency } } });
const TRACKER = {
  curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16', 'high') },
  openssl: { 'CVE-2023-2975': entry('3.0.22-1~deb12u3', 'low') },
  glibc: { 'CVE-2023-4911': entry('2.36-9+deb12u15', 'high') },
};

function deps(extra: Partial<AppDeps> = {}): AppDeps {
  return { store, dataDir, vulnDbPath: dbPath, now: () => now, version: 'test', limits: { requestsPerMinute: 100_000 }, ...extra };
}

async function problem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as { status: number; code: string; detail: string; title: string };
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.detail.length).toBeGreaterThan(0);
}

/** Everything under the data dir (the uploads area must be empty after every request). */
function leftovers(): string[] {
  const uploads = join(dataDir, 'uploads');
  return existsSync(uploads) ? readdirSync(uploads, { recursive: true }).map(String) : [];
}

async function scanCount(): Promise<number> {
  return (await store.listScans({ limit: 1000 })).length;
}

const post = (path: string, body: BodyInit | null, headers: Record<string, string> = {}) =>
  app.request(path, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);

/** One ustar header + data, names written verbatim (the hostile part). */
function tarEntry(name: string, data: Buffer, type = '0', linkname = ''): Buffer {
  const header = Buffer.alloc(512);
  header.write(name.slice(0, 100), 0, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('00000000000\0', 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write(type, 156, 'latin1');
  header.write(linkname, 157, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'server-api-'));
  dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const feeds = join(dir, 'feeds');
  mkdirSync(feeds);
  writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify(TRACKER));
  copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'known_exploited_vulnerabilities.json'));
  dbPath = join(dir, 'vuln.db');
  await importPaths(dbPath, [feeds], { now });
  store = await openAppStore({ location: join(dataDir, 'distill.sqlite') });
  token = (await store.createToken('test')).secret;
  app = createApp(deps());
  // Trivy's own CycloneDX SBOM of stock nginx: a real SBOM written by another tool.
  trivySbom = trivyImagePackages(stockImage('nginx'), 'nginx');
  small = smallImage();
}, 600_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('writes need a token', () => {
  it('rejects an upload without a token, with a wrong token and with a malformed header (401 problem+json), storing nothing', async () => {
    const before = await scanCount();
    const body = readFileSync(trivySbom);
    await problem(await app.request('/api/scans', { method: 'POST', body }), 401, 'UNAUTHORIZED');
    await problem(await app.request('/api/scans', { method: 'POST', body, headers: { authorization: 'Bearer not-a-real-token' } }), 401, 'UNAUTHORIZED');
    await problem(await app.request('/api/scans', { method: 'POST', body, headers: { authorization: `Basic ${token}` } }), 401, 'UNAUTHORIZED');
    await problem(await app.request('/api/scans', { method: 'POST', body, headers: { authorization: `Bearer ${token}x` } }), 401, 'UNAUTHORIZED');
    expect(await scanCount()).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  it('reads are open', async () => {
    const response = await app.request('/api/images');
    expect(response.status).toBe(200);
    expect(Array.isArray(await response.json())).toBe(true);
  });
});

describe('upload limits and validation', () => {
  it('refuses an upload over the limit by its Content-Length and by counting a streamed body (413), storing nothing', async () => {
    const limited = createApp(deps({ limits: { maxUploadBytes: 64 * 1024, requestsPerMinute: 100_000 } }));
    const before = await scanCount();
    const bytes = readFileSync(small);
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const declared = await limited.request('/api/scans', { method: 'POST', body: bytes, headers: { authorization: `Bearer ${token}`, 'content-length': String(bytes.length) } });
    await problem(declared, 413, 'PAYLOAD_TOO_LARGE');
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(sent, sent + 16 * 1024));
        sent += 16 * 1024;
      },
    });
    const counted = await limited.request('/api/scans', { method: 'POST', body: stream, duplex: 'half', headers: { authorization: `Bearer ${token}` } } as RequestInit);
    await problem(counted, 413, 'PAYLOAD_TOO_LARGE');
    // The server stopped reading soon after the limit instead of draining the whole body.
    expect(sent).toBeLessThan(bytes.length);
    expect(await scanCount()).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  it('refuses malformed uploads with 422 and the error code: random bytes, gzip, a truncated archive, a broken SBOM, an empty body', async () => {
    const before = await scanCount();
    await problem(await post('/api/scans', Buffer.from('this is neither a tar nor an SBOM\n'.repeat(40))), 422, 'SOURCE_UNRECOGNIZED');
    // A gzip body is inflated on receipt (test/gzip-archive-input.test.ts); this one is a header with no valid deflate data.
    await problem(await post('/api/scans', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])), 422, 'DECOMPRESS_FAILED');
    const truncated = await post('/api/scans', readFileSync(small).subarray(0, 20_000));
    expect(truncated.status).toBe(422);
    const truncatedBody = (await truncated.json()) as { code: string; detail: string; hint: string };
    expect(['ARCHIVE_TRUNCATED', 'ARCHIVE_CORRUPT', 'TAR_TRUNCATED', 'MANIFEST_INVALID', 'BLOB_NOT_FOUND', 'SOURCE_UNRECOGNIZED']).toContain(truncatedBody.code);
    // The server's temp path never reaches the client.
    expect(truncatedBody.detail).not.toContain(dataDir);
    expect(truncatedBody.detail).toContain('upload:upload');
    expect(truncatedBody.hint).toMatch(/docker-archive/);
    await problem(await post('/api/scans', Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":')), 422, 'SBOM_INVALID');
    await problem(await post('/api/scans', Buffer.from('{"hello":"world"}')), 422, 'FORMAT_UNKNOWN');
    await problem(await post('/api/scans', Buffer.alloc(0)), 422, 'SOURCE_UNRECOGNIZED');
    expect(await scanCount()).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  it('path-traversal names inside an uploaded archive and in the file name write nothing outside the temp dir', async () => {
    const marker = `distill-escape-${process.pid}-${Date.now()}`;
    const targets = [join(tmpdir(), marker), join(dir, marker), join('/tmp', `${marker}-abs`)];
    const manifest = JSON.stringify([{ Config: `../../../../tmp/${marker}.json`, RepoTags: ['evil:1'], Layers: [`../../../../tmp/${marker}/layer.tar`, `/tmp/${marker}-abs`] }]);
    const layer = Buffer.concat([tarEntry(`../../../../tmp/${marker}`, Buffer.from('escaped\n')), tarEntry(`/tmp/${marker}-abs`, Buffer.from('escaped\n')), Buffer.alloc(1024)]);
    const archive = Buffer.concat([
      tarEntry('manifest.json', Buffer.from(manifest)),
      tarEntry(`../../../../tmp/${marker}.json`, Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')),
      tarEntry(`../../../../tmp/${marker}/layer.tar`, layer),
      tarEntry(`/tmp/${marker}-abs`, layer),
      tarEntry('link', Buffer.alloc(0), '2', `../../../../tmp/${marker}-link`),
      Buffer.alloc(1024),
    ]);
    const before = await scanCount();
    const response = await post(`/api/scans?filename=${encodeURIComponent(`../../../../tmp/${marker}-name`)}`, archive);
    // Refused as an unusable archive (or scanned as an empty one); either way nothing lands outside the upload dir.
    expect([201, 422]).toContain(response.status);
    if (response.status === 201) {
      const header = (await response.json()) as ScanHeader;
      expect(header.subject).toBe(`upload:${marker}-name`);
    } else expect(response.headers.get('content-type')).toBe('application/problem+json');
    for (const target of [...targets, join(tmpdir(), `${marker}.json`), join('/tmp', `${marker}-link`), join('/tmp', `${marker}-name`)]) expect(existsSync(target), target).toBe(false);
    expect(readdirSync(dataDir).sort()).toEqual(expect.arrayContaining(['distill.sqlite']));
    expect(readdirSync(dataDir).filter((n) => !n.startsWith('distill.sqlite') && n !== 'uploads')).toEqual([]);
    expect(leftovers()).toEqual([]);
    if (response.status === 422) expect(await scanCount()).toBe(before);
  });
});

describe('real uploads are scanned and stored', () => {
  it('a real SBOM (Trivy CycloneDX of stock nginx) → a stored scan whose figures equal the library scanning the same file', async () => {
    const response = await post(`/api/scans?image=nginx-stock-sbom&filename=${encodeURIComponent('trivy-nginx.cdx.json')}`, readFileSync(trivySbom), { 'content-type': 'application/json' });
    expect(response.status).toBe(201);
    const header = (await response.json()) as ScanHeader;
    expect(response.headers.get('location')).toBe(`/api/scans/${header.id}`);
    const vulnStore = openVulnDb(dbPath, { readonly: true });
    const oracle = scanSbom(decodeSbom(readFileSync(trivySbom)), { store: vulnStore, now, tool: { name: 'distill', version: 'test' } });
    vulnStore.close();
    expect(header.image).toBe('nginx-stock-sbom');
    expect(header.role).toBe('upload');
    expect(header.subject).toBe('upload:trivy-nginx.cdx.json');
    expect(header.packages).toBe(oracle.sbom.packages.length);
    expect(header.packages).toBeGreaterThan(100);
    expect(header.summary).toEqual(oracle.report.summary);
    expect(header.summary.total).toBeGreaterThan(0);
    // One KEV vulnerability (glibc's CVE-2023-4911), found on two packages (libc6, libc-bin).
    expect(header.summary.kev).toBe(2);

    const stored = (await (await app.request(`/api/scans/${header.id}`)).json()) as ScanHeader;
    expect(stored).toEqual(header);
    const findings = (await (await app.request(`/api/scans/${header.id}/findings`)).json()) as { vulnId: string; kev: boolean; packageName: string }[];
    expect(new Set(findings.map((f) => f.vulnId))).toEqual(new Set(oracle.report.findings.map((f) => f.vulnId)));
    // Most urgent first: the KEV finding leads.
    expect(findings[0]!.vulnId).toBe('CVE-2023-4911');
    expect(findings[0]!.kev).toBe(true);
    const kevOnly = (await (await app.request(`/api/scans/${header.id}/findings?kev=true`)).json()) as { vulnId: string }[];
    expect(new Set(kevOnly.map((f) => f.vulnId))).toEqual(new Set(['CVE-2023-4911']));
    const sbom = (await (await app.request(`/api/scans/${header.id}/sbom?format=cyclonedx-json`)).json()) as { bomFormat: string; components: { name: string }[] };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.components.map((c) => c.name)).toContain('libssl3');
    const report = (await (await app.request(`/api/scans/${header.id}/report?format=sarif`)).json()) as { version: string };
    expect(report.version).toBe('2.1.0');
    // The triage plan (src/triage) puts the KEV glibc upgrade first.
    const plan = (await (await app.request(`/api/scans/${header.id}/triage`)).json()) as { actions: { kind: string; package?: string; kev: number }[] };
    expect(plan.actions[0]).toMatchObject({ kind: 'upgrade', package: 'glibc', kev: 1 });
    const events = (await (await app.request('/api/events?image=nginx-stock-sbom')).json()) as { details: { scanId: string } }[];
    expect(events[0]!.details.scanId).toBe(header.id);
    expect(leftovers()).toEqual([]);
  });

  it('a real small image (docker-archive of base-files + netbase) → a stored scan with its two packages', async () => {
    const response = await post('/api/scans?filename=small-image.tar', readFileSync(small), { 'content-type': 'application/x-tar' });
    expect(response.status).toBe(201);
    const header = (await response.json()) as ScanHeader;
    expect(header.image).toBe('small-image');
    expect(header.packages).toBe(2);
    expect(header.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const sbom = (await (await app.request(`/api/scans/${header.id}/sbom?format=spdx-json`)).json()) as { packages: { name: string }[] };
    expect(sbom.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['base-files', 'netbase']));
    const images = (await (await app.request('/api/images')).json()) as { name: string }[];
    expect(images.map((i) => i.name)).toContain('small-image');
    // Uploaded images are also checked for compliance (src/compliance), with evidence: the image runs as root.
    const compliance = (await (await app.request('/api/images/small-image/compliance')).json()) as { scanId: string; framework: string; failed: number; results: { checks: { id: string; status: string; evidence: unknown[] }[] } };
    expect(compliance.scanId).toBe(header.id);
    expect(compliance.framework).toBe('cis-docker-1.6');
    expect(compliance.results.checks.length).toBeGreaterThan(5);
    expect(compliance.failed).toBe(compliance.results.checks.filter((c) => c.status === 'fail').length);
    // No findings and no image it replaces: src/report/vex has nothing to state, so there is no VEX document.
    await problem(await app.request(`/api/scans/${header.id}/vex`), 404, 'NOT_FOUND');
    const catalog = (await (await app.request('/api/catalog')).json()) as { name: string; minimal?: { packages: number; scanId: string } }[];
    expect(catalog.find((r) => r.name === 'small-image')?.minimal).toMatchObject({ packages: 2, scanId: header.id });
    expect(leftovers()).toEqual([]);
  });
});

describe('hostile query strings', () => {
  const INJECTIONS = ["' OR '1'='1", "1; DROP TABLE scans; --", "x' UNION SELECT secret_hash FROM tokens --", '%27%20OR%201%3D1', '"; DELETE FROM images; --', '\\\'; --', "nginx' --"];

  it('SQL injection strings in every query parameter and path segment are harmless (400/404 or an empty answer, never 500), and the data is intact', async () => {
    const scans = await store.listScans({ limit: 1000 });
    const images = await store.listImages();
    const scanId = scans[0]!.id;
    const routes: [string, string[]][] = [
      ['/api/scans', ['image', 'role', 'limit', 'before']],
      [`/api/scans/${scanId}/findings`, ['severity', 'kev', 'fixable', 'search', 'limit', 'offset']],
      [`/api/scans/${scanId}/report`, ['format']],
      [`/api/scans/${scanId}/sbom`, ['format']],
      ['/api/trend', ['image', 'role', 'since']],
      ['/api/events', ['image', 'kind', 'limit', 'before']],
      ['/api/compare', ['a', 'b']],
      ['/api/images/nginx-stock-sbom/builds', ['limit', 'before']],
      ['/api/images/nginx-stock-sbom/compliance', ['framework']],
      ['/', ['q', 'page']],
      [`/scans/${scanId}`, ['severity', 'kev', 'fixable', 'search']],
      ['/images/nginx-stock-sbom', ['severity', 'kev', 'fixable', 'search']],
      ['/trend', ['image', 'role']],
      ['/compare', ['a', 'b']],
    ];
    let requests = 0;
    for (const [path, names] of routes) {
      for (const name of names) {
        for (const value of INJECTIONS) {
          const response = await app.request(`${path}?${name}=${encodeURIComponent(value)}`);
          requests++;
          expect([200, 400, 404], `${path}?${name}=${value}`).toContain(response.status);
          if (response.status !== 200) expect(response.headers.get('content-type')).toBe('application/problem+json');
          else if (name === 'search' && path.startsWith('/api')) expect(await response.json()).toEqual([]);
        }
      }
    }
    for (const value of INJECTIONS) {
      for (const path of [`/api/images/${encodeURIComponent(value)}`, `/api/scans/${encodeURIComponent(value)}`, `/api/builds/${encodeURIComponent(value)}`, `/images/${encodeURIComponent(value)}`, `/scans/${encodeURIComponent(value)}/findings`]) {
        const response = await app.request(path);
        requests++;
        expect(response.status, path).toBe(404);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
      }
    }
    expect(requests).toBeGreaterThan(250);
    expect((await store.listScans({ limit: 1000 })).map((s) => s.id)).toEqual(scans.map((s) => s.id));
    expect((await store.listImages()).map((i) => i.name)).toEqual(images.map((i) => i.name));
    expect(await store.verifyToken(token)).toBeDefined();
  });

  it('a search with SQL LIKE wildcards matches them literally', async () => {
    const scanId = (await store.listScans({ role: 'upload', image: 'nginx-stock-sbom' }))[0]!.id;
    expect(await (await app.request(`/api/scans/${scanId}/findings?search=%25`)).json()).toEqual([]);
    const all = (await (await app.request(`/api/scans/${scanId}/findings?search=CVE-2023`)).json()) as unknown[];
    expect(all.length).toBeGreaterThan(0);
  });

  it('malformed values are 400 problem+json naming the parameter', async () => {
    await problem(await app.request('/api/scans?limit=-1'), 400, 'USAGE');
    await problem(await app.request('/api/scans?limit=1&limit=2'), 400, 'USAGE');
    await problem(await app.request(`/api/scans?image=${'a'.repeat(300)}`), 400, 'USAGE');
    await problem(await app.request('/api/trend?since=yesterday'), 400, 'USAGE');
    await problem(await app.request('/api/compare'), 400, 'USAGE');
  });
});

describe('rate limit, CORS, OpenAPI, headers', () => {
  it('answers 429 problem+json with Retry-After once a client has used its burst', async () => {
    const limited = createApp(deps({ limits: { requestsPerMinute: 60, burst: 5 } }));
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await limited.request('/api/images')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const refused = await limited.request('/api/images');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await problem(refused, 429, 'RATE_LIMITED');
  });

  it('sends no CORS headers by default, and only for the configured origin when enabled', async () => {
    const preflight = { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } };
    const off = await app.request('/api/scans', preflight);
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
    const get = await app.request('/api/images', { headers: { origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const on = createApp(deps({ corsOrigins: ['https://dash.example'] }));
    expect((await on.request('/api/images', { headers: { origin: 'https://dash.example' } })).headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect((await on.request('/api/images', { headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves an OpenAPI 3.1 document whose GET paths all exist', async () => {
    const doc = (await (await app.request('/api/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const scanId = (await store.listScans({ limit: 1 }))[0]!.id;
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!('get' in methods)) continue;
      const url = path.replace('{name}', 'nginx-stock-sbom').replace('{id}', scanId) + (path === '/api/compare' ? `?a=${scanId}&b=${scanId}` : '');
      const response = await app.request(url);
      // 404 only for resources that exist in no form here (no compliance run, a build id that is a scan id).
      if (response.status === 404) expect(((await response.json()) as { detail: string }).detail, url).not.toMatch(/^no route/);
      else expect(response.status, url).toBe(200);
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/catalog', '/api/images', '/api/scans', '/api/scans/{id}/findings', '/api/trend', '/api/images/{name}/compliance']));
  });

  it('pages carry a restrictive CSP and no external resources', async () => {
    const response = await app.request('/');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await response.text();
    expect(text).toMatch(/^<!DOCTYPE html>/);
    expect(text).not.toMatch(/(src|href)="https?:/);
  });
});

describe('over a real loopback listener', () => {
  let server: ServerType;
  let base: string;
  beforeAll(async () => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('streams an upload over HTTP, refuses a declared oversize body before reading it, and reads back the scan', async () => {
    const { request } = await import('undici');
    const big = createApp(deps({ limits: { maxUploadBytes: 1024, requestsPerMinute: 100_000 } }));
    const small1k = serve({ fetch: big.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => small1k.once('listening', () => resolve()));
    try {
      const refused = await request(`http://127.0.0.1:${(small1k.address() as AddressInfo).port}/api/scans`, { method: 'POST', body: readFileSync(small), headers: { authorization: `Bearer ${token}` } });
      expect(refused.statusCode).toBe(413);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(((await refused.body.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await new Promise<void>((resolve) => small1k.close(() => resolve()));
    }
    const { createReadStream } = await import('node:fs');
    const created = await request(`${base}/api/scans?filename=small.tar&image=small-over-http`, { method: 'POST', body: createReadStream(small), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' } });
    expect(created.statusCode).toBe(201);
    const header = (await created.body.json()) as ScanHeader;
    expect(header.packages).toBe(2);
    const fetched = await fetch(`${base}/api/scans/${header.id}`);
    expect(((await fetched.json()) as ScanHeader).id).toBe(header.id);
    const page = await fetch(`${base}/scans/${header.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('upload:small.tar');
    const limited = createApp(deps({ limits: { requestsPerMinute: 60, burst: 2 } }));
    const rl = serve({ fetch: limited.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => rl.once('listening', () => resolve()));
    try {
      const url = `http://127.0.0.1:${(rl.address() as AddressInfo).port}/api/images`;
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(url)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await new Promise<void>((resolve) => rl.close(() => resolve()));
    }
    expect(leftovers()).toEqual([]);
  });
});

describe('catalog page with many images', () => {
  it('pages 100 rows at a time, filters by name, and keeps the fleet totals over every image', async () => {
    const paged = await openAppStore({ location: join(dir, 'paged.sqlite') });
    try {
      for (let i = 0; i < 120; i++) await paged.upsertImage({ name: `image-${String(i).padStart(3, '0')}` });
      const pagedApp = createApp({ ...deps(), store: paged });
      const rows = (text: string) => (text.match(/<tr data-image=/g) ?? []).length;
      const first = await (await pagedApp.request('/')).text();
      expect(rows(first)).toBe(100);
      expect(first).toContain('page 1 of 2');
      expect(first).toContain('<b data-total="images">120</b>');
      expect(first).toContain('href="/?page=2" rel="next"');
      const second = await (await pagedApp.request('/?page=2')).text();
      expect(rows(second)).toBe(20);
      expect(second).toContain('data-image="image-119"');
      const found = await (await pagedApp.request('/?q=image-01')).text();
      expect(rows(found)).toBe(10);
      expect(found).toContain('<b data-total="images">120</b>');
      // The API lists them all.
      expect(((await (await pagedApp.request('/api/catalog')).json()) as unknown[]).length).toBe(120);
    } finally {
      await paged.close();
    }
  });
});

describe('catalog computed in bulk', () => {
  /** The catalog as it was computed before the bulk store methods: per image, listBuilds(limit 1) and the full latestCompliance. */
  async function perImageCatalog(): Promise<unknown[]> {
    const [images, latest] = await Promise.all([store.listImages(), store.latestScans()]);
    const scanOf = (name: string, role: string) => latest.find((s) => s.image === name && s.role === role);
    const figuresOf = (s: ScanHeader) => ({ scanId: s.id, at: s.createdAt, total: s.summary.total, bySeverity: s.summary.bySeverity, kev: s.summary.kev, fixable: s.summary.fixable, packages: s.packages });
    const rows: unknown[] = [];
    for (const image of images) {
      const build = (await store.listBuilds(image.name, { limit: 1 }))[0];
      const compliance = await store.latestCompliance(image.name);
      const minimal = scanOf(image.name, 'minimal') ?? scanOf(image.name, 'upload') ?? scanOf(image.name, 'other');
      const stock = scanOf(image.name, 'stock');
      rows.push({
        name: image.name,
        ...(image.replaces !== undefined ? { replaces: image.replaces } : {}),
        ...(image.description !== undefined ? { description: image.description } : {}),
        ...(minimal ? { minimal: figuresOf(minimal) } : {}),
        ...(stock ? { stock: figuresOf(stock) } : {}),
        ...(build
          ? { lastBuild: { id: build.id, at: build.createdAt, digest: build.digest, ...(build.compressedBytes !== undefined ? { compressedBytes: build.compressedBytes } : {}), ...(build.uncompressedBytes !== undefined ? { uncompressedBytes: build.uncompressedBytes } : {}), packages: build.packages.length } }
          : {}),
        ...(compliance ? { compliance: { framework: compliance.framework, at: compliance.createdAt, passed: compliance.passed, failed: compliance.failed, manual: compliance.manual } } : {}),
      });
    }
    return rows;
  }

  it('/api/catalog is deep-equal to the per-image computation on the real uploads, with builds and a second framework added', async () => {
    const images = await store.listImages();
    expect(images.length).toBeGreaterThanOrEqual(2);
    const cold = createApp(deps({ catalogTtlMs: 0 }));
    const catalog = async () => (await (await cold.request('/api/catalog')).json()) as unknown[];
    expect(await catalog()).toEqual(await perImageCatalog());
    // Builds (one backfilled older than the newest) and a newer run of another framework for the first image.
    const first = images[0]!.name;
    const scan = (await store.listScans({ image: first, limit: 1 }))[0]!;
    const full = (await store.getScan(scan.id))!;
    const packages = full.sbom.packages.map((p) => ({ name: p.name, version: p.version, arch: 'amd64' }));
    await store.addBuild({ image: first, digest: scan.digest ?? 'sha256:00', arch: 'amd64', packages, compressedBytes: 1234, reason: 'manual', createdAt: '2026-11-02T00:00:00Z' });
    await store.addBuild({ image: first, digest: scan.digest ?? 'sha256:00', arch: 'amd64', packages: packages.slice(1), reason: 'manual', createdAt: '2026-11-01T00:00:00Z' });
    await store.addCompliance({ image: first, framework: 'nist-800-190', passed: 3, failed: 0, manual: 1, results: { checks: [] } });
    const after = await catalog();
    expect(after).toEqual(await perImageCatalog());
    expect(after[0]).toMatchObject({ name: first, lastBuild: { at: '2026-11-02T00:00:00.000Z', packages: packages.length, compressedBytes: 1234 }, compliance: { framework: 'nist-800-190', passed: 3 } });
  });
});

describe('distill serve (the CLI)', () => {
  it('--create-token prints a token once that authorizes an upload to the server it then runs; SIGTERM stops it', async () => {
    const { spawn, spawnSync } = await import('node:child_process');
    const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
    const cliData = join(dir, 'cli-data');
    const created = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--data-dir', cliData, '--create-token', 'ci'], { encoding: 'utf8' });
    expect(created.status).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^\S{20,}$/);
    expect(created.stderr).toMatch(/created token "ci" .*shown only now/);
    const { freePort } = await import('./helpers/postgres.js');
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--data-dir', cliData, '--db', dbPath, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`serve did not start: ${stderr}`)), 60_000);
        child.stderr!.on('data', () => {
          if (stderr.includes('distill serve: http://')) {
            clearTimeout(timer);
            done();
          }
        });
      });
      expect(stderr).toContain(`http://127.0.0.1:${port}/ (sqlite, data dir ${cliData})`);
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/api/scans`, { method: 'POST', body: readFileSync(trivySbom) })).status).toBe(401);
      const upload = await fetch(`${base}/api/scans?filename=trivy-nginx.cdx.json`, { method: 'POST', body: readFileSync(trivySbom), headers: { authorization: `Bearer ${secret}` } });
      expect(upload.status).toBe(201);
      expect(((await upload.json()) as ScanHeader).packages).toBeGreaterThan(100);
      expect((await fetch(`${base}/`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    }
    expect(existsSync(join(cliData, 'distill.sqlite'))).toBe(true);
  }, 120_000);
});
