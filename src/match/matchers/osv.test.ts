import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import semver from 'semver';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalogSource } from '../../catalog/catalog-source.js';
import type { Package, Sbom } from '../../sbom/package.js';
import { createMemoryStore, type MemoryVulnStore } from '../../vuln/memory-store.js';
import { importOsv } from '../../feeds/osv.js';
import { nswAdvisories, nswRecords, pypaDir, type NswAdvisory } from '../../../test/fixtures/match/advisories.js';
import { join } from 'node:path';
import { debianRoot } from '../../../test/fixtures/catalog-lang/lang-helpers.js';
import { cached } from '../../../test/helpers/oracles.js';
import { matchSbom } from '../engine.js';
import { osvLookup, osvMatcher, pep503 } from './osv.js';

const PYTHON_DEBS = ['python3-requests', 'python3-urllib3', 'python3-jwt', 'python3-yaml', 'python3-idna', 'python3-certifi', 'python3-chardet', 'python3-jinja2', 'python3-markupsafe'];

/**
 * Oracle for PyPI: OSV range evaluation (osv-schema "Evaluation" pseudo-code) with the reference PEP 440
 * implementation, Python's `packaging` (26.x here).
 */
const PY_ORACLE = String.raw`
import json, sys
from packaging.version import Version, InvalidVersion
cases = json.load(sys.stdin)
out = []
for c in cases:
    v = Version(c["version"])
    hit = c["version"] in c["versions"]
    for r in c["ranges"]:
        evs = []
        for e in r["events"]:
            (k, x), = e.items()
            evs.append((Version("0") if x == "0" else Version(x), k))
        evs.sort(key=lambda t: (t[0], {"introduced": 0}.get(t[1], 1)))
        affected = False
        for x, k in evs:
            if k == "introduced" and v >= x: affected = True
            elif k == "fixed" and v >= x: affected = False
            elif k == "last_affected" and v > x: affected = False
        hit = hit or affected
    out.append(hit)
print(json.dumps(out))
`;

function byName(sbom: Sbom, type: Package['type'], name: string): Package | undefined {
  return sbom.packages.find((p) => p.type === type && p.name.toLowerCase() === name.toLowerCase());
}

describe('OSV matcher: real PyPA records against Python packages installed from Debian bookworm', () => {
  let sbom: Sbom;
  let store: MemoryVulnStore;

  beforeAll(async () => {
    sbom = await catalogSource(`dir:${debianRoot('match-python', PYTHON_DEBS)}`);
    // The whole PyPA database (2661 YAML records) through the OSV feed importer.
    store = createMemoryStore();
    const imported = await importOsv(join(pypaDir(), 'vulns'), store, { origin: 'pypa-advisory-database@3ccb612', fetchedAt: new Date('2026-12-03T00:00:00Z') });
    expect(imported.vulnerabilities).toBe(2661);
  }, 300_000);

  it('catalogs the real Debian versions', () => {
    expect(byName(sbom, 'python', 'requests')?.version).toBe('2.28.1');
    expect(byName(sbom, 'python', 'urllib3')?.version).toBe('1.26.12');
    expect(byName(sbom, 'python', 'PyJWT')?.version).toBe('2.6.0');
    expect(byName(sbom, 'python', 'PyYAML')?.version).toBe('6.0');
    expect(byName(sbom, 'python', 'idna')?.version).toBe('3.3');
  });

  it('three advisories by hand', () => {
    const found = (name: string) => osvMatcher.match(byName(sbom, 'python', name)!, { store });
    // requests 2.28.1 is in [2.3.0, 2.31.0): CVE-2023-32681, Proxy-Authorization leaked on HTTPS redirects.
    const requests = found('requests').find((f) => f.vulnId === 'PYSEC-2023-74');
    expect(requests).toMatchObject({ aliases: ['CVE-2023-32681', 'GHSA-j8r2-6x86-q33q'], fixState: 'fixed', fixedVersions: ['2.31.0'] });
    expect(requests!.evidence).toMatchObject({ matcher: 'osv-pypi', namespace: 'pypi', searchedName: 'requests', searchedVersion: '2.28.1' });
    // urllib3: events are written out of order ([2.0.0, 2.0.6) then [0, 1.26.17)); 1.26.12 is in the second
    // interval (CVE-2023-43804, Cookie header kept on cross-origin redirects); 1.24.2 fixed CVE-2018-25091 long before.
    const urllib3 = found('urllib3').map((f) => f.vulnId);
    expect(urllib3).toContain('PYSEC-2023-192');
    expect(urllib3).toContain('PYSEC-2023-212');
    expect(urllib3).not.toContain('PYSEC-2023-207');
    // PyJWT 2.6.0 is past the fix 2.4.0 of CVE-2022-29217 (algorithm confusion): no finding. PEP 503: PyJWT → pyjwt.
    expect(osvLookup(byName(sbom, 'python', 'PyJWT')!)?.name).toBe('pyjwt');
    expect(found('PyJWT').map((f) => f.vulnId)).not.toContain('PYSEC-2022-202');
    // idna 3.3 is in [0.1, 3.7): CVE-2024-3651, quadratic idna.encode().
    expect(found('idna').map((f) => f.vulnId)).toEqual(['PYSEC-2024-60']);
    // PyYAML 6.0 is past every PyPA record (latest fix 5.4, CVE-2020-14343).
    expect(found('PyYAML')).toEqual([]);
  });

  it('agrees with packaging (PEP 440 reference) on every record of every installed package', () => {
    const cases: Array<{ key: string; version: string; ranges: unknown; versions: string[] }> = [];
    for (const pkg of sbom.packages.filter((p) => p.type === 'python')) {
      for (const r of store.affected('pypi', pep503(pkg.name))) cases.push({ key: `${pkg.name} ${r.vulnId}`, version: pkg.version, ranges: r.ranges, versions: r.versions });
    }
    expect(cases.length).toBeGreaterThan(20);
    const oracle = JSON.parse(execFileSync('python3', ['-c', PY_ORACLE], { input: JSON.stringify(cases), encoding: 'utf8' })) as boolean[];
    const expected = new Set(cases.filter((_, i) => oracle[i]).map((c) => c.key));
    const result = matchSbom(sbom, store);
    const got = new Set(result.findings.filter((f) => f.packageType === 'python').map((f) => `${f.packageName} ${f.vulnId}`));
    expect(got).toEqual(expected);
    expect(result.coverage.find((c) => c.namespace === 'pypi')).toMatchObject({ hasData: true });
  });

  it('a withdrawn record never matches', () => {
    const local = createMemoryStore();
    local.putAffected(store.affected('pypi', 'idna'));
    const record = store.vulnerabilities(['PYSEC-2024-60']).get('PYSEC-2024-60')!.find((v) => v.id === 'PYSEC-2024-60')!;
    expect(osvMatcher.match(byName(sbom, 'python', 'idna')!, { store: local }).map((f) => f.vulnId)).toEqual(['PYSEC-2024-60']);
    local.putVulnerabilities([{ ...record, withdrawn: '2024-05-01T00:00:00Z' }]);
    expect(osvMatcher.match(byName(sbom, 'python', 'idna')!, { store: local })).toEqual([]);
  });
});

const NPM_OLD = ['lodash@4.17.4', 'ms@0.7.0', 'marked@0.3.3', 'jquery@1.8.3', 'handlebars@4.0.5', 'hoek@4.2.0', 'qs@0.6.6', 'ws@1.1.1', 'moment@2.11.1', 'tar@1.0.3'];

function npmInstall(key: string, specs: string[]): string {
  return cached(key, (tmp) => {
    mkdirSync(tmp, { recursive: true });
    execFileSync('npm', ['install', '--prefix', tmp, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...specs], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
}

describe('OSV matcher, SEMVER ranges: nodejs-security-wg advisories on real old npm packages', () => {
  let advisories: NswAdvisory[];
  let store: MemoryVulnStore;
  let skipped: number[];

  beforeAll(() => {
    advisories = nswAdvisories();
    const converted = nswRecords(advisories);
    skipped = converted.skipped;
    store = createMemoryStore();
    store.putAffected(converted.affected);
    store.putVulnerabilities(converted.vulns);
  });

  it('converts nearly every advisory', () => {
    expect(advisories.length).toBe(468);
    expect(skipped.length).toBeLessThan(20);
  });

  it('agrees with node-semver satisfies(vulnerable_versions) on every installed package, hand checks included', async () => {
    const sbom = await catalogSource(`dir:${npmInstall('match-npm-old', NPM_OLD)}`);
    const sbom2 = await catalogSource(`dir:${npmInstall('match-npm-lodash-4.17.15', ['lodash@4.17.15'])}`);
    const result = matchSbom(sbom, store);
    const result2 = matchSbom(sbom2, store);
    const got = new Set([...result.findings, ...result2.findings].map((f) => `${f.packageName}@${f.installedVersion} ${f.vulnId}`));
    const expected = new Set<string>();
    const npmPackages = [...sbom.packages, ...sbom2.packages].filter((p) => p.type === 'npm');
    for (const pkg of npmPackages) {
      for (const a of advisories) {
        if (a.module_name !== pkg.name || skipped.includes(a.id)) continue;
        if (semver.satisfies(pkg.version, a.vulnerable_versions)) expected.add(`${pkg.name}@${pkg.version} NSWG-ECO-${a.id}`);
      }
    }
    expect(got).toEqual(expected);
    // By hand: lodash 4.17.4 < 4.17.5 (CVE-2018-3721) and < 4.17.11 (CVE-2018-16487); not in [4.17.15, 4.17.19).
    expect(got).toContain('lodash@4.17.4 NSWG-ECO-368');
    expect(got).toContain('lodash@4.17.4 NSWG-ECO-493');
    expect(got).not.toContain('lodash@4.17.4 NSWG-ECO-516');
    // lodash 4.17.15 is the introduced bound of 516 (inclusive), past the fixes of 368 and 493.
    expect(got).toContain('lodash@4.17.15 NSWG-ECO-516');
    expect(got).not.toContain('lodash@4.17.15 NSWG-ECO-493');
    // last_affected is inclusive: marked 0.3.3 is affected by <=0.3.3 (23) and <=0.3.5 (101), not by <=0.3.2 (24).
    expect(got).toContain('marked@0.3.3 NSWG-ECO-23');
    expect(got).toContain('marked@0.3.3 NSWG-ECO-101');
    expect(got).not.toContain('marked@0.3.3 NSWG-ECO-24');
    // Two `||` sets: jquery 1.8.3 is in >=1.4.0 <=1.11.3 (328) and at the top of >=1.7.1 <=1.8.3 (329).
    expect(got).toContain('jquery@1.8.3 NSWG-ECO-328');
    expect(got).toContain('jquery@1.8.3 NSWG-ECO-329');
    // ws 1.1.1 is exactly the patched version of 120 (<=1.1.0).
    expect(got).not.toContain('ws@1.1.1 NSWG-ECO-120');
    const lodash = result.findings.find((f) => f.vulnId === 'NSWG-ECO-368');
    expect(lodash).toMatchObject({ aliases: ['CVE-2018-3721'], fixedVersions: ['4.17.5'], evidence: { matcher: 'osv-npm', searchedName: 'lodash', searchedVersion: '4.17.4' } });
  }, 300_000);
});

describe('osvLookup', () => {
  const base = { id: 'x', cpes: [], licenses: [], locations: [], foundBy: 't' };
  it('names packages as OSV writes them', () => {
    expect(osvLookup({ ...base, type: 'python', name: 'Foo_Bar.baz', version: '1.0', purl: 'pkg:pypi/foo-bar-baz@1.0' })).toEqual({ namespace: 'pypi', name: 'foo-bar-baz', version: '1.0', scheme: 'pep440' });
    expect(osvLookup({ ...base, type: 'go-module', name: 'stdlib', version: 'v1.22.3', purl: 'pkg:golang/stdlib@v1.22.3', goVersion: 'go1.22.3', main: false })).toEqual({ namespace: 'go', name: 'stdlib', version: '1.22.3', scheme: 'go' });
    expect(osvLookup({ ...base, type: 'java-archive', name: 'log4j-core', version: '2.14.1', purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1', groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', virtualPath: 'a.jar' })?.name).toBe('org.apache.logging.log4j:log4j-core');
    expect(osvLookup({ ...base, type: 'java-archive', name: 'thing', version: '1', purl: 'pkg:maven/thing@1', virtualPath: 'a.jar' })).toBeUndefined();
    expect(osvLookup({ ...base, type: 'npm', name: '@babel/core', version: '7.0.0', purl: 'pkg:npm/%40babel/core@7.0.0' })?.name).toBe('@babel/core');
    expect(osvLookup({ ...base, type: 'npm', name: 'serde', version: '1.0.0', purl: 'pkg:cargo/serde@1.0.0' })?.namespace).toBe('crates.io');
  });
});

describe('OSV matcher: Go standard library, Maven and crates.io records through the OSV importer', () => {
  // Hand-written OSV JSON carrying real facts: CVE-2024-24790 (net/netip) fixed in go1.21.11 and go1.22.4;
  // Log4Shell CVE-2021-44228 affects log4j-core from 2.0-beta9 until 2.15.0; RUSTSEC-2021-0078 (hyper) fixed in 0.14.10.
  const records = [
    { schema_version: '1.6.0', id: 'GO-2024-2887', modified: '2024-06-04T00:00:00Z', aliases: ['CVE-2024-24790'], affected: [{ package: { name: 'stdlib', ecosystem: 'Go' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.21.11' }, { introduced: '1.22.0-0' }, { fixed: '1.22.4' }] }] }] },
    { schema_version: '1.6.0', id: 'GHSA-jfh8-c2jp-5v3q', modified: '2024-01-01T00:00:00Z', aliases: ['CVE-2021-44228'], database_specific: { severity: 'CRITICAL' }, affected: [{ package: { name: 'org.apache.logging.log4j:log4j-core', ecosystem: 'Maven' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { fixed: '2.15.0' }] }] }] },
    { schema_version: '1.6.0', id: 'RUSTSEC-2021-0078', modified: '2021-07-07T00:00:00Z', aliases: ['CVE-2021-32715'], affected: [{ package: { name: 'hyper', ecosystem: 'crates.io' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0.0.0-0' }, { fixed: '0.14.10' }] }] }] },
  ];
  const base = { cpes: [], licenses: [], locations: [], foundBy: 't' };
  const stdlib = (v: string): Package => ({ ...base, type: 'go-module', id: `go-${v}`, name: 'stdlib', version: v, purl: `pkg:golang/stdlib@${v}`, goVersion: `go${v.slice(1)}`, main: false });
  const log4j = (v: string): Package => ({ ...base, type: 'java-archive', id: `j-${v}`, name: 'log4j-core', version: v, purl: `pkg:maven/org.apache.logging.log4j/log4j-core@${v}`, groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', virtualPath: 'app.jar' });
  const hyper = (v: string): Package => ({ ...base, type: 'npm', id: `c-${v}`, name: 'hyper', version: v, purl: `pkg:cargo/hyper@${v}` });

  it('matches each ecosystem with its own scheme', async () => {
    const store = createMemoryStore();
    await importOsv(Buffer.from(JSON.stringify(records)), store, { origin: 'test', fetchedAt: new Date(0) });
    const ids = (p: Package) => osvMatcher.match(p, { store }).map((f) => f.vulnId);
    expect(ids(stdlib('v1.22.3'))).toEqual(['GO-2024-2887']);
    expect(ids(stdlib('v1.21.10'))).toEqual(['GO-2024-2887']);
    expect(ids(stdlib('v1.21.11'))).toEqual([]);
    expect(ids(stdlib('v1.22.4'))).toEqual([]);
    expect(ids(log4j('2.14.1'))).toEqual(['GHSA-jfh8-c2jp-5v3q']);
    expect(ids(log4j('2.0-beta9'))).toEqual(['GHSA-jfh8-c2jp-5v3q']);
    expect(ids(log4j('2.0-alpha1'))).toEqual([]);
    expect(ids(log4j('2.15.0'))).toEqual([]);
    const [f] = osvMatcher.match(log4j('2.14.1'), { store });
    expect(f).toMatchObject({ aliases: ['CVE-2021-44228'], severity: { value: 'critical', source: 'osv' }, evidence: { matcher: 'osv-maven', searchedName: 'org.apache.logging.log4j:log4j-core' } });
    expect(ids(hyper('0.14.9'))).toEqual(['RUSTSEC-2021-0078']);
    expect(ids(hyper('0.14.10'))).toEqual([]);
  });
});
