/** @module triage/risk-score.test — table cases for the risk formula, including the missing-EPSS prior, and the target-version choice. */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../match/finding.js';
import { finding } from '../../test/fixtures/triage/finding.js';
import { riskScore } from './risk-score.js';
import { chooseTargetVersion } from './triage-plan.js';

const KEV = { cve: 'CVE-2023-4911', vendor: 'GNU', product: 'GNU C Library', name: 'n', dateAdded: '2023-11-21', dueDate: '2023-12-12', requiredAction: 'a', knownRansomwareCampaignUse: 'Unknown' as const };
const GLIBC_V31 = [{ version: '3.1' as const, vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', baseScore: 7.8, source: 'nvd@nist.gov', type: 'Primary' as const }];
const ZLIB_V31 = [{ version: '3.1' as const, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd@nist.gov', type: 'Primary' as const }];
const epss = (score: number, percentile: number) => ({ cve: 'x', score, percentile, date: '2024-03-24', model: 'v2023.03.01' });

describe('risk score', () => {
  // [case, finding, presence, expected score]: each number worked by hand from the formula in docs/triage.md.
  const cases: [string, Finding, 'present' | 'absent' | 'unknown', number][] = [
    // 60 + 40 × (1 × 0.78 × 0.6·0.85·1 × 1) = 75.912
    ['KEV glibc, local, fixed', finding({ kev: KEV, cvss: GLIBC_V31 }), 'present', 75.91],
    // ransomware ×1.25: 60 + 40 × 0.49725 = 79.89
    ['KEV with known ransomware use', finding({ kev: { ...KEV, knownRansomwareCampaignUse: 'Known' }, cvss: GLIBC_V31 }), 'present', 79.89],
    // files absent ×0.3: 60 + 40 × 0.11934 = 64.8
    ['KEV, package files absent', finding({ kev: KEV, cvss: GLIBC_V31 }), 'absent', 64.77],
    // L = 0.00121 + 0.1 × 0.45515 × 0.99879 = 0.046671; × 0.98 × 1 × wont-fix 0.7 × 60 = 1.92
    ['zlib EPSS 0.00121 p45, network, won\'t fix', finding({ vulnId: 'CVE-2023-45853', fixState: 'wont-fix', fixedVersions: [], epss: epss(0.00121, 0.45515), cvss: ZLIB_V31 }), 'present', 1.92],
    // same but no EPSS: prior critical 0.1 × 0.98 × 0.7 × 60 = 4.116
    ['zlib without EPSS (prior for critical)', finding({ vulnId: 'CVE-2023-45853', fixState: 'wont-fix', fixedVersions: [], severity: { value: 'critical', source: 'nvd-cvss-v3' }, cvss: ZLIB_V31 }), 'present', 4.12],
    // no EPSS, no CVSS, severity high: 0.05 × 0.7 × 0.8 × 1 × 60 = 1.68
    ['no EPSS, no CVSS, high', finding({ vulnId: 'CVE-2024-2961' }), 'unknown', 1.68],
    // EPSS 0.70585 p97.9: L = 0.73465; × 0.75 × 1 × 1 × 60 = 33.06
    ['HTTP/2 rapid reset EPSS 0.70585 (not KEV here)', finding({ vulnId: 'CVE-2023-44487', epss: epss(0.70585, 0.97949), cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 7.5, source: 'nvd@nist.gov' }] }), 'present', 33.06],
  ];
  it.each(cases)('%s', (_name, f, presence, expected) => {
    expect(riskScore(f, presence).score).toBe(expected);
  });

  it('a finding without EPSS is never scored zero, and KEV always outranks any non-KEV finding', () => {
    for (const value of ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const) {
      const r = riskScore(finding({ severity: { value, source: 'none' } }));
      expect(r.score, value).toBeGreaterThan(0);
      expect(r.factors.likelihoodFrom).toBe('prior');
    }
    const worstNonKev = riskScore(finding({ epss: epss(1, 1), cvss: ZLIB_V31 }));
    const mildKev = riskScore(finding({ kev: KEV, fixState: 'wont-fix', cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', baseScore: 1.6, source: 'nvd' }] }), 'absent');
    expect(worstNonKev.score).toBeLessThan(60);
    expect(mildKev.score).toBeGreaterThanOrEqual(60);
    expect(mildKev.score).toBeGreaterThan(worstNonKev.score);
  });

  it('hostile numbers (NaN, negative, > 1) are clamped, never NaN', () => {
    expect(Number.isNaN(riskScore(finding({ epss: epss(Number.NaN, Number.NaN) })).score)).toBe(false);
    expect(riskScore(finding({ epss: epss(7, -3), cvss: ZLIB_V31 })).score).toBeLessThanOrEqual(60);
  });
});

describe('target version', () => {
  it('picks the fixed version that fixes the most findings, ordered as Debian versions (not as text)', () => {
    const t = chooseTargetVersion('deb', [['3.0.22-1~deb12u3'], ['3.0.22-1~deb12u4'], ['3.0.22-1~deb12u10']]);
    expect(t).toEqual({ version: '3.0.22-1~deb12u10', fixed: [true, true, true] });
    expect(chooseTargetVersion('deb', [['1.0-1'], ['1.0-1']])?.version).toBe('1.0-1');
    expect(chooseTargetVersion('deb', [])).toBeUndefined();
  });
});
