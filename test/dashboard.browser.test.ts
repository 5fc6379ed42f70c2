/** @module test/dashboard.browser — the dashboard in Debian's Chromium (playwright-core): real scans of stock and distill nginx, figures checked against the API, image/trend/compare pages, an SBOM uploaded through the page, no console errors, screenshots in test-artifacts/. */
import { serve, type ServerType } from '@hono/node-server';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changelogTracker } from '../bench/changelog-tracker.js';
import { imageFacts } from '../src/compare/compare-images.js';
import { complyImage } from '../src/compliance/comply.js';
import { complianceInput } from '../src/server/extras.js';
import { sbomFor, scanSbom } from '../src/report/scan-source.js';
import { createApp } from '../src/server/app.js';
import type { AppStore, ScanHeader } from '../src/storage/app-store.js';
import { vulnDbDigest } from '../src/storage/app/db-digest.js';
import { openAppStore } from '../src/storage/app/open-app-store.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { importPaths } from '../src/storage/vuln-db-update.js';
import { cachedBuild } from './helpers/build-helpers.js';
import { sharedData, stockImage, trivyImagePackages } from './helpers/oracles.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = resolve(import.meta.dirname, '..', 'test-artifacts', 'dashboard');
const day1 = new Date('2026-11-20T09:00:00Z');
const day2 = new Date('2026-12-01T09:00:00Z');
let dir: string;
let store: AppStore;
let server: ServerType;
let base: string;
let browser: Browser;
let token: string;
let trivySbom: string;
const consoleErrors: string[] = [];

// CONSTRUCTED on top of the real changelog-derived tracker (as in test/compare.test.ts): real CVE ids with fixed
// versions just above the stock image's packages, so there is something to show; CVE-2023-4911 is in the real KEV list.
const entry = (fixed: string, urgency: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency } } });
const CONSTRUCTED: Record<string, Record<string, unknown>> = {
  curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16', 'high') },
  perl: { 'CVE-2023-47038': entry('5.36.0-7+deb12u5', 'medium') },
  openssl: { 'CVE-2023-2975': entry('3.0.22-1~deb12u3', 'low') },
  glibc: { 'CVE-2023-4911': entry('2.36-9+deb12u15', 'high') },
};

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${path}: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`${path}: ${error.message}`));
  const response = await page.goto(`${base}${path}`);
  expect(response?.status(), path).toBe(200);
  return page;
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${base}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
  mkdirSync(artifacts, { recursive: true });
  const stockRef = `docker-archive:${stockImage('nginx')}`;
  const built = await cachedBuild('images/nginx.yaml');
  const minimalRef = `docker-archive:${built.archive}`;
  trivySbom = trivyImagePackages(stockImage('nginx'), 'nginx');

  const feeds = join(dir, 'feeds');
  mkdirSync(feeds);
  copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'known_exploited_vulnerabilities.json'));
  const { tracker } = changelogTracker(join(sharedData, 'debian-bookworm-local-system', 'changelog.Debian.tar'));
  for (const [source, cves] of Object.entries(CONSTRUCTED)) tracker[source] = { ...tracker[source], ...cves };
  writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify(tracker));
  const dbPath = join(dir, 'vuln.db');
  await importPaths(dbPath, [feeds], { now: day2 });

  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  store = await openAppStore({ location: join(dataDir, 'distill.sqlite') });
  token = (await store.createToken('browser-test')).secret;
  await store.upsertImage({ name: 'nginx', recipe: 'images/nginx.yaml', replaces: 'nginx:bookworm', description: 'nginx web server' });
  const [stockSbom, minimalSbom] = [await sbomFor(stockRef, { now: day1 }), await sbomFor(minimalRef, { now: day1 })];
  const facts = await imageFacts(minimalRef);
  await store.addBuild({
    image: 'nginx',
    createdAt: day1.toISOString(),
    digest: minimalSbom.subject.digest!,
    arch: 'amd64',
    packages: built.packages.map((p) => ({ name: p.name, version: p.version, arch: p.architecture })),
    ...(facts.compressedBytes !== undefined ? { compressedBytes: facts.compressedBytes } : {}),
    ...(facts.uncompressedBytes !== undefined ? { uncompressedBytes: facts.uncompressedBytes } : {}),
    reason: 'manual',
  });
  const vulnStore = openVulnDb(dbPath, { readonly: true });
  let minimalScanId = '';
  try {
    const dbDigest = vulnDbDigest(vulnStore.feeds());
    // Two scans of each (day 1, and a rescan on day 2) so the trend has history.
    for (const [at, reason] of [[day1, 'manual'], [day2, 'rescan: vulnerability DB changed']] as const) {
      for (const [role, sbom, subject] of [['stock', stockSbom, stockRef], ['minimal', minimalSbom, minimalRef]] as const) {
        const outcome = scanSbom(sbom, { store: vulnStore, now: at, tool: { name: 'distill', version: 'test' } });
        const header = await store.addScan({ image: 'nginx', role, subject, digest: sbom.subject.digest!, report: outcome.report, sbom: outcome.sbom, dbDigest, reason, createdAt: at.toISOString() });
        if (role === 'minimal') minimalScanId = header.id;
      }
    }
  } finally {
    vulnStore.close();
  }
  // The real CIS Docker 1.6 §4 checks of the built image, with their evidence.
  await store.addCompliance({ ...complianceInput(await complyImage(minimalRef), 'nginx', minimalScanId), createdAt: day2.toISOString() });

  const app = createApp({ store, dataDir, vulnDbPath: dbPath, version: 'test', limits: { requestsPerMinute: 100_000 } });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((done) => server.once('listening', () => done()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // ENVIRONMENT.md's flags; playwright refuses --user-data-dir with launch() and gives each launch a fresh profile dir itself.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise<void>((done) => server.close(() => done()));
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface CatalogRow {
  name: string;
  minimal?: { total: number; kev: number; packages: number; bySeverity: Record<string, number>; scanId: string };
  stock?: { total: number; kev: number; packages: number; bySeverity: Record<string, number>; scanId: string };
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in Chromium', () => {
  it('the catalog shows the figures the API returns, and is keyboard-reachable', async () => {
    const page = await open('/');
    const rows = await api<CatalogRow[]>('/api/catalog');
    const nginx = rows.find((r) => r.name === 'nginx')!;
    expect(nginx.stock!.packages).toBe(118);
    expect(nginx.minimal!.packages).toBe(13);
    expect(nginx.stock!.total).toBeGreaterThan(nginx.minimal!.total);
    const cell = (field: string) => page.locator(`tr[data-image="nginx"] [data-field="${field}"]`).innerText();
    for (const side of ['minimal', 'stock'] as const) {
      expect(Number(await cell(`${side}.total`))).toBe(nginx[side]!.total);
      for (const severity of ['critical', 'high', 'medium', 'low', 'unknown']) expect(Number(await cell(`${side}.${severity}`)), `${side}.${severity}`).toBe(nginx[side]!.bySeverity[severity]);
    }
    expect(await cell('kev')).toBe(`${nginx.minimal!.kev} / ${nginx.stock!.kev}`);
    expect(await cell('packages')).toBe(`${nginx.minimal!.packages} / ${nginx.stock!.packages}`);
    expect(Number(await page.locator('[data-total="images"]').innerText())).toBe(rows.length);
    const compliance = (nginx as unknown as { compliance: { passed: number; failed: number } }).compliance;
    expect(await cell('compliance')).toContain(compliance.failed > 0 ? `${compliance.failed} failed` : 'pass');
    expect(await cell('compliance')).toContain(`${compliance.passed} passed`);
    // Semantic table with a caption and header cells; the first Tab lands on the skip link.
    expect(await page.locator('table#catalog caption').count()).toBe(1);
    expect(await page.locator('table#catalog th[scope="row"]').count()).toBe(rows.length);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.screenshot({ path: join(artifacts, 'catalog.png'), fullPage: true });
    await page.close();
  });

  it('the image page lists the findings in priority order with KEV/EPSS badges, downloads and build history', async () => {
    const page = await open('/');
    await page.getByRole('link', { name: 'nginx', exact: true }).click();
    await page.waitForURL(/\/images\/nginx$/);
    const scans = await api<ScanHeader[]>('/api/scans?image=nginx&role=minimal');
    const stock = (await api<ScanHeader[]>('/api/scans?image=nginx&role=stock'))[0]!;
    const latest = scans[0]!;
    const findings = await api<{ vulnId: string; kev: boolean }[]>(`/api/scans/${latest.id}/findings`);
    expect(await page.locator('table#findings tbody tr').count()).toBe(findings.length);
    expect(Number(await page.locator('[data-field="minimal.total"]').innerText())).toBe(latest.summary.total);
    expect(await page.locator('table#builds tbody tr').count()).toBe(1);
    expect(await page.locator('table#scans tbody tr').count()).toBe(4);
    // Compliance with evidence, the triage plan and the OpenVEX download (stated against the stock scan).
    const checks = await api<{ results: { checks: { id: string; status: string }[] } }>('/api/images/nginx/compliance');
    expect(await page.locator('table#compliance tbody tr').count()).toBe(checks.results.checks.length);
    const plan = await api<{ actions: unknown[] }>(`/api/scans/${latest.id}/triage`);
    expect(await page.locator('table#triage tbody tr').count()).toBe(Math.min(15, plan.actions.length));
    expect(await page.getByRole('link', { name: 'OpenVEX' }).getAttribute('href')).toBe(`/api/scans/${latest.id}/vex`);
    const vex = await api<{ '@context': string; statements: { status: string }[] }>(`/api/scans/${latest.id}/vex`);
    expect(vex['@context']).toBe('https://openvex.dev/ns/v0.2.0');
    expect(vex.statements.some((st) => st.status === 'not_affected' || st.status === 'fixed')).toBe(true);
    const sbomLink = page.getByRole('link', { name: 'CycloneDX JSON' });
    expect(await sbomLink.getAttribute('href')).toBe(`/api/scans/${latest.id}/sbom?format=cyclonedx-json`);
    const sbom = await api<{ components: { type: string }[] }>(`/api/scans/${latest.id}/sbom?format=cyclonedx-json`);
    expect(sbom.components.filter((c) => c.type !== 'operating-system').length).toBe(13);
    await page.screenshot({ path: join(artifacts, 'image-nginx.png'), fullPage: true });

    // The stock scan's page: the KEV finding (glibc CVE-2023-4911) comes first, with its badge.
    await page.goto(`${base}/scans/${stock.id}`);
    const first = page.locator('table#findings tbody tr').first();
    expect(await first.locator('code').first().innerText()).toBe('CVE-2023-4911');
    expect(await first.locator('.badge.kev').count()).toBe(1);
    // Filtering by KEV through the form.
    await page.getByLabel('In KEV').selectOption('true');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kev=true/);
    const kev = await api<{ vulnId: string }[]>(`/api/scans/${stock.id}/findings?kev=true`);
    expect(await page.locator('table#findings tbody tr').count()).toBe(kev.length);
    await page.screenshot({ path: join(artifacts, 'scan-stock-kev.png'), fullPage: true });
    await page.close();
  });

  it('the trend view draws the fleet total and each image as inline SVG', async () => {
    const page = await open('/trend');
    const trend = await api<{ total: number }[]>('/api/trend?role=minimal');
    expect(trend.length).toBe(2);
    expect(await page.locator('svg[role="img"]').count()).toBeGreaterThanOrEqual(2);
    const label = await page.locator('svg[role="img"]').first().getAttribute('aria-label');
    expect(label).toContain(`findings: ${trend[trend.length - 1]!.total} now`);
    await page.screenshot({ path: join(artifacts, 'trend.png'), fullPage: true });
    await page.close();
  });

  it('the compare view shows src/compare on the two stored scans', async () => {
    const page = await open('/images/nginx');
    await page.getByRole('link', { name: 'Compare with the public image' }).click();
    await page.waitForURL(/\/compare\?a=/);
    const url = new URL(page.url());
    const comparison = await api<{ a: { packages: number; cves: { total: number; kev: number } }; b: { packages: number; cves: { total: number; kev: number } }; disappeared: unknown[] }>(`/api/compare?a=${url.searchParams.get('a')}&b=${url.searchParams.get('b')}`);
    expect(comparison.a.packages).toBe(118);
    expect(comparison.b.packages).toBe(13);
    const cells = async (field: string) => (await page.locator(`table#comparison tr[data-field="${field}"] td`).allInnerTexts()).slice(0, 2).map(Number);
    expect(await cells('packages')).toEqual([118, 13]);
    expect(await cells('cves')).toEqual([comparison.a.cves.total, comparison.b.cves.total]);
    expect(await cells('kev')).toEqual([comparison.a.cves.kev, comparison.b.cves.kev]);
    expect(await page.locator('table#disappeared tbody tr').count()).toBe(comparison.disappeared.length);
    await page.screenshot({ path: join(artifacts, 'compare.png'), fullPage: true });
    await page.close();
  });

  it('an SBOM uploaded through the page is scanned, stored and shown', async () => {
    const before = (await api<ScanHeader[]>('/api/scans')).length;
    const page = await open('/upload');
    await page.getByLabel('File', { exact: true }).setInputFiles(trivySbom);
    await page.getByLabel('File under image (optional)').fill('nginx-trivy-sbom');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Upload and scan' }).click();
    await page.waitForURL(/\/scans\//, { timeout: 60_000 });
    const scans = await api<ScanHeader[]>('/api/scans');
    expect(scans.length).toBe(before + 1);
    const uploaded = scans.find((s) => s.image === 'nginx-trivy-sbom')!;
    expect(uploaded.subject).toBe(`upload:${'trivy-nginx.cdx.json'}`);
    expect(page.url()).toBe(`${base}/scans/${uploaded.id}`);
    expect(Number(await page.locator('[data-field="total"]').innerText())).toBe(uploaded.summary.total);
    expect(Number(await page.locator('[data-field="packages"]').innerText())).toBe(uploaded.packages);
    await page.screenshot({ path: join(artifacts, 'upload-result.png'), fullPage: true });

    // A wrong token is refused on the page with the API's problem detail, and nothing is stored.
    const again = await open('/upload');
    await again.getByLabel('File', { exact: true }).setInputFiles(trivySbom);
    await again.getByLabel('API token').fill('wrong');
    await again.getByRole('button', { name: 'Upload and scan' }).click();
    await again.getByText(/Refused \(401 UNAUTHORIZED\)/).waitFor();
    expect((await api<ScanHeader[]>('/api/scans')).length).toBe(before + 1);
    await again.screenshot({ path: join(artifacts, 'upload-refused.png'), fullPage: true });
    await again.close();
    await page.close();
  });

  it('logged no console errors on any page', () => {
    // The refused upload answers 401 on purpose; Chromium logs that failed fetch as a console error.
    expect(consoleErrors.filter((e) => !/401 \(Unauthorized\)/.test(e))).toEqual([]);
  });
});
