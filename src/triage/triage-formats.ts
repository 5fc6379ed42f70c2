/** @module triage/triage-formats — the plan as a short table, full JSON (every finding with score and SSVC inputs) or Markdown. */
import { DistillError } from '../errors.js';
import type { TriageAction, TriagedFinding, TriagePlan } from './triage-plan.js';

export const TRIAGE_FORMATS = ['table', 'json', 'markdown'] as const;
export type TriageFormat = (typeof TRIAGE_FORMATS)[number];

function detail(a: TriageAction): string[] {
  switch (a.kind) {
    case 'upgrade': {
      const lines = [`installed ${a.installedVersions.join(', ')}; fixes ${a.vulnerabilities.join(', ')}`];
      if (a.notFixedByTarget.length > 0) lines.push(`not fixed by ${a.targetVersion}: ${a.notFixedByTarget.join(', ')}`);
      return lines;
    }
    case 'replace-base':
      return [`gone: ${a.byReason['package-removed']} package removed, ${a.byReason['newer-version']} newer version, ${a.byReason.suppressed} suppressed; ${a.appeared} appear`];
    case 'replace-base-recipe':
      return a.commands;
    case 'no-fix':
      return [...a.advice, a.vex];
  }
}

function score(a: TriageAction): string {
  return a.maxScore === null ? '-' : a.maxScore.toFixed(2);
}

function header(plan: TriagePlan): string {
  const s = plan.summary;
  const decisions = Object.entries(s.byDecision).map(([d, n]) => `${d} ${n}`).join(', ');
  return `${s.findings} findings (${s.vulnerabilities} CVEs, ${s.kev} in KEV, ${s.fixable} fixable); SSVC ${decisions}; mission impact ${plan.missionImpact}`;
}

function table(plan: TriagePlan): string {
  const lines = [`Triage plan for ${plan.subject.reference}`, header(plan), ''];
  if (plan.actions.length === 0) lines.push('Nothing to do: no findings.');
  const rows = plan.actions.map((a) => [String(a.rank), score(a), a.decision ?? '-', a.title]);
  const head = ['#', 'RISK', 'SSVC', 'ACTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  if (rows.length > 0) lines.push(pad(head));
  const indent = ' '.repeat(widths.slice(0, 3).reduce((x, y) => x + y + 2, 0));
  plan.actions.forEach((a, i) => {
    lines.push(pad(rows[i]!));
    for (const d of detail(a)) lines.push(`${indent}${d}`);
  });
  if (plan.summary.omittedActions > 0) lines.push('', `${plan.summary.omittedActions} more actions (--top); --format json lists every finding.`);
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function ssvcInputs(f: TriagedFinding): string {
  const s = f.ssvc;
  return `E:${s.exploitation.value} A:${s.automatable.value} T:${s.technicalImpact.value} M:${s.missionImpact.value}`;
}

function markdown(plan: TriagePlan): string {
  const out = [`# Triage plan for \`${cell(plan.subject.reference)}\``, '', header(plan), ''];
  if (plan.actions.length > 0) {
    out.push('| # | Risk | SSVC | Action |', '|---|---|---|---|');
    for (const a of plan.actions) out.push(`| ${a.rank} | ${score(a)} | ${a.decision ?? '-'} | ${cell(a.title)} |`);
    out.push('');
    for (const a of plan.actions) {
      out.push(`### ${a.rank}. ${cell(a.title)}`, '');
      for (const d of detail(a)) out.push(`- ${a.kind === 'replace-base-recipe' ? `\`${d}\`` : cell(d)}`);
      out.push('');
    }
  } else out.push('Nothing to do: no findings.', '');
  out.push('## Findings', '', '| Risk | SSVC | CVE | Package | Installed | Fix | EPSS | KEV due | SSVC inputs |', '|---|---|---|---|---|---|---|---|---|');
  for (const f of plan.findings) {
    const fix = f.fixedVersions.length > 0 ? f.fixedVersions.join(', ') : f.fixState;
    const epss = f.epss !== undefined ? `${f.epss.score} (p${Math.round(f.epss.percentile * 100)})` : '-';
    out.push(`| ${f.risk.score.toFixed(2)} | ${f.ssvc.decision} | ${cell(f.vulnId)} | ${cell(f.packageName)} | ${cell(f.installedVersion)} | ${cell(fix)} | ${epss} | ${f.kev?.dueDate ?? '-'} | ${ssvcInputs(f)} |`);
  }
  return `${out.join('\n')}\n`;
}

export function encodeTriagePlan(plan: TriagePlan, format: TriageFormat): string {
  switch (format) {
    case 'table':
      return table(plan);
    case 'json':
      return `${JSON.stringify(plan, null, 2)}\n`;
    case 'markdown':
      return markdown(plan);
    default:
      throw new DistillError('FORMAT_UNKNOWN', `unknown triage format "${String(format)}"`, { hint: `use one of ${TRIAGE_FORMATS.join(', ')}` });
  }
}
