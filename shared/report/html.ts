/**
 * The report as one self-contained HTML5 document: inline CSS, inline SVG charts, no script, no external resource,
 * every piece of data escaped. Pure: {@link ReportData} and rendered charts in, markup out.
 */
import type { ReportData, RunFacts } from './data.js';
import { figure, html, trusted, type HtmlValue, type SafeHtml } from './markup.js';

/** The charts of a report as SVG markup (see charts.ts); an absent chart's section shows its note instead. */
export interface ReportCharts {
  loss?: string;
  errors: string;
  errorsByLabel?: string;
  codesByCluster?: string;
  codesByLabel?: string;
  confusion?: string;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#f6f7f9}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
.sub{color:#555;margin:0}
nav{margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px}
nav a{color:#1f5fa8;text-decoration:none}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:16px 20px;margin:16px 0}
figure{margin:0 0 8px;display:inline-block;vertical-align:top;max-width:100%}
figure svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:13px}
.figures{display:flex;flex-wrap:wrap;gap:16px}
table{border-collapse:collapse;margin:4px 0 8px}
th,td{padding:3px 10px 3px 0;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
th{font-weight:600;color:#444}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.kv th{width:190px;font-weight:normal;color:#555}
.note{color:#6a5300;background:#fff8db;border:1px solid #f0e2a6;border-radius:4px;padding:6px 10px;margin:8px 0}
.yes{color:#b3261e;font-weight:600}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
footer{color:#777;font-size:12px;padding-bottom:24px}
`;

/** The complete document. */
export function renderHtml(data: ReportData, charts: ReportCharts): string {
  const { model, dataset } = data;
  const sections: [string, string, SafeHtml][] = [
    ['summary', 'Summary', summary(data)],
    ['training', 'Training', training(data, charts)],
    ['errors', 'Reconstruction error', errors(data, charts)],
    ['by-label', 'Error by label', byLabel(data, charts)],
    ['codes', 'Codes in two dimensions', codes(data, charts)],
    ['classification', 'SVM confusion matrix', classification(data, charts)],
    ['anomalies', 'Top anomalies', anomalies(data)],
    ['metadata', 'Metadata', metadata(data)],
  ];
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>latentflow report: ${data.title}</title>
<style>${trusted(CSS)}</style>
</head>
<body>
<header>
<h1>latentflow report: ${data.title}</h1>
<p class="sub">model ${model.model}@${model.version} · dataset ${dataset.name} · ${data.errors.length} records · generated ${data.generatedAt}</p>
<nav>${sections.map(([id, title]) => html`<a href="#${id}">${title}</a>`)}</nav>
</header>
<main>
${sections.map(([id, title, body]) => html`<section id="${id}">\n<h2>${title}</h2>\n${body}\n</section>\n`)}</main>
<footer>Made by <code>latentflow report</code>; self-contained: it loads nothing.</footer>
</body>
</html>
`;
  return page.value;
}

function keyValues(rows: readonly (readonly [string, HtmlValue])[]): SafeHtml {
  return html`<table class="kv">${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>`;
}

function chart(svg: string | undefined, caption?: HtmlValue): SafeHtml {
  return svg === undefined ? html`` : html`<figure>${trusted(svg)}${caption ? html`<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

function note(text: string | undefined): SafeHtml {
  return text === undefined ? html`` : html`<p class="note">${text}</p>`;
}

function summary(d: ReportData): SafeHtml {
  const c = d.clustering, k = d.classification, a = d.detection;
  return keyValues([
    ['records', d.errors.length],
    ['model', `${d.model.model}@${d.model.version}${d.aliases.length > 0 ? ` (${d.aliases.join(', ')})` : ''}`],
    ['input width → code size', `${d.model.inputWidth} → ${d.model.codeSize}`],
    ['mean reconstruction error', figure(mean(d.errors))],
    ['anomaly threshold', d.threshold ? `${figure(d.threshold.value)} (${d.threshold.source === 'detect' ? 'of the detect stage' : "the model's"})` : 'none'],
    ...(a ? [['alerts', a.alerts] as const] : []),
    ...(c ? [['k-means', `k = ${c.k}, silhouette ${figure(c.silhouette)}${c.nmi !== undefined ? `, NMI ${figure(c.nmi)}` : ''}${c.ari !== undefined ? `, ARI ${figure(c.ari)}` : ''}`] as const] : []),
    ...(k ? [['SVM on the codes', `accuracy ${figure(k.accuracy)}, macro F1 ${figure(k.macroF1)} on ${k.tested} held-out records (trained on ${k.trained})`] as const] : []),
  ]);
}

function training(d: ReportData, charts: ReportCharts): SafeHtml {
  const m = d.model, t = d.training;
  return html`${chart(charts.loss, 'Loss per epoch: training (with any noise and penalties) and validation.')}
${charts.loss === undefined ? note('No loss history is stored for this version.') : ''}
${keyValues([
    ['epochs', `${m.epochs}${t.stoppedEarly ? ` (stopped early; weights of epoch ${t.bestEpoch} kept)` : ''}`],
    ['final loss', figure(m.finalLoss)],
    ['validation loss (kept weights)', figure(m.valLoss)],
    ['training / validation rows', `${t.trainRows} / ${t.validationRows}`],
    ['seconds', figure(m.seconds)],
    ['samples per second', figure(Math.round(m.samplesPerSecond))],
  ])}`;
}

function errors(d: ReportData, charts: ReportCharts): SafeHtml {
  const caption = d.threshold
    ? `Reconstruction error of every record; the dashed red line is the anomaly threshold ${figure(d.threshold.value)}.`
    : 'Reconstruction error of every record; this model has no anomaly threshold.';
  return chart(charts.errors, caption);
}

function byLabel(d: ReportData, charts: ReportCharts): SafeHtml {
  return html`${chart(charts.errorsByLabel, 'Box plots of the reconstruction error per label: boxes span the quartiles, whiskers 1.5 times the interquartile range, points are the records beyond.')}${note(charts.errorsByLabel === undefined ? d.notes.labels : undefined)}`;
}

function codes(d: ReportData, charts: ReportCharts): SafeHtml {
  const v = d.view;
  const how = v.method === 'pca' ? `their first two principal components (code size ${d.model.codeSize})` : v.method === 'codes' ? 'the codes themselves' : 'the code against the reconstruction error';
  const sampled = v.points.length < v.records ? `${v.points.length} of ${v.records} records (a seeded sample)` : `all ${v.records} records`;
  return html`<p class="sub">The latent codes shown as ${how}: ${sampled}.</p>
<div class="figures">${chart(charts.codesByCluster, 'Coloured by k-means cluster.')}${chart(charts.codesByLabel, 'Coloured by label.')}</div>
${note(charts.codesByCluster === undefined ? d.notes.clusters : undefined)}${note(charts.codesByLabel === undefined ? d.notes.labels : undefined)}`;
}

function classification(d: ReportData, charts: ReportCharts): SafeHtml {
  const k = d.classification;
  const caption = k ? `Held-out records (${k.tested}): rows are true labels, columns the SVM's predictions; accuracy ${figure(k.accuracy)}, macro F1 ${figure(k.macroF1)}.` : undefined;
  return html`${chart(charts.confusion, caption)}${note(charts.confusion === undefined ? d.notes.confusion ?? d.notes.labels : undefined)}`;
}

function anomalies(d: ReportData): SafeHtml {
  if (d.anomalies.length === 0) return note('No records.');
  const optional = { label: d.anomalies.some((a) => a.label !== undefined), cluster: d.anomalies.some((a) => a.cluster !== undefined), prediction: d.anomalies.some((a) => a.prediction !== undefined) };
  return html`<p class="sub">The ${d.anomalies.length} records with the largest anomaly score, with its p-value (how often normal data scores as high), the features whose reconstruction error is largest in each (error per feature in brackets) and the features whose replacement by their training median lowers the score most (the fall in brackets).</p>
<table>
<tr><th>#</th><th>record</th><th>score</th><th>p-value</th><th>above threshold</th>${optional.label ? html`<th>label</th>` : ''}${optional.cluster ? html`<th>cluster</th>` : ''}${optional.prediction ? html`<th>SVM prediction</th>` : ''}<th>top features</th><th>attribution</th></tr>
${d.anomalies.map((a, i) => html`<tr><td class="num">${i + 1}</td><td><code>${a.id}</code></td><td class="num">${figure(a.error)}</td><td class="num">${a.pValue === undefined ? '-' : figure(a.pValue)}</td><td>${a.anomalous ? html`<span class="yes">yes</span>` : 'no'}</td>${optional.label ? html`<td>${a.label ?? '-'}</td>` : ''}${optional.cluster ? html`<td>${a.cluster ?? '-'}</td>` : ''}${optional.prediction ? html`<td>${a.prediction ?? '-'}</td>` : ''}<td>${a.features.map((f, j) => html`${j > 0 ? ', ' : ''}<code>${f.feature}</code> (${figure(f.error)})`)}</td><td>${a.attribution.map((f, j) => html`${j > 0 ? ', ' : ''}<code>${f.feature}</code> (${figure(f.contribution)})`)}</td></tr>\n`)}</table>
${note(d.notes.anomalies)}`;
}

function metadata(d: ReportData): SafeHtml {
  const m = d.model, ds = d.dataset;
  return html`${d.run ? runFacts(d.run) : ''}
<h3>Model</h3>
${keyValues([
    ['version', `${m.model}@${m.version}`],
    ['aliases', d.aliases.join(', ') || '-'],
    ['created', m.createdAt],
    ['trained on dataset', `${m.dataset}${m.normal !== undefined ? ` (rows labelled ${m.normal} only)` : ''}`],
    ['backend', d.run?.backend ?? m.backend ?? 'not recorded'],
    ['features', m.features.length],
    ['threshold', figure(m.threshold)],
    ['artifact bytes', m.bytes],
    ['training data fingerprint', html`<code>${m.fingerprint}</code>`],
  ])}
<h3>Model configuration</h3>
${keyValues(Object.entries(isRecord(m.config) ? m.config : {}).map(([k, v]) => [k, typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)]))}
<h3>Dataset</h3>
${keyValues([
    ['name', ds.name],
    ['rows × features', `${ds.rows} × ${ds.width}`],
    ['labels', ds.hasLabels ? `${ds.labelSet.length}: ${ds.labelSet.slice(0, 30).join(', ')}${ds.labelSet.length > 30 ? ', …' : ''}` : 'none'],
    ['imported from', ds.source],
    ['imported', ds.importedAt],
    ['fingerprint', html`<code>${ds.fingerprint}</code>`],
  ])}`;
}

function runFacts(run: RunFacts): SafeHtml {
  return html`<h3>Run</h3>
${keyValues([['run id', html`<code>${run.id}</code>`], ['total seconds (queued to summary)', figure(run.seconds)], ['backend', run.backend ?? 'not recorded']])}
<table>
<tr><th>stage</th><th>state</th><th>queued</th><th>started</th><th>finished</th><th>seconds</th><th>attempts</th><th>worker</th></tr>
${run.stages.map((s) => html`<tr><td>${s.stage}</td><td>${s.state}</td><td>${s.queuedAt ?? '-'}</td><td>${s.startedAt ?? '-'}</td><td>${s.finishedAt ?? '-'}</td><td class="num">${figure(s.seconds)}</td><td class="num">${s.attempts}</td><td>${s.worker ?? '-'}</td></tr>\n`)}</table>`;
}

function mean(values: Float32Array): number | undefined {
  let sum = 0, n = 0;
  for (const v of values) if (Number.isFinite(v)) { sum += v; n++; }
  return n > 0 ? sum / n : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
