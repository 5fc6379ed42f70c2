/** @module compliance/comply-formats — a compliance report as a terminal table, JSON, Markdown or a printable self-contained HTML page. */
import { DistillError } from '../errors.js';
import type { CheckResult, Evidence } from './checks.js';
import type { ComplianceReport } from './comply.js';
import type { FrameworkView } from './frameworks.js';

export const COMPLY_FORMATS = ['table', 'json', 'markdown', 'html'] as const;
export type ComplyFormat = (typeof COMPLY_FORMATS)[number];

const STATUS_LABEL: Record<string, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', manual: 'MANUAL', 'not-applicable': 'N/A' };

/** One line per piece of evidence: where (file:line @ layer, config key, Dockerfile line) and what. */
export function evidenceLine(e: Evidence): string {
  const where: string[] = [];
  if (e.key !== undefined) where.push(e.key);
  if (e.file !== undefined) where.push(`${e.file}:${e.line ?? '?'}`);
  // Secret messages already name both layers with full digests; do not repeat them.
  if (e.layer !== undefined && !e.message.includes(e.layer.digest)) where.push(`layer ${e.layer.index} ${e.layer.digest.slice(0, 19)}`);
  if (e.removedIn !== undefined && !e.message.includes(e.removedIn.digest)) where.push(`${e.removedIn.how === 'replaced' ? 'replaced' : 'deleted'} in layer ${e.removedIn.index} ${e.removedIn.digest.slice(0, 19)}`);
  const value = e.value !== undefined && e.rule !== undefined ? ` [${e.rule}: ${e.value}]` : '';
  return `${e.message}${value}${where.length > 0 ? ` (${where.join('; ')})` : ''}`;
}

function byId(report: ComplianceReport): Map<string, CheckResult> {
  return new Map(report.checks.map((c) => [c.id, c]));
}

function counts(report: ComplianceReport): string {
  const c = report.counts;
  return `${c.fail} fail, ${c.warn} warn, ${c.manual} manual, ${c.pass} pass, ${c['not-applicable']} n/a`;
}

function table(report: ComplianceReport): string {
  const checks = byId(report);
  const out: string[] = [`${report.subject.reference}  ${report.subject.digest.slice(0, 19)}  ${report.subject.layers.length} layer(s)${report.dockerfile !== undefined ? `  Dockerfile ${report.dockerfile}` : ''}`, ''];
  for (const view of report.frameworks) {
    out.push(view.title);
    for (const group of view.groups) {
      out.push(`  ${group.id}  ${group.title}  [${STATUS_LABEL[group.status]}]`);
      for (const id of group.checks) {
        const check = checks.get(id)!;
        out.push(`    ${STATUS_LABEL[check.status]!.padEnd(6)} ${check.id.padEnd(22)} ${check.automated ? 'auto  ' : 'manual'} ${check.title}`);
        out.push(`           ${check.summary}`);
        for (const e of check.evidence.slice(0, 8)) out.push(`           - ${evidenceLine(e)}`);
        if (check.evidence.length > 8) out.push(`           … ${check.evidence.length - 8} more (--format json for all)`);
      }
    }
    out.push('');
  }
  out.push(`${report.checks.length} checks: ${counts(report)}`);
  return `${out.join('\n')}\n`;
}

const mdCell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function markdownView(view: FrameworkView, checks: Map<string, CheckResult>): string[] {
  const out = [`## ${view.title}`, ''];
  for (const group of view.groups) {
    out.push(`### ${group.id} ${group.title} — ${STATUS_LABEL[group.status]}`, '', '| result | check | type | title | summary |', '|---|---|---|---|---|');
    for (const id of group.checks) {
      const c = checks.get(id)!;
      out.push(`| ${STATUS_LABEL[c.status]} | ${c.id} | ${c.automated ? 'automated' : 'manual'} | ${mdCell(c.title)} | ${mdCell(c.summary)} |`);
    }
    out.push('');
  }
  return out;
}

function markdown(report: ComplianceReport): string {
  const checks = byId(report);
  const out = [`# Compliance: ${report.subject.reference}`, '', `Digest \`${report.subject.digest}\`, ${report.subject.layers.length} layer(s)${report.dockerfile !== undefined ? `, Dockerfile \`${report.dockerfile}\`` : ''}. ${report.checks.length} checks: ${counts(report)}.`, ''];
  for (const view of report.frameworks) out.push(...markdownView(view, checks));
  const withEvidence = report.checks.filter((c) => c.evidence.length > 0 && (c.status === 'fail' || c.status === 'warn'));
  if (withEvidence.length > 0) {
    out.push('## Evidence', '');
    for (const c of withEvidence) {
      out.push(`### ${c.id} ${mdCell(c.title)}`, '', `Remediation: ${c.remediation}`, '');
      for (const e of c.evidence) out.push(`- ${mdCell(evidenceLine(e))}`);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function html(report: ComplianceReport): string {
  const checks = byId(report);
  const parts: string[] = [];
  for (const view of report.frameworks) {
    parts.push(`<h2>${esc(view.title)}</h2>`);
    for (const group of view.groups) {
      parts.push(`<h3><span class="s ${group.status}">${STATUS_LABEL[group.status]}</span> ${esc(group.id)} ${esc(group.title)}</h3><table><thead><tr><th>result</th><th>check</th><th>type</th><th>title and evidence</th><th>NIST 800-190</th><th>NIST 800-53</th></tr></thead><tbody>`);
      for (const id of group.checks) {
        const c = checks.get(id)!;
        const evidence = c.evidence.length === 0 ? '' : `<ul>${c.evidence.map((e) => `<li>${esc(evidenceLine(e))}</li>`).join('')}</ul>`;
        parts.push(`<tr><td><span class="s ${c.status}">${STATUS_LABEL[c.status]}</span></td><td>${esc(c.id)}</td><td>${c.automated ? 'automated' : 'manual'}</td><td><b>${esc(c.title)}</b><br>${esc(c.summary)}${evidence}${c.status === 'fail' || c.status === 'warn' ? `<p class="fix">Remediation: ${esc(c.remediation)}</p>` : ''}</td><td>${esc(c.nist800190.join(', '))}</td><td>${esc(c.nist80053.join(', '))}</td></tr>`);
      }
      parts.push('</tbody></table>');
    }
  }
  // Self-contained and printable: inline CSS, no scripts, no external resources.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance: ${esc(report.subject.reference)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%;margin-bottom:1em}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eee}
.s{display:inline-block;min-width:4.5em;text-align:center;font-weight:bold;border-radius:3px;padding:0 4px}
.fail{background:#f6c6c6}.warn{background:#fbe6b0}.manual{background:#dde4f4}.pass{background:#cdebd0}.not-applicable{background:#e8e8e8}
ul{margin:4px 0 0 1.2em;padding:0}li{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}.fix{margin:4px 0 0;font-style:italic}
@media print{body{margin:0}h3{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>Compliance: ${esc(report.subject.reference)}</h1>
<p>Digest <code>${esc(report.subject.digest)}</code>, ${report.subject.layers.length} layer(s)${report.dockerfile !== undefined ? `, Dockerfile <code>${esc(report.dockerfile)}</code>` : ''}. ${report.checks.length} checks: ${esc(counts(report))}.</p>
${parts.join('\n')}
</body></html>
`;
}

export function encodeComplianceReport(report: ComplianceReport, format: ComplyFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'table':
      return table(report);
    case 'markdown':
      return markdown(report);
    case 'html':
      return html(report);
    default:
      throw new DistillError('FORMAT_UNKNOWN', `unknown comply format ${JSON.stringify(format)}`, { hint: `use one of ${COMPLY_FORMATS.join(', ')}` });
  }
}
