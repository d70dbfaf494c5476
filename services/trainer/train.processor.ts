/**
 * `train` jobs: fit an autoencoder on a stored dataset (its `normal` rows only, when given), or an AutoRec
 * recommender on a stored ratings dataset (kind `autorec`), and register it; with `promoteIfBetter`, point
 * `production` at the new version when its validation loss beats the production version's.
 */
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult, type Payload } from '../../shared/contracts/queues.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { AutoRec } from '../../shared/ml/autorec.js';
import { checkAutoRecSize, resolveAutoRecConfig } from '../../shared/ml/autorec-config.js';
import type { BackendName } from '../../shared/ml/backend.js';
import { resolveModelConfig } from '../../shared/ml/model-config.js';
import type { EpochProgress } from '../../shared/ml/train.js';
import { silentLogger, type Logger } from '../../shared/pipeline/log.js';
import { trainInThread } from '../../shared/pipeline/offload.js';
import type { PipelineProcessor } from '../../shared/pipeline/queues.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { RatingsStore } from '../../shared/store/ratings.js';
import { DEFAULT_ALIAS, type ModelRegistry, type ModelVersionMeta } from '../../shared/store/models.js';

export interface TrainDeps {
  datasets: Pick<DatasetStore, 'meta' | 'load'>;
  ratings: Pick<RatingsStore, 'meta' | 'load'>;
  models: Pick<ModelRegistry, 'register' | 'registerAutoRec' | 'registeredBy' | 'resolve' | 'meta' | 'promote'>;
  /** The tfjs backend in use: training threads start the same one; reported in the result. */
  backend: BackendName;
  /** OpenBLAS threads of a training thread's native addon (LATENTFLOW_BLAS_THREADS). Default 1. */
  blasThreads?: number;
  /** Where promotion decisions are reported. Default: nowhere. */
  log?: Logger;
}

/** Progress a train job reports after every epoch. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  etaSeconds: number;
}

export function createTrainProcessor(deps: TrainDeps): PipelineProcessor<'train'> {
  const log = deps.log ?? silentLogger;
  return async (job, _token, signal) => {
    const p = parsePayload('train', job.data);
    // A retry of a job whose model was already registered returns that version instead of adding another (and
    // decides the promotion again, in case the first attempt stopped between the two).
    const key = `train:${job.id}`;
    const onEpoch = (e: EpochLike) => void job.updateProgress(progressOf(e)).catch((error: unknown) => {
      log.warn(`train ${job.id}: progress not saved: ${error instanceof Error ? error.message : String(error)}`);
    });
    const meta = (await deps.models.registeredBy(p.model, key))
      ?? (p.kind === 'autorec' ? await trainAutoRec(deps, p, key, onEpoch, signal) : await trainAutoencoder(deps, p, key, onEpoch, signal));
    const result = resultOf(meta, deps.backend);
    if (p.promoteIfBetter === true) result.promoted = await promoteIfBetter(deps.models, meta, log);
    return result;
  };
}

type EpochLike = Pick<EpochProgress, 'epoch' | 'epochs' | 'loss' | 'seconds'> & { valLoss?: number };
type TrainPayload = Payload<'train'>;

/**
 * Training runs in a model thread (shared/pipeline/offload.ts), off this worker's event loop; once `signal` aborts,
 * the thread is terminated and nothing is registered (the abort's reason is thrown).
 */
async function trainAutoencoder(deps: TrainDeps, p: Exclude<TrainPayload, { kind: 'autorec' }>, key: string, onEpoch: (e: EpochLike) => void, signal?: AbortSignal): Promise<ModelVersionMeta> {
  // The size limits (a ConfigError: the job fails at once) before any row is read.
  resolveModelConfig(p.options ?? {}, (await deps.datasets.meta(p.dataset)).width);
  const table = await trainingRows(deps.datasets, p.dataset, p.normal);
  const task = { kind: 'autoencoder' as const, table, ...(p.options ? { options: p.options } : {}), ...(p.threshold ? { threshold: p.threshold } : {}) };
  const artifact = await trainInThread({ task, backend: deps.backend, blasThreads: deps.blasThreads }, (e) => onEpoch(e as EpochLike), signal);
  const model = Autoencoder.fromArtifact(artifact, `the model trained by job ${key}`);
  try {
    signal?.throwIfAborted();
    return await deps.models.register(p.model, model, { dataset: p.dataset, normal: p.normal, key, backend: deps.backend, artifact });
  } finally {
    model.dispose();
  }
}

async function trainAutoRec(deps: TrainDeps, p: Extract<TrainPayload, { kind: 'autorec' }>, key: string, onEpoch: (e: EpochLike) => void, signal?: AbortSignal): Promise<ModelVersionMeta> {
  const { users, items } = await deps.ratings.meta(p.dataset);
  checkAutoRecSize(resolveAutoRecConfig(p.options), users, items);
  const task = { kind: 'autorec' as const, ratings: await deps.ratings.load(p.dataset), ...(p.options ? { options: p.options } : {}) };
  const artifact = await trainInThread({ task, backend: deps.backend, blasThreads: deps.blasThreads }, (e) => onEpoch(e as EpochLike), signal);
  const model = AutoRec.load(artifact, `the model trained by job ${key}`);
  try {
    signal?.throwIfAborted();
    return await deps.models.registerAutoRec(p.model, model, { dataset: p.dataset, key, artifact });
  } finally {
    model.dispose();
  }
}

/** The loss versions are compared on: the validation loss of the kept weights, else the final training loss. */
export function comparisonLoss(meta: ModelVersionMeta): number {
  return meta.valLoss ?? meta.finalLoss;
}

/**
 * Points `production` at `meta`'s version when there is no production version or when its {@link comparisonLoss}
 * is lower than the production version's; returns whether production is now this version.
 */
export async function promoteIfBetter(models: TrainDeps['models'], meta: ModelVersionMeta, log: Logger = silentLogger): Promise<boolean> {
  const name = `${meta.model}@${meta.version}`;
  const loss = comparisonLoss(meta);
  const current = await models.resolve(meta.model, DEFAULT_ALIAS).catch((error: unknown) => {
    if (error instanceof InputError) return undefined; // no production version yet (or it was deleted)
    throw error;
  });
  if (current === meta.version) return true;
  if (current !== undefined) {
    const production = await models.meta(meta.model, current);
    const best = comparisonLoss(production);
    if (!(loss < best)) {
      log.info(`${name} not promoted: loss ${fmt(loss)} ≥ ${fmt(best)} of ${DEFAULT_ALIAS} version ${current}`);
      return false;
    }
    await models.promote(meta.model, meta.version, DEFAULT_ALIAS);
    log.info(`${name} promoted to ${DEFAULT_ALIAS}: loss ${fmt(loss)} < ${fmt(best)} of version ${current}`);
    return true;
  }
  await models.promote(meta.model, meta.version, DEFAULT_ALIAS);
  log.info(`${name} promoted to ${DEFAULT_ALIAS} (loss ${fmt(loss)}; there was no ${DEFAULT_ALIAS} version)`);
  return true;
}

const fmt = (x: number) => x.toPrecision(4);

function resultOf(meta: ModelVersionMeta, backend: string): JobResult<'train'> {
  return {
    model: meta.model, version: meta.version, backend, epochs: meta.epochs, seconds: meta.seconds,
    samplesPerSecond: meta.samplesPerSecond, finalLoss: meta.finalLoss,
    ...(meta.threshold !== null ? { threshold: meta.threshold } : {}),
    ...(meta.kind === 'autorec' ? { kind: 'autorec' as const } : {}),
  };
}

async function trainingRows(datasets: TrainDeps['datasets'], name: string, normal: string | undefined): Promise<Table> {
  const table = await datasets.load(name);
  if (normal === undefined) return table;
  if (!table.labels) throw new InputError(`dataset "${name}" has no labels, so it has no "${normal}" rows to train on`, { field: 'normal' });
  const rows = table.labels.flatMap((l, i) => (l === normal ? [i] : []));
  if (rows.length === 0) {
    throw new InputError(`no row of dataset "${name}" is labelled "${normal}" (labels: ${[...new Set(table.labels)].join(', ')})`, { field: 'normal' });
  }
  return selectRows(table, rows);
}

function progressOf(e: EpochLike): TrainProgress {
  const etaSeconds = e.epoch > 0 ? (e.seconds / e.epoch) * (e.epochs - e.epoch) : 0;
  return { epoch: e.epoch, epochs: e.epochs, loss: e.loss, valLoss: e.valLoss, etaSeconds: Math.round(etaSeconds * 10) / 10 };
}
