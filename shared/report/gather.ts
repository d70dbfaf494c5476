/**
 * Reads everything a report shows from Redis through the stores (models, datasets, embeddings) and, for a run, its
 * BullMQ jobs. The embeddings are the report's records: those of the run's model version on the run's dataset, or
 * of a model version on the dataset it was trained on.
 */
import { z } from 'zod';
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import { RESULTS } from '../contracts/queues.js';
import { labelsFor, readCodes } from '../pipeline/codes.js';
import { DatasetStore } from '../store/datasets.js';
import { EmbeddingStore, type EmbeddingTarget } from '../store/embeddings.js';
import { ModelRegistry, type ModelVersionMeta } from '../store/models.js';
import type { RedisClient } from '../store/redis.js';
import { topAnomalies } from './anomalies.js';
import { MAX_SCATTER_POINTS } from './charts.js';
import type { ReportData, ReportTarget, RunFacts } from './data.js';
import { codesIn2d } from './projection.js';
import { readRun } from './run-jobs.js';
import { sampleIndices } from './sample.js';

export interface GatherOptions {
  /** Records listed among the top anomalies. Default 10. */
  top?: number;
  /** Seed of the sample of records drawn in the 2-D view. Default 0. */
  seed?: number;
}

const Label = z.union([z.string(), z.number()]);
/** The classify stage's stored result, with the held-out rows' confusion matrix (absent from results stored before it was). */
const ClassifyResult = RESULTS.classify.extend({ confusion: z.object({ labels: z.array(Label), matrix: z.array(z.array(z.number())) }).optional() });

/**
 * The report's data for a run id or a model version (`version` a number or an alias, default `latest`). InputError
 * when the run, model, version or dataset does not exist, when the run has not completed, for an AutoRec model,
 * and when the model version has no complete embeddings of the dataset (naming model, version and dataset).
 */
export async function gatherReport(redis: RedisClient, keys: Keyspace, target: ReportTarget, options: GatherOptions = {}): Promise<ReportData> {
  const models = new ModelRegistry(redis, keys);
  const datasets = new DatasetStore(redis, keys);
  const embeddings = new EmbeddingStore(redis, keys);
  let run: RunFacts | undefined;
  let meta: ModelVersionMeta;
  if ('run' in target) {
    run = await readRun(redis, keys, target.run);
    meta = await models.meta(run.summary.model, run.summary.version);
  } else {
    meta = await models.meta(target.model, target.version ?? 'latest');
  }
  if (meta.kind === 'autorec') throw new InputError(`model ${meta.model}@${meta.version} is an AutoRec recommender: reports cover autoencoders (codes and reconstruction errors)`, { field: 'model', value: meta.model });
  const t: EmbeddingTarget = { model: meta.model, version: meta.version, dataset: run?.summary.dataset ?? meta.dataset };
  await requireEmbeddings(embeddings, t, run);

  const [dataset, aliases, stored, clusters, predictions, clustering, classification, detection] = await Promise.all([
    datasets.meta(t.dataset),
    models.aliases(t.model),
    readCodes(embeddings, t),
    embeddings.readAssignments(t, 'clusters'),
    embeddings.readAssignments(t, 'predictions'),
    stageResult(embeddings, t, 'cluster', RESULTS.cluster),
    stageResult(embeddings, t, 'classify', ClassifyResult),
    stageResult(embeddings, t, 'detect', RESULTS.detect),
  ]);
  const { ids, codes, errors } = stored;
  const labels = await labelsFor(datasets, t.dataset, ids);
  const threshold = detection ? { value: detection.threshold, source: 'detect' as const } : meta.threshold !== null ? { value: meta.threshold, source: 'model' as const } : undefined;

  const { model } = await models.load(t.model, t.version);
  try {
    const sample = sampleIndices(ids.length, MAX_SCATTER_POINTS, options.seed ?? 0);
    const view = codesIn2d(codes, errors, sample);
    const { anomalies, missing } = await topAnomalies({ datasets, embeddings }, t, model, {
      top: options.top, threshold: threshold?.value,
      labels: labels ? new Map(ids.map((id, i) => [id, labels[i]])) : undefined, clusters, predictions,
    });
    const history = model.history;
    return {
      title: run ? `run ${run.id}` : `model ${t.model}@${t.version}`,
      generatedAt: new Date().toISOString(),
      ...(run ? { run } : {}),
      model: meta,
      aliases: Object.entries(aliases).filter(([, v]) => v === t.version).map(([a]) => a).sort(),
      dataset,
      training: { bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, trainRows: history.trainRows, validationRows: history.validationRows },
      losses: lossCurve(meta) ?? history.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}) })),
      ...(threshold ? { threshold } : {}),
      errors,
      ...(labels ? { labels } : {}),
      view: {
        points: sample.map((r, k) => ({
          x: view.x[k], y: view.y[k],
          ...(labels ? { label: labels[r] } : {}),
          ...(clusters.has(ids[r]) ? { cluster: clusters.get(ids[r]) } : {}),
        })),
        xTitle: view.xTitle, yTitle: view.yTitle, method: view.method, records: ids.length,
      },
      ...(clustering ? { clustering } : {}),
      ...(classification ? { classification } : {}),
      ...(detection ? { detection } : {}),
      anomalies,
      notes: notesFor({ labels: labels !== undefined, clusters: clusters.size > 0, classify: classification === undefined ? 'none' : classification.confusion ? 'complete' : 'no confusion', missing }),
    };
  } finally {
    model.dispose();
  }
}

/** InputError naming the model version and dataset (and how to make them) unless the embeddings are complete. */
async function requireEmbeddings(embeddings: EmbeddingStore, t: EmbeddingTarget, run: RunFacts | undefined): Promise<void> {
  const status = await embeddings.status(t);
  if (status.state === 'complete') return;
  const whose = `model ${t.model}@${t.version} has ${status.state === 'missing' ? 'no' : `unfinished (${status.written} of ${status.records})`} embeddings of ${run ? `run ${run.id}'s` : 'its training'} dataset "${t.dataset}"`;
  throw new InputError(`${whose}: a report needs them (encode them with an encode job, or run the pipeline again: latentflow run ${t.dataset})`, { field: 'model', value: `${t.model}@${t.version}` });
}

/** The loss curve stored with the version's metadata (versions registered before it was recorded have none). */
function lossCurve(meta: ModelVersionMeta): ReportData['losses'] | undefined {
  if (!meta.losses) return undefined;
  const { loss, valLoss } = meta.losses;
  return loss.map((l, i) => ({ epoch: i + 1, loss: l, ...(valLoss?.[i] !== undefined ? { valLoss: valLoss[i] } : {}) }));
}

/** A stage's stored result, validated; undefined when that stage has not run on these embeddings. */
async function stageResult<S extends z.ZodType>(embeddings: EmbeddingStore, t: EmbeddingTarget, stage: string, schema: S): Promise<z.output<S> | undefined> {
  const value = await embeddings.readResult(t, stage);
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(`the stored ${stage} result of model ${t.model}@${t.version} on dataset "${t.dataset}" is malformed: run the ${stage} stage again`);
  return parsed.data;
}

function notesFor(have: { labels: boolean; clusters: boolean; classify: 'none' | 'no confusion' | 'complete'; missing: number }): ReportData['notes'] {
  const notes: ReportData['notes'] = {};
  if (!have.labels) notes.labels = 'The dataset has no labels: no errors by label, no colouring by label, no SVM confusion matrix.';
  if (!have.clusters) notes.clusters = 'No cluster assignments are stored for these embeddings (the cluster stage has not run on them).';
  if (have.labels && have.classify === 'none') notes.confusion = 'No classify result is stored for these embeddings (the classify stage has not run on them).';
  if (have.classify === 'no confusion') notes.confusion = 'The stored classify result has no confusion matrix (it was written before they were recorded): run the classify stage again.';
  if (have.missing > 0) notes.anomalies = `${have.missing} of the top records are no longer in the dataset (re-imported since?): their features are not shown.`;
  return notes;
}
