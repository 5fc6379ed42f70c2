/** @module test/gzip-archive-input — gzip-wrapped docker/OCI archives (`docker save | gzip`) through the CLI and the upload API: same result as the plain archive, hostile gzip refused, nothing left behind. */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../src/server/app.js';
import type { AppStore, ScanHeader } from '../src/storage/app-store.js';
import { openAppStore } from '../src/storage/app/open-app-store.js';
import { importPaths } from '../src/storage/vuln-db-update.js';
import { cachedAsync, ociArchiveOf, sharedData, stockImage } from './helpers/oracles.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const now = new Date('2026-12-01T00:00:00Z');

let dir: string;
let cliTmp: string;
let plain: string;
let gzipped: string;
let ociPlain: string;
let ociGzipped: string;

interface SbomJson {
  packages: { name: string; version: string; type: string; purl?: string; locations?: unknown }[];
  subject: { digest: string; configDigest: string; layers: string[]; reference: string };
}

/** GNU gzip, streamed by the shell, cached next to the plain artifact. */
function gzipOf(file: string, key: string): Promise<string> {
  return cachedAsync(key, async (tmp) => {
    await run('sh', ['-c', 'gzip -c "$1" > "$2"', 'sh', file, tmp]);
  });
}

/** Runs the built CLI with a private TMPDIR, so its temp files can be counted. */
async function distill(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, TMPDIR: cliTmp, SOURCE_DATE_EPOCH: '0' }, maxBuffer: 1 << 28 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function sbomOf(reference: string): Promise<SbomJson> {
  const result = await distill(['sbom', reference, '--format', 'json', '-q']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as SbomJson;
}

const sortedPackages = (sbom: SbomJson) => [...sbom.packages].sort((a, b) => `${a.type}/${a.name}@${a.version}`.localeCompare(`${b.type}/${b.name}@${b.version}`));

beforeAll(async () => {
  expect(existsSync(cli), 'run `npm run build` first').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'gzip-input-'));
  cliTmp = join(dir, 'tmp');
  mkdirSync(cliTmp);
  plain = stockImage('nginx');
  gzipped = await gzipOf(plain, 'stock-nginx.tar.gz');
  ociPlain = ociArchiveOf(plain, 'nginx');
  ociGzipped = await gzipOf(ociPlain, 'oci-archive-nginx.tar.gz');
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('CLI: docker-archive and oci-archive FILE gzip-compressed', () => {
  it('docker-archive:x.tar.gz lists exactly the packages of the plain archive, with the digests skopeo reads from it', async () => {
    const [fromPlain, fromGzip] = await Promise.all([sbomOf(`docker-archive:${plain}`), sbomOf(`docker-archive:${gzipped}`)]);
    expect(readFileSync(gzipped).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(fromPlain.packages.length).toBeGreaterThan(100);
    expect(sortedPackages(fromGzip)).toEqual(sortedPackages(fromPlain));
    expect({ ...fromGzip.subject, reference: '' }).toEqual({ ...fromPlain.subject, reference: '' });
    expect(fromGzip.subject.reference).toBe(`docker-archive:${gzipped}`);
    // skopeo's manifest for the plain archive: same config and layer (diffID) digests.
    const { stdout } = await run('skopeo', ['inspect', '--raw', `docker-archive:${plain}`]);
    const manifest = JSON.parse(stdout) as { config: { digest: string }; layers: { digest: string }[] };
    expect(fromGzip.subject.configDigest).toBe(manifest.config.digest);
    expect(fromGzip.subject.layers).toEqual(manifest.layers.map((l) => l.digest));
    expect(readdirSync(cliTmp)).toEqual([]);
  }, 300_000);

  it('oci-archive:x.tar.gz (skopeo copy, then gzip) gives the plain OCI archive\'s packages and skopeo\'s manifest digest', async () => {
    const [fromPlain, fromGzip] = await Promise.all([sbomOf(`oci-archive:${ociPlain}`), sbomOf(`oci-archive:${ociGzipped}`)]);
    expect(sortedPackages(fromGzip)).toEqual(sortedPackages(fromPlain));
    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${ociPlain}`]);
    expect(fromGzip.subject.digest).toBe((JSON.parse(stdout) as { Digest: string }).Digest);
    expect(readdirSync(cliTmp)).toEqual([]);
  }, 300_000);

  it('a truncated gzip and garbage after the gzip magic fail with DECOMPRESS_FAILED (exit 3) and leave no temp file', async () => {
    const whole = readFileSync(gzipped);
    const truncated = join(dir, 'truncated.tar.gz');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 3)));
    const garbage = join(dir, 'garbage.tar');
    writeFileSync(garbage, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('this is not a deflate stream\n'.repeat(50))]));
    for (const [file, transport] of [[truncated, 'docker-archive'], [garbage, 'docker-archive'], [truncated, 'oci-archive']] as const) {
      const result = await distill(['sbom', `${transport}:${file}`, '-q']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain('[DECOMPRESS_FAILED]');
      expect(result.stderr).toContain(file);
      expect(result.stderr).toMatch(/hint: the gzip stream is truncated or damaged/);
      expect(readdirSync(cliTmp)).toEqual([]);
    }
  }, 300_000);
});

describe('upload API: a gzip-wrapped archive', () => {
  let store: AppStore;
  let dataDir: string;
  let dbPath: string;
  let token: string;

  const deps = (extra: Partial<AppDeps> = {}): AppDeps => ({ store, dataDir, vulnDbPath: dbPath, now: () => now, version: 'test', limits: { requestsPerMinute: 100_000 }, ...extra });
  const post = (app: ReturnType<typeof createApp>, query: string, body: BodyInit) =>
    app.request(`/api/scans?${query}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
  const uploadsLeft = () => (existsSync(join(dataDir, 'uploads')) ? readdirSync(join(dataDir, 'uploads'), { recursive: true }) : []);

  beforeAll(async () => {
    dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const feeds = join(dir, 'feeds');
    mkdirSync(feeds);
    // CONSTRUCTED (as in test/server-api.test.ts): real CVE ids with fixed versions just above what stock nginx carries.
    const entry = (fixed: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency: 'high' } } });
    writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify({ curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16') }, glibc: { 'CVE-2023-4911': entry('2.36-9+deb12u15') } }));
    copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'known_exploited_vulnerabilities.json'));
    dbPath = join(dir, 'vuln.db');
    await importPaths(dbPath, [feeds], { now });
    store = await openAppStore({ location: join(dataDir, 'distill.sqlite') });
    token = (await store.createToken('test')).secret;
  }, 300_000);

  afterAll(async () => {
    await store?.close();
  });

  it('stores the same scan as the plain upload: packages, summary, findings', async () => {
    const app = createApp(deps());
    const plainResponse = await post(app, 'image=nginx-plain&filename=nginx.tar', readFileSync(plain));
    expect(plainResponse.status).toBe(201);
    const gzResponse = await post(app, 'image=nginx-gz&filename=nginx.tar.gz', readFileSync(gzipped));
    expect(gzResponse.status, await gzResponse.clone().text()).toBe(201);
    const a = (await plainResponse.json()) as ScanHeader;
    const b = (await gzResponse.json()) as ScanHeader;
    expect(a.packages).toBeGreaterThan(100);
    expect(b.packages).toBe(a.packages);
    expect(b.summary).toEqual(a.summary);
    expect(b.summary.kev).toBeGreaterThan(0);
    expect(b.subject).toBe('upload:nginx.tar.gz');
    const findings = async (id: string) => ((await (await app.request(`/api/scans/${id}/findings`)).json()) as { vulnId: string; packageName: string }[]).map((f) => `${f.vulnId} ${f.packageName}`).sort();
    expect(await findings(b.id)).toEqual(await findings(a.id));
    const events = (await (await app.request('/api/events?image=nginx-gz')).json()) as { details: { bytes: number } }[];
    // The event records the stored (decompressed) size: the plain archive's.
    expect(events[0]!.details.bytes).toBe(readFileSync(plain).length);
    expect(uploadsLeft()).toEqual([]);
  }, 300_000);

  it('refuses a truncated gzip, garbage after the magic (422 DECOMPRESS_FAILED) and a gzip bomb (413), storing nothing', async () => {
    const limited = createApp(deps({ limits: { maxUploadBytes: 4 * 1024 * 1024, requestsPerMinute: 100_000 } }));
    const before = (await store.listScans({ limit: 1000 })).length;
    const problem = async (response: Response) => {
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      return { status: response.status, ...((await response.json()) as { code: string; detail: string; hint?: string }) };
    };
    // A small real archive: the first 1 MiB of the gzipped nginx save, cut off mid-stream.
    const truncated = await problem(await post(limited, 'filename=t.tar.gz', readFileSync(gzipped).subarray(0, 1 << 20)));
    expect(truncated).toMatchObject({ status: 422, code: 'DECOMPRESS_FAILED' });
    expect(truncated.detail).not.toContain(dataDir);
    expect(truncated.hint).toMatch(/truncated or damaged/);
    const garbage = await problem(await post(limited, 'filename=g.tar', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(4096, 0x5a)])));
    expect(garbage).toMatchObject({ status: 422, code: 'DECOMPRESS_FAILED' });
    // 256 MiB of zeros are ~250 KiB gzipped: under the 4 MiB limit on the wire, far over it decompressed.
    const bomb = (await run('sh', ['-c', 'head -c 268435456 /dev/zero | gzip -c'], { encoding: 'buffer', maxBuffer: 1 << 24 })).stdout;
    expect(bomb.length).toBeLessThan(1 << 20);
    const refused = await problem(await post(limited, 'filename=bomb.tar.gz', bomb));
    expect(refused).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', detail: expect.stringContaining('decompresses to more than the limit of 4194304 bytes') });
    expect((await store.listScans({ limit: 1000 })).length).toBe(before);
    expect(uploadsLeft()).toEqual([]);
  }, 300_000);
});
