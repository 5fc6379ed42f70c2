import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_TIME, TOOL } from '../../../test/fixtures/report/real-findings.js';
import { realScanReport } from '../../../test/fixtures/report/real-report.js';
import { isDistillError } from '../../errors.js';
import type { Finding } from '../../match/finding.js';
import { buildScanReport } from '../scan-report.js';
import { encodeScanReport, SCAN_FORMATS, securitySeverity, type ScanFormat } from './index.js';

// Findings: test/fixtures/report/real-findings.ts builds them from real facts (stock nginx SBOM, bookworm
// changelog CVEs, CISA KEV, NVD CVSS, EPSS samples); the matcher is not involved.

const root = join(import.meta.dirname, '..', '..', '..');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const validateSarif = (() => {
  // The official OASIS SARIF 2.1.0 schema (draft-07), see test/fixtures/report/PROVENANCE.md.
  // The schema's language-tag pattern has a stray `]` that only non-unicode regular expressions accept.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'report', 'sarif-schema-2.1.0.json'), 'utf8')) as object);
})();

const { sbom, findings, db, report } = await realScanReport();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('determinism', () => {
  it('every format is byte-identical across builds in one process', () => {
    const again = buildScanReport(sbom, [...findings].reverse(), { db: [...db].reverse(), createdAt: FIXTURE_TIME, tool: TOOL });
    for (const format of SCAN_FORMATS) expect(encodeScanReport(again, format, { sbom })).toBe(encodeScanReport(report, format, { sbom }));
  });

  it('every format is byte-identical across separate processes (fresh catalog of the image each time)', () => {
    const script = `
      import { createHash } from 'node:crypto';
      import { FIXTURE_TIME, nginxSbom, realFindings, realProvenance, TOOL } from './test/fixtures/report/real-findings.ts';
      import { buildScanReport } from './src/report/scan-report.ts';
      import { encodeScanReport, SCAN_FORMATS } from './src/report/formats/index.ts';
      const sbom = await nginxSbom();
      const r = buildScanReport(sbom, realFindings(sbom), { db: await realProvenance(), createdAt: FIXTURE_TIME, tool: TOOL });
      console.log(JSON.stringify(Object.fromEntries(SCAN_FORMATS.map((f) => [f, createHash('sha256').update(encodeScanReport(r, f, { sbom })).digest('hex')]))));
    `;
    const run = (): Record<string, string> =>
      JSON.parse(execFileSync(join(root, 'node_modules', '.bin', 'tsx'), ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop() as string) as Record<string, string>;
    const first = run();
    const second = run();
    expect(second).toEqual(first);
    const here = Object.fromEntries(SCAN_FORMATS.map((f) => [f, createHash('sha256').update(encodeScanReport(report, f, { sbom })).digest('hex')]));
    expect(first).toEqual(here);
  });
});

describe('table', () => {
  it('groups by package with a header per package, rows per vulnerability, KEV/EPSS notes', () => {
    // A 5-day limit for every feed makes the 6-day-old KEV data stale (its own default limit is 14 days).
    const text = encodeScanReport(buildScanReport(sbom, findings, { db, createdAt: FIXTURE_TIME, tool: TOOL, maxDbAgeDays: 5 }), 'table');
    const lines = text.split('\n');
    expect(lines[0]).toBe(`${sbom.subject.reference}  Debian GNU/Linux 12 (bookworm)  linux/amd64  ${sbom.subject.digest?.slice(0, 19)}`);
    expect(lines[1]).toBe('DB: debian-tracker 2025-08-30 (2d), kev 2025-08-25 (6d)');
    expect(lines[2]).toBe('WARNING: stale vulnerability data: kev (run distill db update)');
    // The worst package first: zlib1g has two criticals.
    expect(lines[4]).toBe('zlib1g 1:1.2.13.dfsg-1+deb12u1 (deb)');
    expect(lines[5]).toMatch(/^ {2}VULNERABILITY +SEVERITY +FIXED-IN +STATE +NOTES$/);
    expect(lines[6]).toMatch(/^ {2}CVE-2022-37434 +critical +1:1\.2\.11\.dfsg-4\.1 +fixed +EPSS 0\.3%$/);
    expect(lines[7]).toMatch(/^ {2}CVE-2023-45853 +critical +not-fixed +EPSS 0\.1%$/);
    const looney = lines.find((l) => l.includes('CVE-2023-4911'));
    expect(looney).toMatch(/CVE-2023-4911 +high +2\.36-9\+deb12u3 +fixed +KEV EPSS 1\.9%/);
    const nghttp2 = lines.indexOf('libnghttp2-14 1.52.0-1+deb12u3 (deb)');
    expect(nghttp2).toBeGreaterThan(0);
    expect(lines.slice(nghttp2, nghttp2 + 5).join('\n')).toMatch(/CVE-2023-44487 +unknown +1\.52\.0-1\+deb12u1 +fixed +KEV EPSS 70\.6%/);
    // Columns line up inside a package block.
    const header = lines[5] as string;
    expect((lines[6] as string).indexOf('critical')).toBe(header.indexOf('SEVERITY'));
    expect((lines[6] as string).indexOf('fixed')).toBe(header.indexOf('STATE'));
    // Every package with findings appears exactly once.
    const titles = lines.filter((l) => /^\S.* \(deb\)$/.test(l));
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles.length).toBe(new Set(report.findings.map((f) => f.packageId)).size);
  });

  it('ends with the per-severity summary and what is hidden, naming the flags', () => {
    const lines = encodeScanReport(report, 'table').trimEnd().split('\n');
    const s = report.summary;
    expect(lines.at(-4)).toBe(`${s.total} vulnerabilities: critical 2, high 1, medium 0, low 0, negligible 0, unknown ${s.bySeverity.unknown}`);
    expect(lines.at(-3)).toBe(`${s.fixable} fixable, 2 in CISA KEV, 1 with EPSS > 10%`);
    expect(lines.at(-2)).toBe('1 negligible hidden (--show-negligible or --show-suppressed shows them)');
    expect(lines.at(-1)).toBe('1 suppressed by VEX or not applicable (--show-suppressed shows them)');
    expect(encodeScanReport(report, 'table')).not.toContain('CVE-2010-4756');
    const custom = encodeScanReport(report, 'table', { flags: { showSuppressed: '--all', showNegligible: '--low' } });
    expect(custom).toContain('(--low or --all shows them)');
  });

  it('lists suppressed findings in their own section on request', () => {
    const text = encodeScanReport(report, 'table', { showSuppressed: true });
    const at = text.indexOf('Suppressed (2, not counted):');
    expect(at).toBeGreaterThan(0);
    const tail = text.slice(at);
    expect(tail).toMatch(/libc-bin 2\.36-9\+deb12u14 \(deb\)\n.*\n {2}CVE-2023-4911 .*VEX: not_affected: vulnerable_code_not_present/);
    expect(tail).toMatch(/CVE-2010-4756 +negligible +wont-fix +EPSS 0\.8% hidden: negligible/);
    expect(text).toContain('1 negligible hidden (listed above)');
  });

  it('fits the terminal width by shortening columns with …', () => {
    const text = encodeScanReport(report, 'table', { width: 60, showSuppressed: true });
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    expect(text).toContain('…');
    // Prose lines wrap instead of being cut: the hint names its flag in full.
    expect(text).toMatch(/1 negligible hidden \(listed above\)/);
    const tiny = encodeScanReport(report, 'table', { width: 20 });
    for (const line of tiny.split('\n')) expect([...line].length).toBeLessThanOrEqual(20);
    expect(tiny).toContain('--show-suppressed');
    // Unconstrained rows are longer than 60 columns, so the limit did something.
    expect(Math.max(...encodeScanReport(report, 'table', { showSuppressed: true }).split('\n').map((l) => [...l].length))).toBeGreaterThan(60);
  });

  it('says so when nothing is found, and when the DB is empty', () => {
    const text = encodeScanReport(buildScanReport(sbom, [], { db: [], createdAt: FIXTURE_TIME, tool: TOOL }), 'table');
    expect(text).toContain('DB: no vulnerability data (distill db update, or distill db import DIR)');
    expect(text).toContain('No vulnerabilities found.');
    expect(text).toContain('0 vulnerabilities: critical 0, high 0, medium 0, low 0, negligible 0, unknown 0');
  });

  it('mentions filtered findings and the flag that dropped them', () => {
    const r = buildScanReport(sbom, findings, { db, createdAt: FIXTURE_TIME, tool: TOOL, onlyFixed: true });
    expect(encodeScanReport(r, 'table')).toContain('2 filtered out by --only-fixed');
  });
});

describe('sarif', () => {
  let log: Json;
  beforeAll(() => {
    log = JSON.parse(encodeScanReport(report, 'sarif', { sbom })) as Json;
  });

  it('is valid against the official SARIF 2.1.0 schema', () => {
    expect(validateSarif(log), JSON.stringify(validateSarif.errors?.slice(0, 3))).toBe(true);
    // Without an SBOM the purl is the location; still valid.
    const bare = JSON.parse(encodeScanReport(report, 'sarif')) as Json;
    expect(validateSarif(bare), JSON.stringify(validateSarif.errors?.slice(0, 3))).toBe(true);
    expect(bare.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toMatch(/^pkg:deb\/debian\/zlib1g@/);
    const empty = JSON.parse(encodeScanReport(buildScanReport(sbom, [], { db, createdAt: FIXTURE_TIME, tool: TOOL }), 'sarif')) as Json;
    expect(validateSarif(empty)).toBe(true);
  });

  it('has one rule per vulnerability id with help, CVSS and security-severity', () => {
    const run = log.runs[0];
    const rules = run.tool.driver.rules as Json[];
    const allIds = [...new Set([...report.findings, ...report.suppressed].map((f) => f.vulnId))].sort();
    expect(rules.map((r) => r.id)).toEqual(allIds);
    const looney = rules.find((r) => r.id === 'CVE-2023-4911') as Json;
    // Real NVD values: 7.8 from nvd@nist.gov (Primary) and secalert@redhat.com (Secondary).
    expect(looney.properties['security-severity']).toBe('7.8');
    expect(looney.properties.cvss).toHaveLength(2);
    expect(looney.properties.kev).toBe(true);
    expect(looney.properties.cwes).toEqual(['CWE-122', 'CWE-787']);
    expect(looney.defaultConfiguration.level).toBe('error');
    expect(looney.help.text).toContain('CISA KEV: added 2023-11-21, due 2023-12-12');
    expect(looney.help.text).toContain('CVSS 3.1 7.8 CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H (nvd@nist.gov)');
    expect(looney.helpUri).toBe('https://security-tracker.debian.org/tracker/CVE-2023-4911');
    const zlib = rules.find((r) => r.id === 'CVE-2023-45853') as Json;
    expect(zlib.properties['security-severity']).toBe('9.8');
    // No CVSS and severity unknown: no security-severity (GitHub then shows no severity rather than a wrong one).
    const unknown = rules.find((r) => r.id === 'CVE-2024-2961') as Json;
    expect(unknown.properties['security-severity']).toBeUndefined();
    for (const r of rules) if (r.properties['security-severity'] !== undefined) expect(Number(r.properties['security-severity'])).toBeGreaterThan(0);
  });

  it('has one result per (vulnerability, package) at the evidence file, with stable fingerprints', () => {
    const results = log.runs[0].results as Json[];
    expect(results).toHaveLength(report.findings.length + report.suppressed.length);
    const rules = log.runs[0].tool.driver.rules as Json[];
    for (const r of results) expect(rules[r.ruleIndex]?.id).toBe(r.ruleId);
    const libc = results.find((r) => r.ruleId === 'CVE-2023-4911' && !r.suppressions) as Json;
    expect(libc.level).toBe('error');
    expect(libc.locations[0].physicalLocation.artifactLocation).toEqual({ uri: 'var/lib/dpkg/status', uriBaseId: 'IMAGEROOT' });
    expect(libc.locations[0].logicalLocations[0].fullyQualifiedName).toMatch(/^pkg:deb\/debian\/libc6@2\.36-9\+deb12u14/);
    expect(libc.message.text).toBe('libc6 2.36-9+deb12u14 (deb) is affected by CVE-2023-4911 (high); fixed in 2.36-9+deb12u3');
    const prints = results.map((r) => r.partialFingerprints['distillFinding/v1'] as string);
    expect(new Set(prints).size).toBe(prints.length);
    // The fingerprint does not depend on the installed version (an upgrade that does not fix keeps the alert).
    const bumped = buildScanReport(sbom, findings.map((f) => ({ ...f, installedVersion: `${f.installedVersion}.1` })), { db, createdAt: FIXTURE_TIME, tool: TOOL });
    const bumpedPrints = (JSON.parse(encodeScanReport(bumped, 'sarif', { sbom })) as Json).runs[0].results.map((r: Json) => r.partialFingerprints['distillFinding/v1']);
    expect(bumpedPrints).toEqual(prints);
  });

  it('marks suppressed findings with an external suppression', () => {
    const results = log.runs[0].results as Json[];
    const vex = results.find((r) => r.ruleId === 'CVE-2023-4911' && r.suppressions) as Json;
    expect(vex.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'vex: not_affected: vulnerable_code_not_present (ld.so is shipped by libc6) (nginx.openvex.json#CVE-2023-4911-libc-bin)' }]);
    const negligible = results.find((r) => r.ruleId === 'CVE-2010-4756') as Json;
    expect(negligible.level).toBe('note');
    expect(negligible.suppressions[0].justification).toMatch(/^negligible: /);
  });

  it('maps severities to levels and band scores when no CVSS matches the severity', () => {
    const zlib = report.findings.find((f) => f.vulnId === 'CVE-2023-45853') as Finding;
    // Distribution said low although NVD says 9.8: the UI must show low, so the score comes from the low band.
    expect(securitySeverity({ ...zlib, severity: { value: 'low', source: 'debian-tracker' } })).toBe(2);
    expect(securitySeverity({ ...zlib, severity: { value: 'critical', source: 'nvd-cvss-v3' } })).toBe(9.8);
    expect(securitySeverity({ ...zlib, cvss: [], severity: { value: 'medium', source: 'debian-tracker' } })).toBe(5.5);
  });
});

describe('cyclonedx-json', () => {
  let text: string;
  let doc: Json;
  beforeAll(() => {
    text = encodeScanReport(report, 'cyclonedx-json', { sbom });
    doc = JSON.parse(text) as Json;
  });

  it('is valid CycloneDX 1.6 (the library’s strict JSON validator)', async () => {
    expect(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text)).toBeNull();
    expect(doc.specVersion).toBe('1.6');
    expect(doc.metadata.timestamp).toBe('2025-09-01T00:00:00.000Z');
  });

  it('carries the same components as distill sbom --format cyclonedx-json', async () => {
    const { encodeCycloneDx } = await import('../../sbom/formats/cyclonedx.js');
    const plain = JSON.parse(encodeCycloneDx({ ...sbom, createdAt: report.createdAt, tool: report.tool })) as Json;
    expect(doc.components).toEqual(plain.components);
    expect(doc.dependencies).toEqual(plain.dependencies);
    expect(doc.serialNumber).not.toBe(plain.serialNumber);
  });

  it('has one vulnerability per (id, package) with ratings, cwes, affects, recommendation and analysis', () => {
    const vulns = doc.vulnerabilities as Json[];
    expect(vulns).toHaveLength(report.findings.length + report.suppressed.length);
    const refs = new Set((doc.components as Json[]).map((c) => c['bom-ref']));
    for (const v of vulns) for (const a of v.affects) expect(refs.has(a.ref)).toBe(true);
    const libc6 = sbom.packages.find((p) => p.name === 'libc6');
    const looney = vulns.find((v) => v.id === 'CVE-2023-4911' && v.affects[0].ref === libc6?.id) as Json;
    expect(looney.source.name).toBe('Debian Security Tracker');
    expect(looney.ratings).toContainEqual({ source: { name: 'nvd-cvss-v3' }, severity: 'high', method: 'other', justification: 'severity taken from nvd-cvss-v3' });
    expect(looney.ratings).toContainEqual({ source: { name: 'nvd@nist.gov' }, score: 7.8, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H' });
    expect(looney.cwes).toEqual([122, 787]);
    expect(looney.recommendation).toBe('Upgrade libc6 to 2.36-9+deb12u3');
    expect(looney.analysis).toBeUndefined();
    const vex = vulns.find((v) => v.id === 'CVE-2023-4911' && v !== looney) as Json;
    expect(vex.analysis).toEqual({ state: 'not_affected', justification: 'code_not_present', detail: 'vex: not_affected: vulnerable_code_not_present (ld.so is shipped by libc6) (nginx.openvex.json#CVE-2023-4911-libc-bin)' });
    const negligible = vulns.find((v) => v.id === 'CVE-2010-4756') as Json;
    expect(negligible.ratings[0].severity).toBe('info');
    expect(negligible.analysis.state).toBe('in_triage');
    expect(vulns.find((v) => v.id === 'CVE-2023-45853')?.recommendation).toBeUndefined();
  });

  it('needs the SBOM, and rejects findings for packages the SBOM does not hold', () => {
    expect(() => encodeScanReport(report, 'cyclonedx-json')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    const stray = buildScanReport(sbom, [{ ...(findings[0] as Finding), packageId: 'pkg:deb/debian/ghost@1' }], { db, createdAt: FIXTURE_TIME, tool: TOOL });
    try {
      encodeScanReport(stray, 'cyclonedx-json', { sbom });
      expect.unreachable();
    } catch (error) {
      expect(isDistillError(error, 'USAGE')).toBe(true);
    }
  });
});

describe('registry', () => {
  it('json is the report as built', () => {
    expect(JSON.parse(encodeScanReport(report, 'json'))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(encodeScanReport(report, 'json', { space: 0 }).split('\n')).toHaveLength(2);
  });

  it('rejects unknown formats with FORMAT_UNKNOWN', () => {
    expect(() => encodeScanReport(report, 'xml' as ScanFormat)).toThrow(expect.objectContaining({ code: 'FORMAT_UNKNOWN' }));
  });

  it('hostile text in findings stays data in every format', () => {
    const evil: Finding = {
      ...(findings[0] as Finding),
      vulnId: 'CVE-2099-0001',
      summary: '</script>\u0000\u202e"\n\t`*_[x](javascript:alert(1))',
      evidence: { ...(findings[0] as Finding).evidence, rule: '\u001b[31mred\u001b[0m' },
    };
    const r = buildScanReport(sbom, [evil], { db, createdAt: FIXTURE_TIME, tool: TOOL });
    const sarif = JSON.parse(encodeScanReport(r, 'sarif', { sbom })) as Json;
    expect(validateSarif(sarif)).toBe(true);
    expect(sarif.runs[0].tool.driver.rules[0].fullDescription.text).toBe(evil.summary);
    expect(sarif.runs[0].tool.driver.rules[0].help.markdown).toContain('\\`\\*\\_\\[x\\](javascript:alert(1))');
    expect(JSON.parse(encodeScanReport(r, 'json')).findings[0].summary).toBe(evil.summary);
    const cdx = encodeScanReport(r, 'cyclonedx-json', { sbom });
    expect((JSON.parse(cdx) as Json).vulnerabilities[0].description).toBe(evil.summary);
  });
});
