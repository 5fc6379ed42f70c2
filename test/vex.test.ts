/** @module test/vex — `distill vex`: stock nginx against distill's nginx, the documents checked against the OpenVEX and CycloneDX 1.6 schemas, the SBOMs, and `scan --vex` (library and built CLI). */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFeedFiles } from '../src/feeds/import-files.js';
import type { Finding } from '../src/match/finding.js';
import { parseVex, purlCovers, type VexDocument } from '../src/match/vex.js';
import { sbomFor, scanSbom, type ScanOutcome } from '../src/report/scan-source.js';
import { imagePurl } from '../src/report/vex/image-purl.js';
import { buildVexStatements, type GeneratedVex } from '../src/report/vex/vex-statements.js';
import { encodeCycloneDxVex, encodeOpenVex } from '../src/report/vex/vex-writers.js';
import type { DebPackage, Sbom } from '../src/sbom/package.js';
import { debPurl } from '../src/sbom/purl.js';
import { findFeedFiles, importPaths } from '../src/storage/vuln-db-update.js';
import { createMemoryStore } from '../src/vuln/memory-store.js';
import type { VulnStore } from '../src/vuln/vuln-store.js';
import { cachedBuild } from './helpers/build-helpers.js';
import { stockImage } from './helpers/oracles.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const root = join(import.meta.dirname, '..');
const fixtures = join(import.meta.dirname, 'fixtures', 'vex');
const now = new Date('2026-12-01T00:00:00Z');
const tool = { name: 'distill', version: 'test' };
const write = { timestamp: now, tool };

let dir: string;
let stockRef: string;
let minimalRef: string;
let sbomA: Sbom;
let sbomB: Sbom;

// CONSTRUCTED tracker records around REAL CVE ids (as in test/compare.test.ts): the fixed versions are set just
// above what the images carry so that they match. CVE-2023-45853 (zlib) is left open ("no fix available");
// CVE-2024-1086 (linux, in CISA KEV) is matched on a linux-libc-dev package added to B's SBOM below.
const fixedEntry = (fixed: string, urgency: string) => ({ releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency } } });
const openEntry = (urgency: string) => ({ releases: { bookworm: { status: 'open', repositories: { bookworm: '0' }, urgency } } });
function tracker(glibcFix: string): Record<string, unknown> {
  return {
    curl: { 'CVE-2023-38545': fixedEntry('7.88.1-10+deb12u16', 'high') },
    perl: { 'CVE-2023-47038': fixedEntry('5.36.0-7+deb12u5', 'medium') },
    openssl: { 'CVE-2023-2975': fixedEntry('3.0.22-1~deb12u3', 'low') },
    glibc: { 'CVE-2023-4911': fixedEntry(glibcFix, 'high') },
    zlib: { 'CVE-2023-45853': openEntry('medium') },
    linux: { 'CVE-2024-1086': fixedEntry('6.1.76-1', 'high') },
  };
}

async function storeWith(name: string, feed: Record<string, unknown>): Promise<VulnStore> {
  const feeds = join(dir, name);
  mkdirSync(feeds);
  writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify(feed));
  const store = createMemoryStore();
  const { files } = await findFeedFiles([feeds]);
  await importFeedFiles(files, store, { fetchedAt: now });
  return store;
}

/** B as the next build would be: libc6 past the glibc fix, and the kernel headers a -dev image would carry. */
function nextB(sbom: Sbom): Sbom {
  const libc = sbom.packages.find((p): p is DebPackage => p.type === 'deb' && p.name === 'libc6')!;
  const version = '2.36-9+deb12u16';
  const headers: DebPackage = { ...libc, name: 'linux-libc-dev', version: '6.1.69-1', sourceName: 'linux', sourceVersion: '6.1.69-1', files: [], id: 'linux-libc-dev-constructed' };
  headers.purl = debPurl({ name: headers.name, version: headers.version, architecture: 'amd64', ...(sbom.distro ? { release: sbom.distro } : {}) });
  const bumped = sbom.packages.map((p) => (p === libc ? { ...libc, version, sourceVersion: version, purl: debPurl({ name: 'libc6', version, architecture: 'amd64', ...(sbom.distro ? { release: sbom.distro } : {}) }) } : p));
  return { ...sbom, packages: [...bumped, headers] };
}

let store: VulnStore;
let strict: VulnStore;
let a: ScanOutcome;
let b: ScanOutcome;
let vex: GeneratedVex;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vex-'));
  stockRef = `docker-archive:${stockImage('nginx')}`;
  minimalRef = `docker-archive:${(await cachedBuild('images/nginx.yaml')).archive}`;
  [sbomA, sbomB] = [await sbomFor(stockRef, {}), await sbomFor(minimalRef, {})];
  store = await storeWith('feeds', tracker('2.36-9+deb12u15'));
  // A stricter (later) record: glibc's fix moved above B's bumped libc6, so B's libc6 matches again.
  strict = await storeWith('strict', tracker('2.36-9+deb12u17'));
  a = scanSbom(sbomA, { store, now, tool });
  b = scanSbom(nextB(sbomB), { store, now, tool });
  vex = buildVexStatements(b, { against: a });
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validator2020(schemaFile: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv as unknown as Ajv);
  // ajv-formats has no "iri": an IRI is a scheme followed by non-space characters (RFC 3987, loosely).
  ajv.addFormat('iri', /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/);
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
}

/** The CycloneDX library's own strict JSON validator for spec 1.6 (its bundled schemas): null when valid. */
async function cycloneDxErrors(text: string): Promise<unknown> {
  return new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text);
}

const statementsFor = (id: string) => vex.statements.filter((s) => s.vulnerability === id);
const purlsOf = (sbom: Sbom, name: string) => sbom.packages.filter((p) => p.name === name).map((p) => p.purl);

describe('vex: distill nginx against stock nginx', () => {
  it('names the image by a pkg:oci purl with its manifest digest', () => {
    expect(vex.product).toBe(imagePurl(sbomB.subject));
    expect(vex.product).toBe(`pkg:oci/nginx@${sbomB.subject.digest}?arch=amd64&repository_url=distill%2Fnginx`);
  });

  it('states what the SBOMs show: absent package → component_not_present, newer version → fixed, remaining → affected with an action', () => {
    const namesB = new Set(b.sbom.packages.map((p) => p.name));
    const purlsA = new Set(a.sbom.packages.map((p) => p.purl));
    const purlsB = new Set(b.sbom.packages.map((p) => p.purl));
    for (const s of vex.statements) {
      expect(s.subcomponents.length).toBeGreaterThan(0);
      if (s.justification === 'component_not_present') {
        for (const purl of s.subcomponents) {
          expect(purlsA.has(purl)).toBe(true);
          expect(namesB.has(a.sbom.packages.find((p) => p.purl === purl)!.name)).toBe(false);
        }
      } else {
        for (const purl of s.subcomponents) expect(purlsB.has(purl)).toBe(true);
      }
      if (s.status === 'affected') expect(s.actionStatement).toBeTruthy();
    }
    // curl and perl are not in distill nginx at all.
    expect(statementsFor('CVE-2023-38545')).toEqual([expect.objectContaining({ status: 'not_affected', justification: 'component_not_present', subcomponents: [...purlsOf(sbomA, 'curl'), ...purlsOf(sbomA, 'libcurl4')].sort() })]);
    expect(statementsFor('CVE-2023-47038')).toEqual([expect.objectContaining({ status: 'not_affected', justification: 'component_not_present', subcomponents: purlsOf(sbomA, 'perl-base') })]);
    // glibc: libc6 is newer in B (fixed, B's purl); libc-bin is not in B.
    const glibc = statementsFor('CVE-2023-4911');
    expect(glibc.map((s) => [s.status, s.justification ?? '', s.subcomponents])).toEqual([
      ['fixed', '', purlsOf(b.sbom, 'libc6')],
      ['not_affected', 'component_not_present', purlsOf(sbomA, 'libc-bin')],
    ]);
    expect(glibc[0]!.statusNotes).toBe(`affected in ${stockRef}: libc6 2.36-9+deb12u14; this image has libc6 2.36-9+deb12u16`);
    expect(glibc[1]!.statusNotes).toBe(`affected in ${stockRef}: libc-bin 2.36-9+deb12u14; not in this image`);
    // openssl: libssl3 is in both at the same version (affected, upgrade); the openssl binary only in A.
    const openssl = statementsFor('CVE-2023-2975');
    expect(openssl.map((s) => [s.status, s.subcomponents])).toEqual([
      ['affected', purlsOf(sbomB, 'libssl3')],
      ['not_affected', purlsOf(sbomA, 'openssl')],
    ]);
    expect(openssl[0]!.actionStatement).toBe('upgrade libssl3 to 3.0.22-1~deb12u3');
    // zlib: open in bookworm → affected with "no fix available".
    expect(statementsFor('CVE-2023-45853')).toEqual([expect.objectContaining({ status: 'affected', subcomponents: purlsOf(sbomB, 'zlib1g') })]);
    expect(statementsFor('CVE-2023-45853')[0]!.actionStatement).toMatch(/^no fix available for zlib1g 1:1\.2\.13\.dfsg-1\+deb12u1 \(not fixed yet\)/);
    // Kernel headers: the matcher marks them not applicable → vulnerable_code_not_present.
    expect(statementsFor('CVE-2024-1086')).toEqual([expect.objectContaining({ status: 'not_affected', justification: 'vulnerable_code_not_present', impactStatement: expect.stringContaining('kernel headers') })]);
    // Sorted by vulnerability id.
    const ids = vex.statements.map((s) => s.vulnerability);
    expect(ids).toEqual([...ids].sort());
  });

  it('writes OpenVEX 0.2.0 that the official schema accepts, byte-identical on every run', () => {
    const validate = validator2020(join(fixtures, 'openvex_json_schema.json'));
    const text = encodeOpenVex(vex, write);
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(encodeOpenVex(buildVexStatements(b, { against: a }), write)).toBe(text);
    expect(doc).toMatchObject({ '@context': 'https://openvex.dev/ns/v0.2.0', author: 'distill', timestamp: '2026-12-01T00:00:00Z', version: 1 });
    expect(doc['@id']).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(encodeOpenVex(vex, { ...write, author: 'security@example.org' })).author).toBe('security@example.org');
    // B alone (no --against) is valid too; and the schema really checks the spec's rules.
    const alone = JSON.parse(encodeOpenVex(buildVexStatements(b), write)) as { statements: Array<Record<string, unknown>> };
    expect(validate(alone)).toBe(true);
    expect(alone.statements.every((s) => s.status === 'affected' || s.justification === 'vulnerable_code_not_present')).toBe(true);
    const broken = structuredClone(alone);
    delete broken.statements.find((s) => s.status === 'affected')!.action_statement;
    expect(validate(broken)).toBe(false);
  });

  it('writes CycloneDX 1.6 VEX that the CycloneDX schema accepts', async () => {
    const text = encodeCycloneDxVex(vex, write);
    const bom = JSON.parse(text) as { serialNumber: string; vulnerabilities: Array<{ id: string; analysis: { state: string; justification?: string; response?: string[] } }> };
    expect(await cycloneDxErrors(text)).toBeNull();
    expect(bom.serialNumber).toMatch(/^urn:uuid:/);
    expect(encodeCycloneDxVex(buildVexStatements(b, { against: a }), write)).toBe(text);
    const states = bom.vulnerabilities.filter((v) => v.id === 'CVE-2023-4911').map((v) => v.analysis.state);
    expect(states).toEqual(['resolved', 'not_affected']);
    expect(bom.vulnerabilities.find((v) => v.id === 'CVE-2023-2975')!.analysis).toMatchObject({ state: 'exploitable', response: ['update'] });
  });

  it('reads its own documents back with the scan parser, statement for statement', () => {
    for (const [text, format] of [[encodeOpenVex(vex, write), 'openvex'], [encodeCycloneDxVex(vex, write), 'cyclonedx']] as const) {
      const doc = parseVex(text, 'generated');
      expect(doc.format).toBe(format);
      const flat = (statements: Array<{ vulnerability: string; status: string; products: Array<{ id: string; subcomponents: string[] }> }>) =>
        statements.flatMap((s) => s.products.flatMap((p) => p.subcomponents.map((sub) => `${s.vulnerability} ${s.status} ${p.id} ${sub}`))).sort();
      expect(flat(doc.statements)).toEqual(flat(vex.statements.map((s) => ({ ...s, products: [{ id: vex.product, subcomponents: s.subcomponents }] }))));
    }
  });
});

/**
 * The definition docs/vex.md gives, written out independently of src/match/vex.ts: a statement applies to a
 * finding of image X when it names the finding's id (or an alias), its product is a pkg:oci purl whose version
 * is X's manifest digest, and one of its subcomponents covers the finding's purl. It suppresses when its status
 * is not_affected or fixed and the finding was not suppressed already.
 */
function expectedSuppressed(doc: VexDocument, outcome: ScanOutcome, ignoreProduct = false): string[] {
  const digest = outcome.sbom.subject.digest;
  const all = [...outcome.report.findings, ...outcome.report.suppressed];
  return all
    .filter((f) => f.suppressed === undefined)
    .filter((f) => doc.statements.some((s) =>
      (s.status === 'not_affected' || s.status === 'fixed') &&
      [f.vulnId, ...f.aliases].some((id) => id === s.vulnerability || s.aliases.includes(id)) &&
      s.products.some((p) => (ignoreProduct || p.id.includes(`@${digest}`)) && p.subcomponents.some((sub) => purlCovers(sub, f.purl)))))
    .map(key)
    .sort();
}
const key = (f: Finding) => `${f.vulnId} ${f.purl}`;
const vexSuppressed = (outcome: ScanOutcome) => outcome.report.suppressed.filter((f) => f.suppressed?.kind === 'vex').map(key).sort();

describe('vex round trip: scan --vex (library)', () => {
  for (const format of ['openvex', 'cyclonedx'] as const) {
    it(`${format}: suppresses exactly the statements that apply to the scanned image, and nothing in another image`, () => {
      const doc = parseVex(format === 'openvex' ? encodeOpenVex(vex, write) : encodeCycloneDxVex(vex, write), 'generated');
      // 1. B on the same data: nothing the document marks fixed/not_affected is reported, so nothing changes.
      const plainB = b;
      const vexedB = scanSbom(nextB(sbomB), { store, now, tool, vex: [doc] });
      expect(vexSuppressed(vexedB)).toEqual(expectedSuppressed(doc, plainB));
      expect(vexSuppressed(vexedB)).toEqual([]);
      expect(vexedB.report.findings.map(key)).toEqual(plainB.report.findings.map(key));
      // Every finding B still shows has an `affected` statement naming its package.
      for (const f of vexedB.report.findings) {
        expect(doc.statements.some((s) => s.status === 'affected' && s.vulnerability === f.vulnId && s.products.some((p) => p.subcomponents.includes(f.purl)))).toBe(true);
      }
      // 2. B on stricter data (glibc's fix moved past B's libc6): the `fixed` statement now applies, and only it.
      const strictPlain = scanSbom(nextB(sbomB), { store: strict, now, tool });
      const strictVexed = scanSbom(nextB(sbomB), { store: strict, now, tool, vex: [doc] });
      const expected = expectedSuppressed(doc, strictPlain);
      expect(expected).toEqual([`CVE-2023-4911 ${purlsOf(b.sbom, 'libc6')[0]}`]);
      expect(vexSuppressed(strictVexed)).toEqual(expected);
      expect(strictVexed.report.findings.map(key)).toEqual(strictPlain.report.findings.map(key).filter((k) => !expected.includes(k)));
      expect(strictVexed.report.suppressed.find((f) => f.vulnId === 'CVE-2023-4911')!.suppressed!.reason).toMatch(/^fixed/);
      // 3. A (a different image): the component_not_present statements name A's own purls, so a product-blind
      //    match would suppress them; the product check keeps every finding of A.
      const vexedA = scanSbom(sbomA, { store, now, tool, vex: [doc] });
      expect(expectedSuppressed(doc, a, true).length).toBeGreaterThan(3);
      expect(expectedSuppressed(doc, a)).toEqual([]);
      expect(vexSuppressed(vexedA)).toEqual([]);
      expect(vexedA.report.findings.map(key)).toEqual(a.report.findings.map(key));
    });
  }

  it('a versionless pkg:oci product applies by repository; another repository does not', () => {
    const statement = (product: string) => ({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'urn:x', author: 't', timestamp: '2026-01-01T00:00:00Z', version: 1, statements: [{ vulnerability: { name: 'CVE-2023-4911' }, products: [{ '@id': product, subcomponents: [{ '@id': purlsOf(b.sbom, 'libc6')[0]! }] }], status: 'fixed' }] });
    const run = (product: string) => vexSuppressed(scanSbom(nextB(sbomB), { store: strict, now, tool, vex: [parseVex(JSON.stringify(statement(product)))] }));
    expect(run('pkg:oci/nginx?repository_url=distill/nginx')).toHaveLength(1);
    expect(run('pkg:oci/nginx')).toHaveLength(1);
    expect(run('pkg:oci/nginx?repository_url=stock/nginx')).toEqual([]);
    expect(run(`pkg:oci/nginx@${sbomA.subject.digest}`)).toEqual([]);
  });

  it('hostile: a not_affected statement without justification or impact_statement is rejected (VEX_INVALID)', () => {
    const doc = JSON.parse(encodeOpenVex(vex, write)) as { statements: Array<Record<string, unknown>> };
    const target = doc.statements.find((s) => s.justification === 'component_not_present')!;
    delete target.justification;
    expect(() => parseVex(JSON.stringify(doc), 'hostile.json')).toThrow(expect.objectContaining({ code: 'VEX_INVALID', message: expect.stringContaining('needs a justification') }));
    target.justification = 'because_we_said_so';
    expect(() => parseVex(JSON.stringify(doc), 'hostile.json')).toThrow(expect.objectContaining({ code: 'VEX_INVALID' }));
  });
});

describe('vex: the built CLI', () => {
  const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: String(now.getTime() / 1000), ...env } });

  it('writes the document the library writes, and scan --vex applies it only to its image', async () => {
    // dist/ is built once by test/global-setup.ts before the workers start.
    expect(readFileSync(join(root, 'dist', 'cli', 'main.js'), 'utf8')).toContain('registerVexCommand');
    const feeds = join(dir, 'cli-feeds');
    mkdirSync(feeds);
    writeFileSync(join(feeds, 'debian-tracker.json'), JSON.stringify(tracker('2.36-9+deb12u15')));
    const dbPath = join(dir, 'cli.db');
    await importPaths(dbPath, [feeds], { now });
    const out = join(dir, 'nginx.openvex.json');
    const run = cli(['vex', minimalRef, '--against', stockRef, '--db', dbPath, '-o', out]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = readFileSync(out, 'utf8');
    // Same inputs through the library (unmodified images this time) → the same bytes.
    const libA = scanSbom(sbomA, { store, now, tool: { name: 'distill', version: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string } });
    const libB = scanSbom(sbomB, { store, now, tool: libA.report.tool });
    expect(text).toBe(encodeOpenVex(buildVexStatements(libB, { against: libA }), { timestamp: now, tool: libA.report.tool }));
    expect(validator2020(join(fixtures, 'openvex_json_schema.json'))(JSON.parse(text))).toBe(true);
    const doc = parseVex(text, out);
    // scan B --vex: nothing suppressed (the document marks nothing B reports as fixed/not_affected); same findings.
    const scanB = cli(['scan', minimalRef, '--db', dbPath, '--format', 'json', '--vex', out, '-q']);
    expect(scanB.status).toBe(0);
    const reportB = JSON.parse(scanB.stdout) as { findings: Finding[]; suppressed: Finding[] };
    // The statements about packages B does not contain match nothing there, and scan says so, one line each.
    const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('distill: warning: VEX statement matched no finding')).map((l) => /#(\d+):/.exec(l)![1]).map(Number);
    expect(warnings(scanB.stderr)).toEqual(doc.statements.filter((s) => s.justification === 'component_not_present').map((s) => s.index));
    expect(reportB.suppressed.filter((f) => f.suppressed?.kind === 'vex')).toEqual([]);
    expect(reportB.findings.map(key).sort()).toEqual(libB.report.findings.map(key).sort());
    // scan A --vex: a different image; its findings that the statements name by purl stay shown.
    const scanA = cli(['scan', stockRef, '--db', dbPath, '--format', 'json', '--vex', out, '-q']);
    expect(scanA.status).toBe(0);
    const reportA = JSON.parse(scanA.stdout) as { findings: Finding[]; suppressed: Finding[] };
    expect(warnings(scanA.stderr)).toEqual(doc.statements.map((s) => s.index));
    expect(reportA.suppressed.filter((f) => f.suppressed?.kind === 'vex')).toEqual([]);
    expect(reportA.findings.map(key).sort()).toEqual(libA.report.findings.map(key).sort());
    expect(expectedSuppressed(doc, libA, true).length).toBeGreaterThan(0);
    // CycloneDX via the CLI validates too; a product that cannot be named is a usage error.
    const cdx = cli(['vex', minimalRef, '--against', stockRef, '--db', dbPath, '--format', 'cyclonedx']);
    expect(cdx.status).toBe(0);
    expect(await cycloneDxErrors(cdx.stdout)).toBeNull();
    const missing = cli(['vex', 'docker-archive:/nonexistent.tar', '--db', dbPath]);
    expect(missing.status).toBe(3);
  }, 300_000);
});
