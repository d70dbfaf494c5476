/**
 * `detect` jobs: records whose stored anomaly score (the encode job's) exceeds the threshold become alerts with their
 * p-value, worst reconstructed features and attribution (shared/pipeline/anomaly-alerts.ts).
 */
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { readCodes } from '../../shared/pipeline/codes.js';
import type { ModelCache } from '../../shared/pipeline/model-cache.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { featureAligner, rowsWithIds } from '../../shared/pipeline/rows.js';
import { resolveTarget } from '../../shared/pipeline/target.js';
import type { Alert } from '../../shared/store/alerts.js';
import { anomalyAlerts } from '../../shared/pipeline/anomaly-alerts.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface DetectDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  models: Pick<ModelRegistry, 'resolve'>;
  embeddings: Pick<EmbeddingStore, 'status' | 'read' | 'writeResult'>;
  /** An AlertPublisher (cool-down, pub/sub, webhooks) or a bare AlertStore: both add once per scope. */
  alerts: { publish(alerts: Alert[], options: { once: string }): Promise<unknown> };
  cache: ModelCache;
}

export function createDetectProcessor(deps: DetectDeps): (job: PipelineJob<'detect'>) => Promise<JobResult<'detect'>> {
  return async (job) => {
    const p = parsePayload('detect', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const { ids, errors } = await readCodes(deps.embeddings, target);
    return deps.cache.use(target.model, target.version, async (model) => {
      const threshold = p.threshold ?? model.threshold?.value;
      if (threshold === undefined) {
        throw new InputError(`model "${target.model}" version ${target.version} has no threshold: give one in the job`, { field: 'threshold' });
      }
      const scoreOf = new Map<string, number>();
      ids.forEach((id, i) => {
        if (errors[i] > threshold) scoreOf.set(id, errors[i]);
      });
      const rows = scoreOf.size > 0 ? await rowsWithIds(deps.datasets, p.dataset, new Set(scoreOf.keys())) : undefined;
      let alerts: Alert[] = [];
      if (rows) {
        const table = featureAligner(rows.features, model.features, p.dataset)(rows);
        const scores = table.ids.map((id) => scoreOf.get(id)!);
        alerts = anomalyAlerts(model, table, table.ids, scores, threshold, { source: p.dataset, model: target.model, version: target.version });
        await deps.alerts.publish(alerts, { once: `${target.model}@${target.version}:${target.dataset}` });
      }
      const result: JobResult<'detect'> = { ...target, threshold, alerts: alerts.length };
      await deps.embeddings.writeResult(target, 'detect', result);
      return result;
    });
  };
}
