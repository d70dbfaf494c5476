/** The page shell every dashboard page shares: navigation, styles, and a flash line. */
import { html, trusted, type SafeHtml } from '../../shared/report/markup.js';

export const NAV = [
  ['runs', '/runs'], ['models', '/models'], ['datasets', '/datasets'], ['sources', '/sources'],
  ['schedules', '/schedules'], ['alerts', '/alerts'], ['queues', '/queues'], ['metrics', '/metrics'],
] as const;

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.4rem;align-items:baseline}
header b{font-size:1.1rem}header a{color:#c9d3e6;text-decoration:none}header a.here{color:#fff;font-weight:600}
main{padding:1rem 1.2rem;max-width:1200px}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;background:#fff;margin-bottom:1rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.state-completed{color:#1a7f37}.state-failed{color:#cf222e}.state-active,.state-waiting-children{color:#9a6700}
.sev-critical{color:#fff;background:#cf222e}.sev-high{background:#ffd8d3}.sev-medium{background:#fff1c2}.sev-low{background:#eef0f4}
.muted{color:#6b7385}.flash{padding:.5rem .8rem;background:#ddf4ff;border:1px solid #54aeff;margin-bottom:1rem}
form.inline{display:inline;margin:0}button{font:inherit;padding:.1rem .6rem;cursor:pointer}
.chart{background:#fff;display:inline-block;padding:.4rem;margin:.2rem}code{font-size:.92em}
`;

export interface PageOptions {
  title: string;
  /** Which navigation entry is current. */
  section: (typeof NAV)[number][0];
  body: SafeHtml;
  /** A one-line notice (e.g. the outcome of an action). */
  flash?: string;
  /** Same-origin scripts the page loads. */
  scripts?: string[];
}

export function page(o: PageOptions): string {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · latentflow</title><link rel="icon" href="data:,"><style>${trusted(STYLE)}</style></head>
<body><header><b>latentflow</b>${NAV.map(([name, href]) => html` <a href="${href}" class="${name === o.section ? 'here' : ''}">${name}</a>`)}</header>
<main><h1>${o.title}</h1>${o.flash ? html`<p class="flash" role="status">${o.flash}</p>` : ''}${o.body}</main>
${(o.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</body></html>`.value;
}

/** A POST button carrying the action token (and hidden fields). */
export function actionButton(action: string, label: string, actionToken: string, fields: Record<string, string | number> = {}): SafeHtml {
  return html`<form class="inline" method="post" action="${action}"><input type="hidden" name="action" value="${actionToken}">${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`)}<button type="submit">${label}</button></form>`;
}
