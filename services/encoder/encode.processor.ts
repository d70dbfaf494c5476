/** `encode` jobs: codes and anomaly scores (reconstruction errors for detector `ae`) of every record of a dataset under one model version. */
import { parsePayload } from '../../shared/contracts/queues.js';
import type { ModelCache } from '../../shared/pipeline/model-cache.js';
import type { PipelineProcessor } from '../../shared/pipeline/queues.js';
import { featureAligner, sliceRows } from '../../shared/pipeline/rows.js';
import { resolveTarget } from '../../shared/pipeline/target.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';
import type { TelemetryStore } from '../../shared/store/telemetry.js';

export interface EncodeDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  models: Pick<ModelRegistry, 'resolve'>;
  embeddings: Pick<EmbeddingStore, 'begin' | 'writeBatch' | 'complete'>;
  cache: ModelCache;
  /** Counts the records scored, per batch, under the dataset's name. Default: not counted. */
  telemetry?: Pick<TelemetryStore, 'recordsScored'>;
}

/** Progress an encode job reports after every batch. */
export interface EncodeProgress {
  records: number;
  total: number;
}

export function createEncodeProcessor(deps: EncodeDeps): PipelineProcessor<'encode'> {
  return async (job, _token, signal) => {
    const p = parsePayload('encode', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const meta = await deps.datasets.meta(p.dataset);
    return deps.cache.use(target.model, target.version, async (model) => {
      const align = featureAligner(meta.features, model.features, p.dataset);
      await deps.embeddings.begin(target, meta.rows, model.codeSize, { fresh: job.attemptsMade === 0 });
      let records = 0;
      let errorSum = 0;
      for await (const chunk of deps.datasets.chunks(p.dataset)) {
        const table = align(chunk.table);
        for (let start = 0; start < table.rows; start += p.batchSize) {
          signal?.throwIfAborted(); // before `complete`: a cancelled job's embeddings stay incomplete
          const batch = sliceRows(table, start, Math.min(table.rows, start + p.batchSize));
          const { codes, errors, scores } = model.score(batch, { codes: true });
          await deps.embeddings.writeBatch(target, batch.ids, codes!, scores);
          for (const e of errors) errorSum += e;
          records += batch.rows;
          await Promise.all([
            job.updateProgress({ records, total: meta.rows } satisfies EncodeProgress),
            deps.telemetry?.recordsScored(p.dataset, batch.rows),
          ]);
        }
      }
      const meanError = records > 0 ? errorSum / records : NaN;
      await deps.embeddings.complete(target, { meanError });
      return { ...target, records, meanError };
    });
  };
}
