/** The datasets, sources and schedules pages: one table each. */
import type { ScheduleInfo } from '../../../shared/pipeline/schedules.js';
import type { DatasetMeta } from '../../../shared/store/datasets.js';
import type { SourceInfo, SourceStats } from '../../../shared/store/sources.js';
import { html } from '../../../shared/report/markup.js';
import { page } from '../layout.js';

export function datasetsPage(datasets: DatasetMeta[]): string {
  const body = datasets.length === 0
    ? html`<p class="muted">No datasets yet: <code>latentflow dataset import data/digits.csv.gz</code>.</p>`
    : html`<table id="datasets"><thead><tr><th>dataset</th><th>rows</th><th>width</th><th>labels</th><th>imported</th><th>from</th></tr></thead><tbody>
${datasets.map((d) => html`<tr><td>${d.name}</td><td class="num">${d.rows}</td><td class="num">${d.width}</td><td>${d.hasLabels ? `${d.labelSet.length} (${d.labelSet.slice(0, 10).join(', ')}${d.labelSet.length > 10 ? ', …' : ''})` : '-'}</td><td>${d.importedAt}</td><td>${d.source}</td></tr>`)}
</tbody></table>`;
  return page({ title: 'Datasets', section: 'datasets', body });
}

export function sourcesPage(sources: (SourceInfo & { stats: SourceStats })[]): string {
  const body = sources.length === 0
    ? html`<p class="muted">No sources yet: <code>latentflow source add NAME --model MODEL</code>.</p>`
    : html`<table id="sources"><thead><tr><th>source</th><th>model</th><th>stream length</th><th>pending</th><th>lag</th><th>consumers</th><th>dead letters</th><th>rate limit/s</th><th>since</th></tr></thead><tbody>
${sources.map((s) => {
    const g = s.stats.groups[0];
    return html`<tr><td>${s.source}</td><td>${s.model}</td><td class="num">${s.stats.length}</td><td class="num">${g?.pending ?? '-'}</td><td class="num">${g?.lag ?? '-'}</td><td class="num">${g?.consumers ?? 0}</td><td class="num">${s.stats.dlq}</td><td class="num">${s.rateLimit ?? 'default'}</td><td>${s.createdAt}</td></tr>`;
  })}
</tbody></table>`;
  return page({ title: 'Sources', section: 'sources', body });
}

export function schedulesPage(schedules: ScheduleInfo[]): string {
  const body = schedules.length === 0
    ? html`<p class="muted">No schedules yet: <code>latentflow schedule add NAME --every 1h --retrain MODEL --dataset DATASET</code>.</p>`
    : html`<table id="schedules"><thead><tr><th>schedule</th><th>when</th><th>kind</th><th>model</th><th>dataset</th><th>promote if better</th><th>next</th></tr></thead><tbody>
${schedules.map((s) => html`<tr><td>${s.name}</td><td>${s.cron !== undefined ? `cron ${s.cron}` : `every ${(s.everyMs ?? 0) / 1000} s`}</td><td>${s.payload.kind}</td><td>${s.payload.model}</td><td>${s.payload.dataset}</td><td>${s.payload.promoteIfBetter ? 'yes' : 'no'}</td><td>${s.next?.toISOString() ?? '-'}</td></tr>`)}
</tbody></table>`;
  return page({ title: 'Schedules', section: 'schedules', body });
}
