import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { FIXTURE_TIME, TOOL } from '../../test/fixtures/report/real-findings.js';
import { realScanReport } from '../../test/fixtures/report/real-report.js';
import type { Finding } from '../match/finding.js';
import { SEVERITIES } from '../vuln/severity.js';
import type { FeedProvenance } from '../vuln/vulnerability.js';
import { encodeScanJson } from './formats/json.js';
import { buildScanReport, compareFindings, gateFailures, gatePasses } from './scan-report.js';

// Findings come from test/fixtures/report/real-findings.ts: real packages of the stock nginx image, real CVE ids
// and fixed versions from the bookworm changelogs, real KEV/EPSS/NVD values (see the comment at its top).

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const validateReport = (() => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, 'scan-report.schema.json'), 'utf8')) as object);
})();

const { sbom, findings, db, report } = await realScanReport();

function ids(list: readonly Finding[]): string[] {
  return list.map((f) => `${f.packageName}:${f.vulnId}`);
}

describe('buildScanReport on real nginx findings', () => {
  it('keeps subject, distro and package counts from the SBOM', () => {
    expect(report.schemaVersion).toBe('1');
    expect(report.subject.reference).toBe(sbom.subject.reference);
    expect(report.subject.digest).toBe(sbom.subject.digest);
    expect(report.distro?.versionCodename).toBe('bookworm');
    expect(report.packages.total).toBe(sbom.packages.length);
    expect(report.packages.byType.deb).toBe(sbom.packages.filter((p) => p.type === 'deb').length);
    expect(report.createdAt).toBe('2025-09-01T00:00:00.000Z');
  });

  it('splits negligible and VEX-suppressed findings off, and counts them', () => {
    expect(ids(report.suppressed).sort()).toEqual(['libc-bin:CVE-2023-4911', 'libc6:CVE-2010-4756']);
    expect(report.suppressed.find((f) => f.vulnId === 'CVE-2010-4756')?.suppressed?.kind).toBe('negligible');
    expect(report.suppressed.find((f) => f.vulnId === 'CVE-2023-4911')?.suppressed?.kind).toBe('vex');
    expect(report.findings).toHaveLength(findings.length - 2);
    expect(report.summary.suppressed).toBe(2);
    expect(report.summary.negligibleHidden).toBe(1);
    expect(report.findings.every((f) => !f.suppressed)).toBe(true);
  });

  it('summarises by severity, fix, KEV and EPSS', () => {
    const s = report.summary;
    expect(Object.keys(s.bySeverity)).toEqual(['critical', 'high', 'medium', 'low', 'negligible', 'unknown']);
    // critical: zlib CVE-2022-37434 (NVD 9.8, fixed) and CVE-2023-45853 (NVD 9.8, open); high: CVE-2023-4911 on libc6.
    expect(s.bySeverity.critical).toBe(2);
    expect(s.bySeverity.high).toBe(1);
    expect(s.total).toBe(report.findings.length);
    expect(Object.values(s.bySeverity).reduce((a, b) => a + b, 0)).toBe(s.total);
    expect(s.fixable).toBe(s.total - 1);
    // KEV: CVE-2023-4911 (libc6) and CVE-2023-44487 (libnghttp2-14); the libc-bin copy is suppressed.
    expect(s.kev).toBe(2);
    // EPSS > 0.1: only CVE-2023-44487 (0.70585 on 2024-03-24).
    expect(s.epssAbove0_1).toBe(1);
    expect(report.findings.find((f) => f.vulnId === 'CVE-2023-44487')?.kev?.dateAdded).toBe('2023-10-10');
  });

  it('orders findings by severity, then package, then id', () => {
    for (let i = 1; i < report.findings.length; i++) {
      expect(compareFindings(report.findings[i - 1] as Finding, report.findings[i] as Finding)).toBeLessThan(0);
    }
    expect(ids(report.findings.slice(0, 3))).toEqual(['zlib1g:CVE-2022-37434', 'zlib1g:CVE-2023-45853', 'libc6:CVE-2023-4911']);
  });

  it('is independent of input order and key order', () => {
    const shuffled = [...findings].reverse().map((f) => Object.fromEntries(Object.entries(f).reverse()) as unknown as Finding);
    const again = buildScanReport(sbom, shuffled, { db: [...db].reverse(), createdAt: FIXTURE_TIME, tool: TOOL });
    expect(encodeScanJson(again)).toBe(encodeScanJson(report));
  });

  it('flags stale feeds by their own date', () => {
    // KEV catalog released 2025-08-25 → 6 days old on 2025-09-01 (limit 14: fresh); the Debian data is 2 days old (limit 7).
    expect(report.db.find((f) => f.feed === 'kev')).toMatchObject({ ageDays: 6, stale: false, records: 1404 });
    expect(report.db.find((f) => f.feed === 'debian-tracker')).toMatchObject({ ageDays: 2, stale: false });
    const strict = buildScanReport(sbom, findings, { db, createdAt: FIXTURE_TIME, tool: TOOL, maxDbAgeDays: 5 });
    expect(strict.db.find((f) => f.feed === 'kev')).toMatchObject({ ageDays: 6, stale: true });
    const later = buildScanReport(sbom, findings, { db, createdAt: new Date('2025-09-08T00:00:00Z'), tool: TOOL });
    expect(later.db.find((f) => f.feed === 'kev')?.stale).toBe(false);
    expect(later.db.find((f) => f.feed === 'debian-tracker')?.stale).toBe(true);
    const broken = buildScanReport(sbom, [], { db: [{ ...(db[0] as FeedProvenance), recordDate: 'yesterday', fetchedAt: 'never' }], createdAt: FIXTURE_TIME, tool: TOOL });
    expect(broken.db[0]).toMatchObject({ ageDays: null, stale: true });
  });

  it('validates against scan-report.schema.json (draft 2020-12)', () => {
    const doc = JSON.parse(encodeScanJson(report)) as unknown;
    expect(validateReport(doc), JSON.stringify(validateReport.errors?.slice(0, 3))).toBe(true);
    const empty = JSON.parse(encodeScanJson(buildScanReport(sbom, [], { db: [], createdAt: FIXTURE_TIME, tool: TOOL }))) as unknown;
    expect(validateReport(empty)).toBe(true);
  });

  it('the schema rejects documents that break the contract', () => {
    const doc = JSON.parse(encodeScanJson(report)) as Record<string, unknown> & { findings: Array<Record<string, unknown>>; suppressed: Array<Record<string, unknown>> };
    const bad1 = { ...doc, schemaVersion: '2' };
    const bad2 = { ...doc, findings: [{ ...doc.findings[0], severity: { value: 'severe', source: 'none' } }] };
    const bad3 = { ...doc, suppressed: [{ ...doc.findings[0] }] };
    const bad4 = { ...doc, extra: true };
    for (const bad of [bad1, bad2, bad3, bad4]) expect(validateReport(bad)).toBe(false);
  });
});

describe('report filters', () => {
  it('--only-fixed keeps findings with a fix and counts the rest as filtered', () => {
    const r = buildScanReport(sbom, findings, { db, createdAt: FIXTURE_TIME, tool: TOOL, onlyFixed: true });
    expect(r.findings.every((f) => f.fixState === 'fixed' && f.fixedVersions.length > 0)).toBe(true);
    expect(ids(r.findings)).not.toContain('zlib1g:CVE-2023-45853');
    // Dropped: the open zlib CVE and the negligible wont-fix glibc one.
    expect(r.summary.filtered).toBe(2);
    expect(r.summary.negligibleHidden).toBe(0);
    expect(r.filters.onlyFixed).toBe(true);
  });

  it('--ignore-unfixed drops not-fixed, wont-fix and deferred but keeps end-of-life and unknown', () => {
    const zlib = report.findings.find((f) => f.vulnId === 'CVE-2023-45853') as Finding;
    const variants: Finding[] = (['not-fixed', 'wont-fix', 'deferred', 'end-of-life', 'unknown'] as const).map((fixState) => ({ ...zlib, vulnId: `${zlib.vulnId}-${fixState}`, fixState }));
    const r = buildScanReport(sbom, variants, { db, createdAt: FIXTURE_TIME, tool: TOOL, ignoreUnfixed: true });
    expect(r.findings.map((f) => f.fixState).sort()).toEqual(['end-of-life', 'unknown']);
    expect(r.summary.filtered).toBe(3);
  });

  it('showNegligible puts negligible findings back among the shown ones', () => {
    const r = buildScanReport(sbom, findings, { db, createdAt: FIXTURE_TIME, tool: TOOL, showNegligible: true });
    expect(ids(r.findings)).toContain('libc6:CVE-2010-4756');
    expect(r.summary.bySeverity.negligible).toBe(1);
    expect(r.summary.negligibleHidden).toBe(0);
    expect(r.summary.suppressed).toBe(1);
  });

  it('not-applicable findings stay suppressed even with showNegligible', () => {
    const libc = report.findings.find((f) => f.packageName === 'libc6') as Finding;
    const na: Finding = { ...libc, suppressed: { kind: 'not-applicable', reason: 'kernel headers: containers do not run their own kernel' } };
    const r = buildScanReport(sbom, [na], { db, createdAt: FIXTURE_TIME, tool: TOOL, showNegligible: true });
    expect(r.findings).toHaveLength(0);
    expect(r.suppressed[0]?.suppressed?.reason).toMatch(/kernel headers/);
  });
});

describe('gatePasses (--fail-on)', () => {
  it('fails at or below the worst shown severity and passes above it', () => {
    expect(gatePasses(report, 'critical')).toBe(false);
    expect(gateFailures(report, 'critical').map((f) => f.vulnId).sort()).toEqual(['CVE-2022-37434', 'CVE-2023-45853']);
    expect(gateFailures(report, 'high')).toHaveLength(3);
    const noCritical = buildScanReport(sbom, findings.filter((f) => f.severity.value !== 'critical'), { db, createdAt: FIXTURE_TIME, tool: TOOL });
    expect(gatePasses(noCritical, 'critical')).toBe(true);
    expect(gatePasses(noCritical, 'high')).toBe(false);
  });

  it('suppressed findings never fail the gate', () => {
    const onlySuppressed = buildScanReport(sbom, findings.filter((f) => f.suppressed || f.severity.value === 'negligible'), { db, createdAt: FIXTURE_TIME, tool: TOOL });
    for (const s of SEVERITIES) expect(gatePasses(onlySuppressed, s)).toBe(true);
  });

  it('--fail-on unknown fails on any shown finding; an empty report passes every gate', () => {
    expect(gatePasses(report, 'unknown')).toBe(false);
    const empty = buildScanReport(sbom, [], { db, createdAt: FIXTURE_TIME, tool: TOOL });
    for (const s of SEVERITIES) expect(gatePasses(empty, s)).toBe(true);
  });
});
