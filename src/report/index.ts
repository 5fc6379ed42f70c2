/** @module report/index — the public surface of report: ScanReport, buildScanReport, the --fail-on gate and the formats. */
export {
  buildScanReport,
  compareFindings,
  DEFAULT_MAX_AGE_DAYS,
  gateFailures,
  gatePasses,
  hasFix,
  NEGLIGIBLE_REASON,
  normalizeFinding,
  SCAN_REPORT_SCHEMA_VERSION,
  SEVERITIES_DESC,
  type BuildScanReportOptions,
  type ReportFeed,
  type ReportFilters,
  type ScanReport,
  type ScanSummary,
} from './scan-report.js';
export * from './formats/index.js';
