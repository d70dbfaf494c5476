/** `cluster` jobs: k-means on stored codes; a cluster for every record, centroids and scores in the results. */
import { ari, chooseK, fitKMeans, nmi, silhouetteScore } from '../../shared/analytics/index.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { labelsFor, readCodes } from '../../shared/pipeline/codes.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { resolveTarget } from '../../shared/pipeline/target.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface ClusterDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  models: Pick<ModelRegistry, 'resolve'>;
  embeddings: Pick<EmbeddingStore, 'status' | 'read' | 'writeAssignments' | 'writeResult'>;
}

/** Rows the silhouette is computed on (a seeded sample beyond this). */
const SILHOUETTE_SAMPLE = 2000;

export function createClusterProcessor(deps: ClusterDeps): (job: PipelineJob<'cluster'>) => Promise<JobResult<'cluster'>> {
  return async (job) => {
    const p = parsePayload('cluster', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const { ids, codes } = await readCodes(deps.embeddings, target);
    const labels = await labelsFor(deps.datasets, p.dataset, ids);
    const classes = labels ? new Set(labels).size : 0;
    const k = p.k ?? (classes >= 2 ? classes : chooseK(codes, { seed: p.seed }).k);
    const fit = fitKMeans(codes, { k, seed: p.seed });
    const result: JobResult<'cluster'> = {
      ...target,
      k,
      inertia: fit.inertia,
      silhouette: silhouetteScore(codes, fit.assignments, { seed: p.seed, sampleSize: Math.min(SILHOUETTE_SAMPLE, ids.length) }),
      ...(labels ? { nmi: nmi(labels, fit.assignments), ari: ari(labels, fit.assignments) } : {}),
    };
    await deps.embeddings.writeAssignments(target, 'clusters', new Map(ids.map((id, i) => [id, fit.assignments[i]])));
    await deps.embeddings.writeResult(target, 'cluster', { ...result, centroids: fit.centroids });
    return result;
  };
}
