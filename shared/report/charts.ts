/**
 * The charts of a run report, as SVG markup for inlining in HTML: Vega-Lite specs rendered in Node (see
 * {@link renderSvg}), so the markup holds no script, no URL and escaped text. Pure: data in, markup out.
 *
 * Marks are named so that tests and readers can find them: their SVG groups carry the class `<name>_marks`
 * (`loss_marks`, `bars_marks`, `threshold_marks`, `points_marks`, `cells_marks`, `counts_marks`).
 * Data is bounded where a chart draws one mark per record: see `maxPoints` (seeded samples).
 */
import type { TopLevelSpec } from 'vega-lite';
import { compareLabels, type Label } from '../analytics/labels.js';
import { sampleIndices } from './sample.js';
import { renderSvg } from './vega-svg.js';

/** The plotting area of a chart in pixels (axes and legends come on top). */
export interface ChartSize {
  /** Default 560 (380 for a scatter, the number of labels × 34 up to 520 for a confusion matrix). */
  width?: number;
  /** Default 260 (320 for a scatter, as wide for a confusion matrix). */
  height?: number;
}

const size = (o: ChartSize | undefined, width = 560, height = 260) => ({ width: o?.width ?? width, height: o?.height ?? height });

/** Points drawn in a scatter chart at most (a seeded sample beyond). */
export const MAX_SCATTER_POINTS = 2000;
/** Records summarised per box plot at most (a seeded sample beyond): outliers are drawn one by one. */
export const MAX_BOXPLOT_RECORDS = 5000;
/** The histogram's x axis reaches STRETCH × the larger of this quantile of the errors and the threshold (or the largest error, when smaller). */
const HISTOGRAM_QUANTILE = 0.995;
const HISTOGRAM_STRETCH = 1.5;

/**
 * Training and validation loss per epoch: one line each (validation only when some epoch has one), points on the
 * lines up to 60 epochs.
 */
export async function lossChart(epochs: readonly { epoch: number; loss: number; valLoss?: number }[], options?: ChartSize): Promise<string> {
  const values = epochs.flatMap((e) => [
    ...(Number.isFinite(e.loss) ? [{ epoch: e.epoch, series: 'training', loss: e.loss }] : []),
    ...(e.valLoss !== undefined && Number.isFinite(e.valLoss) ? [{ epoch: e.epoch, series: 'validation', loss: e.valLoss }] : []),
  ]);
  return renderSvg({
    ...size(options),
    data: { values },
    name: 'loss',
    mark: { type: 'line', point: epochs.length <= 60, aria: false },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, sort: ['training', 'validation'], scale: { range: ['#1f77b4', '#ff7f0e'] } },
    },
  });
}

export interface ErrorHistogramOptions extends ChartSize {
  /** Where the anomaly threshold's rule is drawn; none when null or absent. */
  threshold?: number | null;
  /** Bars at most. Default 40. */
  bins?: number;
}

/**
 * Histogram of reconstruction errors with a red rule at the threshold. The x axis covers 1.5 × the larger of the
 * 99.5% quantile and the threshold, so that a few huge errors do not squeeze the rest into one bar; larger errors are
 * counted in the last bar (a note above the chart says how many). Non-finite errors
 * are left out (and counted in the note).
 */
export async function errorHistogram(errors: ArrayLike<number>, options: ErrorHistogramOptions = {}): Promise<string> {
  const finite = Array.from(errors).filter(Number.isFinite).sort((a, b) => a - b);
  const threshold = options.threshold ?? undefined;
  const min = Math.min(0, finite[0] ?? 0);
  const max = finite.at(-1) ?? 1;
  const quantile = finite[Math.min(finite.length - 1, Math.floor(HISTOGRAM_QUANTILE * finite.length))] ?? max;
  const upper = Math.min(max, Math.max(quantile, threshold ?? -Infinity) * HISTOGRAM_STRETCH) || 1;
  const clamped = finite.filter((e) => e > upper).length;
  const notes = [
    ...(clamped > 0 ? [`the last bar also counts ${clamped} record${clamped === 1 ? '' : 's'} with error above ${upper.toPrecision(3)} (largest ${max.toPrecision(3)})`] : []),
    ...(finite.length < errors.length ? [`${errors.length - finite.length} non-finite errors left out`] : []),
  ];
  const extent: [number, number] = [min, Math.max(upper, threshold ?? -Infinity)];
  const spec: TopLevelSpec = {
    ...size(options),
    ...(notes.length > 0 ? { title: { text: notes, fontSize: 11, fontWeight: 'normal', color: '#555', anchor: 'start' } } : {}),
    layer: [
      {
        name: 'bars',
        data: { values: finite.map((e) => ({ error: Math.min(e, upper) })) },
        mark: { type: 'bar', color: '#4c78a8', aria: false },
        encoding: {
          x: { field: 'error', type: 'quantitative', bin: { maxbins: options.bins ?? 40, extent }, title: 'reconstruction error' },
          y: { aggregate: 'count', type: 'quantitative', title: 'records' },
        },
      },
      ...(threshold !== undefined ? [{
        name: 'threshold',
        data: { values: [{ threshold }] },
        mark: { type: 'rule' as const, color: '#d62728', strokeWidth: 2, strokeDash: [6, 3] },
        encoding: { x: { field: 'threshold', type: 'quantitative' as const } },
      }] : []),
    ],
  };
  return renderSvg(spec);
}

export interface SampledChartOptions extends ChartSize {
  /** Records drawn at most; a seeded sample beyond. */
  maxPoints?: number;
  /** Seed of the sample. Default 0. */
  seed?: number;
}

/**
 * Reconstruction error per label as box plots (whiskers at 1.5 IQR, outliers as points), labels in natural order.
 * `labels[i]` is the label of `errors[i]`. At most `maxPoints` records (default {@link MAX_BOXPLOT_RECORDS}).
 */
export async function errorByLabelChart(errors: ArrayLike<number>, labels: readonly Label[], options: SampledChartOptions = {}): Promise<string> {
  const rows = sampleIndices(errors.length, options.maxPoints ?? MAX_BOXPLOT_RECORDS, options.seed).filter((i) => Number.isFinite(errors[i]));
  const order = [...new Set(rows.map((i) => String(labels[i])))].sort(compareLabels);
  return renderSvg({
    ...size(options),
    data: { values: rows.map((i) => ({ label: String(labels[i]), error: errors[i] })) },
    name: 'boxes',
    mark: { type: 'boxplot', extent: 1.5, size: Math.max(4, Math.min(28, (options.width ?? 560) / Math.max(1, order.length) - 6)) },
    encoding: {
      x: { field: 'label', type: 'nominal', title: 'label', sort: order, axis: { labelAngle: order.some((l) => l.length > 3) ? -40 : 0 } },
      y: { field: 'error', type: 'quantitative', title: 'reconstruction error' },
    },
  });
}

/** One point of a 2-D view of the codes, with the group that colours it (a cluster, a label). */
export interface ScatterPoint {
  x: number;
  y: number;
  group: Label;
}

export interface ScatterOptions extends SampledChartOptions {
  /** Axis titles. Default `x` and `y`. */
  xTitle?: string;
  yTitle?: string;
  /** Legend title. Default `group`. */
  groupTitle?: string;
}

/**
 * A scatter of points coloured by group (groups in natural order; the legend lists at most 30). At most `maxPoints`
 * points (default {@link MAX_SCATTER_POINTS}).
 */
export async function codesScatter(points: readonly ScatterPoint[], options: ScatterOptions = {}): Promise<string> {
  const rows = sampleIndices(points.length, options.maxPoints ?? MAX_SCATTER_POINTS, options.seed).filter((i) => Number.isFinite(points[i].x) && Number.isFinite(points[i].y));
  const order = [...new Set(rows.map((i) => points[i].group))].sort(compareLabels).map(String);
  return renderSvg({
    ...size(options, 380, 320),
    data: { values: rows.map((i) => ({ x: points[i].x, y: points[i].y, group: String(points[i].group) })) },
    name: 'points',
    mark: { type: 'circle', size: 14, opacity: 0.7, aria: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle ?? 'x', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: options.yTitle ?? 'y', scale: { zero: false } },
      color: {
        field: 'group', type: 'nominal', sort: order, title: options.groupTitle ?? 'group',
        scale: { scheme: order.length <= 10 ? 'category10' : 'category20' }, legend: { symbolLimit: 30 },
      },
    },
  });
}

/** Rows are true labels, columns predicted labels: `matrix[i][j]` records of `labels[i]` predicted as `labels[j]`. */
export interface ConfusionData {
  labels: readonly Label[];
  matrix: readonly (readonly number[])[];
}

/** The confusion matrix as a heat map with the count in every cell (labels² cells). */
export async function confusionMatrixChart(confusion: ConfusionData, options?: ChartSize): Promise<string> {
  const labels = confusion.labels.map(String);
  const values = labels.flatMap((truth, i) => labels.map((predicted, j) => ({ truth, predicted, count: confusion.matrix[i]?.[j] ?? 0 })));
  const largest = Math.max(1, ...values.map((v) => v.count));
  const side = Math.min(520, Math.max(160, 34 * labels.length));
  const x = { field: 'predicted', type: 'nominal', sort: labels, title: 'predicted label', axis: { labelAngle: 0 } } as const;
  const y = { field: 'truth', type: 'nominal', sort: labels, title: 'true label' } as const;
  return renderSvg({
    width: options?.width ?? side,
    height: options?.height ?? side,
    data: { values },
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', aria: false },
        encoding: { x, y, color: { field: 'count', type: 'quantitative', title: 'records', scale: { scheme: 'blues', domain: [0, largest] } } },
      },
      {
        name: 'counts',
        mark: { type: 'text', fontSize: labels.length > 15 ? 8 : 11, aria: false },
        encoding: {
          x, y, text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: `datum.count > ${largest / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  });
}
