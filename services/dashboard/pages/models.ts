/** The models pages: every model with its aliases; one model's versions, metrics and loss curve, promote and rollback. */
import { lossChart } from '../../../shared/report/charts.js';
import type { ModelListing, ModelVersionMeta } from '../../../shared/store/models.js';
import { figure, html, trusted } from '../../../shared/report/markup.js';
import { actionButton, page } from '../layout.js';

function aliasesOf(aliases: Record<string, number>, version?: number): string {
  return Object.entries(aliases).filter(([, v]) => version === undefined || v === version).map(([a, v]) => (version === undefined ? `${a}→${v}` : a)).join(', ');
}

export function modelsPage(models: ModelListing[]): string {
  const body = models.length === 0
    ? html`<p class="muted">No models yet.</p>`
    : html`<table id="models"><thead><tr><th>model</th><th>kind</th><th>versions</th><th>aliases</th><th>latest trained</th><th>latest val loss</th></tr></thead><tbody>
${models.map((m) => {
    const latest = m.versions.at(-1);
    return html`<tr><td><a href="/models/${encodeURIComponent(m.name)}">${m.name}</a></td><td>${latest?.kind ?? 'autoencoder'}</td><td class="num">${m.versions.length}</td><td>${aliasesOf(m.aliases)}</td><td>${latest?.createdAt ?? '-'}</td><td class="num">${figure(latest?.valLoss ?? latest?.finalLoss)}</td></tr>`;
  })}
</tbody></table>`;
  return page({ title: 'Models', section: 'models', body });
}

/** The per-epoch losses of a version, when it recorded them. */
function epochsOf(meta: ModelVersionMeta): { epoch: number; loss: number; valLoss?: number }[] {
  const losses = meta.losses;
  if (!losses) return [];
  return losses.loss.map((loss, i) => ({ epoch: i + 1, loss, ...(losses.valLoss?.[i] !== undefined ? { valLoss: losses.valLoss[i] } : {}) }));
}

export async function modelPage(model: ModelListing, shown: number, actionToken: string, flash?: string): Promise<string> {
  const meta = model.versions.find((v) => v.version === shown);
  const epochs = meta ? epochsOf(meta) : [];
  const chart = epochs.length > 0
    ? html`<div class="chart" id="loss-curve">${trusted(await lossChart(epochs, { width: 560, height: 240 }))}</div>`
    : html`<p class="muted">Version ${shown} recorded no per-epoch losses.</p>`;
  const production = model.aliases.production;
  const body = html`
<p>Aliases: ${aliasesOf(model.aliases) || 'none'} ${production !== undefined ? actionButton(`/models/${encodeURIComponent(model.name)}/rollback`, 'roll back production', actionToken) : ''}</p>
<h2>Loss per epoch, version ${shown}</h2>${chart}
<h2>Versions</h2>
<table id="versions"><thead><tr><th>version</th><th>aliases</th><th>trained</th><th>dataset</th><th>code size</th><th>epochs</th><th>final loss</th><th>val loss</th><th>threshold</th><th>samples/s</th><th></th></tr></thead><tbody>
${[...model.versions].reverse().map((v) => html`<tr><td><a href="/models/${encodeURIComponent(model.name)}?version=${v.version}">${v.version}</a></td><td>${aliasesOf(model.aliases, v.version)}</td><td>${v.createdAt}</td><td>${v.dataset}</td>
<td class="num">${v.codeSize}</td><td class="num">${v.epochs}</td><td class="num">${figure(v.finalLoss)}</td><td class="num">${figure(v.valLoss)}</td><td class="num">${figure(v.threshold)}</td><td class="num">${figure(Math.round(v.samplesPerSecond))}</td>
<td>${v.version !== production ? actionButton(`/models/${encodeURIComponent(model.name)}/promote`, 'promote to production', actionToken, { version: v.version }) : html`<span class="muted">production</span>`}</td></tr>`)}
</tbody></table>`;
  return page({ title: `Model ${model.name}`, section: 'models', body, flash });
}
