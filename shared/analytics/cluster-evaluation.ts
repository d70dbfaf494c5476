/**
 * Clustering variants side by side on the same codes and true labels: accuracy (Hungarian-matched), NMI and ARI of
 * each `manifold` × `method` of ./cluster-codes.ts, with its wall-clock seconds.
 */
import { InputError } from '../contracts/errors.js';
import { clusterCodes, CLUSTER_METHODS, MANIFOLDS, type ClusterCodesOptions, type ClusterMethod, type Manifold } from './cluster-codes.js';
import { ari, clusteringAccuracy, nmi } from './clustering-metrics.js';
import type { Label } from './labels.js';
import { assertSameLength } from './matrix.js';

export interface ClusteringVariant {
  manifold: Manifold;
  method: ClusterMethod;
}

/** Every manifold × method, codes first: `none+kmeans`, `umap+kmeans`. */
export const CLUSTERING_VARIANTS: readonly ClusteringVariant[] = MANIFOLDS.flatMap((manifold) => CLUSTER_METHODS.map((method) => ({ manifold, method })));

export interface EvaluateClusteringsOptions extends Omit<ClusterCodesOptions, 'manifold' | 'method'> {
  /** The variants to run, in order. Default {@link CLUSTERING_VARIANTS}. */
  variants?: readonly ClusteringVariant[];
}

export interface ClusteringScore extends ClusteringVariant {
  /** `<manifold>+<method>`, e.g. `umap+kmeans`. */
  variant: string;
  /** Clusters found (the given k, or the one chosen by silhouette). */
  k: number;
  acc: number;
  nmi: number;
  ari: number;
  /** Silhouette in the clustered space (the codes, or the UMAP embedding: not comparable across manifolds). */
  silhouette: number;
  /** Wall-clock seconds of the variant: manifold step, k choice and clustering. */
  seconds: number;
}

/** Runs each variant on the codes with the same options (k, seed …) and scores it against `labels`. */
export async function evaluateClusterings(
  codes: Float32Array | Float64Array, rows: number, width: number, labels: ArrayLike<Label>, options: EvaluateClusteringsOptions = {},
): Promise<ClusteringScore[]> {
  assertSameLength(labels.length, rows, 'labels', 'rows');
  const { variants = CLUSTERING_VARIANTS, ...common } = options;
  if (variants.length === 0) throw new InputError('must list at least one variant', { field: 'variants' });
  const scores: ClusteringScore[] = [];
  for (const { manifold, method } of variants) {
    const r = await clusterCodes(codes, rows, width, { ...common, manifold, method });
    scores.push({
      variant: `${r.manifold}+${r.method}`, manifold: r.manifold, method: r.method, k: r.k,
      acc: clusteringAccuracy(labels, r.assignments), nmi: nmi(labels, r.assignments), ari: ari(labels, r.assignments),
      silhouette: r.silhouette, seconds: r.seconds.manifold + r.seconds.cluster,
    });
  }
  return scores;
}
