/**
 * Agreement between a clustering and true labels (NMI, ARI, Hungarian-matched accuracy) and the silhouette of a
 * clustering. Definitions follow scikit-learn 1.2 (`normalized_mutual_info_score` with arithmetic mean,
 * `adjusted_rand_score`, `silhouette_score` with euclidean distance). Written here: no maintained npm package
 * computes them (munkres does the assignment for the accuracy).
 */
import { munkres } from 'munkres';
import { InputError } from '../contracts/errors.js';
import { distinctLabels, encodeLabels, type Label } from './labels.js';
import { assertSameLength, rowAccess, type Matrix } from './matrix.js';
import { shuffledIndices } from './split.js';

interface Contingency {
  rowLabels: Label[];
  colLabels: Label[];
  /** `counts[i][j]` = rows with true label `rowLabels[i]` in cluster `colLabels[j]`. */
  counts: number[][];
  n: number;
}

function contingency(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): Contingency {
  assertSameLength(yPred.length, yTrue.length, 'yPred', 'yTrue');
  if (yTrue.length === 0) throw new InputError('is empty', { field: 'yTrue' });
  const rowLabels = distinctLabels(yTrue);
  const colLabels = distinctLabels(yPred);
  const t = encodeLabels(yTrue, rowLabels, 'yTrue');
  const p = encodeLabels(yPred, colLabels, 'yPred');
  const counts = rowLabels.map(() => new Array<number>(colLabels.length).fill(0));
  for (let i = 0; i < t.length; i++) counts[t[i]][p[i]]++;
  return { rowLabels, colLabels, counts, n: t.length };
}

/** Shannon entropy (natural log) of a partition given its part sizes. */
function entropy(sizes: number[], n: number): number {
  let h = 0;
  for (const s of sizes) if (s > 0) h -= (s / n) * Math.log(s / n);
  return h;
}

/**
 * Normalized mutual information, MI / mean(H(true), H(pred)) with natural logs — scikit-learn's default
 * `normalized_mutual_info_score` (average_method='arithmetic'). 1 when both labelings have a single identical part.
 */
export function nmi(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  const { counts, n, rowLabels, colLabels } = contingency(yTrue, yPred);
  if (rowLabels.length === 1 && colLabels.length === 1) return 1;
  const rowSums = counts.map((r) => r.reduce((s, v) => s + v, 0));
  const colSums = colLabels.map((_, j) => counts.reduce((s, r) => s + r[j], 0));
  let mi = 0;
  counts.forEach((r, i) =>
    r.forEach((c, j) => {
      if (c > 0) mi += (c / n) * Math.log((n * c) / (rowSums[i] * colSums[j]));
    }),
  );
  if (mi <= 0) return 0;
  const normalizer = Math.max((entropy(rowSums, n) + entropy(colSums, n)) / 2, Number.EPSILON);
  return mi / normalizer;
}

/**
 * Adjusted Rand index, from the pair confusion matrix as scikit-learn computes it: 1 for identical partitions
 * (up to renaming), about 0 for random ones, negative when worse than random.
 */
export function ari(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  const { counts, n, colLabels } = contingency(yTrue, yPred);
  const rowSums = counts.map((r) => r.reduce((s, v) => s + v, 0));
  const colSums = colLabels.map((_, j) => counts.reduce((s, r) => s + r[j], 0));
  let sumSquares = 0, rowDot = 0, colDot = 0;
  counts.forEach((r, i) =>
    r.forEach((c, j) => {
      sumSquares += c * c;
      rowDot += c * colSums[j];
      colDot += c * rowSums[i];
    }),
  );
  // Ordered pairs: together in both (tp), only in pred (fp), only in true (fn), in neither (tn).
  const tp = sumSquares - n;
  const fp = rowDot - sumSquares;
  const fn = colDot - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

export interface ClusterMatch {
  /** Fraction of rows whose cluster is matched to their true label. */
  accuracy: number;
  /** Cluster → label for every matched cluster (at most min(clusters, classes) of them). */
  mapping: Map<Label, Label>;
}

/**
 * Clustering accuracy: the best one-to-one matching of clusters to labels (Hungarian algorithm, `munkres`), scored
 * as the fraction of rows whose cluster maps to their label. With more clusters than classes the unmatched clusters'
 * rows count as errors; with fewer, the unmatched classes' rows do.
 */
export function matchClusters(yTrue: ArrayLike<Label>, clusters: ArrayLike<Label>): ClusterMatch {
  const { counts, n, rowLabels, colLabels } = contingency(yTrue, clusters);
  let max = 0;
  for (const r of counts) for (const c of r) if (c > max) max = c;
  // Cost matrix: clusters are rows (workers), labels are columns (jobs); minimizing max − count maximizes matches.
  const cost = colLabels.map((_, j) => rowLabels.map((_, i) => max - counts[i][j]));
  const mapping = new Map<Label, Label>();
  let matched = 0;
  for (const [j, i] of munkres(cost)) {
    mapping.set(colLabels[j], rowLabels[i]);
    matched += counts[i][j];
  }
  return { accuracy: matched / n, mapping };
}

/** The `accuracy` of {@link matchClusters}. */
export function clusteringAccuracy(yTrue: ArrayLike<Label>, clusters: ArrayLike<Label>): number {
  return matchClusters(yTrue, clusters).accuracy;
}

export interface SilhouetteOptions {
  /** Score a seeded random sample of at most this many rows (distances within the sample only, as scikit-learn's
   *  `sample_size`). Default: all rows. */
  sampleSize?: number;
  /** Seed of the sample. Default 0. */
  seed?: number | string;
}

/**
 * Mean silhouette coefficient with euclidean distance: per row (b − a) / max(a, b), a = mean distance to the other
 * members of its cluster, b = the smallest mean distance to another cluster's members; 0 for a row alone in its
 * cluster. Needs 2 ≤ clusters ≤ rows − 1 among the scored rows. O(rows² · width): sample large inputs.
 */
export function silhouetteScore(data: Matrix, labels: ArrayLike<Label>, options: SilhouetteOptions = {}): number {
  const x = rowAccess(data, 'data');
  assertSameLength(labels.length, x.rows, 'labels', 'data');
  const { sampleSize, seed = 0 } = options;
  if (sampleSize !== undefined && !(Number.isInteger(sampleSize) && sampleSize >= 2)) {
    throw new InputError('must be an integer ≥ 2', { field: 'sampleSize', value: sampleSize });
  }
  const rows = sampleSize !== undefined && sampleSize < x.rows ? shuffledIndices(x.rows, seed).slice(0, sampleSize) : null;
  const s = rows ? rows.length : x.rows;
  const d = x.width;
  const values = new Float64Array(s * d);
  const picked: Label[] = new Array<Label>(s);
  for (let i = 0; i < s; i++) {
    const r = rows ? rows[i] : i;
    values.set(x.row(r), i * d);
    picked[i] = labels[r];
  }
  const classes = distinctLabels(picked);
  const k = classes.length;
  if (k < 2 || k > s - 1) {
    throw new InputError(`has ${k} distinct labels among ${s} scored rows; silhouette needs 2 to ${s - 1}`, { field: 'labels' });
  }
  const lab = encodeLabels(picked, classes);
  const sizes = new Float64Array(k);
  for (let i = 0; i < s; i++) sizes[lab[i]]++;
  // sums[i·k + c] = total distance from row i to the rows of cluster c.
  const sums = new Float64Array(s * k);
  for (let i = 0; i < s; i++) {
    const oi = i * d;
    for (let j = i + 1; j < s; j++) {
      const oj = j * d;
      let sq = 0;
      for (let t = 0; t < d; t++) {
        const diff = values[oi + t] - values[oj + t];
        sq += diff * diff;
      }
      const dist = Math.sqrt(sq);
      sums[i * k + lab[j]] += dist;
      sums[j * k + lab[i]] += dist;
    }
  }
  let total = 0;
  for (let i = 0; i < s; i++) {
    const own = lab[i];
    if (sizes[own] <= 1) continue;
    const a = sums[i * k + own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[i * k + c] / sizes[c]);
    const m = Math.max(a, b);
    if (m > 0) total += (b - a) / m;
  }
  return total / s;
}
