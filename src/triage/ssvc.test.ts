/** @module triage/ssvc.test — the full CISA SSVC table, and how each decision point is derived from KEV, EPSS and CVSS. */
import { describe, expect, it } from 'vitest';
import { finding } from '../../test/fixtures/triage/finding.js';
import { ssvcDecision, ssvcLookup, type SsvcAutomatable, type SsvcDecisionValue, type SsvcExploitation, type SsvcMissionImpact, type SsvcTechnicalImpact } from './ssvc.js';

// The 36 leaves of CISA's SSVC guide (Nov 2022), one row per leaf: exploitation, automatable, technical impact, mission → decision.
const LEAVES: [SsvcExploitation, SsvcAutomatable, SsvcTechnicalImpact, SsvcMissionImpact, SsvcDecisionValue][] = [
  ['none', 'no', 'partial', 'low', 'Track'], ['none', 'no', 'partial', 'medium', 'Track'], ['none', 'no', 'partial', 'high', 'Track'],
  ['none', 'no', 'total', 'low', 'Track'], ['none', 'no', 'total', 'medium', 'Track'], ['none', 'no', 'total', 'high', 'Track*'],
  ['none', 'yes', 'partial', 'low', 'Track'], ['none', 'yes', 'partial', 'medium', 'Track'], ['none', 'yes', 'partial', 'high', 'Attend'],
  ['none', 'yes', 'total', 'low', 'Track'], ['none', 'yes', 'total', 'medium', 'Track'], ['none', 'yes', 'total', 'high', 'Attend'],
  ['poc', 'no', 'partial', 'low', 'Track'], ['poc', 'no', 'partial', 'medium', 'Track'], ['poc', 'no', 'partial', 'high', 'Track*'],
  ['poc', 'no', 'total', 'low', 'Track'], ['poc', 'no', 'total', 'medium', 'Track*'], ['poc', 'no', 'total', 'high', 'Attend'],
  ['poc', 'yes', 'partial', 'low', 'Track'], ['poc', 'yes', 'partial', 'medium', 'Track'], ['poc', 'yes', 'partial', 'high', 'Attend'],
  ['poc', 'yes', 'total', 'low', 'Track'], ['poc', 'yes', 'total', 'medium', 'Track*'], ['poc', 'yes', 'total', 'high', 'Attend'],
  ['active', 'no', 'partial', 'low', 'Track'], ['active', 'no', 'partial', 'medium', 'Track'], ['active', 'no', 'partial', 'high', 'Attend'],
  ['active', 'no', 'total', 'low', 'Track'], ['active', 'no', 'total', 'medium', 'Attend'], ['active', 'no', 'total', 'high', 'Act'],
  ['active', 'yes', 'partial', 'low', 'Attend'], ['active', 'yes', 'partial', 'medium', 'Attend'], ['active', 'yes', 'partial', 'high', 'Act'],
  ['active', 'yes', 'total', 'low', 'Attend'], ['active', 'yes', 'total', 'medium', 'Act'], ['active', 'yes', 'total', 'high', 'Act'],
];

const KEV = { cve: 'CVE-2023-4911', vendor: 'GNU', product: 'GNU C Library', name: 'n', dateAdded: '2023-11-21', dueDate: '2023-12-12', requiredAction: 'Apply mitigations', knownRansomwareCampaignUse: 'Unknown' as const };
const V31 = (vector: string, baseScore: number) => [{ version: '3.1' as const, vector, baseScore, source: 'nvd@nist.gov', type: 'Primary' as const }];

describe('SSVC', () => {
  it('encodes all 36 leaves of the CISA table', () => {
    expect(LEAVES).toHaveLength(36);
    expect(new Set(LEAVES.map((l) => l.slice(0, 4).join('/'))).size).toBe(36);
    for (const [exploitation, automatable, technicalImpact, missionImpact, decision] of LEAVES) {
      expect(ssvcLookup({ exploitation, automatable, technicalImpact, missionImpact }), `${exploitation}/${automatable}/${technicalImpact}/${missionImpact}`).toBe(decision);
    }
  });

  it('KEV → active; local glibc vector → not automatable; C:H I:H → total (CVE-2023-4911, NVD vector)', () => {
    const d = ssvcDecision(finding({ kev: KEV, cvss: V31('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8) }));
    expect(d.exploitation).toEqual({ value: 'active', reason: 'in CISA KEV (added 2023-11-21)' });
    expect(d.automatable.value).toBe('no');
    expect(d.automatable.reason).toContain('AV:L PR:L UI:N');
    expect(d.technicalImpact.value).toBe('total');
    expect(d.missionImpact).toEqual({ value: 'medium', reason: 'default (medium)' });
    expect(d.decision).toBe('Attend');
    expect(ssvcDecision(finding({ kev: KEV, cvss: V31('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8) }), { missionImpact: 'high' }).decision).toBe('Act');
  });

  it('EPSS ≥ 0.1 → poc; AV:N/PR:N/UI:N → automatable (CVE-2023-44487 EPSS 0.70585)', () => {
    const d = ssvcDecision(finding({ vulnId: 'CVE-2023-44487', epss: { cve: 'CVE-2023-44487', score: 0.70585, percentile: 0.97949, date: '2024-03-24', model: 'v2023.03.01' }, cvss: V31('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5) }));
    expect([d.exploitation.value, d.automatable.value, d.technicalImpact.value, d.decision]).toEqual(['poc', 'yes', 'partial', 'Track']);
    expect(ssvcDecision(finding({ epss: { cve: 'x', score: 0.0999, percentile: 0.9, date: 'd', model: 'm' } })).exploitation.value).toBe('none');
  });

  it('no EPSS and no vector: exploitation none, not automatable, technical impact from severity', () => {
    const d = ssvcDecision(finding({ severity: { value: 'critical', source: 'debian-tracker' } }));
    expect(d.exploitation.reason).toBe('not in KEV; no EPSS score');
    expect(d.automatable).toEqual({ value: 'no', reason: 'no CVSS vector' });
    expect(d.technicalImpact.value).toBe('total');
    expect(ssvcDecision(finding()).technicalImpact.value).toBe('partial');
  });

  it('reads v2 and v4 vectors', () => {
    const v2 = ssvcDecision(finding({ cvss: [{ version: '2.0', vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C', baseScore: 10, source: 'nvd' }] }), { missionImpact: 'high' });
    expect([v2.automatable.value, v2.technicalImpact.value, v2.decision]).toEqual(['yes', 'total', 'Attend']);
    const v4 = ssvcDecision(finding({ cvss: [{ version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseScore: 9.3, source: 'cna' }] }));
    expect([v4.automatable.value, v4.technicalImpact.value]).toEqual(['no', 'total']);
  });

  it('hostile vectors: garbage and oversized strings give no metrics, never a throw', () => {
    const junk = ssvcDecision(finding({ cvss: V31('AV:Q/PR:/UI:N:N/C:H', 9) }));
    expect(junk.automatable.value).toBe('no');
    expect(junk.technicalImpact.reason).toContain('no CVSS impact metrics');
    expect(ssvcDecision(finding({ cvss: V31(`CVSS:3.1/${'AV:N/'.repeat(500)}`, 9) })).automatable.value).toBe('no');
  });
});
