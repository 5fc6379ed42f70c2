/** @module test/compare — `distill compare`: stock nginx against distill's nginx, on a DB from real data, and on a store of real CVE ids with constructed fixed versions; images and saved scans (`scan:FILE`). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changelogTracker } from '../bench/changelog-tracker.js';
import { encodeComparison } from '../src/compare/compare-formats.js';
import { compareScans, imageFacts, type Comparison, type ImageFacts } from '../src/compare/compare-images.js';
import { parseSavedScan, type SavedScan } from '../src/compare/saved-scan.js';
import { encodeScanJson } from '../src/report/formats/json.js';
import { encodeSbom } from '../src/sbom/formats/index.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { importFeedFiles } from '../src/feeds/import-files.js';
import { sbomFor, scanSbom, scanSource, type ScanOutcome } from '../src/report/scan-source.js';
import type { Sbom } from '../src/sbom/package.js';
import { openVulnDb } from '../src/storage/sqlite/vuln-db.js';
import { findFeedFiles, importPaths } from '../src/storage/vuln-db-update.js';
import { createMemoryStore } from '../src/vuln/memory-store.js';
import { SEVERITIES } from '../src/vuln/severity.js';
import { cachedBuild } from './helpers/build-helpers.js';
import { sharedData, stockImage } from './helpers/oracles.js';

const now = new Date('2026-12-01T00:00:00Z');
const tool = { name: 'distill', version: 'test' };
let dir: string;
let stockRef: string;
let minimalRef: string;
let factsA: ImageFacts;
let factsB: ImageFacts;
let sbomA: Sbom;
let sbomB: Sbom;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compare-'));
  stockRef = `docker-archive:${stockImage('nginx')}`;
  minimalRef = `docker-archive:${(await cachedBuild('images/nginx.yaml')).archive}`;
  [factsA, factsB] = [await imageFacts(stockRef), await imageFacts(minimalRef)];
  [sbomA, sbomB] = [await sbomFor(stockRef, {}), await sbomFor(minimalRef, {})];
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A ScanOutcome written as `distill scan --format json` writes it, and read back as `scan:FILE`. */
function saved(outcome: ScanOutcome, file: string): SavedScan {
  return parseSavedScan(encodeScanJson(outcome.report), file);
}

/** What a saved scan must reproduce of a comparison of the images themselves: every count and attribution. */
function expectSameCounts(viaSaved: Comparison, direct: Comparison): void {
  for (const key of ['reference', 'digest', 'packages', 'cves'] as const) {
    expect(viaSaved.a[key]).toEqual(direct.a[key]);
    expect(viaSaved.b[key]).toEqual(direct.b[key]);
  }
  expect(viaSaved.cvesA).toEqual(direct.cvesA);
  expect(viaSaved.cvesB).toEqual(direct.cvesB);
  expect(viaSaved.disappeared).toEqual(direct.disappeared);
  expect(viaSaved.appeared).toEqual(direct.appeared);
  const { compressedBytes: _c, uncompressedBytes: _u, ...counts } = direct.reduction;
  expect(viaSaved.reduction).toMatchObject(counts);
}

/** Checks the JSON against its own rules: every vulnerability once per side, counts that add up, reasons that fit the SBOMs. */
function checkShape(c: Comparison, a: Sbom, b: Sbom): void {
  const parsed = JSON.parse(encodeComparison(c, 'json')) as Comparison;
  expect(parsed).toEqual(c);
  for (const [side, cves] of [[c.a, c.cvesA], [c.b, c.cvesB]] as const) {
    const ids = cves.flatMap((v) => [v.id, ...v.aliases]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(side.cves.total).toBe(cves.length);
    expect(Object.keys(side.cves.bySeverity)).toEqual([...SEVERITIES].reverse());
    expect(Object.values(side.cves.bySeverity).reduce((x, y) => x + y, 0)).toBe(cves.length);
    expect(side.cves.kev).toBe(cves.filter((v) => v.kev).length);
    expect(side.cves.fixable).toBe(cves.filter((v) => v.fixable).length);
  }
  const namesB = new Set(b.packages.map((p) => p.name));
  const namesA = new Set(a.packages.map((p) => p.name));
  for (const d of c.disappeared) {
    expect(c.cvesB.some((v) => v.id === d.id)).toBe(false);
    for (const p of d.packages) expect(namesA.has(p.name)).toBe(true);
    if (d.reason === 'package-removed') for (const p of d.packages) expect(namesB.has(p.name)).toBe(false);
    if (d.reason === 'newer-version') expect(d.packages.some((p) => namesB.has(p.name) && p.versionB !== undefined && p.versionB !== p.versionA)).toBe(true);
  }
  expect(c.disappeared.length + c.cvesA.filter((v) => c.cvesB.some((w) => w.id === v.id)).length).toBe(c.cvesA.length);
}

describe('compare: stock nginx vs distill nginx', () => {
  it('measures the images from their layers and squashed filesystems', () => {
    expect(factsA.hasShell).toBe(true);
    expect(factsA.shellPaths).toContain('/bin/sh');
    expect(factsA.hasPackageManager).toBe(true);
    expect(factsA.packageManagerPaths).toEqual(expect.arrayContaining(['/usr/bin/dpkg', '/usr/bin/apt']));
    expect(factsB.hasShell).toBe(false);
    expect(factsB.hasPackageManager).toBe(false);
    expect(factsB.uncompressedBytes!).toBeLessThan(factsA.uncompressedBytes!);
    expect(factsB.layers).toBeGreaterThan(0);
  });

  it('on a DB imported from real KEV data and the changelog-derived tracker feed', async () => {
    const feeds = join(dir, 'feeds');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(feeds);
    copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'known_exploited_vulnerabilities.json'));
    const { tracker } = changelogTracker(join(sharedData, 'debian-bookworm-local-system', 'changelog.Debian.tar'));
    writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify(tracker));
    const dbPath = join(dir, 'vuln.db');
    await importPaths(dbPath, [feeds], { now });
    const store = openVulnDb(dbPath, { readonly: true });
    try {
      const a = scanSbom(sbomA, { store, now, tool });
      const b = scanSbom(sbomB, { store, now, tool });
      const c = compareScans(a, b, { a: factsA, b: factsB });
      expect(c.a.packages).toBe(118);
      expect(c.b.packages).toBe(13);
      expect(c.reduction.packages).toBeCloseTo(89, 0);
      expect(c.reduction.uncompressedBytes!).toBeGreaterThan(0);
      expect(c.a.facts.hasShell && !c.b.facts.hasShell).toBe(true);
      expect(c.a.facts.hasPackageManager && !c.b.facts.hasPackageManager).toBe(true);
      // Both images carry the current bookworm versions, and the changelogs only name CVEs those versions fix.
      expect(c.b.cves.total).toBeLessThanOrEqual(c.a.cves.total);
      checkShape(c, sbomA, sbomB);
      // The same two scans saved as JSON reports and read back: the same counts and attributions; the facts a
      // report does not record are unknown, never guessed.
      const [savedA, savedB] = [saved(a, 'a.json'), saved(b, 'b.json')];
      const viaSaved = compareScans(savedA.scan, savedB.scan, { a: savedA.facts, b: savedB.facts });
      expectSameCounts(viaSaved, c);
      expect(viaSaved.a.facts).toEqual({ layers: factsA.layers });
      expect(viaSaved.b.facts).toEqual({ layers: factsB.layers });
      expect(viaSaved.reduction.uncompressedBytes).toBeNull();
      expect(encodeComparison(viaSaved, 'table')).toMatch(/^Shell\s+-\s+-$/m);
      const mixed = compareScans(savedA.scan, b, { a: savedA.facts, b: factsB });
      expectSameCounts(mixed, c);
      expect(mixed.b.facts).toEqual(factsB);
      const table = encodeComparison(c, 'table');
      expect(table).toMatch(/^Packages\s+118\s+13\s+-89(\.\d)?%$/m);
      expect(encodeComparison(c, 'markdown')).toMatch(/^\| Packages \| 118 \| 13 \| -89(\.\d)?% \|$/m);
    } finally {
      store.close();
    }
  }, 300_000);
});

/** A Debian security tracker entry whose bookworm fix is `fixed`. */
const entry = (fixed: string, urgency: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency } } });

/** The constructed feeds (see below) in a new folder `feeds`: four real CVE ids with fixed versions above the images', and the real KEV list. */
function writeConstructedFeeds(feeds: string): void {
  mkdirSync(feeds);
  writeFileSync(
    join(feeds, 'debian-tracker.json'),
    JSON.stringify({
      curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16', 'high') },
      perl: { 'CVE-2023-47038': entry('5.36.0-7+deb12u5', 'medium') },
      openssl: { 'CVE-2023-2975': entry('3.0.22-1~deb12u3', 'low') },
      glibc: { 'CVE-2023-4911': entry('2.36-9+deb12u15', 'high') },
    }),
  );
  copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'kev.json'));
}

describe('compare: real CVE ids with constructed fixed versions', () => {
  // CONSTRUCTED: the CVE ids are real (changelog-cve-summary.derived.json names them for these source packages,
  // CVE-2023-4911 is in the real KEV list), but the fixed versions are set just ABOVE what the images carry so
  // that the images match; B's libc6 is bumped past the glibc fix to exercise `newer-version`.
  const summary = () => JSON.parse(readFileSync(join(sharedData, 'debian-bookworm-local-system', 'changelog-cve-summary.derived.json'), 'utf8')) as Record<string, { since_list?: string[] }>;

  it('counts each CVE once per image and attributes every disappearance', async () => {
    const ids = summary();
    const has = (source: string, id: string) => expect(ids[source]?.since_list ?? []).toContain(id);
    has('curl', 'CVE-2023-38545');
    has('perl', 'CVE-2023-47038');
    has('openssl', 'CVE-2023-2975');
    has('glibc', 'CVE-2023-4911');
    const feeds = join(dir, 'constructed');
    writeConstructedFeeds(feeds);
    const store = createMemoryStore();
    const { files } = await findFeedFiles([feeds]);
    await importFeedFiles(files, store, { fetchedAt: now });

    const bumped: Sbom = {
      ...sbomB,
      packages: sbomB.packages.map((p) => (p.type === 'deb' && p.sourceName === 'glibc' ? { ...p, version: '2.36-9+deb12u16', sourceVersion: '2.36-9+deb12u16' } : p)),
    };
    const a: ScanOutcome = scanSbom(sbomA, { store, now, tool });
    const b: ScanOutcome = scanSbom(bumped, { store, now, tool });
    // A has the openssl CVE on libssl3 and openssl, the glibc one on libc6 and libc-bin, curl's on curl and libcurl4.
    const findingsA = a.report.findings.filter((f) => f.vulnId === 'CVE-2023-2975').map((f) => f.packageName).sort();
    expect(findingsA).toEqual(['libssl3', 'openssl']);
    const c = compareScans(a, b, { a: factsA, b: factsB });
    checkShape(c, sbomA, bumped);
    expect(c.cvesA.map((v) => v.id).sort()).toEqual(['CVE-2023-2975', 'CVE-2023-38545', 'CVE-2023-47038', 'CVE-2023-4911']);
    expect(c.a.cves.total).toBe(4);
    expect(c.a.cves.bySeverity.high).toBe(2);
    expect(c.a.cves.kev).toBe(1);
    expect(c.a.cves.fixable).toBe(4);
    expect(c.cvesB.map((v) => v.id)).toEqual(['CVE-2023-2975']);
    expect(c.b.cves.kev).toBe(0);
    expect(c.reduction.cves).toBe(75);
    expect(c.reduction.kev).toBe(100);
    const reasons = Object.fromEntries(c.disappeared.map((d) => [d.id, d.reason]));
    expect(reasons).toEqual({ 'CVE-2023-38545': 'package-removed', 'CVE-2023-47038': 'package-removed', 'CVE-2023-4911': 'newer-version' });
    const glibc = c.disappeared.find((d) => d.id === 'CVE-2023-4911')!;
    expect(glibc.kev).toBe(true);
    expect(glibc.packages.find((p) => p.name === 'libc6')).toEqual({ name: 'libc6', versionA: '2.36-9+deb12u14', versionB: '2.36-9+deb12u16' });
    expect(c.disappeared.find((d) => d.id === 'CVE-2023-38545')!.packages.map((p) => p.name)).toEqual(['curl', 'libcurl4']);
    const page = encodeComparison(c, 'html');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect((page.match(/<svg /g) ?? []).length).toBe(2);
    expect(page).toContain('<td>CVE-2023-4911</td><td>high (KEV)</td><td>newer-version</td>');
    expect(encodeComparison(c, 'table')).toMatch(/CVE-2023-4911\s+high \(KEV\)\s+newer-version\s+.*libc6 2\.36-9\+deb12u14 -> 2\.36-9\+deb12u16/);
    // Saved scans carry the package list, so `newer-version` and `package-removed` come out the same from them.
    const [savedA, savedB] = [saved(a, 'stock.json'), saved(b, 'bumped.json')];
    const viaSaved = compareScans(savedA.scan, savedB.scan, { a: savedA.facts, b: savedB.facts });
    expectSameCounts(viaSaved, c);
    expect(viaSaved.disappeared.find((d) => d.id === 'CVE-2023-4911')!.packages.find((p) => p.name === 'libc6')).toEqual({ name: 'libc6', versionA: '2.36-9+deb12u14', versionB: '2.36-9+deb12u16' });
    expect(viaSaved.a.savedScan).toEqual({ file: 'stock.json', createdAt: now.toISOString() });
    expectSameCounts(compareScans(a, savedB.scan, { a: factsA, b: savedB.facts }), c);
  }, 120_000);

  it('runs the whole scan path from references (scanSource), as the CLI does', async () => {
    const store = createMemoryStore();
    const a = await scanSource(stockRef, { store, now, tool });
    expect(a.sbom.packages.length).toBe(118);
  }, 120_000);

  it('the CLI writes the JSON comparison with -o (database from `distill db import`)', async () => {
    const feeds = join(dir, 'cli-feeds');
    mkdirSync(feeds);
    // CONSTRUCTED as above: a real curl CVE id with a fixed version just above the stock image's curl.
    writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify({ curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16', 'high') } }));
    const dbPath = join(dir, 'cli.db');
    await importPaths(dbPath, [feeds], { now });
    const out = join(dir, 'comparison.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), 'compare', stockRef, minimalRef, '--db', dbPath, '--format', 'json', '-o', out], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '0' } });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const c = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
    expect(c.a.packages).toBe(118);
    expect(c.b.packages).toBe(13);
    expect(c.disappeared).toEqual([{ id: 'CVE-2023-38545', severity: 'high', kev: false, reason: 'package-removed', packages: [{ name: 'curl', versionA: '7.88.1-10+deb12u15' }, { name: 'libcurl4', versionA: '7.88.1-10+deb12u15' }] }]);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), 'compare', stockRef, 'docker-archive:/nonexistent.tar', '--db', dbPath], { encoding: 'utf8' });
    expect(bad.status).toBe(3);
  }, 120_000);
});

describe('compare: saved scans (scan:FILE)', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '0' } });
  let dbPath: string;
  let scanA: string;
  let scanB: string;

  beforeAll(async () => {
    // CONSTRUCTED like the test above (real CVE ids, fixed versions just above the images'), plus the real KEV list.
    const feeds = join(dir, 'saved-feeds');
    writeConstructedFeeds(feeds);
    dbPath = join(dir, 'saved.db');
    await importPaths(dbPath, [feeds], { now });
    scanA = join(dir, 'stock-scan.json');
    scanB = join(dir, 'minimal-scan.json');
  }, 120_000);

  it('the JSON scan report lists its packages and stays valid against scan-report.schema.json', () => {
    for (const [ref, out] of [[stockRef, scanA], [minimalRef, scanB]] as const) {
      const run = cli(['scan', ref, '--db', dbPath, '--format', 'json', '-o', out]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    }
    const report = JSON.parse(readFileSync(scanA, 'utf8')) as { packages: { total: number; items: { id: string; name: string; version: string; type: string; sourceName?: string }[] } };
    expect(report.packages.items).toHaveLength(report.packages.total);
    // Checked against the SBOM of the same image: every package, with its Debian source.
    expect(report.packages.items.map((p) => p.id).sort()).toEqual(sbomA.packages.map((p) => p.id).sort());
    expect(report.packages.items.find((p) => p.name === 'libc6')).toMatchObject({ type: 'deb', sourceName: 'glibc', version: '2.36-9+deb12u14' });
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    (addFormatsModule as unknown as (a: Ajv2020) => Ajv2020)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, '..', 'src', 'report', 'scan-report.schema.json'), 'utf8')) as object);
    expect(validate(report), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  }, 300_000);

  it('scan:a.json scan:b.json and scan:a.json IMAGE give the counts and attributions of comparing the images', () => {
    const direct = join(dir, 'direct.json');
    const both = join(dir, 'both-saved.json');
    const mixed = join(dir, 'mixed.json');
    expect(cli(['compare', stockRef, minimalRef, '--db', dbPath, '--format', 'json', '-o', direct]).status).toBe(0);
    // Both sides saved: the database is not needed, so a path that does not exist is never opened.
    const run = cli(['compare', `scan:${scanA}`, `scan:${scanB}`, '--db', join(dir, 'absent.db'), '--format', 'json', '-o', both]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const runMixed = cli(['compare', `scan:${scanA}`, minimalRef, '--db', dbPath, '--format', 'json', '-o', mixed]);
    expect(runMixed.stderr).toBe('');
    expect(runMixed.status).toBe(0);
    const [d, s, m] = [direct, both, mixed].map((f) => JSON.parse(readFileSync(f, 'utf8')) as Comparison) as [Comparison, Comparison, Comparison];
    expect(d.a.cves.total).toBe(4);
    expect(d.disappeared.map((x) => [x.id, x.reason])).toEqual([['CVE-2023-38545', 'package-removed'], ['CVE-2023-47038', 'package-removed']]);
    expectSameCounts(s, d);
    expectSameCounts(m, d);
    expect(s.a.facts).toEqual({ layers: d.a.facts.layers });
    expect(s.b.facts).toEqual({ layers: d.b.facts.layers });
    expect(s.a.savedScan).toEqual({ file: scanA, createdAt: '1970-01-01T00:00:00.000Z' });
    expect(m.a.facts).toEqual({ layers: d.a.facts.layers });
    expect(m.b.facts).toEqual(d.b.facts);
    expect(m.b.savedScan).toBeUndefined();
    const table = cli(['compare', `scan:${scanA}`, minimalRef, '--db', dbPath]);
    expect(table.stdout).toMatch(/^Shell\s+-\s+no$/m);
    expect(table.stdout).toContain('not recorded in a saved scan');
  }, 300_000);

  it('warns when the saved scan was made with other vulnerability data', async () => {
    const other = join(dir, 'other.db');
    const feeds = join(dir, 'other-feeds');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(feeds);
    writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify({ curl: { 'CVE-2023-38545': entry('7.88.1-10+deb12u16', 'high') } }));
    await importPaths(other, [feeds], { now });
    const run = cli(['compare', `scan:${scanA}`, minimalRef, '--db', other, '--format', 'json']);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/warning: A and B were scanned with different vulnerability data \(debian-tracker, kev\)/);
  }, 300_000);

  it('refuses malformed and wrong-kind files with SBOM_INVALID (exit 3)', () => {
    const report = JSON.parse(readFileSync(scanA, 'utf8')) as Record<string, unknown> & { packages: Record<string, unknown>; subject: Record<string, unknown>; findings: Record<string, unknown>[] };
    const { items: _items, ...oldPackages } = report.packages;
    const cases: [string, string, RegExp][] = [
      ['not-json', '{"schemaVersion": "1", "findings": [', /not JSON/],
      ['array', '[]', /not a distill scan report/],
      ['cyclonedx', encodeSbom(sbomA, 'cyclonedx-json'), /is an SBOM, not a scan report/],
      ['native-sbom', encodeSbom(sbomA, 'json'), /not a distill scan report/],
      ['comparison', readFileSync(join(dir, 'direct.json'), 'utf8'), /not a distill scan report/],
      ['schema-2', JSON.stringify({ ...report, schemaVersion: '2' }), /schema version "2" is not supported/],
      ['old-report', JSON.stringify({ ...report, packages: oldPackages }), /has no packages\.items/],
      ['short-items', JSON.stringify({ ...report, packages: { ...report.packages, items: [] } }), /lists 0 packages but packages\.total says 118/],
      ['dir-scan', JSON.stringify({ ...report, subject: { ...report.subject, transport: 'dir', layers: [] } }), /not of an image/],
      ['bad-severity', JSON.stringify({ ...report, findings: [{ ...report.findings[0], severity: { value: 'severe', source: 'x' } }] }), /findings\[0\]\.severity\.value must be one of/],
      ['bad-aliases', JSON.stringify({ ...report, findings: [{ ...report.findings[0], aliases: 'CVE-1' }] }), /findings\[0\]\.aliases must be an array/],
      ['proto', '{"__proto__": {"findings": []}, "schemaVersion": "1", "summary": {}}', /not a distill scan report/],
    ];
    for (const [name, text, message] of cases) {
      expect(() => parseSavedScan(text, name), name).toThrow(message);
      try {
        parseSavedScan(text, name);
      } catch (error) {
        expect((error as { code?: string }).code, name).toBe('SBOM_INVALID');
      }
    }
    const badFile = join(dir, 'old-report.json');
    writeFileSync(badFile, cases[6]![1]);
    for (const args of [[`scan:${badFile}`, minimalRef], [minimalRef, `scan:${join(dir, 'missing.json')}`]]) {
      const run = cli(['compare', ...args, '--db', dbPath]);
      expect(run.status).toBe(3);
      expect(run.stdout).toBe('');
    }
    expect(cli(['compare', `scan:${badFile}`, minimalRef, '--db', dbPath]).stderr).toMatch(/has no packages\.items.*\[SBOM_INVALID\]\n  hint: re-run/);
  }, 300_000);
});
