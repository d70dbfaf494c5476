/**
 * Exact k nearest neighbours of every row, euclidean or cosine, by brute force: O(rows² · width) time, O(rows · k) memory.
 * UMAP needs them (./manifold.ts); computed here rather than by umap-js's NN-descent because this loop yields to the
 * event loop between rows (NN-descent runs inside umap-js's synchronous `initializeFit`) and is exact.
 */
import { InputError } from '../contracts/errors.js';
import { toFloat64, type Matrix } from './matrix.js';
import { pacer } from './pacer.js';

export interface Neighbours {
  /** `indices[i]`: the k rows nearest to row i, nearest first; row i itself is among them (first, unless duplicated). */
  indices: number[][];
  /** `distances[i][j]`: distance (in the metric asked for) from row i to `indices[i][j]`. */
  distances: number[][];
}

/**
 * `euclidean`: ‖a − b‖. `cosine`: 1 − a·b / (‖a‖ ‖b‖), the angle only (umap-learn's and umap-js's definition: 0
 * between two zero rows, 1 between a zero row and any other).
 */
export const DISTANCE_METRICS = ['euclidean', 'cosine'] as const;
export type DistanceMetric = (typeof DISTANCE_METRICS)[number];

/** The `k` nearest rows of every row, the row itself included (UMAP's convention); ties go to the lower index. */
export async function nearestNeighbours(data: Matrix, k: number, metric: DistanceMetric = 'euclidean'): Promise<Neighbours> {
  const { values: x, rows, width } = toFloat64(data, 'data'); // a copy: cosine scales its rows in place
  if (!Number.isInteger(k) || k < 1 || k > rows) throw new InputError(`must be an integer from 1 to the rows (${rows})`, { field: 'k', value: k });
  if (!DISTANCE_METRICS.includes(metric)) throw new InputError(`must be one of ${DISTANCE_METRICS.join(', ')}`, { field: 'metric', value: metric });
  // Cosine ranks by 1 − a·b of rows scaled to unit length (zero rows stay zero); euclidean by ‖a − b‖², rooted at the end.
  const cosine = metric === 'cosine';
  const zero = new Uint8Array(rows);
  if (cosine) {
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let j = 0; j < width; j++) norm += x[r * width + j] ** 2;
      if (norm === 0) zero[r] = 1;
      else for (let j = 0; j < width; j++) x[r * width + j] /= Math.sqrt(norm);
    }
  }
  const yields = pacer();
  const indices = new Array<number[]>(rows);
  const distances = new Array<number[]>(rows);
  const bestIndex = new Int32Array(k);
  const bestKey = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    bestIndex.fill(-1);
    bestKey.fill(Infinity);
    const oi = i * width;
    for (let r = 0; r < rows; r++) {
      const or = r * width;
      let s = 0;
      if (!cosine) {
        for (let j = 0; j < width; j++) {
          const d = x[oi + j] - x[or + j];
          s += d * d;
        }
      } else if (zero[i] || zero[r]) {
        s = zero[i] && zero[r] ? 0 : 1;
      } else {
        for (let j = 0; j < width; j++) s += x[oi + j] * x[or + j];
        s = 1 - s;
      }
      if (s >= bestKey[k - 1]) continue;
      let p = k - 1;
      while (p > 0 && bestKey[p - 1] > s) {
        bestKey[p] = bestKey[p - 1];
        bestIndex[p] = bestIndex[p - 1];
        p--;
      }
      bestKey[p] = s;
      bestIndex[p] = r;
    }
    indices[i] = Array.from(bestIndex);
    distances[i] = cosine ? Array.from(bestKey, (d) => Math.max(0, d)) : Array.from(bestKey, Math.sqrt);
    await yields.due();
  }
  return { indices, distances };
}
