/**
 * `cluster` jobs: k-means on the stored codes, or on their UMAP embedding (`manifold: 'umap'`); a cluster for every
 * record, scores in the results. `inertia` and `silhouette` are measured in the space clustered (codes or embedding).
 * The stored result's `centroids` are in code space either way: the k-means centroids without a manifold, the mean
 * code of each cluster's members with one (centroids in the embedding place no new code: umap-js keeps no model
 * here); with UMAP it also holds `umap`: the UMAP settings used (shared/analytics/manifold.ts; N2D's by default: k
 * components, 20 neighbours, min_dist 0) and `centroids` in the embedding.
 */
import { ari, nmi, type ClusterCodesResult } from '../../shared/analytics/index.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { labelsFor, readCodes } from '../../shared/pipeline/codes.js';
import { clusterCodesInThread } from '../../shared/pipeline/offload.js';
import type { PipelineProcessor } from '../../shared/pipeline/queues.js';
import { resolveTarget } from '../../shared/pipeline/target.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface ClusterDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  models: Pick<ModelRegistry, 'resolve'>;
  embeddings: Pick<EmbeddingStore, 'status' | 'read' | 'writeAssignments' | 'writeResult'>;
}

/** The mean code of each cluster's members (rows × width codes). */
function memberMeans(codes: { values: ArrayLike<number>; width: number }, fit: ClusterCodesResult): number[][] {
  const sums = Array.from({ length: fit.k }, () => new Array<number>(codes.width).fill(0));
  const counts = new Array<number>(fit.k).fill(0);
  fit.assignments.forEach((c, i) => {
    counts[c]++;
    for (let j = 0; j < codes.width; j++) sums[c][j] += codes.values[i * codes.width + j];
  });
  return sums.map((s, c) => s.map((v) => v / Math.max(1, counts[c])));
}

export function createClusterProcessor(deps: ClusterDeps): PipelineProcessor<'cluster'> {
  return async (job, _token, signal) => {
    const p = parsePayload('cluster', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const { ids, codes } = await readCodes(deps.embeddings, target);
    const labels = await labelsFor(deps.datasets, p.dataset, ids);
    const classes = labels ? new Set(labels).size : 0;
    const k = p.k ?? (classes >= 2 ? classes : undefined);
    const fit = await clusterCodesInThread(codes.values, codes.rows, codes.width, { manifold: p.manifold, method: p.method, k, seed: p.seed, umap: { metric: p.metric } }, signal);
    signal?.throwIfAborted(); // before any result is written
    const result: JobResult<'cluster'> = {
      ...target,
      k: fit.k,
      inertia: fit.inertia,
      silhouette: fit.silhouette,
      ...(labels ? { nmi: nmi(labels, fit.assignments), ari: ari(labels, fit.assignments) } : {}),
      manifold: fit.manifold,
      method: fit.method,
    };
    await deps.embeddings.writeAssignments(target, 'clusters', new Map(ids.map((id, i) => [id, fit.assignments[i]])));
    const stored = fit.embedding
      ? { centroids: memberMeans(codes, fit), umap: { ...fit.umap, centroids: fit.centroids } }
      : { centroids: fit.centroids };
    await deps.embeddings.writeResult(target, 'cluster', { ...result, ...stored });
    return result;
  };
}
