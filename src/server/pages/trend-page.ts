/** @module server/pages/trend-page — CVE counts over time, fleet total and per image, as inline SVG step charts. */
import { lineChart } from '../charts.js';
import { html } from '../html.js';
import type { TrendView } from '../views.js';
import { imageHref, page } from './layout.js';

/** Per-image charts shown at most (the fleet total always covers every image). */
const MAX_IMAGE_CHARTS = 60;

export function trendPage(view: TrendView, images: readonly string[], selected: string | undefined): string {
  const shown = view.series.slice(0, MAX_IMAGE_CHARTS);
  const body = html`<h1>Trend</h1>
<form class="inline" method="get" action="/trend" aria-label="Choose what the trend shows">
<label for="t-image">Image<select id="t-image" name="image"><option value="">all images</option>${images.map((n) => html`<option value="${n}"${n === selected ? html` selected` : ''}>${n}</option>`)}</select></label>
<label for="t-role">Scans of<select id="t-role" name="role">${(['minimal', 'stock', 'upload'] as const).map((r) => html`<option value="${r}"${r === view.role ? html` selected` : ''}>${r === 'minimal' ? 'minimal images' : r === 'stock' ? 'public images' : 'uploads'}</option>`)}</select></label>
<button type="submit">Show</button></form>
<section aria-labelledby="total-h"><h2 id="total-h">${selected ? `Findings of ${selected}` : 'Findings across the fleet'}</h2>
${lineChart(selected ? `${selected}: findings over time` : 'All images: findings over time (sum of each image’s latest scan)', [
    { label: 'findings', color: '#0b57d0', points: view.total.map((p) => ({ at: p.at, value: p.total })) },
    { label: 'in KEV', color: '#000000', dash: '5 3', points: view.total.map((p) => ({ at: p.at, value: p.kev })) },
  ])}
<table><caption>Last points of the total</caption><thead><tr><th scope="col">When</th><th scope="col" class="num">Findings</th><th scope="col" class="num">KEV</th></tr></thead>
<tbody>${view.total.slice(-10).map((p) => html`<tr><td>${p.at.slice(0, 16).replace('T', ' ')}</td><td class="num">${p.total}</td><td class="num">${p.kev}</td></tr>`)}</tbody></table></section>
${selected ? '' : html`<section aria-labelledby="per-h"><h2 id="per-h">Per image</h2>
${view.series.length > shown.length ? html`<p class="muted">Showing ${shown.length} of ${view.series.length} images; pick one above for the rest.</p>` : ''}
<div class="grid">${shown.map(
    (s) => html`<div><h3><a href="${imageHref(s.image)}">${s.image}</a></h3>${lineChart(`${s.image}: findings over time`, [
      { label: 'findings', color: '#0b57d0', points: s.points.map((p) => ({ at: p.at, value: p.total })) },
      { label: 'critical + high', color: '#b3261e', dash: '4 2', points: s.points.map((p) => ({ at: p.at, value: p.critical + p.high })) },
    ], { width: 360, height: 160 })}</div>`,
  )}</div></section>`}`;
  return page('Trend', 'trend', body);
}
