/**
 * UMAP (McInnes, Healy & Melville 2018) of latent codes before clustering them, the manifold step of N2D
 * (McConville et al. 2020). Layout by umap-js, PAIR-code's port of umap-learn; it starts from a random layout where
 * umap-learn starts from a spectral one. Deterministic for a seed: the neighbours are exact (./neighbours.ts) and every
 * random draw of umap-js comes from our seeded generator.
 *
 * Cost on 10k Fashion-MNIST 10-D codes, 2-core development machine, idle: exact neighbours 1.9 s (cosine; about 5×
 * more for 64-D codes), yielding between rows; umap-js's fuzzy graph (`initializeFit`) 9.9 s in ONE synchronous block
 * (29 s under heavy load); 500 SGD epochs 38 s, yielding between epochs (≤ 0.13 s each). umap-learn does the same in
 * 15–24 s (bench/results/fmnist-cluster.md). The block must stay under half the BullMQ job lock
 * (LATENTFLOW_JOB_LOCK_MS, default 60 s): raise the lock for UMAP on much more than 10k codes.
 */
import { UMAP } from 'umap-js';
import { InputError } from '../contracts/errors.js';
import { rowAccess, type DenseMatrix, type Matrix } from './matrix.js';
import { DISTANCE_METRICS, nearestNeighbours, type DistanceMetric } from './neighbours.js';
import { pacer } from './pacer.js';
import { seededRandom } from './random.js';

export interface UmapOptions {
  /** Dimensions of the embedding, 1 to 100. Default 10 (N2D: the number of clusters). */
  nComponents?: number;
  /** Neighbours per row in the fuzzy graph, 2 to rows − 1. Default 20 (N2D's setting for Fashion-MNIST). */
  nNeighbors?: number;
  /** Smallest distance between embedded points, ≥ 0. Default 0 (N2D: packs each cluster tightly). */
  minDist?: number;
  /**
   * SGD epochs. Default umap-learn's: 500 up to 10,000 rows, else 200 (umap-js's own default falls to 200 from 7,500
   * rows; on 10k Fashion-MNIST codes that left seed 0 in a worse layout: ACC 0.628 vs 0.658 at 500 and at other seeds).
   */
  nEpochs?: number;
  /** Seed of the initial layout and of the negative sampling. Default 0. */
  seed?: number;
  /**
   * Distance between codes in the neighbour graph. Default `cosine`: on autoencoder codes their direction carries the
   * class and their length mostly the intensity (Fashion-MNIST test codes: UMAP + K-means ACC 0.58 euclidean →
   * 0.66 cosine; see bench/results/fmnist-cluster.md). `euclidean` is N2D's choice.
   */
  metric?: DistanceMetric;
}

export type ResolvedUmapOptions = Required<UmapOptions>;

/** Defaults and validation of {@link UmapOptions} for data of `rows` rows; InputError names the field. */
export function resolveUmapOptions(options: UmapOptions, rows: number): ResolvedUmapOptions {
  const o = { nComponents: 10, nNeighbors: 20, minDist: 0, seed: 0, metric: 'cosine' as DistanceMetric, ...options };
  const int = (field: keyof UmapOptions, value: unknown, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InputError(`must be an integer from ${min} to ${max}`, { field, value });
    }
  };
  if (rows < 3) throw new InputError(`UMAP needs at least 3 rows, got ${rows}`, { field: 'data' });
  int('nComponents', o.nComponents, 1, 100);
  int('nNeighbors', o.nNeighbors, 2, rows - 1);
  if (o.nEpochs !== undefined) int('nEpochs', o.nEpochs, 1, 100_000);
  int('seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  if (!DISTANCE_METRICS.includes(o.metric)) throw new InputError(`must be one of ${DISTANCE_METRICS.join(', ')}`, { field: 'metric', value: o.metric });
  if (typeof o.minDist !== 'number' || !(o.minDist >= 0) || !Number.isFinite(o.minDist)) {
    throw new InputError('must be a finite number ≥ 0', { field: 'minDist', value: o.minDist });
  }
  return { ...o, nEpochs: o.nEpochs ?? (rows <= 10_000 ? 500 : 200) };
}

/** The UMAP embedding of `data` (rows × nComponents, rows in input order). */
export async function umapEmbedding(data: Matrix, options: UmapOptions = {}): Promise<DenseMatrix> {
  const x = rowAccess(data, 'data');
  const o = resolveUmapOptions(options, x.rows);
  const { indices, distances } = await nearestNeighbours(data, o.nNeighbors, o.metric);
  const umap = new UMAP({
    nComponents: o.nComponents, nNeighbors: o.nNeighbors, minDist: o.minDist, random: seededRandom(`umap:${o.seed}`),
    nEpochs: o.nEpochs,
  });
  umap.setPrecomputedKNN(indices, distances); // the metric lives in these: umap-js's distanceFn only serves transform()
  const rows = Array.from({ length: x.rows }, (_, i) => Array.from(x.row(i)));
  const epochs = umap.initializeFit(rows);
  const yields = pacer();
  for (let e = 0; e < epochs; e++) {
    umap.step();
    await yields.due();
  }
  const embedding = umap.getEmbedding();
  const values = new Float64Array(x.rows * o.nComponents);
  embedding.forEach((row, i) => values.set(row, i * o.nComponents));
  return { values, rows: x.rows, width: o.nComponents };
}
