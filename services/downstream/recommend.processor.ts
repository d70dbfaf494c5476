/**
 * `recommend` jobs: every user's (or the listed users') top-N unseen items under an AutoRec model version, into Redis.
 * The ranking runs in a model thread (shared/pipeline/offload.ts), off this worker's event loop; each batch of users'
 * lists is written as it arrives. A cancelled job's thread is terminated.
 */
import { parsePayload } from '../../shared/contracts/queues.js';
import type { BackendName } from '../../shared/ml/backend.js';
import { recommendInThread } from '../../shared/pipeline/offload.js';
import type { PipelineProcessor } from '../../shared/pipeline/queues.js';
import { resolveVersion } from '../../shared/pipeline/target.js';
import type { ModelRegistry } from '../../shared/store/models.js';
import type { RecommendationStore } from '../../shared/store/recommendations.js';

export interface RecommendDeps {
  models: Pick<ModelRegistry, 'resolve' | 'autoRecArtifact'>;
  recommendations: Pick<RecommendationStore, 'begin' | 'write' | 'complete'>;
  /** The tfjs backend in use: model threads start the same one. */
  backend: BackendName;
  /** OpenBLAS threads of a model thread's native addon (LATENTFLOW_BLAS_THREADS). Default 1. */
  blasThreads?: number;
}

/** Progress a recommend job reports after every batch of users. */
export interface RecommendProgress {
  users: number;
  total: number;
}

export function createRecommendProcessor(deps: RecommendDeps): PipelineProcessor<'recommend'> {
  return async (job, _token, signal) => {
    const p = parsePayload('recommend', job.data);
    const started = performance.now();
    const version = await resolveVersion(job, p, deps.models);
    const { meta, bytes } = await deps.models.autoRecArtifact(p.model, version);
    const total = p.users?.length ?? meta.autorec?.users ?? 0;
    await deps.recommendations.begin(p.model, version, p.n, total);
    // Batches are written in order, one at a time; a failed write stops the ranking and fails the job.
    const failed = new AbortController();
    let written = 0;
    let writing = Promise.resolve();
    const onBatch = (batch: Parameters<RecommendationStore['write']>[2]) => {
      writing = writing.then(async () => {
        written += batch.length;
        await deps.recommendations.write(p.model, version, batch, written);
        await job.updateProgress({ users: written, total } satisfies RecommendProgress);
      }).catch((error: unknown) => failed.abort(error));
    };
    const task = { kind: 'recommend' as const, artifact: bytes, source: `model ${p.model}@${version}`, n: p.n, ...(p.users ? { users: p.users } : {}) };
    const users = await recommendInThread({ task, backend: deps.backend, blasThreads: deps.blasThreads }, onBatch, signal ? AbortSignal.any([signal, failed.signal]) : failed.signal);
    await writing;
    failed.signal.throwIfAborted();
    await deps.recommendations.complete(p.model, version);
    return { model: p.model, version, n: p.n, users, seconds: (performance.now() - started) / 1000 };
  };
}
