/** @module report/formats/index — the scan report formats registry: encodeScanReport(report, format, options). */
import { DistillError } from '../../errors.js';
import type { Sbom } from '../../sbom/package.js';
import type { ScanReport } from '../scan-report.js';
import { encodeScanCycloneDx } from './cyclonedx.js';
import { encodeScanJson } from './json.js';
import { encodeScanSarif } from './sarif.js';
import { encodeScanTable } from './table.js';

export const SCAN_FORMATS = ['table', 'json', 'sarif', 'cyclonedx-json'] as const;
export type ScanFormat = (typeof SCAN_FORMATS)[number];

export interface ScanEncodeOptions {
  /** The SBOM the report was built from: required for cyclonedx-json (components), used by sarif (evidence paths). */
  sbom?: Sbom;
  /** JSON indentation for the JSON formats (default 2). */
  space?: number;
  /** table: terminal width. */
  width?: number;
  /** table: list suppressed findings; sarif/cyclonedx-json always carry them, marked as suppressed. */
  showSuppressed?: boolean;
  /** table: the CLI's flag names for the hint line. */
  flags?: { showSuppressed?: string; showNegligible?: string };
}

export function isScanFormat(value: string): value is ScanFormat {
  return (SCAN_FORMATS as readonly string[]).includes(value);
}

/** Encodes a ScanReport; every format is deterministic for equal input and ends with a newline. */
export function encodeScanReport(report: ScanReport, format: ScanFormat, options: ScanEncodeOptions = {}): string {
  const space = options.space === undefined ? {} : { space: options.space };
  switch (format) {
    case 'table':
      return encodeScanTable(report, {
        ...(options.width === undefined ? {} : { width: options.width }),
        ...(options.showSuppressed === undefined ? {} : { showSuppressed: options.showSuppressed }),
        ...(options.flags ? { flags: options.flags } : {}),
      });
    case 'json':
      return encodeScanJson(report, space);
    case 'sarif':
      return encodeScanSarif(report, { ...space, ...(options.sbom ? { sbom: options.sbom } : {}) });
    case 'cyclonedx-json':
      if (!options.sbom) {
        throw new DistillError('USAGE', 'the cyclonedx-json scan format needs the SBOM the report was built from', { hint: 'pass options.sbom', subject: format });
      }
      return encodeScanCycloneDx(report, options.sbom, space);
    default:
      throw new DistillError('FORMAT_UNKNOWN', `unknown scan report format "${String(format)}"`, { hint: `use one of ${SCAN_FORMATS.join(', ')}`, subject: String(format) });
  }
}

export { encodeScanCycloneDx, type ScanCycloneDxOptions } from './cyclonedx.js';
export { encodeScanJson, type ScanJsonOptions } from './json.js';
export { encodeScanSarif, sarifLevel, securitySeverity, SARIF_SCHEMA_URI, type ScanSarifOptions } from './sarif.js';
export { encodeScanTable, type ScanTableOptions } from './table.js';
