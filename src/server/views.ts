/** @module server/views — the dashboard's and API's read models, assembled from the AppStore (plain data; pages render it). */
import { compareScans, type Comparison, type ImageFacts } from '../compare/compare-images.js';
import { DistillError } from '../errors.js';
import type { AppStore, BuildRecord, ComplianceRecord, ComplianceSummary, FindingQuery, FindingRow, ImageRecord, ScanHeader, ScanRecord, TrendPoint } from '../storage/app-store.js';
import { severityRank, type Severity } from '../vuln/severity.js';

export interface ScanFigures {
  scanId: string;
  at: string;
  total: number;
  bySeverity: Record<Severity, number>;
  kev: number;
  fixable: number;
  packages: number;
}

export interface ComplianceStatus {
  framework: string;
  at: string;
  passed: number;
  failed: number;
  manual: number;
}

/** One row of the catalog: the minimal image against the public image it replaces. */
export interface CatalogRow {
  name: string;
  replaces?: string;
  description?: string;
  minimal?: ScanFigures;
  stock?: ScanFigures;
  /** Latest build: when, digest, sizes. */
  lastBuild?: { id: string; at: string; digest: string; compressedBytes?: number; uncompressedBytes?: number; packages: number };
  compliance?: ComplianceStatus;
}

export function figures(scan: ScanHeader): ScanFigures {
  return { scanId: scan.id, at: scan.createdAt, total: scan.summary.total, bySeverity: scan.summary.bySeverity, kev: scan.summary.kev, fixable: scan.summary.fixable, packages: scan.packages };
}

function complianceStatus(record: ComplianceSummary | undefined): ComplianceStatus | undefined {
  return record === undefined ? undefined : { framework: record.framework, at: record.createdAt, passed: record.passed, failed: record.failed, manual: record.manual };
}

function lastBuildOf(build: BuildRecord | undefined): CatalogRow['lastBuild'] {
  if (build === undefined) return undefined;
  return {
    id: build.id,
    at: build.createdAt,
    digest: build.digest,
    ...(build.compressedBytes !== undefined ? { compressedBytes: build.compressedBytes } : {}),
    ...(build.uncompressedBytes !== undefined ? { uncompressedBytes: build.uncompressedBytes } : {}),
    packages: build.packages.length,
  };
}

/** Every image with its newest minimal and stock scans, newest build and compliance run. */
export async function catalogRows(store: AppStore): Promise<CatalogRow[]> {
  // Four whole-table reads, whatever the number of images: no per-image round trips, no compliance reports parsed.
  const [images, latest, builds, compliance] = await Promise.all([store.listImages(), store.latestScans(), store.latestBuilds(), store.complianceSummaries()]);
  const byKey = new Map<string, ScanHeader>();
  for (const scan of latest) if (scan.image !== undefined) byKey.set(`${scan.image}\0${scan.role}`, scan);
  const buildOf = new Map(builds.map((build) => [build.image, build]));
  const complianceOf = new Map(compliance.map((summary) => [summary.image, summary]));
  return images.map((image): CatalogRow => {
    const minimal = byKey.get(`${image.name}\0minimal`) ?? byKey.get(`${image.name}\0upload`) ?? byKey.get(`${image.name}\0other`);
    const stock = byKey.get(`${image.name}\0stock`);
    const build = lastBuildOf(buildOf.get(image.name));
    const status = complianceStatus(complianceOf.get(image.name));
    return {
      name: image.name,
      ...(image.replaces !== undefined ? { replaces: image.replaces } : {}),
      ...(image.description !== undefined ? { description: image.description } : {}),
      ...(minimal ? { minimal: figures(minimal) } : {}),
      ...(stock ? { stock: figures(stock) } : {}),
      ...(build ? { lastBuild: build } : {}),
      ...(status ? { compliance: status } : {}),
    };
  });
}

export function notFound(what: string, id: string): DistillError {
  return new DistillError('NOT_FOUND', `no ${what} ${JSON.stringify(id)}`, { subject: id });
}

export async function requireImage(store: AppStore, name: string): Promise<ImageRecord> {
  const image = await store.getImage(name);
  if (image === undefined) throw notFound('image', name);
  return image;
}

export async function requireScan(store: AppStore, id: string): Promise<ScanRecord> {
  const scan = await store.getScan(id);
  if (scan === undefined) throw notFound('scan', id);
  return scan;
}

/** What to fix first: KEV, then severity, then EPSS, then fixable, then id. */
export function prioritize(rows: readonly FindingRow[]): FindingRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(b.kev) - Number(a.kev) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      (b.epss ?? -1) - (a.epss ?? -1) ||
      Number(b.fixState === 'fixed') - Number(a.fixState === 'fixed') ||
      (a.vulnId < b.vulnId ? -1 : a.vulnId > b.vulnId ? 1 : 0) ||
      (a.packageName < b.packageName ? -1 : a.packageName > b.packageName ? 1 : 0),
  );
}

export interface ImageView {
  image: ImageRecord;
  minimal?: ScanHeader;
  stock?: ScanHeader;
  findings: FindingRow[];
  findingQuery: FindingQuery;
  builds: BuildRecord[];
  scans: ScanHeader[];
  compliance?: ComplianceRecord;
}

export async function imageView(store: AppStore, name: string, query: FindingQuery): Promise<ImageView> {
  const image = await requireImage(store, name);
  const [scans, builds, compliance] = await Promise.all([store.listScans({ image: name, limit: 50 }), store.listBuilds(name, { limit: 20 }), store.latestCompliance(name)]);
  const minimal = scans.find((s) => s.role === 'minimal') ?? scans.find((s) => s.role !== 'stock');
  const stock = scans.find((s) => s.role === 'stock');
  const findings = minimal === undefined ? [] : prioritize(await store.listFindings(minimal.id, { limit: 500, ...query }));
  return { image, ...(minimal ? { minimal } : {}), ...(stock ? { stock } : {}), findings, findingQuery: query, builds, scans, ...(compliance ? { compliance } : {}) };
}

/** Trend series: per image (minimal scans unless `role` says otherwise) and the fleet total (sum of each image's latest count at each point). */
export interface TrendView {
  role: string;
  series: { image: string; points: { at: string; total: number; kev: number; critical: number; high: number }[] }[];
  total: { at: string; total: number; kev: number }[];
}

export function trendView(points: readonly TrendPoint[], role: string): TrendView {
  const series = new Map<string, TrendView['series'][number]['points']>();
  const current = new Map<string, { total: number; kev: number }>();
  const total: TrendView['total'] = [];
  let sum = 0;
  let kev = 0;
  for (const p of points) {
    const image = p.image ?? '(none)';
    const list = series.get(image) ?? [];
    list.push({ at: p.at, total: p.total, kev: p.kev, critical: p.bySeverity.critical, high: p.bySeverity.high });
    series.set(image, list);
    const before = current.get(image);
    sum += p.total - (before?.total ?? 0);
    kev += p.kev - (before?.kev ?? 0);
    current.set(image, { total: p.total, kev: p.kev });
    total.push({ at: p.at, total: sum, kev });
  }
  return { role, series: [...series.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([image, list]) => ({ image, points: list })), total };
}

/** Shell and package-manager packages, for facts derived from a stored SBOM (the image itself is not kept). */
const SHELL_PACKAGES = new Set(['bash', 'dash', 'busybox', 'busybox-static', 'zsh', 'ash']);
const PACKAGE_MANAGER_PACKAGES = new Set(['dpkg', 'apt', 'apk-tools', 'rpm', 'dnf', 'yum', 'microdnf']);

/** ImageFacts from what a stored scan knows: layer count from the SBOM subject, sizes from a build of the same digest. */
export function storedFacts(scan: ScanRecord, build: BuildRecord | undefined): ImageFacts {
  const names = new Set(scan.sbom.packages.map((p) => p.name));
  const shells = [...names].filter((n) => SHELL_PACKAGES.has(n)).sort();
  const managers = [...names].filter((n) => PACKAGE_MANAGER_PACKAGES.has(n)).sort();
  return {
    ...(build?.compressedBytes !== undefined ? { compressedBytes: build.compressedBytes } : {}),
    ...(build?.uncompressedBytes !== undefined ? { uncompressedBytes: build.uncompressedBytes } : {}),
    layers: scan.sbom.subject.layers.length,
    hasShell: shells.length > 0,
    hasPackageManager: managers.length > 0,
    shellPaths: shells.map((n) => `package ${n}`),
    packageManagerPaths: managers.map((n) => `package ${n}`),
  };
}

async function buildFor(store: AppStore, scan: ScanRecord): Promise<BuildRecord | undefined> {
  if (scan.image === undefined || scan.digest === undefined) return undefined;
  const builds = await store.listBuilds(scan.image, { limit: 50 });
  return builds.find((b) => b.digest === scan.digest);
}

export interface CompareView {
  a: ScanHeader;
  b: ScanHeader;
  comparison: Comparison;
}

/** src/compare on two stored scans (their reports and SBOMs as stored). */
export async function compareView(store: AppStore, idA: string, idB: string): Promise<CompareView> {
  const [a, b] = await Promise.all([requireScan(store, idA), requireScan(store, idB)]);
  const [buildA, buildB] = await Promise.all([buildFor(store, a), buildFor(store, b)]);
  const comparison = compareScans(
    { report: a.report, sbom: a.sbom, unmatchedVexStatements: [], coverage: [] },
    { report: b.report, sbom: b.sbom, unmatchedVexStatements: [], coverage: [] },
    { a: storedFacts(a, buildA), b: storedFacts(b, buildB) },
  );
  return { a: headerOf(a), b: headerOf(b), comparison };
}

export function headerOf(scan: ScanRecord): ScanHeader {
  const { report: _report, sbom: _sbom, ...header } = scan;
  return header;
}
