/**
 * Clustering of latent codes, optionally after a manifold step: k-means on the codes themselves, or on their UMAP
 * embedding (N2D, McConville et al. 2020). k is chosen by silhouette when not given, in the space that is clustered.
 *
 * A Gaussian mixture is not offered: no npm package fitted (see the notes of issue 9); `method` is kept so that
 * one can be added without changing callers.
 */
import { InputError } from '../contracts/errors.js';
import { silhouetteScore } from './clustering-metrics.js';
import { chooseK, fitKMeans } from './kmeans.js';
import { resolveUmapOptions, umapEmbedding, type ResolvedUmapOptions, type UmapOptions } from './manifold.js';
import type { DenseMatrix } from './matrix.js';

/** `none`: cluster the codes; `umap`: cluster their UMAP embedding. */
export const MANIFOLDS = ['none', 'umap'] as const;
export type Manifold = (typeof MANIFOLDS)[number];
/** `kmeans`: k-means++ with restarts (./kmeans.ts). */
export const CLUSTER_METHODS = ['kmeans'] as const;
export type ClusterMethod = (typeof CLUSTER_METHODS)[number];

export interface ClusterCodesOptions {
  /** Space clustered. Default 'none' (the codes). */
  manifold?: Manifold;
  /** Clustering algorithm. Default 'kmeans'. */
  method?: ClusterMethod;
  /** Clusters, 2 to rows − 1. Default: the k of highest silhouette among kMin..kMax. */
  k?: number;
  /** Smallest k tried when k is absent. Default 2. */
  kMin?: number;
  /** Largest k tried when k is absent (capped at rows − 1). Default 10. */
  kMax?: number;
  /** Seed of k-means, of the silhouette sample and (unless `umap.seed` is set) of UMAP. Default 0. */
  seed?: number;
  /** k-means runs per fit; the lowest inertia wins. Default 10. */
  restarts?: number;
  /** Silhouettes are computed on a seeded sample of at most this many rows. Default 2000. */
  silhouetteSample?: number;
  /** UMAP options (./manifold.ts) with `manifold: 'umap'`; `nComponents` defaults to k (N2D's choice), else 10. */
  umap?: UmapOptions;
}

export interface ClusterCodesResult {
  /** Cluster of every row, 0..k−1, rows in input order. */
  assignments: number[];
  k: number;
  manifold: Manifold;
  method: ClusterMethod;
  /** Where `centroids`, `inertia` and `silhouette` are measured: the codes, or the UMAP embedding. */
  space: 'codes' | 'umap';
  /** k-means centroids in `space`. */
  centroids: number[][];
  /** Sum of squared distances to the assigned centroid, in `space`. */
  inertia: number;
  /** Mean silhouette (euclidean) in `space`, on a seeded sample of `silhouetteSample` rows. */
  silhouette: number;
  /** The silhouette of every k tried, when k was chosen. */
  kScores?: { k: number; silhouette: number }[];
  /** The UMAP embedding (rows × nComponents), with `manifold: 'umap'`. */
  embedding?: DenseMatrix;
  /** The UMAP settings it was made with (every default filled), with `manifold: 'umap'`. */
  umap?: ResolvedUmapOptions;
  /** Wall-clock seconds of the manifold step (0 without one) and of the clustering, k choice included. */
  seconds: { manifold: number; cluster: number };
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(`must be one of ${allowed.join(', ')}`, { field, value });
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`must be an integer from ${min} to ${max}`, { field, value });
  }
  return value;
}

/** Clusters `rows` codes of `width` values (row-major) as the options say; see {@link ClusterCodesOptions}. */
export async function clusterCodes(codes: Float32Array | Float64Array, rows: number, width: number, options: ClusterCodesOptions = {}): Promise<ClusterCodesResult> {
  const manifold = oneOf('manifold', options.manifold ?? 'none', MANIFOLDS);
  const method = oneOf('method', options.method ?? 'kmeans', CLUSTER_METHODS);
  const seed = integer('seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const restarts = integer('restarts', options.restarts ?? 10, 1, 1000);
  const silhouetteSample = integer('silhouetteSample', options.silhouetteSample ?? 2000, 2, Number.MAX_SAFE_INTEGER);
  if (rows < 3) throw new InputError(`clustering needs at least 3 rows, got ${rows}`, { field: 'rows', value: rows });
  const k = options.k === undefined ? undefined : integer('k', options.k, 2, rows - 1);
  const data: DenseMatrix = { values: codes, rows, width };

  let started = performance.now();
  const umap = manifold === 'umap' ? resolveUmapOptions({ nComponents: k ?? 10, seed, ...options.umap }, rows) : undefined;
  const embedding = umap ? await umapEmbedding(data, umap) : undefined;
  const manifoldSeconds = (performance.now() - started) / 1000;
  const space = embedding ?? data;

  started = performance.now();
  const chosen = k === undefined
    ? chooseK(space, { kMin: options.kMin ?? 2, kMax: options.kMax ?? 10, seed, restarts, sampleSize: silhouetteSample })
    : undefined;
  const fit = fitKMeans(space, { k: k ?? chosen!.k, seed, restarts });
  const clusterSeconds = (performance.now() - started) / 1000;
  return {
    assignments: fit.assignments,
    k: fit.centroids.length,
    manifold,
    method,
    space: embedding ? 'umap' : 'codes',
    centroids: fit.centroids,
    inertia: fit.inertia,
    silhouette: silhouetteScore(space, fit.assignments, { seed, sampleSize: Math.min(silhouetteSample, rows) }),
    ...(chosen ? { kScores: chosen.scores } : {}),
    ...(embedding ? { embedding, umap } : {}),
    seconds: { manifold: manifoldSeconds, cluster: clusterSeconds },
  };
}
