/** @module server/pages/compare-page — any two stored scans side by side (src/compare on their stored reports and SBOMs). */
import { SEVERITIES_DESC } from '../../report/scan-report.js';
import type { ScanHeader } from '../../storage/app-store.js';
import { html, type Html } from '../html.js';
import type { CompareView } from '../views.js';
import { bytes, page, scanHref, severityBadge } from './layout.js';

function pct(value: number | null): string {
  if (value === null) return '–';
  return value === 0 ? '0%' : `${value > 0 ? '-' : '+'}${Math.abs(value)}%`;
}

function picker(scans: readonly ScanHeader[], a: string | undefined, b: string | undefined): Html {
  const options = (selected: string | undefined) =>
    scans.map((s) => html`<option value="${s.id}"${s.id === selected ? html` selected` : ''}>${s.image ?? '(no image)'} · ${s.role} · ${s.createdAt.slice(0, 16).replace('T', ' ')} · ${s.summary.total} findings</option>`);
  return html`<form class="inline" method="get" action="/compare" aria-label="Choose two scans">
<label for="c-a">A (before, e.g. the public image)<select id="c-a" name="a" required>${options(a)}</select></label>
<label for="c-b">B (after, e.g. the minimal image)<select id="c-b" name="b" required>${options(b)}</select></label>
<button type="submit">Compare</button></form>`;
}

export function comparePage(scans: readonly ScanHeader[], view: CompareView | undefined, selected: { a?: string; b?: string }): string {
  let result: Html = html`<p class="muted">Pick two scans.</p>`;
  if (view !== undefined) {
    const c = view.comparison;
    const row = (label: string, a: string | number, b: string | number, reduction: number | null, field: string) =>
      html`<tr data-field="${field}"><th scope="row">${label}</th><td class="num">${a}</td><td class="num">${b}</td><td class="num">${pct(reduction)}</td></tr>`;
    result = html`<table id="comparison"><caption>A: <a href="${scanHref(view.a.id)}">${view.a.subject}</a> · B: <a href="${scanHref(view.b.id)}">${view.b.subject}</a></caption>
<thead><tr><th scope="col"></th><th scope="col" class="num">A</th><th scope="col" class="num">B</th><th scope="col" class="num">Change</th></tr></thead><tbody>
${row('Packages', c.a.packages, c.b.packages, c.reduction.packages, 'packages')}
${row('CVEs', c.a.cves.total, c.b.cves.total, c.reduction.cves, 'cves')}
${SEVERITIES_DESC.filter((s) => s !== 'negligible').map((s) => row(`  ${s}`, c.a.cves.bySeverity[s], c.b.cves.bySeverity[s], s === 'critical' ? c.reduction.critical : s === 'high' ? c.reduction.high : null, s))}
${row('In KEV', c.a.cves.kev, c.b.cves.kev, c.reduction.kev, 'kev')}
${row('Fix available', c.a.cves.fixable, c.b.cves.fixable, c.reduction.fixable, 'fixable')}
${row('Layers', c.a.facts.layers, c.b.facts.layers, c.reduction.layers, 'layers')}
${row('Compressed size', bytes(c.a.facts.compressedBytes), bytes(c.b.facts.compressedBytes), c.reduction.compressedBytes, 'compressed')}
${row('Shell (from packages)', c.a.facts.hasShell ? 'yes' : 'no', c.b.facts.hasShell ? 'yes' : 'no', null, 'shell')}
${row('Package manager (from packages)', c.a.facts.hasPackageManager ? 'yes' : 'no', c.b.facts.hasPackageManager ? 'yes' : 'no', null, 'package-manager')}
</tbody></table>
<h2>Why CVEs of A are gone from B (${c.disappeared.length})</h2>
${c.disappeared.length === 0 ? html`<p class="muted">None.</p>` : html`<table id="disappeared"><caption>Each CVE of A that B does not show</caption><thead><tr><th scope="col">CVE</th><th scope="col">Severity</th><th scope="col">Reason</th><th scope="col">Packages</th></tr></thead><tbody>${c.disappeared.map(
      (d) => html`<tr><td><code>${d.id}</code>${d.kev ? html` <span class="badge kev">KEV</span>` : ''}</td><td>${severityBadge(d.severity)}</td><td>${d.reason}</td><td>${d.packages.map((p) => `${p.name} ${p.versionA}${p.versionB ? ` → ${p.versionB}` : ''}`).join(', ')}</td></tr>`,
    )}</tbody></table>`}
<h2>CVEs only in B (${c.appeared.length})</h2>${c.appeared.length === 0 ? html`<p class="muted">None.</p>` : html`<p>${c.appeared.join(', ')}</p>`}`;
  }
  return page('Compare', 'compare', html`<h1>Compare two scans</h1>${picker(scans, selected.a, selected.b)}${result}`);
}
