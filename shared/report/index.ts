/**
 * Run reports: one self-contained HTML file (inline CSS and SVG charts, no script, no URL) showing a run or a model
 * version: loss curves, the reconstruction-error histogram with the threshold, errors by label, the codes in 2-D by
 * cluster and by label, the SVM confusion matrix, the top anomalies with their worst features, and the metadata.
 */
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from '../store/redis.js';
import { codesScatter, confusionMatrixChart, errorByLabelChart, errorHistogram, lossChart } from './charts.js';
import type { ReportData, ReportTarget } from './data.js';
import { gatherReport, type GatherOptions } from './gather.js';
import { renderHtml, type ReportCharts } from './html.js';

export type { ReportTarget } from './data.js';
export { lossChart } from './charts.js';

/**
 * The report of a run (by run id; it must have completed) or of a model version (`version` a number or an alias,
 * default `latest`; the embeddings of the dataset it was trained on) as an HTML document. Writes nothing and prints
 * nothing. InputError naming what is missing (run, model, version, dataset or embeddings). Loads the model to score
 * the top anomalies: start the TensorFlow.js backend first for speed.
 */
export async function buildReport(redis: RedisClient, keys: Keyspace, target: ReportTarget, options?: GatherOptions): Promise<string> {
  const data = await gatherReport(redis, keys, target, options);
  return renderHtml(data, await renderCharts(data));
}

/** Every chart the data allows, rendered one after another (vega is single-threaded anyway). */
export async function renderCharts(data: ReportData): Promise<ReportCharts> {
  const points = data.view.points;
  const axes = { xTitle: data.view.xTitle, yTitle: data.view.yTitle };
  const confusion = data.classification?.confusion;
  return {
    ...(data.losses.length > 0 ? { loss: await lossChart(data.losses) } : {}),
    errors: await errorHistogram(data.errors, { threshold: data.threshold?.value }),
    ...(data.labels ? { errorsByLabel: await errorByLabelChart(data.errors, data.labels) } : {}),
    ...(points.some((p) => p.cluster !== undefined)
      ? { codesByCluster: await codesScatter(points.map((p) => ({ x: p.x, y: p.y, group: p.cluster ?? '-' })), { ...axes, groupTitle: 'cluster' }) }
      : {}),
    ...(data.labels ? { codesByLabel: await codesScatter(points.map((p) => ({ x: p.x, y: p.y, group: p.label ?? '-' })), { ...axes, groupTitle: 'label' }) } : {}),
    ...(confusion ? { confusion: await confusionMatrixChart(confusion) } : {}),
  };
}
