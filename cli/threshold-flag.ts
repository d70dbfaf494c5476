/** `--threshold quantile:0.99 | sigma:3 | contamination:0.01 | fpr:0.01 | mad:3 | iqr:1.5`: how the anomaly threshold is estimated. */
import { InvalidArgumentError } from 'commander';
import type { ThresholdMethod } from '../shared/ml/threshold.js';

export const THRESHOLD_FLAG_HELP = 'anomaly threshold from validation errors: quantile:Q, sigma:K, contamination:FRACTION, fpr:RATE (false alarms on normal data), mad:K or iqr:K';

export function thresholdFrom(text: string): ThresholdMethod {
  const [method, raw] = text.split(':');
  const value = raw === undefined ? undefined : Number(raw);
  if (value !== undefined && !Number.isFinite(value)) throw new InvalidArgumentError(`--threshold: not a number: ${JSON.stringify(raw)}`);
  switch (method) {
    case 'quantile': return { method, q: value };
    case 'sigma': return { method, k: value };
    case 'contamination': return { method, fraction: value };
    case 'fpr': return { method, value };
    case 'mad': case 'iqr': return { method, k: value };
    default: throw new InvalidArgumentError(`--threshold: unknown method ${JSON.stringify(method)} (quantile, sigma, contamination, fpr, mad or iqr)`);
  }
}
