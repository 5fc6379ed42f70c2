/** @module server/charts — inline SVG line charts (no script, no external resources), with a text alternative. */
import { html, raw, type Html } from './html.js';

export interface ChartSeries {
  label: string;
  /** A CSS colour; every series is also told apart by its dash pattern and the legend text. */
  color: string;
  dash?: string;
  points: { at: string; value: number }[];
}

/** An axis top with four whole, round steps (1, 2, 2.5 or 5 × 10^k each), so every grid label is exact. */
function niceMax(value: number): number {
  if (value <= 4) return 4;
  const raw = value / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw && Number.isInteger(s)) ?? Math.ceil(raw);
  return step * 4;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** A step line chart over time: counts change when a scan lands and stay until the next one. */
export function lineChart(title: string, series: readonly ChartSeries[], options: { width?: number; height?: number } = {}): Html {
  const width = options.width ?? 640;
  const height = options.height ?? 220;
  const pad = { left: 44, right: 12, top: 12, bottom: 28 };
  const times = series.flatMap((s) => s.points.map((p) => Date.parse(p.at)));
  const values = series.flatMap((s) => s.points.map((p) => p.value));
  if (times.length === 0) return html`<p class="muted">No scans yet for ${title}.</p>`;
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t0 === t1) {
    t0 -= 43_200_000;
    t1 += 43_200_000;
  }
  const max = niceMax(Math.max(...values, 0));
  const x = (t: number): number => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number): number => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    grid.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#d0d4da"/>`);
    grid.push(`<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`);
  }
  grid.push(`<text x="${pad.left}" y="${height - 8}" text-anchor="start">${day(new Date(t0).toISOString())}</text>`);
  grid.push(`<text x="${width - pad.right}" y="${height - 8}" text-anchor="end">${day(new Date(t1).toISOString())}</text>`);
  const lines = series.map((s) => {
    const pts = [...s.points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    let d = '';
    pts.forEach((p, i) => {
      const px = x(Date.parse(p.at)).toFixed(1);
      const py = y(p.value).toFixed(1);
      d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
    });
    const last = pts[pts.length - 1];
    if (last !== undefined) d += `H${(width - pad.right).toFixed(1)}`;
    const dots = pts.map((p) => `<circle cx="${x(Date.parse(p.at)).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="${s.color}"/>`).join('');
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${dots}`;
  });
  const summary = series.map((s) => `${s.label}: ${s.points.length === 0 ? 'no data' : `${s.points[s.points.length - 1]!.value} now`}`).join('; ');
  return html`<figure class="chart">
<svg role="img" aria-label="${`${title}. ${summary}`}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMidYMid meet" font-size="11" fill="#333">${raw(grid.join(''))}${raw(lines.join(''))}</svg>
<figcaption>${title}: ${series.map((s) => html`<span class="legend"><svg width="22" height="8" aria-hidden="true"><line x1="0" x2="22" y1="4" y2="4" stroke="${s.color}" stroke-width="2"${raw(s.dash ? ` stroke-dasharray="${s.dash}"` : '')}/></svg> ${s.label}</span>`)}</figcaption>
</figure>`;
}

/** Horizontal severity bar: one segment per severity, each labelled in text too. */
export function severityBar(bySeverity: Record<string, number>, colors: Record<string, string>): Html {
  const total = Object.values(bySeverity).reduce((a, b) => a + b, 0);
  if (total === 0) return html`<span class="muted">none</span>`;
  let x = 0;
  const parts: string[] = [];
  for (const [severity, count] of Object.entries(bySeverity)) {
    if (count === 0) continue;
    const w = (count / total) * 120;
    parts.push(`<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10" fill="${colors[severity] ?? '#888'}"/>`);
    x += w;
  }
  return raw(`<svg width="120" height="10" aria-hidden="true" class="bar">${parts.join('')}</svg>`);
}
