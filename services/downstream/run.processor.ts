/** `run` jobs: the parent of a run's chain; collects the stages' results into the run summary. */
import { z } from 'zod';
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, RESULTS, type JobResult } from '../../shared/contracts/queues.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { upstreamVersion, type Target } from '../../shared/pipeline/target.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';

export interface RunDeps {
  embeddings: Pick<EmbeddingStore, 'status' | 'readResult'>;
}

/** What a run job returns: the contract's run result. */
export type RunSummary = JobResult<'run'>;

export function createRunProcessor(deps: RunDeps): (job: PipelineJob<'run'>) => Promise<RunSummary> {
  return async (job) => {
    const p = parsePayload('run', job.data);
    const upstream = await upstreamVersion(job);
    if (!upstream) throw new InputError(`run "${p.run}" has no finished stage to summarise (submit runs with submitRun)`);
    const target: Target = { model: p.model, version: upstream.version, dataset: p.dataset };
    const status = await deps.embeddings.status(target);
    const [cluster, classify, detect] = await Promise.all([
      stageResult(deps, target, 'cluster', RESULTS.cluster),
      stageResult(deps, target, 'classify', RESULTS.classify),
      stageResult(deps, target, 'detect', RESULTS.detect),
    ]);
    return {
      run: p.run, ...target,
      records: status.records, embeddings: status.written, meanError: status.meanError,
      ...(cluster ? { clustering: { k: cluster.k, nmi: cluster.nmi, ari: cluster.ari, silhouette: cluster.silhouette } } : {}),
      ...(classify ? { classification: { accuracy: classify.accuracy, macroF1: classify.macroF1 } } : {}),
      ...(detect ? { anomalies: { threshold: detect.threshold, alerts: detect.alerts } } : {}),
    };
  };
}

/** A stage's stored result; undefined when the run had no such stage (results are cleared when codes are rewritten). */
async function stageResult<S extends z.ZodType>(deps: RunDeps, t: Target, stage: string, schema: S): Promise<z.output<S> | undefined> {
  const value = await deps.embeddings.readResult(t, stage);
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(`the ${stage} result of model "${t.model}" version ${t.version} on "${t.dataset}" is malformed`);
  return parsed.data;
}
