/** The runs page: status, per-stage progress, summary figures, report link, retry for failed runs, cancel for unfinished ones. */
import { figure, html } from '../../../shared/report/markup.js';
import { actionButton, page } from '../layout.js';
import type { RunRow } from '../runs.js';

function when(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function duration(row: RunRow): string {
  return row.finishedAt === undefined ? '-' : `${((row.finishedAt - row.submittedAt) / 1000).toFixed(1)} s`;
}

function summaryOf(row: RunRow) {
  const s = row.summary;
  if (!s) return row.failedReason ? html`<span class="state-failed">${row.failedReason}</span>` : html`<span class="muted">-</span>`;
  return html`${s.records} records${s.clustering ? html`; k-means k ${s.clustering.k}, NMI ${figure(s.clustering.nmi)}` : ''}${s.classification ? html`; SVM accuracy ${figure(s.classification.accuracy)}` : ''}${s.anomalies ? html`; ${s.anomalies.alerts} alerts` : ''}`;
}

export function runsPage(rows: RunRow[], actionToken: string, flash?: string): string {
  const body = rows.length === 0
    ? html`<p class="muted">No runs yet: submit one with <code>latentflow run data/digits.csv.gz</code>.</p>`
    : html`<table id="runs"><thead><tr><th>run</th><th>status</th><th>stages</th><th>model</th><th>dataset</th><th>summary</th><th>submitted</th><th>took</th><th></th></tr></thead><tbody>
${rows.map((r) => html`<tr data-run="${r.id}"><td><code>${r.id}</code></td><td class="state-${r.status}">${r.status}</td>
<td>${r.stages.filter((s) => s.stage !== 'run').map((s) => html`<span class="state-${s.state}" title="${s.state}">${s.stage}${s.state === 'completed' ? ' ✓' : s.state === 'failed' ? ' ✗' : ' …'}</span> `)}</td>
<td>${r.summary ? `${r.summary.model}@${r.summary.version}` : r.model}</td><td>${r.dataset}</td><td>${summaryOf(r)}</td><td>${when(r.submittedAt)}</td><td class="num">${duration(r)}</td>
<td>${r.status === 'completed' ? html`<a href="/runs/${encodeURIComponent(r.id)}/report">report</a>` : ''}${r.status === 'failed' ? actionButton(`/runs/${encodeURIComponent(r.id)}/retry`, 'retry', actionToken) : ''}${r.status !== 'completed' && r.status !== 'failed' ? actionButton(`/runs/${encodeURIComponent(r.id)}/cancel`, 'cancel', actionToken) : ''}</td></tr>`)}
</tbody></table>`;
  return page({ title: 'Runs', section: 'runs', body, flash });
}
