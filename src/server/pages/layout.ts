/** @module server/pages/layout — the page shell: one inline stylesheet, skip link, navigation, no external resources. */
import { html, raw, type Html } from '../html.js';

export const SEVERITY_COLORS: Record<string, string> = {
  critical: '#7a0019',
  high: '#b3261e',
  medium: '#8a5a00',
  low: '#1d4f91',
  negligible: '#555b63',
  unknown: '#555b63',
};

const CSS = `
:root{--fg:#1b1f24;--muted:#555b63;--line:#d0d4da;--bg:#fff;--head:#f3f5f7;--link:#0b57d0;--focus:#ffbf47}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:9}
header{background:#14213d;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:4px 2px}header a[aria-current=page]{border-bottom:3px solid var(--focus)}
header .brand{font-weight:700;font-size:18px}
main{padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:18px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
thead th{background:var(--head);position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;font-weight:600;white-space:nowrap}
.kev{background:#000}.epss{background:#4a148c}.fixable{background:#1e6b2e}
.ok{color:#1e6b2e;font-weight:600}.fail{color:#b3261e;font-weight:600}
.muted{color:var(--muted)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:22px}
form.inline{display:flex;gap:12px;flex-wrap:wrap;align-items:end;margin:8px 0}
label{display:flex;flex-direction:column;font-size:13px;gap:2px}
input,select,button{font:inherit;padding:4px 6px}
button{background:#0b57d0;color:#fff;border:0;border-radius:4px;padding:6px 14px;cursor:pointer}
.chart{margin:8px 0 20px;max-width:760px}.chart figcaption{font-size:13px;color:var(--muted)}
.legend{margin-right:12px;white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
code{font-size:13px;word-break:break-all}
pre{background:var(--head);padding:8px;overflow:auto;font-size:12px}
.status{padding:8px 12px;border-radius:4px;background:var(--head)}
`;

export type Section = 'catalog' | 'trend' | 'compare' | 'upload' | 'api';

const NAV: [Section, string, string][] = [
  ['catalog', '/', 'Catalog'],
  ['trend', '/trend', 'Trend'],
  ['compare', '/compare', 'Compare'],
  ['upload', '/upload', 'Upload'],
  ['api', '/api/openapi.json', 'API'],
];

export function page(title: string, section: Section | undefined, body: Html, options: { scripts?: string[] } = {}): string {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · distill</title><link rel="icon" href="data:,"><style>${raw(CSS)}</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><span class="brand">distill</span><nav aria-label="Main">${NAV.map(([id, href, label]) => html`<a href="${href}"${raw(id === section ? ' aria-current="page"' : '')}>${label}</a> `)}</nav></header>
<main id="main" tabindex="-1">${body}</main>
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</body></html>
`.text;
}

export function severityBadge(severity: string): Html {
  return html`<span class="badge" style="background:${SEVERITY_COLORS[severity] ?? '#555b63'}">${severity}</span>`;
}

export function bytes(value: number | undefined): string {
  if (value === undefined) return '–';
  if (value < 1024) return `${value} B`;
  if (value < 1_048_576) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1_048_576).toFixed(1)} MiB`;
}

export function when(iso: string | undefined): Html {
  if (iso === undefined) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;
}

export function imageHref(name: string): string {
  return `/images/${encodeURIComponent(name)}`;
}

export function scanHref(id: string): string {
  return `/scans/${encodeURIComponent(id)}`;
}
