/** @module compare/compare-formats — a Comparison as an aligned table, stable JSON, GitHub Markdown, or self-contained HTML with inline SVG bars. */
import type { Comparison, ImageSide } from './compare-images.js';

export const COMPARE_FORMATS = ['table', 'json', 'markdown', 'html'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

type Row = [label: string, a: string, b: string, change: string];

function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function percent(value: number | null): string {
  if (value === null) return '-';
  if (value === 0) return '0%';
  return value > 0 ? `-${value}%` : `+${-value}%`;
}

/** `-` when unknown (a saved scan does not record the filesystem). */
const yesNo = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'yes' : 'no');

/** `A: ref` plus where it came from when it is a saved scan. */
function sideLabel(s: ImageSide): string {
  return s.savedScan === undefined ? s.reference : `${s.reference} (saved scan ${s.savedScan.file}, ${s.savedScan.createdAt})`;
}

/** Said under the table when a side is a saved scan, so a `-` reads as "not recorded", not "none". */
function savedNote(c: Comparison): string | undefined {
  return c.a.savedScan !== undefined || c.b.savedScan !== undefined ? 'Sizes, shell and package manager are not recorded in a saved scan (shown as -); its CVEs are those of the database it was scanned with.' : undefined;
}

function rows(c: Comparison): Row[] {
  const { a, b, reduction: r } = c;
  const sev = (s: 'critical' | 'high' | 'medium' | 'low' | 'unknown', side: ImageSide): string => String(side.cves.bySeverity[s]);
  const count = (x: number, y: number, red: number | null = null): Row[number][] => [String(x), String(y), red === null ? (x === y ? '' : `${y - x > 0 ? '+' : ''}${y - x}`) : percent(red)];
  return [
    ['Packages', ...count(a.packages, b.packages, c.reduction.packages)] as Row,
    ['CVEs', ...count(a.cves.total, b.cves.total, r.cves)] as Row,
    ['  critical', sev('critical', a), sev('critical', b), percent(r.critical)],
    ['  high', sev('high', a), sev('high', b), percent(r.high)],
    ['  medium', sev('medium', a), sev('medium', b), ''],
    ['  low', sev('low', a), sev('low', b), ''],
    ['  unknown', sev('unknown', a), sev('unknown', b), ''],
    ['In CISA KEV', ...count(a.cves.kev, b.cves.kev, r.kev)] as Row,
    ['EPSS >= 0.1', ...count(a.cves.epssAtLeast0_1, b.cves.epssAtLeast0_1)] as Row,
    ['Fixable', ...count(a.cves.fixable, b.cves.fixable, r.fixable)] as Row,
    ['Compressed size', bytes(a.facts.compressedBytes), bytes(b.facts.compressedBytes), percent(r.compressedBytes)],
    ['Uncompressed size', bytes(a.facts.uncompressedBytes), bytes(b.facts.uncompressedBytes), percent(r.uncompressedBytes)],
    ['Layers', ...count(a.facts.layers, b.facts.layers)] as Row,
    ['Shell', yesNo(a.facts.hasShell), yesNo(b.facts.hasShell), ''],
    ['Package manager', yesNo(a.facts.hasPackageManager), yesNo(b.facts.hasPackageManager), ''],
  ];
}

function reasonCounts(c: Comparison): string {
  const removed = c.disappeared.filter((d) => d.reason === 'package-removed').length;
  const newer = c.disappeared.filter((d) => d.reason === 'newer-version').length;
  const suppressed = c.disappeared.filter((d) => d.reason === 'suppressed').length;
  return `${c.disappeared.length} CVE(s) of A are gone from B: ${removed} with their package removed, ${newer} by a newer version${suppressed > 0 ? `, ${suppressed} suppressed in B` : ''}; ${c.appeared.length} new in B.`;
}

function disappearedLine(d: Comparison['disappeared'][number]): [string, string, string, string] {
  const packages = d.packages.map((p) => (p.versionB === undefined ? `${p.name} ${p.versionA}` : `${p.name} ${p.versionA} -> ${p.versionB}`)).join('; ');
  return [d.id, d.severity + (d.kev ? ' (KEV)' : ''), d.reason, packages];
}

function table(c: Comparison): string {
  const header: Row = ['', 'A', 'B', 'Change'];
  const body = rows(c);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[header, ...body].map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const note = savedNote(c);
  const out = [`A: ${sideLabel(c.a)}`, `B: ${sideLabel(c.b)}`, '', line(header), ...body.map(line), ...(note !== undefined ? ['', note] : []), '', reasonCounts(c)];
  if (c.disappeared.length > 0) {
    const list = c.disappeared.map(disappearedLine);
    const w = [0, 1, 2].map((i) => Math.max(...list.map((r) => r[i]!.length)));
    out.push('', ...list.map((r) => `  ${r[0].padEnd(w[0]!)}  ${r[1].padEnd(w[1]!)}  ${r[2].padEnd(w[2]!)}  ${r[3]}`));
  }
  return `${out.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdown(c: Comparison): string {
  const out = [
    '## Image comparison',
    '',
    `- **A**: \`${cell(sideLabel(c.a))}\``,
    `- **B**: \`${cell(sideLabel(c.b))}\``,
    '',
    '| | A | B | Change |',
    '|---|--:|--:|--:|',
    ...rows(c).map((r) => `| ${cell(r[0].trim())} | ${cell(r[1])} | ${cell(r[2])} | ${cell(r[3])} |`),
    '',
    ...(savedNote(c) !== undefined ? [savedNote(c)!, ''] : []),
    reasonCounts(c),
  ];
  if (c.disappeared.length > 0) {
    out.push('', '| CVE | Severity | Why gone | Packages (A -> B) |', '|---|---|---|---|');
    for (const d of c.disappeared) out.push(`| ${disappearedLine(d).map(cell).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Paired horizontal bars (A above B) per metric, scaled to the larger of the two; no script, no external resources. */
function barChart(title: string, metrics: readonly { label: string; a: number; b: number; text: (n: number) => string }[]): string {
  const rowHeight = 44;
  const width = 640;
  const labelWidth = 150;
  const barMax = width - labelWidth - 110;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${metrics.length * rowHeight + 30}" viewBox="0 0 ${width} ${metrics.length * rowHeight + 30}"><title>${escapeHtml(title)}</title>`];
  metrics.forEach((m, i) => {
    const y = 24 + i * rowHeight;
    const max = Math.max(m.a, m.b, 1);
    const wa = Math.round((m.a / max) * barMax);
    const wb = Math.round((m.b / max) * barMax);
    parts.push(
      `<text x="0" y="${y + 14}" font-size="13">${escapeHtml(m.label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${wa}" height="16" fill="#c0392b"/><text x="${labelWidth + wa + 6}" y="${y + 13}" font-size="12">A ${escapeHtml(m.text(m.a))}</text>`,
      `<rect x="${labelWidth}" y="${y + 19}" width="${wb}" height="16" fill="#27ae60"/><text x="${labelWidth + wb + 6}" y="${y + 32}" font-size="12">B ${escapeHtml(m.text(m.b))}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function html(c: Comparison): string {
  const n = (x: number): string => String(x);
  const sevs = (['critical', 'high', 'medium', 'low', 'unknown'] as const).map((s) => ({ label: s, a: c.a.cves.bySeverity[s], b: c.b.cves.bySeverity[s], text: n }));
  const sizes = [
    { label: 'packages', a: c.a.packages, b: c.b.packages, text: n },
    ...(c.a.facts.uncompressedBytes !== undefined && c.b.facts.uncompressedBytes !== undefined ? [{ label: 'uncompressed size', a: c.a.facts.uncompressedBytes, b: c.b.facts.uncompressedBytes, text: bytes }] : []),
    ...(c.a.facts.compressedBytes !== undefined && c.b.facts.compressedBytes !== undefined ? [{ label: 'compressed size', a: c.a.facts.compressedBytes, b: c.b.facts.compressedBytes, text: bytes }] : []),
  ];
  const tableRows = rows(c).map((r) => `<tr><th scope="row">${escapeHtml(r[0].trim())}</th><td>${escapeHtml(r[1])}</td><td>${escapeHtml(r[2])}</td><td>${escapeHtml(r[3])}</td></tr>`).join('\n');
  const gone = c.disappeared.map((d) => `<tr>${disappearedLine(d).map((x) => `<td>${escapeHtml(x)}</td>`).join('')}</tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>distill compare</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}th[scope=row],td:first-child{text-align:left}code{font-size:.9em}</style>
</head><body>
<h1>Image comparison</h1>
<p><strong>A</strong> <code>${escapeHtml(sideLabel(c.a))}</code><br><strong>B</strong> <code>${escapeHtml(sideLabel(c.b))}</code></p>
<h2>CVEs by severity (each counted once per image)</h2>
${barChart('CVEs by severity', sevs)}
<h2>Packages and size</h2>
${barChart('Packages and size', sizes)}
<table><thead><tr><th></th><th>A</th><th>B</th><th>Change</th></tr></thead><tbody>
${tableRows}
</tbody></table>
${savedNote(c) !== undefined ? `<p>${escapeHtml(savedNote(c)!)}</p>\n` : ''}<p>${escapeHtml(reasonCounts(c))}</p>
${c.disappeared.length > 0 ? `<table><thead><tr><th>CVE</th><th>Severity</th><th>Why gone</th><th>Packages (A -&gt; B)</th></tr></thead><tbody>\n${gone}\n</tbody></table>` : ''}
</body></html>
`;
}

export function encodeComparison(comparison: Comparison, format: CompareFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(comparison, null, 2)}\n`;
    case 'markdown':
      return markdown(comparison);
    case 'html':
      return html(comparison);
    case 'table':
      return table(comparison);
  }
}
