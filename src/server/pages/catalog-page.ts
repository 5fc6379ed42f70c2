/** @module server/pages/catalog-page — every image: CVEs by severity (minimal vs the public image it replaces), KEV, size, packages, last build, compliance. */
import { SEVERITIES_DESC } from '../../report/scan-report.js';
import { severityBar } from '../charts.js';
import { html, query, type Html } from '../html.js';
import type { CatalogRow, ScanFigures } from '../views.js';
import { bytes, imageHref, page, SEVERITY_COLORS, when } from './layout.js';

const SHOWN = SEVERITIES_DESC.filter((s) => s !== 'negligible');

function cveCells(f: ScanFigures | undefined, side: string, name: string): Html {
  if (f === undefined) return html`${SHOWN.map(() => html`<td class="num muted">–</td>`)}<td class="num muted">–</td>`;
  return html`${SHOWN.map((s) => html`<td class="num" data-field="${`${side}.${s}`}">${f.bySeverity[s]}</td>`)}<td class="num" data-field="${`${side}.total`}"><a href="/scans/${encodeURIComponent(f.scanId)}" aria-label="${`${f.total} findings in the ${side} scan of ${name}`}">${f.total}</a></td>`;
}

/** Rows per catalog page: a laptop screen scrolls through 100 rows; the fleet totals always cover every image. */
export const CATALOG_PAGE_SIZE = 100;

export function catalogPage(all: readonly CatalogRow[], view: { q?: string; page?: number } = {}): string {
  const filtered = view.q === undefined ? all : all.filter((r) => r.name.toLowerCase().includes(view.q!.toLowerCase()));
  const pages = Math.max(1, Math.ceil(filtered.length / CATALOG_PAGE_SIZE));
  const pageNo = Math.min(view.page ?? 1, pages);
  const rows = filtered.slice((pageNo - 1) * CATALOG_PAGE_SIZE, pageNo * CATALOG_PAGE_SIZE);
  const link = (n: number) => `/${query({ q: view.q, page: n === 1 ? undefined : n })}`;
  const totals = { minimal: 0, stock: 0, kevMinimal: 0, kevStock: 0 };
  for (const r of all) {
    totals.minimal += r.minimal?.total ?? 0;
    totals.stock += r.stock?.total ?? 0;
    totals.kevMinimal += r.minimal?.kev ?? 0;
    totals.kevStock += r.stock?.kev ?? 0;
  }
  const body = html`<h1>Catalog</h1>
<div class="cards" aria-label="Fleet totals">
<div class="card">Images<b data-total="images">${all.length}</b></div>
<div class="card">Findings, minimal images<b data-total="minimal">${totals.minimal}</b></div>
<div class="card">Findings, public images<b data-total="stock">${totals.stock}</b></div>
<div class="card">KEV, minimal / public<b data-total="kev">${totals.kevMinimal} / ${totals.kevStock}</b></div>
</div>
<form class="inline" method="get" action="/" role="search" aria-label="Find images"><label for="c-q">Image name contains<input id="c-q" name="q" value="${view.q ?? ''}" maxlength="128"></label><button type="submit">Find</button></form>
${pages > 1 || view.q !== undefined ? html`<nav aria-label="Catalog pages"><p>${filtered.length} images${view.q !== undefined ? html` matching <code>${view.q}</code>` : ''}; page ${pageNo} of ${pages}. ${pageNo > 1 ? html`<a href="${link(pageNo - 1)}" rel="prev">Previous</a> ` : ''}${pageNo < pages ? html`<a href="${link(pageNo + 1)}" rel="next">Next</a>` : ''}</p></nav>` : ''}
${all.length === 0 ? html`<p class="status">No images yet. Scan one on the <a href="/upload">upload page</a> or with <code>POST /api/scans</code>.</p>` : ''}
<table id="catalog">
<caption>Findings per image: the minimal image (distill) against the public image it replaces (stock)</caption>
<thead><tr><th scope="col" rowspan="2">Image</th><th scope="col" colspan="${SHOWN.length + 1}">Minimal image</th><th scope="col" colspan="${SHOWN.length + 1}">Public image</th>
<th scope="col" rowspan="2" class="num">KEV<br><span class="muted">min / pub</span></th><th scope="col" rowspan="2" class="num">Size</th><th scope="col" rowspan="2" class="num">Packages<br><span class="muted">min / pub</span></th><th scope="col" rowspan="2">Last build</th><th scope="col" rowspan="2">Compliance</th></tr>
<tr>${SHOWN.map((s) => html`<th scope="col" class="num">${s}</th>`)}<th scope="col" class="num">total</th>${SHOWN.map((s) => html`<th scope="col" class="num">${s}</th>`)}<th scope="col" class="num">total</th></tr></thead>
<tbody>
${rows.map(
  (r) => html`<tr data-image="${r.name}"><th scope="row"><a href="${imageHref(r.name)}">${r.name}</a>${r.replaces ? html`<br><span class="muted">replaces ${r.replaces}</span>` : ''}<br>${r.minimal ? severityBar(r.minimal.bySeverity, SEVERITY_COLORS) : ''}</th>
${cveCells(r.minimal, 'minimal', r.name)}${cveCells(r.stock, 'stock', r.name)}
<td class="num" data-field="kev">${r.minimal?.kev ?? '–'} / ${r.stock?.kev ?? '–'}</td>
<td class="num" data-field="size">${r.lastBuild?.compressedBytes !== undefined ? bytes(r.lastBuild.compressedBytes) : r.lastBuild?.uncompressedBytes !== undefined ? html`${bytes(r.lastBuild.uncompressedBytes)} <span class="muted">unpacked</span>` : '–'}</td>
<td class="num" data-field="packages">${r.minimal?.packages ?? '–'} / ${r.stock?.packages ?? '–'}</td>
<td>${r.lastBuild ? when(r.lastBuild.at) : html`<span class="muted">no build recorded</span>`}</td>
<td data-field="compliance">${r.compliance ? html`<span class="${r.compliance.failed > 0 ? 'fail' : 'ok'}">${r.compliance.failed > 0 ? `${r.compliance.failed} failed` : 'pass'}</span> <span class="muted">${r.compliance.framework}: ${r.compliance.passed} passed, ${r.compliance.manual} manual</span>` : html`<span class="muted">not checked</span>`}</td></tr>`,
)}
</tbody></table>`;
  return page('Catalog', 'catalog', body);
}
