/** @module report/formats/json — the ScanReport as JSON (the shape of scan-report.schema.json, stable key order). */
import type { ScanReport } from '../scan-report.js';

export interface ScanJsonOptions {
  /** Indentation (default 2). */
  space?: number;
}

/**
 * buildScanReport already rebuilds every object with a fixed key order, so plain JSON.stringify is byte-stable;
 * a trailing newline makes the file end like every other text output.
 */
export function encodeScanJson(report: ScanReport, options: ScanJsonOptions = {}): string {
  return `${JSON.stringify(report, null, options.space ?? 2)}\n`;
}
