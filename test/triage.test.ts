/** @module test/triage — `distill triage` end to end: stock nginx on a DB from the real KEV catalog, real EPSS/NVD records and a tracker fixture; the --replacement count against compareScans; the CLI. */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareScans, imageFacts } from '../src/compare/compare-images.js';
import { sbomFor, scanSbom, type ScanOutcome } from '../src/report/scan-source.js';
import type { Sbom } from '../src/sbom/package.js';
import { openVulnDb, type SqliteVulnStore } from '../src/storage/sqlite/vuln-db.js';
import { importPaths } from '../src/storage/vuln-db-update.js';
import { imageFilePresence, type PackagePresence } from '../src/triage/file-presence.js';
import { encodeTriagePlan } from '../src/triage/triage-formats.js';
import { buildTriagePlan, type TriagePlan } from '../src/triage/triage-plan.js';
import { cachedBuild } from './helpers/build-helpers.js';
import { sharedData, stockImage } from './helpers/oracles.js';

const root = join(import.meta.dirname, '..');
const fixtures = join(import.meta.dirname, 'fixtures');
const now = new Date('2026-12-01T00:00:00Z');
const tool = { name: 'distill', version: 'test' };
let dir: string;
let dbPath: string;
let store: SqliteVulnStore;
let stockRef: string;
let minimalRef: string;
let sbomA: Sbom;
let sbomB: Sbom;
let stock: ScanOutcome;
let presence: Map<string, PackagePresence>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'triage-'));
  const feeds = join(dir, 'feeds');
  mkdirSync(feeds);
  copyFileSync(join(fixtures, 'triage', 'debian-tracker.json'), join(feeds, 'debian-tracker.json'));
  copyFileSync(join(fixtures, 'feeds-enrich', 'epss-2024-03-24.csv'), join(feeds, 'epss-2024-03-24.csv'));
  copyFileSync(join(fixtures, 'feeds-enrich', 'nvd-page-0000.json'), join(feeds, 'nvd-page-0000.json'));
  copyFileSync(join(sharedData, 'cisa-kev', 'known_exploited_vulnerabilities.json'), join(feeds, 'known_exploited_vulnerabilities.json'));
  dbPath = join(dir, 'vuln.db');
  await importPaths(dbPath, [feeds], { now });
  store = openVulnDb(dbPath, { readonly: true });
  stockRef = `docker-archive:${stockImage('nginx')}`;
  minimalRef = `docker-archive:${(await cachedBuild('images/nginx.yaml')).archive}`;
  [sbomA, sbomB] = [await sbomFor(stockRef, {}), await sbomFor(minimalRef, {})];
  stock = scanSbom(sbomA, { store, now, tool });
  presence = await imageFilePresence(stockRef, sbomA);
}, 600_000);
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('triage: stock nginx', () => {
  it('puts the KEV-listed glibc upgrade first, with the KEV due date', () => {
    const plan = buildTriagePlan(stock, { presence });
    const first = plan.actions[0]!;
    expect(first.kind).toBe('upgrade');
    if (first.kind !== 'upgrade') return;
    expect(first.package).toBe('glibc');
    expect(first.binaries).toEqual(['libc-bin', 'libc6']);
    expect(first.targetVersion).toBe('2.36-9+deb12u15');
    expect(first.kev).toBe(1);
    // The real KEV entry for CVE-2023-4911 (catalog 2025.08.25): added 2023-11-21, due 2023-12-12.
    expect(first.kevDueDate).toBe('2023-12-12');
    expect(first.vulnerabilities).toEqual(['CVE-2023-4911', 'CVE-2024-2961']);
    expect(first.title).toBe('upgrade glibc (libc-bin, libc6) to 2.36-9+deb12u15: fixes 2 CVEs, 1 in KEV (due 2023-12-12)');
    // Every other action removes no KEV finding and less risk.
    for (const a of plan.actions.slice(1)) {
      expect(a.kev).toBe(0);
      expect(a.maxScore ?? 0).toBeLessThan(first.maxScore!);
    }
    expect(plan.actions.map((a) => a.rank)).toEqual(plan.actions.map((_, i) => i + 1));
  });

  it('scores every finding with SSVC inputs; the CVE without EPSS is not ranked zero', () => {
    const plan = buildTriagePlan(stock, { presence });
    const kev = plan.findings.find((f) => f.vulnId === 'CVE-2023-4911' && f.packageName === 'libc6')!;
    // Real inputs: NVD CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H 7.8, EPSS 0.01877: 60 + 40 × 0.78 × 0.51 = 75.91.
    expect(kev.risk.score).toBe(75.91);
    expect(kev.ssvc.decision).toBe('Attend');
    expect(kev.ssvc.exploitation).toEqual({ value: 'active', reason: 'in CISA KEV (added 2023-11-21)' });
    expect([kev.ssvc.automatable.value, kev.ssvc.technicalImpact.value, kev.ssvc.missionImpact.value]).toEqual(['no', 'total', 'medium']);
    expect(kev.presence.state).toBe('present');
    expect(kev.presence.present).toBeGreaterThan(0);
    const unscored = plan.findings.find((f) => f.vulnId === 'CVE-2024-2961' && f.packageName === 'libc6')!;
    expect(unscored.epss).toBeUndefined();
    expect(unscored.risk.factors.likelihoodFrom).toBe('prior');
    expect(unscored.risk.score).toBeGreaterThan(0);
    const zlib = plan.findings.find((f) => f.vulnId === 'CVE-2023-45853')!;
    expect(zlib.epss?.score).toBe(0.00121);
    expect(zlib.fixState).toBe('wont-fix');
    // Findings are listed by descending risk, and every one points at the action that handles it.
    const scores = plan.findings.map((f) => f.risk.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    for (const f of plan.findings) expect(plan.actions.some((a) => a.rank === f.action)).toBe(true);
    expect(plan.findings.length).toBe(stock.report.findings.length);
    const noFix = plan.actions.find((a) => a.kind === 'no-fix');
    expect(noFix?.kind === 'no-fix' && noFix.advice.some((l) => l.includes('contrib/minizip not built'))).toBe(true);
    // --mission-impact high turns the KEV glibc finding into Act.
    expect(buildTriagePlan(stock, { presence, missionImpact: 'high' }).actions[0]!.decision).toBe('Act');
  });

  it('--replacement: the replace-base action removes exactly what compareScans says disappears', async () => {
    const minimal = scanSbom(sbomB, { store, now, tool });
    const comparison = compareScans(stock, minimal, { a: await imageFacts(stockRef), b: await imageFacts(minimalRef) });
    const plan = buildTriagePlan(stock, { presence, replacement: { reference: minimalRef, comparison } });
    const replace = plan.actions.find((a) => a.kind === 'replace-base');
    expect(replace?.kind).toBe('replace-base');
    if (replace?.kind !== 'replace-base') return;
    expect(replace.removes).toBe(comparison.disappeared.length);
    // curl and perl are not in distill's nginx; glibc, openssl's libssl3 and zlib are.
    expect(comparison.disappeared.map((d) => d.id).sort()).toEqual(['CVE-2023-38545', 'CVE-2023-47038']);
    expect(replace.byReason['package-removed']).toBe(2);
    expect(replace.highOrCritical).toBe(comparison.disappeared.filter((d) => d.severity === 'high' || d.severity === 'critical').length);
    expect(replace.remaining).toBe(comparison.b.cves.total);
    expect(replace.title).toMatch(new RegExp(`removes 2 CVEs, ${replace.highOrCritical} high or critical; ${comparison.b.cves.total} remain \\(${comparison.a.packages} → ${comparison.b.packages} packages; drops the shell and the package manager\\)$`));
    expect(plan.actions[0]!.kind).toBe('upgrade');
    expect(plan.actions.some((a) => a.kind === 'replace-base-recipe')).toBe(false);
  }, 120_000);

  it('suggests the catalog recipe (no invented figures) when the image is one a recipe replaces', () => {
    const plan = buildTriagePlan(stock, { presence, recipes: [{ name: 'nginx', recipe: 'images/nginx.yaml', replaces: 'nginx:bookworm', stock: 'nginx', variant: '' }, { name: 'nginx-dev', recipe: 'images/nginx-dev.yaml', replaces: 'nginx:bookworm', variant: 'dev' }, { name: 'redis', recipe: 'images/redis.yaml', replaces: 'redis:bookworm' }] });
    const suggestion = plan.actions.find((a) => a.kind === 'replace-base-recipe');
    expect(suggestion?.kind === 'replace-base-recipe' && suggestion.recipe).toBe('images/nginx.yaml');
    expect(suggestion?.maxScore).toBeNull();
    expect(plan.actions.at(-1)).toBe(suggestion);
  });

  it('formats: JSON round-trips, table and Markdown carry the plan; --top keeps the findings', () => {
    const plan = buildTriagePlan(stock, { presence, top: 2 });
    expect(plan.actions).toHaveLength(2);
    expect(plan.summary.omittedActions).toBe(plan.summary.actions - 2);
    expect(JSON.parse(encodeTriagePlan(plan, 'json'))).toEqual(plan);
    expect(encodeTriagePlan(plan, 'table')).toMatch(/^1\s+75\.91\s+Attend\s+upgrade glibc \(libc-bin, libc6\) to 2\.36-9\+deb12u15/m);
    const md = encodeTriagePlan(plan, 'markdown');
    expect(md).toContain('| 1 | 75.91 | Attend | upgrade glibc (libc-bin, libc6) to 2.36-9+deb12u15: fixes 2 CVEs, 1 in KEV (due 2023-12-12) |');
    expect(md.match(/^\| [\d.]+ \| (Track|Track\*|Attend|Act) \| CVE-/gm)?.length).toBe(plan.findings.length);
  });
});

function distill(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, env: { ...process.env, SOURCE_DATE_EPOCH: '1764547200' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => ok({ status, stdout, stderr }));
  });
}

describe('triage CLI', () => {
  it('writes the JSON plan with -o; bad --top is a usage error (2); a missing image is bad input (3)', async () => {
    const out = join(dir, 'plan.json');
    const run = await distill(['triage', stockRef, '--db', dbPath, '--format', 'json', '-o', out, '--mission-impact', 'high']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const plan = JSON.parse(readFileSync(out, 'utf8')) as TriagePlan;
    expect(plan.missionImpact).toBe('high');
    expect(plan.actions[0]!.title).toBe('upgrade glibc (libc-bin, libc6) to 2.36-9+deb12u15: fixes 2 CVEs, 1 in KEV (due 2023-12-12)');
    expect(plan.actions[0]!.decision).toBe('Act');
    // The CLI reads images/*.yaml: stock/nginx is what images/nginx.yaml replaces.
    expect(plan.actions.at(-1)).toMatchObject({ kind: 'replace-base-recipe', recipe: 'images/nginx.yaml' });
    const top = await distill(['triage', stockRef, '--db', dbPath, '--top', 'x']);
    expect(top.status).toBe(2);
    expect(top.stderr).toContain('--top');
    const missing = await distill(['triage', 'docker-archive:/nonexistent/nginx.tar', '--db', dbPath]);
    expect(missing.status).toBe(3);
    const mission = await distill(['triage', stockRef, '--db', dbPath, '--mission-impact', 'extreme']);
    expect(mission.status).toBe(2);
  }, 180_000);
});
