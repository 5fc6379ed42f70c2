/** @module report/scan-source — `scan`: an image, rootfs or SBOM file → SBOM → matches → enrichment → VEX → ScanReport. */
import { readFile } from 'node:fs/promises';
import { catalogSource, type CatalogSourceOptions } from '../catalog/catalog-source.js';
import { enrichFindings } from '../enrich/enrich-findings.js';
import { DistillError } from '../errors.js';
import { matchSbom, type NamespaceCoverage } from '../match/engine.js';
import { applyVex, type VexDocument } from '../match/vex.js';
import { decodeSbom } from '../sbom/formats/index.js';
import type { Sbom } from '../sbom/package.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import { buildScanReport, type ScanReport } from './scan-report.js';

/** Bound for an SBOM given as input: far above real documents, a guard against hostile files. */
const MAX_SBOM_FILE_BYTES = 256 * 1024 * 1024;

export interface ScanSourceOptions extends CatalogSourceOptions {
  store: VulnStore;
  vex?: readonly VexDocument[];
  showNegligible?: boolean;
  onlyFixed?: boolean;
  ignoreUnfixed?: boolean;
  maxDbAgeDays?: number;
}

export interface ScanOutcome {
  report: ScanReport;
  sbom: Sbom;
  /** VEX statements that matched no finding (the CLI warns about each). */
  unmatchedVexStatements: string[];
  coverage: NamespaceCoverage[];
}

/** `sbom:FILE` reads a CycloneDX or SPDX JSON (Trivy's and Syft's included); anything else is cataloged. */
export async function sbomFor(reference: string, options: CatalogSourceOptions): Promise<Sbom> {
  if (!reference.startsWith('sbom:')) return catalogSource(reference, options);
  const path = reference.slice('sbom:'.length);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DistillError('SOURCE_NOT_FOUND', `cannot read SBOM ${path}: ${(error as Error).message}`, { subject: path, cause: error, hint: 'check the path after sbom:' });
  }
  if (bytes.length > MAX_SBOM_FILE_BYTES) throw new DistillError('SBOM_INVALID', `${path} is larger than ${MAX_SBOM_FILE_BYTES} bytes`, { subject: path });
  const sbom = decodeSbom(bytes);
  return { ...sbom, subject: { ...sbom.subject, reference, transport: 'sbom' } };
}

export async function scanSource(reference: string, options: ScanSourceOptions): Promise<ScanOutcome> {
  const sbom = await sbomFor(reference, options);
  return scanSbom(sbom, options);
}

/** Matches an SBOM against the store and builds the report (exported for callers that already hold an SBOM). */
export function scanSbom(sbom: Sbom, options: ScanSourceOptions): ScanOutcome {
  const matched = matchSbom(sbom, options.store, { onProgress: options.onProgress });
  const enriched = enrichFindings(matched.findings, options.store);
  const vexed = options.vex && options.vex.length > 0 ? applyVex(enriched, options.vex, { subjects: subjectsOf(sbom) }) : { findings: enriched, unmatchedStatements: [] };
  options.onProgress?.({ kind: 'match-done', packages: sbom.packages.length, findings: vexed.findings.length });
  const withIssues: Sbom = { ...sbom, issues: [...sbom.issues, ...matched.issues] };
  const report = buildScanReport(withIssues, vexed.findings, {
    db: options.store.feeds(),
    createdAt: options.now ?? new Date(),
    tool: options.tool ?? { name: 'distill', version: '0.0.0' },
    showNegligible: options.showNegligible,
    onlyFixed: options.onlyFixed,
    ignoreUnfixed: options.ignoreUnfixed,
    maxDbAgeDays: options.maxDbAgeDays,
  });
  return { report, sbom: withIssues, unmatchedVexStatements: vexed.unmatchedStatements, coverage: matched.coverage };
}

/** What a VEX product may name to mean "this image": its reference and manifest digest. */
function subjectsOf(sbom: Sbom): string[] {
  return [sbom.subject.reference, ...(sbom.subject.digest ? [sbom.subject.digest] : []), ...sbom.subject.tags];
}
