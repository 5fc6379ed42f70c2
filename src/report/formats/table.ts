/** @module report/formats/table — the scan report as plain text grouped by package (no colours; the CLI decorates it). */
import type { Finding } from '../../match/finding.js';
import { severityRank } from '../../vuln/severity.js';
import { SEVERITIES_DESC, type ScanReport } from '../scan-report.js';

export interface ScanTableOptions {
  /** Terminal width; wider rows are shortened with `…` (FIXED-IN first, then VULNERABILITY, then NOTES). */
  width?: number;
  /** Also list the suppressed findings, in their own section. */
  showSuppressed?: boolean;
  /** The flag names the hint line mentions (the CLI's). */
  flags?: { showSuppressed?: string; showNegligible?: string };
}

const HEADER = ['VULNERABILITY', 'SEVERITY', 'FIXED-IN', 'STATE', 'NOTES'] as const;
const INDENT = '  ';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function len(value: string): number {
  return [...value].length;
}

function clip(value: string, width: number): string {
  const chars = [...value];
  if (chars.length <= width) return value;
  return width <= 1 ? chars.slice(0, Math.max(0, width)).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** Word-wraps prose lines; continuation lines are indented by two spaces. A word longer than the width is clipped. */
function wrap(line: string, width: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    const next = current ? `${current} ${word}` : word;
    if (len(next) <= width || !current) current = next;
    else {
      out.push(current);
      current = `${INDENT}${word}`;
    }
  }
  out.push(current);
  return out.map((l) => clip(l, width));
}

function percent(score: number): string {
  return `${(score * 100).toFixed(1)}%`;
}

function notes(f: Finding): string {
  const out: string[] = [];
  if (f.kev) out.push(f.kev.knownRansomwareCampaignUse === 'Known' ? 'KEV(ransomware)' : 'KEV');
  if (f.epss) out.push(`EPSS ${percent(f.epss.score)}`);
  if (f.suppressed) out.push(f.suppressed.kind === 'vex' ? `VEX: ${f.suppressed.reason}` : f.suppressed.kind === 'not-applicable' ? `n/a: ${f.suppressed.reason}` : 'hidden: negligible');
  return out.join(' ');
}

function row(f: Finding): string[] {
  return [f.vulnId, f.severity.value, f.fixedVersions.join(', '), f.fixState, notes(f)];
}

interface Group {
  key: string;
  title: string;
  findings: Finding[];
}

/** Groups by package (id), ordered by the group's worst severity, then name, version and id. */
function groups(findings: readonly Finding[]): Group[] {
  const byId = new Map<string, Group & { worst: number; name: string; version: string }>();
  for (const f of findings) {
    let g = byId.get(f.packageId);
    if (!g) {
      g = { key: f.packageId, title: `${f.packageName} ${f.installedVersion} (${f.packageType})`, findings: [], worst: -1, name: f.packageName, version: f.installedVersion };
      byId.set(f.packageId, g);
    }
    g.findings.push(f);
    g.worst = Math.max(g.worst, severityRank(f.severity.value));
  }
  const list = [...byId.values()].sort((a, b) => b.worst - a.worst || cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.key, b.key));
  for (const g of list) g.findings.sort((a, b) => severityRank(b.severity.value) - severityRank(a.severity.value) || cmp(a.vulnId, b.vulnId));
  return list;
}

function section(findings: readonly Finding[], width: number | undefined): string[] {
  const list = groups(findings);
  const rows = list.flatMap((g) => g.findings.map(row));
  const widths = HEADER.map((h, i) => Math.max(len(h), ...rows.map((r) => len(r[i] as string))));
  if (width !== undefined && width > 0) {
    const total = (): number => INDENT.length + widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    // Shrink the most expendable column first; never below its header.
    for (const i of [4, 2, 0]) {
      const floor = len(HEADER[i] as string);
      while (total() > width && (widths[i] as number) > floor) widths[i] = (widths[i] as number) - 1;
    }
  }
  const line = (cells: readonly string[]): string => {
    const text =
      INDENT +
      cells
        .map((cell, i) => {
          const clipped = clip(cell, widths[i] as number);
          return i === cells.length - 1 ? clipped : clipped + ' '.repeat((widths[i] as number) - len(clipped));
        })
        .join('  ')
        .trimEnd();
    // Narrower than the header floors allow: cut the row itself.
    return width !== undefined && width > 0 ? clip(text, width) : text;
  };
  const out: string[] = [];
  for (const g of list) {
    out.push(width !== undefined && width > 0 ? clip(g.title, width) : g.title, line(HEADER), ...g.findings.map((f) => line(row(f))), '');
  }
  return out;
}

function subjectLine(report: ScanReport): string {
  const { subject, distro } = report;
  const platform = subject.platform ? [subject.platform.os, subject.platform.architecture, subject.platform.variant].filter(Boolean).join('/') : '';
  const os = distro ? (distro.prettyName ?? [distro.id, distro.precise ?? distro.versionId].filter(Boolean).join(' ')) : 'unknown OS';
  return [subject.reference, os, platform, subject.digest?.slice(0, 19) ?? ''].filter(Boolean).join('  ');
}

function dbLine(report: ScanReport): string[] {
  if (report.db.length === 0) return ['DB: no vulnerability data (distill db update, or distill db import DIR)'];
  const parts = report.db.map((f) => `${f.feed} ${(f.recordDate ?? f.fetchedAt).slice(0, 10)}${f.ageDays === null ? ' (age unknown)' : ` (${f.ageDays}d)`}`);
  const stale = report.db.filter((f) => f.stale);
  const out = [`DB: ${parts.join(', ')}`];
  if (stale.length > 0) out.push(`WARNING: stale vulnerability data: ${stale.map((f) => f.feed).join(', ')} (run distill db update)`);
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Subject line, DB line (and a warning when a feed is stale), then one block per package —
 * `name version (type)` and rows VULNERABILITY SEVERITY FIXED-IN STATE NOTES (KEV, EPSS %) — then a summary line
 * with the count per severity, and a line saying what is hidden and which flag shows it. Ends with a newline.
 */
export function encodeScanTable(report: ScanReport, options: ScanTableOptions = {}): string {
  const showSuppressedFlag = options.flags?.showSuppressed ?? '--show-suppressed';
  const showNegligibleFlag = options.flags?.showNegligible ?? '--show-negligible';
  const width = options.width !== undefined && options.width > 0 ? options.width : undefined;
  const out: string[] = [width ? clip(subjectLine(report), width) : subjectLine(report), ...dbLine(report), ''];
  if (report.findings.length === 0) out.push('No vulnerabilities found.', '');
  else out.push(...section(report.findings, options.width));
  if (options.showSuppressed && report.suppressed.length > 0) {
    out.push(`Suppressed (${report.suppressed.length}, not counted):`, '', ...section(report.suppressed, options.width));
  }
  const s = report.summary;
  const bySeverity = SEVERITIES_DESC.map((sev) => `${sev} ${s.bySeverity[sev]}`).join(', ');
  out.push(`${s.total} ${s.total === 1 ? 'vulnerability' : 'vulnerabilities'}: ${bySeverity}`);
  out.push(`${s.fixable} fixable, ${s.kev} in CISA KEV, ${s.epssAbove0_1} with EPSS > 10%`);
  const hidden: string[] = [];
  const negligible = s.negligibleHidden;
  const other = s.suppressed - negligible;
  if (negligible > 0) hidden.push(`${negligible} negligible hidden${options.showSuppressed ? ' (listed above)' : ` (${showNegligibleFlag} or ${showSuppressedFlag} shows them)`}`);
  if (other > 0) hidden.push(`${other} suppressed by VEX or not applicable${options.showSuppressed ? ' (listed above)' : ` (${showSuppressedFlag} shows them)`}`);
  if (s.filtered > 0) {
    const why = [report.filters.onlyFixed ? '--only-fixed' : '', report.filters.ignoreUnfixed ? '--ignore-unfixed' : ''].filter(Boolean).join(' and ');
    hidden.push(`${s.filtered} filtered out by ${why}`);
  }
  out.push(...hidden);
  if (report.issues.length > 0) out.push(`${plural(report.issues.length, 'issue')} while cataloguing (see --format json)`);
  const lines = width ? out.flatMap((l) => (l.startsWith(INDENT) || len(l) <= width ? [l] : wrap(l, width))) : out;
  return `${lines.join('\n')}\n`;
}
