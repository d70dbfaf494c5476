/**
 * Sparse rating vectors (CSR) and their densification one batch at a time, so that AutoRec's memory is bounded by
 * batch size × vector width, never users × items.
 */

/** Sparse vectors: vector v's entries are `index[ptr[v]..ptr[v+1])` with `value` at the same positions. */
export interface Csr {
  ptr: Int32Array;
  index: Int32Array;
  value: Float32Array;
}

/** The entries (`rows[k]`, `cols[k]`, `values[k]`) grouped by row, for rows 0..nRows−1. */
export function toCsr(rows: ArrayLike<number>, cols: ArrayLike<number>, values: ArrayLike<number>, nRows: number): Csr {
  const ptr = new Int32Array(nRows + 1);
  for (let k = 0; k < rows.length; k++) ptr[rows[k] + 1]++;
  for (let r = 0; r < nRows; r++) ptr[r + 1] += ptr[r];
  const fill = ptr.slice(0, nRows);
  const index = new Int32Array(rows.length);
  const value = new Float32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const at = fill[rows[k]]++;
    index[at] = cols[k];
    value[at] = values[k];
  }
  return { ptr, index, value };
}

/**
 * Vectors `order[from..to)` as a dense (to−from) × width matrix, and the loss weight of every cell: 1 where an entry
 * is observed, `unobserved` elsewhere (0 for explicit ratings, the negative weight for implicit feedback). `weight` is
 * the sum of the weights.
 */
export function densify(csr: Csr, width: number, order: ArrayLike<number>, from: number, to: number, unobserved = 0): { x: Float32Array; mask: Float32Array; weight: number; observed: number } {
  const x = new Float32Array((to - from) * width);
  const mask = new Float32Array((to - from) * width);
  if (unobserved !== 0) mask.fill(unobserved);
  let observed = 0;
  for (let k = from; k < to; k++) {
    const v = order[k];
    const base = (k - from) * width;
    for (let p = csr.ptr[v]; p < csr.ptr[v + 1]; p++) {
      x[base + csr.index[p]] = csr.value[p];
      mask[base + csr.index[p]] = 1;
      observed++;
    }
  }
  return { x, mask, observed, weight: observed + unobserved * ((to - from) * width - observed) };
}
