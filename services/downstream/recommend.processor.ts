/** `recommend` jobs: every user's (or the listed users') top-N unseen items under an AutoRec model version, into Redis. */
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { resolveVersion } from '../../shared/pipeline/target.js';
import type { ModelRegistry } from '../../shared/store/models.js';
import type { RecommendationStore } from '../../shared/store/recommendations.js';

export interface RecommendDeps {
  models: Pick<ModelRegistry, 'resolve' | 'loadAutoRec'>;
  recommendations: Pick<RecommendationStore, 'begin' | 'write' | 'complete'>;
}

/** Progress a recommend job reports after every batch of users. */
export interface RecommendProgress {
  users: number;
  total: number;
}

export function createRecommendProcessor(deps: RecommendDeps): (job: PipelineJob<'recommend'>) => Promise<JobResult<'recommend'>> {
  return async (job) => {
    const p = parsePayload('recommend', job.data);
    const started = performance.now();
    const version = await resolveVersion(job, p, deps.models);
    const { model } = await deps.models.loadAutoRec(p.model, version);
    try {
      const total = p.users?.length ?? model.users.length;
      await deps.recommendations.begin(p.model, version, p.n, total);
      let users = 0;
      for await (const batch of model.recommendAll(p.n, { users: p.users })) {
        users += batch.length;
        await deps.recommendations.write(p.model, version, batch, users);
        await job.updateProgress({ users, total } satisfies RecommendProgress);
      }
      await deps.recommendations.complete(p.model, version);
      return { model: p.model, version, n: p.n, users, seconds: (performance.now() - started) / 1000 };
    } finally {
      model.dispose();
    }
  };
}
