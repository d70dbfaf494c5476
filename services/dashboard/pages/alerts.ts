/** The alerts page: the latest alerts, then new ones as they arrive (server-sent events, see alerts-feed.ts). */
import type { AlertEntry } from '../../../shared/store/alerts.js';
import { figure, html } from '../../../shared/report/markup.js';
import { page } from '../layout.js';

export function alertsPage(entries: AlertEntry[]): string {
  const newestFirst = [...entries].reverse();
  const body = html`<p>Live feed: <span id="feed-status" data-state="connecting">connecting</span></p>
<table id="alerts"><thead><tr><th>at</th><th>source</th><th>record</th><th>kind</th><th>severity</th><th>score</th><th>p-value</th><th>threshold</th><th>model</th><th>top features</th><th>attribution</th></tr></thead>
<tbody data-after="${entries.at(-1)?.id ?? '0-0'}">
${newestFirst.map(({ id, alert: a }) => html`<tr data-id="${id}"><td>${a.at}</td><td>${a.source}</td><td>${a.record}</td><td>${a.kind ?? 'anomaly'}</td><td class="sev-${a.severity}">${a.severity}</td><td class="num">${figure(a.score)}</td><td class="num">${a.pValue === undefined ? '-' : figure(a.pValue)}</td><td class="num">${figure(a.threshold)}</td><td>${a.model}@${a.version}</td><td>${a.features.map((f) => f.feature).join(', ')}</td><td>${(a.attribution ?? []).map((f) => f.feature).join(', ')}</td></tr>`)}
</tbody></table>`;
  return page({ title: 'Alerts', section: 'alerts', body, scripts: ['/assets/alerts.js'] });
}
