/** @module server/extras — what other modules add to the image and scan pages, computed from stored scans: the triage plan (src/triage), OpenVEX (src/report/vex), compliance evidence (src/compliance). */
import { compareScans } from '../compare/compare-images.js';
import { DistillError, isDistillError } from '../errors.js';
import type { ComplianceReport } from '../compliance/comply.js';
import { evidenceLine } from '../compliance/comply-formats.js';
import type { ScanOutcome } from '../report/scan-source.js';
import { buildVexStatements } from '../report/vex/vex-statements.js';
import { encodeOpenVex } from '../report/vex/vex-writers.js';
import type { ComplianceRecord, ScanRecord } from '../storage/app-store.js';
import { buildTriagePlan, type TriagePlan } from '../triage/triage-plan.js';
import { html, type Html } from './html.js';
import type { ImageExtras } from './pages/image-page.js';
import { storedFacts } from './views.js';

/** A stored scan as the library's ScanOutcome (the report and SBOM are kept whole). */
export function outcomeOf(record: ScanRecord): ScanOutcome {
  return { report: record.report, sbom: record.sbom, unmatchedVexStatements: [], coverage: [] };
}

/** The plan for a scan; with `replacement` (the minimal image's scan) it weighs swapping the base too. */
export function triagePlanFor(record: ScanRecord, replacement?: ScanRecord): TriagePlan {
  const options = replacement === undefined || replacement.id === record.id ? {} : {
    replacement: { reference: replacement.subject, comparison: compareScans(outcomeOf(record), outcomeOf(replacement), { a: storedFacts(record, undefined), b: storedFacts(replacement, undefined) }) },
  };
  return buildTriagePlan(outcomeOf(record), options);
}

function triageSection(plan: TriagePlan, scanId: string): Html {
  const actions = plan.actions.slice(0, 15);
  return html`<p>${plan.summary.actions} actions for ${plan.summary.vulnerabilities} vulnerabilities (${plan.summary.kev} in KEV, ${plan.summary.fixable} fixable). <a href="/api/scans/${encodeURIComponent(scanId)}/triage">Plan as JSON</a></p>
${actions.length === 0 ? html`<p class="muted">Nothing to do.</p>` : html`<table id="triage"><caption>What to do, in order${plan.actions.length > actions.length ? ` (first ${actions.length} of ${plan.actions.length})` : ''}</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">Action</th><th scope="col">SSVC</th><th scope="col" class="num">Risk</th><th scope="col" class="num">KEV</th><th scope="col">Vulnerabilities</th></tr></thead>
<tbody>${actions.map(
    (a) => html`<tr><td class="num">${a.rank}</td><td>${a.title}${a.kevDueDate ? html`<br><span class="muted">KEV due ${a.kevDueDate}</span>` : ''}</td><td>${a.decision ?? '–'}</td><td class="num">${a.maxScore === null ? '–' : a.maxScore.toFixed(1)}</td><td class="num">${a.kev}</td><td><code>${a.vulnerabilities.slice(0, 6).join(' ')}${a.vulnerabilities.length > 6 ? ` +${a.vulnerabilities.length - 6}` : ''}</code></td></tr>`,
  )}</tbody></table>`}`;
}

function isComplianceReport(value: unknown): value is ComplianceReport {
  return typeof value === 'object' && value !== null && Array.isArray((value as { checks?: unknown }).checks);
}

function complianceSection(record: ComplianceRecord): Html | undefined {
  if (!isComplianceReport(record.results)) return undefined;
  const report = record.results;
  return html`<p>${record.framework}, checked <time datetime="${record.createdAt}">${record.createdAt.slice(0, 16).replace('T', ' ')}</time>: <span class="ok">${report.counts.pass} passed</span>, <span class="${report.counts.fail > 0 ? 'fail' : 'muted'}">${report.counts.fail} failed</span>, ${report.counts.warn} warnings, ${report.counts.manual} manual, ${report.counts['not-applicable']} not applicable. Image user: <code>${report.subject.user || '(root)'}</code>.</p>
<table id="compliance"><caption>Checks with evidence (CIS Docker Benchmark 1.6 §4 and image checks, mapped to NIST SP 800-190 and 800-53)</caption>
<thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Evidence</th><th scope="col">NIST</th></tr></thead>
<tbody>${report.checks.map(
    (c) => html`<tr><td><code>${c.reference}</code> ${c.title}</td><td class="${c.status === 'fail' ? 'fail' : c.status === 'pass' ? 'ok' : ''}">${c.status}</td><td>${c.summary}${c.evidence.length > 0 ? html`<ul>${c.evidence.slice(0, 5).map((e) => html`<li>${evidenceLine(e)}</li>`)}</ul>${c.evidence.length > 5 ? html`<span class="muted">+${c.evidence.length - 5} more</span>` : ''}` : ''}</td><td class="muted">${[...c.nist800190.map((n) => `800-190 ${n}`), ...c.nist80053].join(', ')}</td></tr>`,
  )}</tbody></table>`;
}

/** Sections for a page showing `record` (and the image's newest compliance run); `against`: the scan VEX is stated against. */
export function pageExtras(record: ScanRecord | undefined, compliance: ComplianceRecord | undefined, against?: ScanRecord): ImageExtras {
  const extras: ImageExtras = { vexAvailable: record !== undefined && hasVex(record, against) };
  if (record !== undefined) extras.triage = triageSection(triagePlanFor(record), record.id);
  const section = compliance === undefined ? undefined : complianceSection(compliance);
  if (section !== undefined) extras.compliance = section;
  return extras;
}

/** OpenVEX for a stored scan; with `against` (the public image's scan) it also states which of its CVEs this image does not have. */
export function vexDocument(record: ScanRecord, against: ScanRecord | undefined, now: Date, version: string): string {
  let vex;
  try {
    vex = buildVexStatements(outcomeOf(record), against === undefined || against.id === record.id ? {} : { against: outcomeOf(against) });
  } catch (error) {
    // The generator refuses an image with no identity or nothing to state: for the API that VEX document does not exist.
    if (isDistillError(error) && error.code === 'USAGE') throw new DistillError('NOT_FOUND', `no VEX statements for scan ${record.id}: ${error.message}`, { subject: record.id });
    throw error;
  }
  return encodeOpenVex(vex, { timestamp: now, tool: { name: 'distill', version } });
}

/** Whether the scan has a VEX document to offer (same rules as vexDocument, without encoding). */
function hasVex(record: ScanRecord, against: ScanRecord | undefined): boolean {
  try {
    buildVexStatements(outcomeOf(record), against === undefined || against.id === record.id ? {} : { against: outcomeOf(against) });
    return true;
  } catch {
    return false;
  }
}

/** Compliance record input from a compliance report (CIS Docker 1.6 counts). */
export function complianceInput(report: ComplianceReport, image: string, scanId: string | undefined): { image: string; scanId?: string; framework: string; passed: number; failed: number; manual: number; results: unknown } {
  return { image, ...(scanId !== undefined ? { scanId } : {}), framework: report.frameworks[0]?.framework ?? 'cis-docker-1.6', passed: report.counts.pass, failed: report.counts.fail, manual: report.counts.manual + report.counts.warn, results: report };
}
