/** @module test/scan-cli — `distill db` and `distill scan` end to end on real data: import, scan, gate, SARIF, sbom:, VEX, update. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRoot } from './fixtures/catalog-lang/lang-helpers.js';
import { distillFromSource } from './helpers/distill-cli.js';
import { sharedData, trivyRootfsPackages } from './helpers/oracles.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'src', 'cli', 'main.ts');

interface Result { status: number | null; stdout: string; stderr: string }

function distill(args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface JsonReport {
  findings: { vulnId: string; aliases: string[]; packageName: string; installedVersion: string; fixedVersions: string[]; fixState: string; severity: { value: string; source: string }; kev?: unknown; evidence: { rule: string; matcher: string } }[];
  suppressed: { vulnId: string; suppressed?: { kind: string; reason: string } }[];
  summary: { total: number };
  db: { feed: string; records: number }[];
}

describe('distill db + scan on real advisories', () => {
  const work = mkdtempSync(join(tmpdir(), 'distill-scan-'));
  const db = join(work, 'vuln.db');
  const feeds = join(work, 'feeds');
  // Real Python packages at their real bookworm versions, straight from Debian's .debs.
  const rootfs = debianRoot('scan-python', ['python3-requests', 'python3-urllib3', 'python3-idna', 'python3-jwt', 'python3-yaml']);

  beforeAll(() => {
    mkdirSync(feeds, { recursive: true });
    cpSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'kev.json'));
    spawnSync('tar', ['xzf', join(sharedData, 'pypa-advisory-database', 'pypa-advisory-database-vulns.tar.gz'), '-C', feeds]);
  });

  it('scan without a database: exit 3 and a hint to create one', () => {
    const { status, stderr } = distill(['scan', `dir:${rootfs}`, '--db', join(work, 'missing.db')]);
    expect(status).toBe(3);
    expect(stderr).toMatch(/\[DB_NOT_FOUND\]/);
    expect(stderr).toMatch(/hint: .*db update.*db import/);
  });

  it('db import: the whole KEV catalog and every PyPA record, with provenance', () => {
    const imported = distill(['db', 'import', feeds, '--db', db, '--format', 'json', '-q']);
    expect(imported.status, imported.stderr).toBe(0);
    const status = JSON.parse(distill(['db', 'status', '--db', db, '--format', 'json']).stdout) as { feeds: { feed: string; records: number; recordDate: string }[]; missing: string[] };
    const byFeed = Object.fromEntries(status.feeds.map((feed) => [feed.feed, feed]));
    expect(byFeed.kev?.records).toBe(1404);
    expect(byFeed.kev?.recordDate).toBe('2025-08-25T17:04:19.979Z');
    expect(byFeed.osv?.records).toBeGreaterThan(2600);
    expect(status.missing).toContain('debian-tracker');
  });

  it('finds real PyPA advisories on the Debian python packages, with evidence and fix versions', () => {
    const { status, stdout, stderr } = distill(['scan', `dir:${rootfs}`, '--db', db, '--format', 'json', '-q']);
    expect(status, stderr).toBe(0);
    const report = JSON.parse(stdout) as JsonReport;
    const find = (id: string) => report.findings.find((finding) => finding.vulnId === id);
    // CVE-2023-32681: requests leaked Proxy-Authorization on redirects; fixed in 2.31.0. bookworm ships 2.28.1.
    expect(find('PYSEC-2023-74')).toMatchObject({ packageName: 'requests', installedVersion: '2.28.1', fixedVersions: ['2.31.0'], fixState: 'fixed' });
    expect(find('PYSEC-2023-74')?.aliases).toContain('CVE-2023-32681');
    expect(find('PYSEC-2023-74')?.evidence.rule).toMatch(/2\.28\.1/);
    // CVE-2023-43804: urllib3 Cookie header on cross-origin redirects; fixed in 1.26.17 (bookworm: 1.26.12).
    expect(find('PYSEC-2023-192')).toMatchObject({ packageName: 'urllib3', installedVersion: '1.26.12' });
    expect(find('PYSEC-2023-192')?.fixedVersions).toContain('1.26.17');
    // CVE-2024-3651: idna quadratic complexity in encode(); fixed in 3.7 (bookworm: 3.3).
    expect(find('PYSEC-2024-60')).toMatchObject({ packageName: 'idna', installedVersion: '3.3' });
    // PyJWT 2.6.0 is after every PyPA PyJWT advisory in this snapshot: nothing may be reported for it.
    expect(report.findings.filter((finding) => finding.packageName === 'PyJWT')).toEqual([]);
  });

  it('--fail-on: exit 5 when a finding reaches the threshold, 0 otherwise', () => {
    const failing = distill(['scan', `dir:${rootfs}`, '--db', db, '--fail-on', 'medium', '-q']);
    expect(failing.status).toBe(5);
    const report = JSON.parse(distill(['scan', `dir:${rootfs}`, '--db', db, '-f', 'json', '-q']).stdout) as JsonReport;
    expect(report.findings.some((finding) => finding.severity.value === 'critical')).toBe(false);
    expect(distill(['scan', `dir:${rootfs}`, '--db', db, '--fail-on', 'critical', '-q']).status).toBe(0);
  });

  it('SARIF output is valid SARIF 2.1.0 with one result per finding', () => {
    const { stdout } = distill(['scan', `dir:${rootfs}`, '--db', db, '-f', 'sarif', '-q']);
    const sarif = JSON.parse(stdout) as { version: string; runs: { results: { ruleId: string }[] }[] };
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'report', 'sarif-schema-2.1.0.json'), 'utf8')) as object);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const json = JSON.parse(distill(['scan', `dir:${rootfs}`, '--db', db, '-f', 'json', '-q']).stdout) as JsonReport;
    expect(sarif.runs[0]!.results.map((result) => result.ruleId).sort()).toEqual(json.findings.map((finding) => finding.vulnId).sort());
  });

  it('sbom: a Trivy CycloneDX of the same rootfs gives the same findings', () => {
    const trivy = trivyRootfsPackages(rootfs, 'scan-python');
    const fromSbom = JSON.parse(distill(['scan', `sbom:${trivy}`, '--db', db, '-f', 'json', '-q']).stdout) as JsonReport;
    const fromDir = JSON.parse(distill(['scan', `dir:${rootfs}`, '--db', db, '-f', 'json', '-q']).stdout) as JsonReport;
    const key = (report: JsonReport) => report.findings.map((finding) => `${finding.vulnId} ${finding.packageName} ${finding.installedVersion}`).sort();
    expect(key(fromSbom).length).toBeGreaterThan(2);
    expect(key(fromSbom)).toEqual(key(fromDir));
  });

  it('--vex: a not_affected statement suppresses its finding; a statement that matches nothing is a warning', () => {
    const vex = join(work, 'statements.openvex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': 'https://example.com/vex/requests-proxy',
        author: 'platform team',
        timestamp: '2026-12-01T00:00:00Z',
        version: 1,
        statements: [
          { vulnerability: { name: 'CVE-2023-32681' }, products: [{ '@id': 'pkg:pypi/requests' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' },
          { vulnerability: { name: 'CVE-2099-0001' }, products: [{ '@id': 'pkg:pypi/requests' }], status: 'not_affected', justification: 'component_not_present' },
        ],
      }),
    );
    const { status, stdout, stderr } = distill(['scan', `dir:${rootfs}`, '--db', db, '-f', 'json', '--vex', vex, '-q']);
    expect(status, stderr).toBe(0);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.findings.map((finding) => finding.vulnId)).not.toContain('PYSEC-2023-74');
    expect(report.suppressed.find((finding) => finding.vulnId === 'PYSEC-2023-74')?.suppressed).toMatchObject({ kind: 'vex' });
    expect(stderr).toMatch(/warning: VEX statement matched no finding: .*CVE-2099-0001/);
    const table = distill(['scan', `dir:${rootfs}`, '--db', db, '--vex', vex, '--show-suppressed', '-q']).stdout;
    expect(table).toMatch(/PYSEC-2023-74/);
  });

  describe('db update over HTTP (local server standing in for the feed hosts)', () => {
    let server: Server;
    let base = '';
    let truncate = false;
    const kev = readFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'));

    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url !== '/kev.json') {
          response.writeHead(404).end();
          return;
        }
        if (truncate) {
          // Promise the whole file, send half of it, hang up: a cut-off download.
          response.writeHead(200, { 'content-length': String(kev.length) });
          response.end(kev.subarray(0, kev.length >> 1));
          request.socket.destroy();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(kev.length) }).end(kev);
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    it('downloads, imports and records the URL as the origin; other feeds are kept', async () => {
      const { status, stderr } = await distillFromSource(['db', 'update', '--feeds', 'kev', '--db', db, '-q'], { DISTILL_KEV_URL: `${base}/kev.json` });
      expect(status, stderr).toBe(0);
      const state = JSON.parse(distill(['db', 'status', '--db', db, '--format', 'json']).stdout) as { feeds: { feed: string; origin: string; records: number }[] };
      expect(state.feeds.find((feed) => feed.feed === 'kev')).toMatchObject({ origin: `${base}/kev.json`, records: 1404 });
      expect(state.feeds.find((feed) => feed.feed === 'osv')?.records).toBeGreaterThan(2600);
    });

    it('a cut-off download fails and leaves the database byte-identical', async () => {
      const before = sha256(db);
      truncate = true;
      const { status, stderr } = await distillFromSource(['db', 'update', '--feeds', 'kev', '--db', db, '-q'], { DISTILL_KEV_URL: `${base}/kev.json` });
      truncate = false;
      expect(status).not.toBe(0);
      expect(stderr).toMatch(/\[(DOWNLOAD_FAILED|NETWORK_UNREACHABLE)\]/);
      expect(sha256(db)).toBe(before);
    }, 120_000);

    it('no network: fails fast with the db import hint', async () => {
      const started = Date.now();
      const { status, stderr } = await distillFromSource(['db', 'update', '--feeds', 'kev', '--db', db, '-q'], { DISTILL_KEV_URL: 'http://distill-feeds.invalid/kev.json' });
      expect(status).toBe(3);
      expect(stderr).toMatch(/\[NETWORK_UNREACHABLE\]/);
      expect(stderr).toMatch(/db import/);
      expect(Date.now() - started).toBeLessThan(15_000);
    });
  });
});
