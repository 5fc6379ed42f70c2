/** @module storage/app-store — the application database contract (images, builds, scans, findings, compliance, events, API tokens) shared by the SQLite and PostgreSQL stores, the server and the workers. */
import type { Sbom } from '../sbom/package.js';
import type { ScanReport, ScanSummary } from '../report/scan-report.js';
import type { Severity } from '../vuln/severity.js';
import type { FixState } from '../vuln/vulnerability.js';

/**
 * History is append-only: builds, scans, compliance runs and events are never updated or deleted, so the trend
 * view can show when and why counts changed. Only catalog entries (images) and token last-use times are updated.
 * Timestamps are ISO 8601 strings in UTC; ids are opaque strings chosen by the store.
 */

/** One image the dashboard tracks: a catalog recipe, or any image that was scanned under a name. */
export interface ImageRecord {
  /** Stable name: the catalog name (`nginx`) or the name a scan was filed under. */
  name: string;
  /** Recipe path, for catalog images. */
  recipe?: string;
  /** The public image it replaces (`nginx:bookworm`). */
  replaces?: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

export interface ImageInput {
  name: string;
  recipe?: string;
  replaces?: string;
  description?: string;
}

export interface BuildPackage {
  name: string;
  version: string;
  arch: string;
}

export interface BuildRecord {
  id: string;
  image: string;
  createdAt: string;
  /** Manifest digest of the built image (per arch) and the index digest when several arches were built. */
  digest: string;
  arch: string;
  packages: BuildPackage[];
  compressedBytes?: number;
  uncompressedBytes?: number;
  /** Why the build ran: `manual`, `packages changed: libssl3 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1`, … */
  reason: string;
}

/**
 * `key` (optional, additive) is an idempotency key: a second add with the same key writes nothing and returns the
 * record the first one stored, so a retried job never writes a duplicate row (a unique constraint enforces it).
 */
export type BuildInput = Omit<BuildRecord, 'id' | 'createdAt'> & { createdAt?: string; key?: string };

/** What a scan was of, relative to its image: the minimal image, the public image it replaces, or anything else. */
export type ScanRole = 'minimal' | 'stock' | 'upload' | 'other';

/** A scan without its heavy documents: what lists, trends and the catalog page need. */
export interface ScanHeader {
  id: string;
  /** The image it is filed under, if any. */
  image?: string;
  role: ScanRole;
  /** The reference as given (`docker-archive:…`, `sbom:…`, an upload's file name). */
  subject: string;
  /** Manifest digest when the subject was an image. */
  digest?: string;
  createdAt: string;
  packages: number;
  summary: ScanSummary;
  /** Digest over the feeds the DB held (changes when the DB changes): what triggers a rescan. */
  dbDigest: string;
  /** Why it ran: `manual`, `upload`, `rescan: vulnerability DB changed`, `build <id>`. */
  reason: string;
  /** The scan this one re-ran (same SBOM, newer DB). */
  rescanOf?: string;
}

export interface ScanRecord extends ScanHeader {
  report: ScanReport;
  sbom: Sbom;
}

/** `key`: idempotency key, as for BuildInput. */
export type ScanInput = Omit<ScanRecord, 'id' | 'createdAt' | 'summary' | 'packages'> & { createdAt?: string; key?: string };

/** One shown finding of a scan, flattened for filtering and sorting in SQL. */
export interface FindingRow {
  scanId: string;
  vulnId: string;
  packageName: string;
  installedVersion: string;
  severity: Severity;
  fixState: FixState;
  fixedVersion?: string;
  kev: boolean;
  epss?: number;
}

export interface FindingQuery {
  severity?: Severity;
  kev?: boolean;
  fixable?: boolean;
  /** Substring of the vulnerability id or package name. */
  search?: string;
  limit?: number;
  offset?: number;
}

export interface ComplianceRecord {
  id: string;
  image?: string;
  scanId?: string;
  framework: string;
  createdAt: string;
  passed: number;
  failed: number;
  manual: number;
  /** The full compliance report document (src/compliance). */
  results: unknown;
}

export type ComplianceInput = Omit<ComplianceRecord, 'id' | 'createdAt'> & { createdAt?: string };

/** A compliance run's counts without its report: what the catalog shows for each image. */
export interface ComplianceSummary {
  id: string;
  image: string;
  framework: string;
  createdAt: string;
  passed: number;
  failed: number;
  manual: number;
}

export type EventKind = 'build' | 'scan' | 'rescan' | 'db-update' | 'packages-changed' | 'compliance';

export interface EventRecord {
  id: string;
  at: string;
  kind: EventKind;
  image?: string;
  message: string;
  /** Ids of the build/scan it produced, counts before and after, … */
  details: Record<string, unknown>;
}

/** `key`: idempotency key, as for BuildInput. */
export type EventInput = Omit<EventRecord, 'id' | 'at'> & { at?: string; key?: string };

/** One point of the trend view: the counts of one scan. */
export interface TrendPoint {
  at: string;
  image?: string;
  scanId: string;
  role: ScanRole;
  total: number;
  bySeverity: Record<Severity, number>;
  kev: number;
}

export interface TokenRecord {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string;
}

export interface ListOptions {
  limit?: number;
  /** Only rows created before this ISO time (pagination from the newest). */
  before?: string;
}

/** Both stores implement this contract with the same behaviour; one contract suite runs against each. */
export interface AppStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations (idempotent); refuses a database written by a newer schema. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  upsertImage(input: ImageInput): Promise<ImageRecord>;
  getImage(name: string): Promise<ImageRecord | undefined>;
  /** Images in name order. */
  listImages(): Promise<ImageRecord[]>;

  addBuild(input: BuildInput): Promise<BuildRecord>;
  getBuild(id: string): Promise<BuildRecord | undefined>;
  /** Newest first. */
  listBuilds(image: string, options?: ListOptions): Promise<BuildRecord[]>;
  /** The newest build of every image, in image name order: for each image what `listBuilds(image, { limit: 1 })` returns. */
  latestBuilds(): Promise<BuildRecord[]>;

  /** Stores the scan and its shown findings as FindingRows. */
  addScan(input: ScanInput): Promise<ScanHeader>;
  getScan(id: string): Promise<ScanRecord | undefined>;
  /** Newest first; `image` and `role` filter. */
  listScans(filter?: ListOptions & { image?: string; role?: ScanRole }): Promise<ScanHeader[]>;
  /** The newest scan of each (image, role) pair. */
  latestScans(): Promise<ScanHeader[]>;
  listFindings(scanId: string, query?: FindingQuery): Promise<FindingRow[]>;

  addCompliance(input: ComplianceInput): Promise<ComplianceRecord>;
  latestCompliance(image: string, framework?: string): Promise<ComplianceRecord | undefined>;
  /**
   * The newest compliance run of every image (of `framework` only, when given), without the reports, in image
   * name order (UTF-16 code units): for each image the same run `latestCompliance(image, framework)` returns.
   */
  complianceSummaries(framework?: string): Promise<ComplianceSummary[]>;

  addEvent(input: EventInput): Promise<EventRecord>;
  /** Newest first. */
  listEvents(filter?: ListOptions & { image?: string; kind?: EventKind }): Promise<EventRecord[]>;

  /** Scan counts over time, oldest first; `image` filters. */
  trend(filter?: { image?: string; role?: ScanRole; since?: string }): Promise<TrendPoint[]>;

  /** Creates a token and returns its secret once; only a hash is stored. */
  createToken(name: string): Promise<{ record: TokenRecord; secret: string }>;
  /** Constant-time check of a presented secret; records the last use. */
  verifyToken(secret: string): Promise<TokenRecord | undefined>;
}
