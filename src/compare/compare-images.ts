/** @module compare/compare-images — two scanned images side by side: CVEs counted once per image, sizes, shells, package managers, and why each CVE of A is gone from B. */
import type { Readable } from 'node:stream';
import { indexLayer, type LayerIndex } from '../filesystem/layer-index.js';
import { squash } from '../filesystem/squashed-resolver.js';
import type { Finding } from '../match/finding.js';
import { layerCompression } from '../oci/media-types.js';
import { openImage, type OpenImageOptions } from '../oci/open-image.js';
import type { ScanOutcome } from '../report/scan-source.js';
import type { SbomSubject } from '../sbom/package.js';
import { SEVERITIES_DESC } from '../report/scan-report.js';
import { severityRank, type Severity } from '../vuln/severity.js';

export const COMPARISON_SCHEMA_VERSION = '1';

/** Paths whose presence means "a shell is in the image" (symlinks followed, so /bin → usr/bin works). */
export const SHELL_PATHS: readonly string[] = ['/bin/sh', '/usr/bin/sh', '/bin/bash', '/usr/bin/bash', '/bin/ash', '/bin/busybox'];
/** Paths whose presence means "a package manager is in the image". */
export const PACKAGE_MANAGER_PATHS: readonly string[] = ['/usr/bin/dpkg', '/usr/bin/apt', '/usr/bin/apt-get', '/sbin/apk', '/usr/bin/rpm', '/usr/bin/dnf', '/usr/bin/yum', '/usr/bin/microdnf'];

export interface ImageFacts {
  /** Sum of the stored layer blob sizes, only when every layer is stored compressed (gzip or zstd). */
  compressedBytes?: number;
  /** Sum of the layers' uncompressed tar stream lengths (absent when unknown: a saved scan). */
  uncompressedBytes?: number;
  layers: number;
  /** Absent when unknown (a saved scan records packages, not the filesystem). */
  hasShell?: boolean;
  hasPackageManager?: boolean;
  /** The SHELL_PATHS and PACKAGE_MANAGER_PATHS found in the squashed filesystem (absent when unknown). */
  shellPaths?: string[];
  packageManagerPaths?: string[];
}

/**
 * What compareScans needs of one side: the report's shown and suppressed findings, the subject and every
 * package's name and version. A fresh ScanOutcome has it; so does a saved JSON scan report (see saved-scan.ts).
 */
export interface ComparableScan {
  report: { findings: readonly Finding[]; suppressed: readonly Finding[] };
  sbom: { subject: SbomSubject; packages: readonly { name: string; version: string }[] };
  /** Set when the side comes from a saved scan: its file and when it was scanned. */
  savedScan?: { file: string; createdAt: string };
}

/** Opens the image, streams each layer once (counting its tar bytes) and looks for shells and package managers in the squashed view. */
export async function imageFacts(reference: string, options: OpenImageOptions = {}): Promise<ImageFacts> {
  const image = await openImage(reference, options);
  try {
    const layers = await image.layers();
    let uncompressed = 0;
    const indexes: LayerIndex[] = [];
    for (const [index, layer] of layers.entries()) {
      const tar = await layer.uncompressed();
      indexes.push(await indexLayer(counted(tar, (n) => (uncompressed += n)), { layer: index, label: layer.digest }));
    }
    const resolver = squash(indexes, { openLayer: async (index) => layers[index]!.uncompressed() });
    const present = (paths: readonly string[]): string[] => paths.filter((path) => {
      const entry = resolver.stat(path);
      return entry !== undefined && entry.type !== 'dir';
    });
    const shellPaths = present(SHELL_PATHS);
    const packageManagerPaths = present(PACKAGE_MANAGER_PATHS);
    const allCompressed = layers.length > 0 && layers.every((l) => {
      const c = layerCompression(l.mediaType);
      return c === 'gzip' || c === 'zstd';
    });
    return {
      ...(allCompressed ? { compressedBytes: layers.reduce((sum, l) => sum + l.size, 0) } : {}),
      uncompressedBytes: uncompressed,
      layers: layers.length,
      hasShell: shellPaths.length > 0,
      hasPackageManager: packageManagerPaths.length > 0,
      shellPaths,
      packageManagerPaths,
    };
  } finally {
    await image.close();
  }
}

async function* counted(stream: Readable, add: (bytes: number) => void): AsyncIterable<Buffer> {
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    add(chunk.length);
    yield chunk;
  }
}

/** One vulnerability in one image, however many packages it was found on. */
export interface ComparedCve {
  /** The CVE id when the vulnerability has one (its id or an alias), else the feed's id. */
  id: string;
  /** Every other id seen for it (feed ids and aliases), sorted. */
  aliases: string[];
  /** The most severe rating among its findings. */
  severity: Severity;
  kev: boolean;
  /** Highest EPSS probability among its findings. */
  epss?: number;
  fixable: boolean;
  /** `name version` of the packages it was found on, sorted. */
  packages: { name: string; version: string }[];
}

export interface ImageSide {
  reference: string;
  digest?: string;
  /** Present when this side was read from a saved scan (`scan:FILE`) rather than scanned now. */
  savedScan?: { file: string; createdAt: string };
  packages: number;
  cves: { total: number; bySeverity: Record<Severity, number>; kev: number; epssAtLeast0_1: number; fixable: number };
  facts: ImageFacts;
}

export type DisappearanceReason = 'package-removed' | 'newer-version' | 'suppressed';

export interface Disappearance {
  id: string;
  severity: Severity;
  kev: boolean;
  /**
   * `package-removed`: none of the affected packages is in B. `newer-version`: an affected package is in B
   * at a version the vulnerability does not affect. `suppressed`: B still has it, but VEX or a not-applicable
   * rule suppresses it there.
   */
  reason: DisappearanceReason;
  packages: { name: string; versionA: string; versionB?: string }[];
}

export interface Comparison {
  schemaVersion: typeof COMPARISON_SCHEMA_VERSION;
  a: ImageSide;
  b: ImageSide;
  /** (A − B) / A in percent, one decimal; null when A is 0 or the value is unknown on a side. */
  reduction: {
    packages: number | null;
    cves: number | null;
    critical: number | null;
    high: number | null;
    kev: number | null;
    fixable: number | null;
    compressedBytes: number | null;
    uncompressedBytes: number | null;
    layers: number | null;
  };
  /** CVEs of A (once each), most severe first. */
  cvesA: ComparedCve[];
  cvesB: ComparedCve[];
  /** Every CVE of A that B does not show, with the reason. */
  disappeared: Disappearance[];
  /** CVEs B shows that A does not. */
  appeared: string[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Groups findings into vulnerabilities: two findings are one vulnerability when their id sets (id + aliases) meet. */
export function dedupeCves(findings: readonly Finding[]): ComparedCve[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    for (let node = x; node !== root; ) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  for (const f of findings) {
    const ids = [f.vulnId, ...f.aliases];
    for (const id of ids) if (!parent.has(id)) parent.set(id, id);
    for (const id of ids.slice(1)) {
      const a = find(f.vulnId);
      const b = find(id);
      if (a !== b) parent.set(b, a);
    }
  }
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const root = find(f.vulnId);
    const list = groups.get(root);
    if (list) list.push(f);
    else groups.set(root, [f]);
  }
  const out: ComparedCve[] = [];
  for (const members of groups.values()) {
    const ids = new Set<string>();
    for (const f of members) for (const id of [f.vulnId, ...f.aliases]) ids.add(id);
    const sorted = [...ids].sort(cmp);
    const id = sorted.find((x) => x.startsWith('CVE-')) ?? sorted[0]!;
    let severity: Severity = 'unknown';
    let epss: number | undefined;
    const packages = new Map<string, { name: string; version: string }>();
    for (const f of members) {
      if (severityRank(f.severity.value) > severityRank(severity)) severity = f.severity.value;
      if (f.epss && (epss === undefined || f.epss.score > epss)) epss = f.epss.score;
      packages.set(`${f.packageName}\0${f.installedVersion}`, { name: f.packageName, version: f.installedVersion });
    }
    out.push({
      id,
      aliases: sorted.filter((x) => x !== id),
      severity,
      kev: members.some((f) => f.kev !== undefined),
      ...(epss !== undefined ? { epss } : {}),
      fixable: members.some((f) => f.fixState === 'fixed'),
      packages: [...packages.values()].sort((x, y) => cmp(x.name, y.name) || cmp(x.version, y.version)),
    });
  }
  return out.sort((x, y) => severityRank(y.severity) - severityRank(x.severity) || cmp(x.id, y.id));
}

function side(outcome: ScanOutcome | ComparableScan, cves: readonly ComparedCve[], facts: ImageFacts): ImageSide {
  const bySeverity = Object.fromEntries(SEVERITIES_DESC.map((s) => [s, 0])) as Record<Severity, number>;
  for (const c of cves) bySeverity[c.severity]++;
  const subject = outcome.sbom.subject;
  return {
    reference: subject.reference,
    ...(subject.digest !== undefined ? { digest: subject.digest } : {}),
    ...('savedScan' in outcome && outcome.savedScan !== undefined ? { savedScan: { file: outcome.savedScan.file, createdAt: outcome.savedScan.createdAt } } : {}),
    packages: outcome.sbom.packages.length,
    cves: {
      total: cves.length,
      bySeverity,
      kev: cves.filter((c) => c.kev).length,
      epssAtLeast0_1: cves.filter((c) => c.epss !== undefined && c.epss >= 0.1).length,
      fixable: cves.filter((c) => c.fixable).length,
    },
    facts,
  };
}

/** (a − b) / a × 100 with one decimal; null when a is 0 or either value is unknown. */
export function reductionPercent(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || a === 0) return null;
  return Math.round(((a - b) / a) * 1000) / 10;
}

/** Compares two scans of images (shown findings only: what each report counts); each side scanned now or saved. */
export function compareScans(a: ScanOutcome | ComparableScan, b: ScanOutcome | ComparableScan, extra: { a: ImageFacts; b: ImageFacts }): Comparison {
  const cvesA = dedupeCves(a.report.findings);
  const cvesB = dedupeCves(b.report.findings);
  const idsOf = (list: readonly ComparedCve[]): Set<string> => new Set(list.flatMap((c) => [c.id, ...c.aliases]));
  const shownB = idsOf(cvesB);
  const suppressedB = idsOf(dedupeCves(b.report.suppressed));
  const shownA = idsOf(cvesA);
  const inSet = (c: ComparedCve, set: Set<string>): boolean => [c.id, ...c.aliases].some((id) => set.has(id));

  const versionsB = new Map<string, string[]>();
  for (const p of b.sbom.packages) {
    const list = versionsB.get(p.name);
    if (list) list.push(p.version);
    else versionsB.set(p.name, [p.version]);
  }
  const disappeared: Disappearance[] = [];
  for (const c of cvesA) {
    if (inSet(c, shownB)) continue;
    const packages = c.packages.map((p) => {
      const inB = versionsB.get(p.name);
      return { name: p.name, versionA: p.version, ...(inB !== undefined ? { versionB: [...new Set(inB)].sort(cmp).join(', ') } : {}) };
    });
    const reason: DisappearanceReason = inSet(c, suppressedB) ? 'suppressed' : packages.some((p) => p.versionB !== undefined) ? 'newer-version' : 'package-removed';
    disappeared.push({ id: c.id, severity: c.severity, kev: c.kev, reason, packages });
  }
  const sideA = side(a, cvesA, extra.a);
  const sideB = side(b, cvesB, extra.b);
  return {
    schemaVersion: COMPARISON_SCHEMA_VERSION,
    a: sideA,
    b: sideB,
    reduction: {
      packages: reductionPercent(sideA.packages, sideB.packages),
      cves: reductionPercent(sideA.cves.total, sideB.cves.total),
      critical: reductionPercent(sideA.cves.bySeverity.critical, sideB.cves.bySeverity.critical),
      high: reductionPercent(sideA.cves.bySeverity.high, sideB.cves.bySeverity.high),
      kev: reductionPercent(sideA.cves.kev, sideB.cves.kev),
      fixable: reductionPercent(sideA.cves.fixable, sideB.cves.fixable),
      compressedBytes: reductionPercent(extra.a.compressedBytes, extra.b.compressedBytes),
      uncompressedBytes: reductionPercent(extra.a.uncompressedBytes, extra.b.uncompressedBytes),
      layers: reductionPercent(extra.a.layers, extra.b.layers),
    },
    cvesA,
    cvesB,
    disappeared,
    appeared: cvesB.filter((c) => !inSet(c, shownA)).map((c) => c.id),
  };
}
