/**
 * Threshold-free scores of an anomaly score against binary truth: AUROC (ties count half, as scikit-learn's
 * `roc_auc_score`) and AUPRC as average precision (scikit-learn's `average_precision_score`, no interpolation).
 * Written here: no maintained npm package matches scikit-learn's tie handling.
 */
import { InputError } from '../contracts/errors.js';
import { assertSameLength } from './matrix.js';

/** Binary truth: `true` or `1` is positive (e.g. an anomaly), `false` or `0` negative. */
export type BinaryLabels = ArrayLike<boolean | number>;

function positives(yTrue: BinaryLabels, scores: ArrayLike<number>): Uint8Array {
  assertSameLength(scores.length, yTrue.length, 'scores', 'yTrue');
  const pos = new Uint8Array(yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (y === true || y === 1) pos[i] = 1;
    else if (y !== false && y !== 0) throw new InputError('must be true/false or 1/0', { field: 'yTrue', row: i, value: y });
    if (!Number.isFinite(scores[i])) throw new InputError('not a finite number', { field: 'scores', row: i, value: scores[i] });
  }
  return pos;
}

/** Indices ordered by score, descending. */
function byScoreDescending(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b] - scores[a]);
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative, ties counting
 * one half (Mann–Whitney U with average ranks, equal to the trapezoidal ROC area). Needs both classes present.
 */
export function auroc(yTrue: BinaryLabels, scores: ArrayLike<number>): number {
  const pos = positives(yTrue, scores);
  const order = byScoreDescending(scores);
  const n = order.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += pos[i];
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new InputError('needs both positive and negative rows for AUROC', { field: 'yTrue' });
  // Walk tie groups from the highest score: each negative in a group beats the positives below it and ties those in it.
  let negAbove = 0, sum = 0;
  for (let start = 0; start < n; ) {
    let end = start, p = 0, q = 0;
    while (end < n && scores[order[end]] === scores[order[start]]) {
      if (pos[order[end]]) p++;
      else q++;
      end++;
    }
    sum += p * (nNeg - negAbove - q) + 0.5 * p * q;
    negAbove += q;
    start = end;
  }
  return sum / (nPos * nNeg);
}

/**
 * Average precision: Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct score thresholds from highest to lowest (tied scores form
 * one threshold). Needs at least one positive.
 */
export function auprc(yTrue: BinaryLabels, scores: ArrayLike<number>): number {
  const pos = positives(yTrue, scores);
  const order = byScoreDescending(scores);
  const n = order.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += pos[i];
  if (nPos === 0) throw new InputError('needs at least one positive row for average precision', { field: 'yTrue' });
  let tp = 0, seen = 0, prevRecall = 0, ap = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end < n && scores[order[end]] === scores[order[start]]) tp += pos[order[end++]];
    seen = end;
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    start = end;
  }
  return ap;
}
