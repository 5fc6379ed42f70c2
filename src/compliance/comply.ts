/** @module compliance/comply — `complyImage(reference)`: evidence from the image (and a Dockerfile), every check run, results grouped per framework. */
import type { Issue } from '../errors.js';
import { openImage, type OpenImageOptions } from '../oci/open-image.js';
import { runChecks, type CheckResult, type CheckStatus, type SignatureVerdict } from './checks.js';
import type { Dockerfile } from './dockerfile.js';
import { frameworkView, type Framework, type FrameworkView } from './frameworks.js';
import { collectEvidence, type CollectOptions, type LayerRef, type SecretScanStats } from './image-evidence.js';

export const COMPLIANCE_SCHEMA_VERSION = '1';

export interface ComplianceReport {
  schemaVersion: typeof COMPLIANCE_SCHEMA_VERSION;
  subject: { reference: string; digest: string; tags: string[]; layers: LayerRef[]; user: string };
  dockerfile?: string;
  frameworks: FrameworkView[];
  /** Every check, in definition order, whatever the frameworks asked for. */
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
  secretScan: SecretScanStats;
  issues: Issue[];
}

export interface ComplyOptions extends OpenImageOptions, CollectOptions {
  /** Default: cis-docker-1.6. */
  frameworks?: readonly Framework[];
  dockerfile?: Dockerfile;
  /**
   * A signature check decides CIS 4.5 and 4.12 (without one they stay manual). The caller verifies, the library
   * never does: a verdict, or a function given the manifest digest examined, called once the image is read.
   */
  signature?: SignatureVerdict | ((digest: string) => Promise<SignatureVerdict>);
}

export function countStatuses(checks: readonly CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { fail: 0, warn: 0, manual: 0, pass: 0, 'not-applicable': 0 };
  for (const check of checks) counts[check.status]++;
  return counts;
}

/** Opens the image, gathers the evidence once and runs every check. */
export async function complyImage(reference: string, options: ComplyOptions = {}): Promise<ComplianceReport> {
  const image = await openImage(reference, options);
  try {
    const evidence = await collectEvidence(image, options);
    const signature = typeof options.signature === 'function' ? await options.signature(evidence.digest) : options.signature;
    const checks = runChecks({ image: evidence, ...(options.dockerfile !== undefined ? { dockerfile: options.dockerfile } : {}), ...(signature !== undefined ? { signature } : {}) });
    const frameworks: Framework[] = [...new Set<Framework>(options.frameworks ?? ['cis-docker-1.6'])];
    return {
      schemaVersion: COMPLIANCE_SCHEMA_VERSION,
      subject: { reference, digest: evidence.digest, tags: evidence.tags, layers: evidence.layers, user: evidence.config.config?.User ?? '' },
      ...(options.dockerfile !== undefined ? { dockerfile: options.dockerfile.name } : {}),
      frameworks: frameworks.map((f) => frameworkView(f, checks)),
      checks,
      counts: countStatuses(checks),
      secretScan: evidence.secretStats,
      issues: evidence.issues,
    };
  } finally {
    await image.close();
  }
}

/** The gate: `fail` trips on any failed check, `warn` on any failed or warned one. Manual and n/a never trip it. */
export function gateFails(report: ComplianceReport, threshold: 'fail' | 'warn'): boolean {
  return report.counts.fail > 0 || (threshold === 'warn' && report.counts.warn > 0);
}
