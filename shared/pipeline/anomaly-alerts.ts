/**
 * The alerts of records whose anomaly score exceeds a threshold, as every path raises them (the stream consumer, the
 * detect job): the score's p-value and a severity from it when the model is calibrated (else from score / threshold),
 * the worst reconstructed features and the attribution of the score to features (Autoencoder.attribute).
 */
import type { Matrix } from '../ml/matrix.js';
import type { Autoencoder } from '../ml/autoencoder.js';
import { severityOfPValue } from '../ml/calibration.js';
import { severityOf, type Alert } from '../store/alerts.js';

/** Features named per alert, in `features` and in `attribution`. */
export const ALERT_FEATURES = 3;
/**
 * Alerted rows attributed per call: attribution scores (width + 1) variants of a row, so a flood of alerts is capped
 * (the rest carry `features` and no `attribution`). 256 rows of 784 features: ~200k rows scored, well under a second.
 */
export const ATTRIBUTED_ROWS = 256;

export interface AlertBase {
  source: string;
  model: string;
  version: number;
  at?: string;
}

/**
 * Alerts for the rows of `rows` (raw values, in the model's feature order; `ids` their record ids) whose `scores`
 * exceed `threshold`. Rows not above it are ignored.
 */
export function anomalyAlerts(model: Autoencoder, rows: Matrix, ids: readonly string[], scores: ArrayLike<number>, threshold: number, base: AlertBase): Alert[] {
  const width = rows.width;
  const above: number[] = [];
  for (let i = 0; i < rows.rows; i++) if (scores[i] > threshold) above.push(i);
  if (above.length === 0) return [];
  const values = new Float32Array(above.length * width);
  above.forEach((r, k) => values.set(rows.values.subarray(r * width, (r + 1) * width), k * width));
  const alerted = { values, rows: above.length, width, features: model.features };
  const cells = model.score(alerted, { cells: true }).cellErrors!;
  const attributed = Math.min(above.length, ATTRIBUTED_ROWS);
  const attribution = model.attribute({ values: values.subarray(0, attributed * width), rows: attributed, width }, ALERT_FEATURES);
  const pValues = model.pValues(above.map((r) => scores[r]));
  const at = base.at ?? new Date().toISOString();
  return above.map((r, k): Alert => {
    const score = scores[r];
    const p = pValues?.[k];
    return {
      source: base.source, record: ids[r], score, threshold,
      severity: p !== undefined && !Number.isNaN(p) ? severityOfPValue(p) : severityOf(score, threshold),
      model: base.model, version: base.version, at, kind: 'anomaly',
      features: model.topFeatures(cells.subarray(k * width, (k + 1) * width), ALERT_FEATURES),
      ...(p !== undefined && !Number.isNaN(p) ? { pValue: p } : {}),
      ...(k < attributed ? { attribution: attribution[k] } : {}),
    };
  });
}
