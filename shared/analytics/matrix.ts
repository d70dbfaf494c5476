/**
 * The one input shape every analytics function accepts: rows of numbers, or a row-major typed array with its shape
 * (a `Table` from shared/data satisfies it). Helpers here validate the shape and finiteness once, with the row and
 * column of the first bad cell, so that no library downstream silently computes on NaN.
 */
import { InputError } from '../contracts/errors.js';

/** Row-major values with their shape, e.g. a `Table` or an encoder's output. */
export interface DenseMatrix {
  values: Float32Array | Float64Array;
  rows: number;
  width: number;
}

/** A matrix as nested rows (`number[][]`) or as a {@link DenseMatrix}. */
export type Matrix = readonly (readonly number[])[] | DenseMatrix;

/** A validated view of a {@link Matrix}: `row(i)` returns a view (dense input) or the row itself (nested input). */
export interface RowAccess {
  rows: number;
  width: number;
  row(i: number): ArrayLike<number>;
}

function isDense(m: Matrix): m is DenseMatrix {
  return !Array.isArray(m);
}

/**
 * Checks shape and finiteness and returns row access. `name` names the argument in messages.
 * An empty matrix is rejected unless `allowEmpty`.
 */
export function rowAccess(m: Matrix, name = 'matrix', allowEmpty = false): RowAccess {
  let out: RowAccess;
  if (isDense(m)) {
    const { values, rows, width } = m;
    if (!Number.isInteger(rows) || !Number.isInteger(width) || rows < 0 || width < 0 || values.length !== rows * width) {
      throw new InputError(`values.length ${values.length} does not equal rows ${rows} × width ${width}`, { field: name });
    }
    for (let k = 0; k < values.length; k++) {
      if (!Number.isFinite(values[k])) {
        throw new InputError('not a finite number', { field: name, row: Math.floor(k / width), column: (k % width) + 1, value: values[k] });
      }
    }
    out = { rows, width, row: (i) => values.subarray(i * width, (i + 1) * width) };
  } else {
    const rows = m.length;
    const width = rows > 0 ? m[0].length : 0;
    for (let i = 0; i < rows; i++) {
      const r = m[i];
      if (!Array.isArray(r) || r.length !== width) {
        throw new InputError(`row has ${Array.isArray(r) ? r.length : 'no'} values, expected ${width}`, { field: name, row: i });
      }
      for (let j = 0; j < width; j++) {
        if (!Number.isFinite(r[j])) throw new InputError('not a finite number', { field: name, row: i, column: j + 1, value: r[j] });
      }
    }
    out = { rows, width, row: (i) => m[i] };
  }
  if (!allowEmpty && (out.rows === 0 || out.width === 0)) {
    throw new InputError(`is empty (${out.rows} × ${out.width})`, { field: name });
  }
  return out;
}

/** The matrix as fresh `number[][]` rows (copies), for libraries that need plain arrays. */
export function toRows(m: Matrix, name = 'matrix'): number[][] {
  const a = rowAccess(m, name);
  const out = new Array<number[]>(a.rows);
  for (let i = 0; i < a.rows; i++) out[i] = Array.from(a.row(i));
  return out;
}

/** The matrix as a contiguous row-major Float64Array (a copy). */
export function toFloat64(m: Matrix, name = 'matrix'): { values: Float64Array; rows: number; width: number } {
  const a = rowAccess(m, name);
  const values = new Float64Array(a.rows * a.width);
  for (let i = 0; i < a.rows; i++) values.set(a.row(i), i * a.width);
  return { values, rows: a.rows, width: a.width };
}

/** Throws unless `n` equals `expected`, naming both arguments. */
export function assertSameLength(n: number, expected: number, name: string, expectedName: string): void {
  if (n !== expected) throw new InputError(`has ${n} entries but ${expectedName} has ${expected}`, { field: name });
}
