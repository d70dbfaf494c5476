/**
 * Classification metrics over label arrays, defined as in scikit-learn (`accuracy_score`, `f1_score(average='macro')`,
 * `confusion_matrix`). Written here: no maintained npm package computes these on string labels without extra weight.
 */
import { InputError } from '../contracts/errors.js';
import { distinctLabels, encodeLabels, type Label } from './labels.js';
import { assertSameLength } from './matrix.js';

function checkPair(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): void {
  assertSameLength(yPred.length, yTrue.length, 'yPred', 'yTrue');
  if (yTrue.length === 0) throw new InputError('is empty', { field: 'yTrue' });
}

/** Fraction of rows whose predicted label equals the true one. */
export function accuracy(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  checkPair(yTrue, yPred);
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

export interface ConfusionMatrix {
  /** Row and column order of `matrix`. */
  labels: Label[];
  /** `matrix[i][j]` = rows whose true label is `labels[i]` and predicted label `labels[j]`. */
  matrix: number[][];
}

/**
 * Confusion matrix, rows = true labels, columns = predicted labels (scikit-learn's orientation).
 * @param labels - the label order; default: every label in either array, sorted (numbers, then natural string order).
 */
export function confusionMatrix(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, labels?: readonly Label[]): ConfusionMatrix {
  checkPair(yTrue, yPred);
  const order = labels ? [...labels] : distinctLabels(yTrue, yPred);
  if (new Set(order).size !== order.length) throw new InputError('contains duplicates', { field: 'labels' });
  const t = encodeLabels(yTrue, order, 'yTrue');
  const p = encodeLabels(yPred, order, 'yPred');
  const matrix = order.map(() => new Array<number>(order.length).fill(0));
  for (let i = 0; i < t.length; i++) matrix[t[i]][p[i]]++;
  return { labels: order, matrix };
}

/**
 * Unweighted mean over labels of F1 = 2·TP / (2·TP + FP + FN), over every label present in either array; a label
 * never predicted correctly scores 0 (scikit-learn's `zero_division` result).
 */
export function macroF1(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  const k = matrix.length;
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    let rowSum = 0, colSum = 0;
    for (let j = 0; j < k; j++) {
      rowSum += matrix[c][j];
      colSum += matrix[j][c];
    }
    const denominator = rowSum + colSum; // = 2·TP + FN + FP
    sum += denominator === 0 ? 0 : (2 * tp) / denominator;
  }
  return sum / k;
}
