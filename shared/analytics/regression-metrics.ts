/**
 * Squared-error metrics between two matrices (or two vectors) of the same shape, averaged over every cell: the
 * autoencoder's and PCA's reconstruction error. Written here (a two-line loop needs no package).
 */
import { InputError } from '../contracts/errors.js';
import { rowAccess, type Matrix } from './matrix.js';

/** A matrix, or a vector of numbers (one column). */
export type Values = Matrix | ArrayLike<number>;

function isVector(v: Values): v is ArrayLike<number> {
  if ('values' in v && 'rows' in v && 'width' in v) return false;
  const a = v as ArrayLike<unknown>;
  return a.length === 0 || typeof a[0] === 'number';
}

function cells(v: Values, name: string): { n: number; width: number; at: (i: number, j: number) => number } {
  if (isVector(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new InputError('not a finite number', { field: name, row: i, value: v[i] });
    }
    return { n: v.length, width: 1, at: (i) => v[i] };
  }
  const a = rowAccess(v, name, true);
  return { n: a.rows, width: a.width, at: (i, j) => a.row(i)[j] };
}

/** Mean over all cells of (actual − predicted)². */
export function mse(actual: Values, predicted: Values): number {
  const a = cells(actual, 'actual');
  const p = cells(predicted, 'predicted');
  if (a.n !== p.n || a.width !== p.width) {
    throw new InputError(`shape ${p.n} × ${p.width} differs from actual ${a.n} × ${a.width}`, { field: 'predicted' });
  }
  if (a.n * a.width === 0) throw new InputError('is empty', { field: 'actual' });
  let sum = 0;
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < a.width; j++) {
      const d = a.at(i, j) - p.at(i, j);
      sum += d * d;
    }
  }
  return sum / (a.n * a.width);
}

/** Square root of {@link mse}. */
export function rmse(actual: Values, predicted: Values): number {
  return Math.sqrt(mse(actual, predicted));
}
