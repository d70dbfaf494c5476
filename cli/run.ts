/** Submitting a run to the pipeline and waiting for its summary: shared by `latentflow run` and the demo. */
import { InputError, LatentflowError } from '../shared/contracts/errors.js';
import { RUN_STAGES } from '../shared/contracts/queues.js';
import { DOWNSTREAM_STAGES, makeFlowProducer, submitRun, type DownstreamStage, type RunRequest, type SubmittedRun } from '../shared/pipeline/flow.js';
import { DatasetStore } from '../shared/store/datasets.js';
import type { Connection } from './connection.js';
import { MODEL_FLAGS } from './model-flags.js';
import { formatTable } from './output.js';
import { withQueues } from './queues.js';
import { waitForRun, type Display, type StageResults } from './run-progress.js';

/** What `run --wait --json` prints: exactly these keys. */
export interface RunSummaryJson {
  run: string;
  model: string;
  version: number;
  dataset: string;
  records: number;
  embeddings: number;
  /** null when the run had no clustering stage (likewise below). */
  clustering: { k: number; nmi: number | null; ari: number | null; silhouette: number } | null;
  classification: { accuracy: number } | null;
  anomalies: { threshold: number; alerts: number } | null;
}

/**
 * The downstream stages to run on a dataset: those asked for (default all), without classify when the dataset has no
 * labels (an SVM needs them) unless it was asked for explicitly, which is an error.
 */
export async function stagesFor(connection: Connection, dataset: string, asked?: readonly DownstreamStage[]): Promise<{ stages: DownstreamStage[]; note?: string }> {
  const meta = await new DatasetStore(connection.redis, connection.keys).meta(dataset);
  const stages = [...(asked ?? DOWNSTREAM_STAGES)];
  if (meta.hasLabels || !stages.includes('classify')) return { stages };
  if (asked) throw new InputError(`dataset "${dataset}" has no labels, and the classify stage (an SVM on the codes) needs them: import it again with --label COLUMN, or leave classify out of --stages`);
  return { stages: stages.filter((q) => q !== 'classify'), note: `dataset "${dataset}" has no labels: skipping the classify stage (k-means runs without NMI/ARI)` };
}

/** A payload error about `options.learningRate` read as the flag the user typed (`--lr`). */
export function inRunFlagTerms(error: unknown): unknown {
  if (!(error instanceof InputError) || typeof error.where.field !== 'string' || !error.where.field.startsWith('options.')) return error;
  const field = error.where.field.slice('options.'.length).split('.')[0];
  const flag = MODEL_FLAGS.find((f) => f.field === field)?.flag.split(' ')[0];
  if (!flag) return error;
  return new InputError(error.message.replace(/^.*?: invalid train job: /, '').replace(/^invalid train job: /, ''), { field: flag, value: undefined }, { cause: error });
}

/** `field "codeSize"` in a stage's failure reads `"--code-size"`: the flag the user typed. */
function quotedFieldsAsFlags(error: unknown): unknown {
  if (!(error instanceof LatentflowError)) return error;
  let message = error.message;
  for (const f of MODEL_FLAGS) message = message.replaceAll(`"${f.field}"`, `"${f.flag.split(' ')[0]}"`);
  return message === error.message ? error : new LatentflowError(message, error.retryable, { cause: error });
}

export async function submit(connection: Connection, request: RunRequest): Promise<SubmittedRun> {
  const flows = makeFlowProducer(connection.redis, connection.keys);
  try {
    return await submitRun(flows, connection.keys, request);
  } catch (error) {
    throw inRunFlagTerms(error);
  } finally {
    await flows.close();
  }
}

/** Waits for the run's parent job and returns its summary in the shape of {@link RunSummaryJson}. */
export async function waitForSummary(connection: Connection, submitted: SubmittedRun, display: Display, signal?: AbortSignal): Promise<RunSummaryJson> {
  let results: StageResults;
  try {
    results = await withQueues(connection, RUN_STAGES, (queues) => waitForRun(queues, connection.keys.bullPrefix, submitted.jobId, { display, signal }));
  } catch (error) {
    throw quotedFieldsAsFlags(error);
  }
  const s = results.run as Partial<Record<keyof RunSummaryJson, unknown>> | undefined;
  if (!s || typeof s !== 'object') throw new LatentflowError(`run ${submitted.run} completed without a summary`, false);
  const section = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, number | undefined>) : undefined);
  const [c, k, a] = [section(s.clustering), section(s.classification), section(s.anomalies)];
  return {
    run: String(s.run), model: String(s.model), version: Number(s.version), dataset: String(s.dataset),
    records: Number(s.records), embeddings: Number(s.embeddings),
    clustering: c ? { k: Number(c.k), nmi: c.nmi ?? null, ari: c.ari ?? null, silhouette: Number(c.silhouette) } : null,
    classification: k ? { accuracy: Number(k.accuracy) } : null,
    anomalies: a ? { threshold: Number(a.threshold), alerts: Number(a.alerts) } : null,
  };
}

export function formatSummary(s: RunSummaryJson): string {
  const rows: [string, string | number][] = [
    ['run', s.run], ['model', `${s.model}@${s.version}`], ['dataset', s.dataset], ['records', s.records], ['embeddings stored', s.embeddings],
  ];
  if (s.clustering) {
    rows.push(['k-means k', s.clustering.k], ['k-means NMI', s.clustering.nmi ?? '-'], ['k-means ARI', s.clustering.ari ?? '-'], ['silhouette', s.clustering.silhouette]);
  }
  if (s.classification) rows.push(['SVM accuracy', s.classification.accuracy]);
  if (s.anomalies) rows.push(['anomaly threshold', s.anomalies.threshold], ['alerts', s.anomalies.alerts]);
  return formatTable(rows);
}

/** Progress display for stderr: bars on a terminal, stage lines otherwise. */
export function defaultDisplay(): Display {
  return process.stderr.isTTY ? 'bars' : 'lines';
}
