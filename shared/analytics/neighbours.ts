/**
 * Exact k nearest neighbours (euclidean) of every row, by brute force: O(rows² · width) time, O(rows · k) memory.
 * UMAP needs them (./manifold.ts); computed here rather than by umap-js's NN-descent because this loop yields to the
 * event loop between rows (NN-descent runs inside umap-js's synchronous `initializeFit`) and is exact.
 */
import { InputError } from '../contracts/errors.js';
import { toFloat64, type Matrix } from './matrix.js';
import { pacer } from './pacer.js';

export interface Neighbours {
  /** `indices[i]`: the k rows nearest to row i, nearest first; row i itself is among them (first, unless duplicated). */
  indices: number[][];
  /** `distances[i][j]`: euclidean distance from row i to `indices[i][j]`. */
  distances: number[][];
}

/** The `k` nearest rows of every row, the row itself included (UMAP's convention); ties go to the lower index. */
export async function nearestNeighbours(data: Matrix, k: number): Promise<Neighbours> {
  const { values: x, rows, width } = toFloat64(data, 'data');
  if (!Number.isInteger(k) || k < 1 || k > rows) throw new InputError(`must be an integer from 1 to the rows (${rows})`, { field: 'k', value: k });
  const yields = pacer();
  const indices = new Array<number[]>(rows);
  const distances = new Array<number[]>(rows);
  const bestIndex = new Int32Array(k);
  const bestSquared = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    bestIndex.fill(-1);
    bestSquared.fill(Infinity);
    const oi = i * width;
    for (let r = 0; r < rows; r++) {
      const or = r * width;
      let s = 0;
      for (let j = 0; j < width; j++) {
        const d = x[oi + j] - x[or + j];
        s += d * d;
      }
      if (s >= bestSquared[k - 1]) continue;
      let p = k - 1;
      while (p > 0 && bestSquared[p - 1] > s) {
        bestSquared[p] = bestSquared[p - 1];
        bestIndex[p] = bestIndex[p - 1];
        p--;
      }
      bestSquared[p] = s;
      bestIndex[p] = r;
    }
    indices[i] = Array.from(bestIndex);
    distances[i] = Array.from(bestSquared, Math.sqrt);
    await yields.due();
  }
  return { indices, distances };
}
