/**
 * Anomaly thresholds estimated from reconstruction errors of normal (training or validation) rows.
 * - quantile: the q-quantile of the errors (default q = 0.99);
 * - sigma: mean + k·standard deviation (default k = 3);
 * - contamination: the (1 − fraction)-quantile, for an expected fraction of anomalies (default 0.01);
 * - fpr: the score above which a share `value` of normal rows falls (default 0.01): the split-conformal cut of
 *   ./calibration.ts, so every alert has a p-value ≤ value and normal data raises about that share of false alarms;
 * - mad: median + k·1.4826·MAD (default k = 3; robust to anomalies among the rows it is estimated on);
 * - iqr: Q3 + k·(Q3 − Q1) (Tukey's fence, default k = 1.5).
 */
import { z } from 'zod';
import { calibrate, scoreAtPValue } from './calibration.js';

export const ThresholdMethodSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('quantile'), q: z.number().gt(0).lt(1).default(0.99) }),
  z.object({ method: z.literal('sigma'), k: z.number().positive().default(3) }),
  z.object({ method: z.literal('contamination'), fraction: z.number().gt(0).lt(0.5).default(0.01) }),
  z.object({ method: z.literal('fpr'), value: z.number().gt(0).lt(0.5).default(0.01) }),
  z.object({ method: z.literal('mad'), k: z.number().positive().default(3) }),
  z.object({ method: z.literal('iqr'), k: z.number().positive().default(1.5) }),
]);
export type ThresholdMethod = z.input<typeof ThresholdMethodSchema>;

export interface Threshold {
  method: z.output<typeof ThresholdMethodSchema>;
  value: number;
  /** How many errors it was estimated from. */
  rows: number;
}

/** Linear-interpolated quantile of unsorted values (the same as numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function estimateThreshold(errors: ArrayLike<number>, method: ThresholdMethod = { method: 'quantile' }): Threshold {
  const m = ThresholdMethodSchema.parse(method);
  let value: number;
  if (m.method === 'quantile') value = quantile(errors, m.q);
  else if (m.method === 'contamination') value = quantile(errors, 1 - m.fraction);
  else if (m.method === 'fpr') value = scoreAtPValue(calibrate(errors), m.value);
  else if (m.method === 'iqr') {
    const q1 = quantile(errors, 0.25), q3 = quantile(errors, 0.75);
    value = q3 + m.k * (q3 - q1);
  } else if (m.method === 'mad') {
    const median = quantile(errors, 0.5);
    const deviations = Float64Array.from(errors, (e) => Math.abs(e - median));
    value = median + m.k * 1.4826 * quantile(deviations, 0.5);
  } else {
    let sum = 0, sumSq = 0;
    for (let i = 0; i < errors.length; i++) {
      sum += errors[i];
      sumSq += errors[i] * errors[i];
    }
    const mean = sum / errors.length;
    value = mean + m.k * Math.sqrt(Math.max(0, sumSq / errors.length - mean * mean));
  }
  return { method: m, value, rows: errors.length };
}
