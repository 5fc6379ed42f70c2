/** @module server/pages/image-page — one image (prioritized findings, triage plan, downloads, compliance, build and scan history) and one scan. */
import type { BuildRecord, ComplianceRecord, FindingQuery, FindingRow, ScanHeader } from '../../storage/app-store.js';
import { SEVERITIES } from '../../vuln/severity.js';
import { html, query, type Html } from '../html.js';
import type { ImageView } from '../views.js';
import { bytes, imageHref, page, scanHref, severityBadge, when } from './layout.js';

/** Optional sections other modules contribute (triage plan, VEX), already rendered. */
export interface ImageExtras {
  triage?: Html;
  compliance?: Html;
  vexAvailable?: boolean;
}

function findingsTable(rows: readonly FindingRow[], caption: string): Html {
  if (rows.length === 0) return html`<p class="status">No findings match.</p>`;
  return html`<table id="findings"><caption>${caption}</caption>
<thead><tr><th scope="col">#</th><th scope="col">Vulnerability</th><th scope="col">Package</th><th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Severity</th><th scope="col">Signals</th></tr></thead>
<tbody>${rows.map(
    (f, i) => html`<tr><td class="num">${i + 1}</td><td><code>${f.vulnId}</code></td><td>${f.packageName}</td><td><code>${f.installedVersion}</code></td><td>${f.fixedVersion ? html`<code>${f.fixedVersion}</code>` : html`<span class="muted">${f.fixState}</span>`}</td><td>${severityBadge(f.severity)}</td>
<td>${f.kev ? html`<span class="badge kev" title="In CISA's Known Exploited Vulnerabilities catalog">KEV</span> ` : ''}${f.epss !== undefined ? html`<span class="badge epss" title="EPSS: probability of exploitation in the next 30 days">EPSS ${(f.epss * 100).toFixed(1)}%</span> ` : ''}${f.fixState === 'fixed' ? html`<span class="badge fixable">fix available</span>` : ''}</td></tr>`,
  )}</tbody></table>`;
}

function filterForm(action: string, q: FindingQuery): Html {
  return html`<form class="inline" method="get" action="${action}" aria-label="Filter findings">
<label for="f-severity">Severity<select id="f-severity" name="severity"><option value="">any</option>${[...SEVERITIES].reverse().map((s) => html`<option value="${s}"${q.severity === s ? html` selected` : ''}>${s}</option>`)}</select></label>
<label for="f-kev">In KEV<select id="f-kev" name="kev"><option value="">any</option><option value="true"${q.kev === true ? html` selected` : ''}>yes</option><option value="false"${q.kev === false ? html` selected` : ''}>no</option></select></label>
<label for="f-fixable">Fix available<select id="f-fixable" name="fixable"><option value="">any</option><option value="true"${q.fixable === true ? html` selected` : ''}>yes</option><option value="false"${q.fixable === false ? html` selected` : ''}>no</option></select></label>
<label for="f-search">Search (id or package)<input id="f-search" name="search" value="${q.search ?? ''}" maxlength="200"></label>
<button type="submit">Filter</button></form>`;
}

function downloads(scan: ScanHeader, vex: boolean): Html {
  const base = `/api/scans/${encodeURIComponent(scan.id)}`;
  return html`<ul class="downloads">
<li>SBOM: <a href="${base}/sbom${query({ format: 'cyclonedx-json' })}" download>CycloneDX JSON</a> · <a href="${base}/sbom${query({ format: 'spdx-json' })}" download>SPDX JSON</a></li>
<li>Report: <a href="${base}/report${query({ format: 'json' })}" download>JSON</a> · <a href="${base}/report${query({ format: 'sarif' })}" download>SARIF</a> · <a href="${base}/report${query({ format: 'cyclonedx-json' })}" download>CycloneDX VDR</a></li>
${vex ? html`<li>VEX: <a href="${base}/vex" download>OpenVEX</a></li>` : ''}
</ul>`;
}

function buildsTable(builds: readonly BuildRecord[]): Html {
  if (builds.length === 0) return html`<p class="muted">No builds recorded for this image.</p>`;
  return html`<table id="builds"><caption>Builds, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Digest</th><th scope="col">Arch</th><th scope="col" class="num">Packages</th><th scope="col" class="num">Compressed</th><th scope="col">Why</th></tr></thead>
<tbody>${builds.map((b) => html`<tr><td>${when(b.createdAt)}</td><td><code>${b.digest.slice(0, 19)}…</code></td><td>${b.arch}</td><td class="num">${b.packages.length}</td><td class="num">${bytes(b.compressedBytes)}</td><td>${b.reason}</td></tr>`)}</tbody></table>`;
}

function scansTable(scans: readonly ScanHeader[], against: ScanHeader | undefined): Html {
  if (scans.length === 0) return html`<p class="muted">No scans yet.</p>`;
  return html`<table id="scans"><caption>Scans, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Role</th><th scope="col">Subject</th><th scope="col" class="num">Packages</th><th scope="col" class="num">Findings</th><th scope="col" class="num">KEV</th><th scope="col">Why</th><th scope="col">Compare</th></tr></thead>
<tbody>${scans.map(
    (s) => html`<tr><td><a href="${scanHref(s.id)}">${when(s.createdAt)}</a></td><td>${s.role}</td><td><code>${s.subject}</code></td><td class="num">${s.packages}</td><td class="num">${s.summary.total}</td><td class="num">${s.summary.kev}</td><td>${s.reason}</td>
<td>${against && against.id !== s.id ? html`<a href="/compare${query({ a: against.id, b: s.id })}">vs ${against.role}</a>` : ''}</td></tr>`,
  )}</tbody></table>`;
}

/** Compliance results, generic over the report document: a list of rules with status and evidence when present. */
export function complianceSection(record: ComplianceRecord): Html {
  const results = (record.results as { results?: unknown[] } | null)?.results;
  const rows = Array.isArray(results) ? (results as Record<string, unknown>[]) : [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  return html`<p>${record.framework}, ${when(record.createdAt)}: <span class="ok">${record.passed} passed</span>, <span class="${record.failed > 0 ? 'fail' : 'muted'}">${record.failed} failed</span>, ${record.manual} manual.</p>
${rows.length > 0 ? html`<table id="compliance"><caption>Rules and evidence</caption><thead><tr><th scope="col">Rule</th><th scope="col">Status</th><th scope="col">Evidence</th><th scope="col">Controls</th></tr></thead><tbody>${rows.map(
    (r) => html`<tr><td><code>${text(r.id)}</code> ${text(r.title)}</td><td class="${r.status === 'fail' ? 'fail' : r.status === 'pass' ? 'ok' : ''}">${text(r.status)}</td><td>${text(r.evidence)}</td><td>${text(r.controls)}</td></tr>`,
  )}</tbody></table>` : ''}`;
}

function cards(minimal: ScanHeader | undefined, stock: ScanHeader | undefined): Html {
  return html`<div class="cards">
<div class="card">Findings<b data-field="minimal.total">${minimal?.summary.total ?? '–'}</b><span class="muted">public image: ${stock?.summary.total ?? '–'}</span></div>
<div class="card">Critical / high<b>${minimal ? `${minimal.summary.bySeverity.critical} / ${minimal.summary.bySeverity.high}` : '–'}</b><span class="muted">public: ${stock ? `${stock.summary.bySeverity.critical} / ${stock.summary.bySeverity.high}` : '–'}</span></div>
<div class="card">KEV<b data-field="minimal.kev">${minimal?.summary.kev ?? '–'}</b><span class="muted">public: ${stock?.summary.kev ?? '–'}</span></div>
<div class="card">Fix available<b>${minimal?.summary.fixable ?? '–'}</b></div>
<div class="card">Packages<b data-field="minimal.packages">${minimal?.packages ?? '–'}</b><span class="muted">public: ${stock?.packages ?? '–'}</span></div>
</div>`;
}

export function imagePage(view: ImageView, extras: ImageExtras = {}): string {
  const { image, minimal, stock } = view;
  const action = imageHref(image.name);
  const body = html`<p><a href="/">Catalog</a> › ${image.name}</p>
<h1>${image.name}</h1>
${image.replaces ? html`<p>Replaces <code>${image.replaces}</code>${image.description ? html` — ${image.description}` : ''}</p>` : ''}
${cards(minimal, stock)}
${minimal && stock ? html`<p><a href="/compare${query({ a: stock.id, b: minimal.id })}">Compare with the public image</a></p>` : ''}
<h2 id="findings-heading">Findings, most urgent first</h2>
${minimal ? html`<p class="muted">Latest scan ${when(minimal.createdAt)} of <code>${minimal.subject}</code>. Order: in KEV, then severity, then EPSS, then fix available.</p>
${filterForm(action, view.findingQuery)}${findingsTable(view.findings, `Findings of ${image.name} (${view.findings.length} shown)`)}
<h2>Downloads</h2>${downloads(minimal, extras.vexAvailable ?? false)}` : html`<p class="status">No scan of this image yet.</p>`}
<h2>Triage plan</h2>${extras.triage ?? html`<p class="muted">No triage plan for this scan.</p>`}
<h2>Compliance</h2>${extras.compliance ?? (view.compliance ? complianceSection(view.compliance) : html`<p class="muted">No compliance run recorded.</p>`)}
<h2>Build history</h2>${buildsTable(view.builds)}
<h2>Scan history</h2>${scansTable(view.scans, stock)}`;
  return page(image.name, 'catalog', body);
}

export function scanPage(scan: ScanHeader, findings: readonly FindingRow[], q: FindingQuery, extras: ImageExtras = {}): string {
  const body = html`<p><a href="/">Catalog</a>${scan.image ? html` › <a href="${imageHref(scan.image)}">${scan.image}</a>` : ''} › scan</p>
<h1>Scan of <code>${scan.subject}</code></h1>
<p>${when(scan.createdAt)} · role ${scan.role} · ${scan.reason}${scan.digest ? html` · <code>${scan.digest}</code>` : ''}</p>
<div class="cards" data-scan="${scan.id}">
<div class="card">Findings<b data-field="total">${scan.summary.total}</b></div>
${[...SEVERITIES].reverse().filter((s) => s !== 'negligible').map((s) => html`<div class="card">${s}<b data-field="${s}">${scan.summary.bySeverity[s]}</b></div>`)}
<div class="card">KEV<b data-field="kev">${scan.summary.kev}</b></div>
<div class="card">Packages<b data-field="packages">${scan.packages}</b></div>
</div>
<h2>Downloads</h2>${downloads(scan, extras.vexAvailable ?? false)}
<h2>Findings, most urgent first</h2>${filterForm(scanHref(scan.id), q)}${findingsTable(findings, `Findings (${findings.length} shown)`)}
${extras.triage ? html`<h2>Triage plan</h2>${extras.triage}` : ''}`;
  return page(`Scan ${scan.subject}`, undefined, body);
}
