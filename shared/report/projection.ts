/** A 2-D view of latent codes for a scatter chart: the codes themselves when there are two, else their first two principal components. */
import type { DenseMatrix } from '../analytics/matrix.js';
import { fitPca } from '../analytics/pca.js';

export interface CodesView {
  /** Coordinates of the asked rows, in their order. */
  x: number[];
  y: number[];
  xTitle: string;
  yTitle: string;
  /** How the coordinates were made. */
  method: 'codes' | 'pca' | 'code and error';
}

/**
 * Coordinates of `rows` of `codes`: with code size 2 the codes; with code size 1 the code against the reconstruction
 * error (`errors`, parallel to the codes); beyond, PCA fitted on every code (titles give each axis's share of the
 * codes' variance). Fewer than 2 codes: the first two values as they are.
 */
export function codesIn2d(codes: DenseMatrix, errors: ArrayLike<number>, rows: readonly number[]): CodesView {
  const { values, width } = codes;
  const at = (r: number, j: number) => values[r * width + j];
  if (width === 1) {
    return { x: rows.map((r) => at(r, 0)), y: rows.map((r) => errors[r]), xTitle: 'z1', yTitle: 'reconstruction error', method: 'code and error' };
  }
  if (width === 2 || codes.rows < 2) {
    return { x: rows.map((r) => at(r, 0)), y: rows.map((r) => at(r, 1)), xTitle: 'z1', yTitle: 'z2', method: 'codes' };
  }
  const pca = fitPca(codes, 2);
  const picked = new Float64Array(rows.length * width);
  rows.forEach((r, k) => picked.set(values.subarray(r * width, (r + 1) * width), k * width));
  const projected = pca.transform({ values: picked, rows: rows.length, width });
  const share = (c: number) => `PC${c + 1} (${(100 * pca.explainedVarianceRatio[c]).toFixed(0)}% of the codes' variance)`;
  return { x: projected.map((p) => p[0]), y: projected.map((p) => p[1]), xTitle: share(0), yTitle: share(1), method: 'pca' };
}
