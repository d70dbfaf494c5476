/** `train` jobs: fit an autoencoder on a stored dataset (its `normal` rows only, when given) and register it. */
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import type { EpochProgress } from '../../shared/ml/train.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { ModelRegistry, ModelVersionMeta } from '../../shared/store/models.js';

export interface TrainDeps {
  datasets: Pick<DatasetStore, 'load'>;
  models: Pick<ModelRegistry, 'register' | 'registeredBy'>;
  /** The tfjs backend in use, reported in the result. */
  backend: string;
}

/** Progress a train job reports after every epoch. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  etaSeconds: number;
}

export function createTrainProcessor(deps: TrainDeps): (job: PipelineJob<'train'>) => Promise<JobResult<'train'>> {
  return async (job) => {
    const p = parsePayload('train', job.data);
    // A retry of a job whose model was already registered returns that version instead of adding another.
    const key = `train:${job.id}`;
    const earlier = await deps.models.registeredBy(p.model, key);
    if (earlier) return resultOf(earlier, deps.backend);
    const table = await trainingRows(deps.datasets, p.dataset, p.normal);
    const model = await Autoencoder.fit(table, p.options, { threshold: p.threshold, onEpoch: (e) => job.updateProgress(progressOf(e)) });
    try {
      return resultOf(await deps.models.register(p.model, model, { dataset: p.dataset, normal: p.normal, key }), deps.backend);
    } finally {
      model.dispose();
    }
  };
}

function resultOf(meta: ModelVersionMeta, backend: string): JobResult<'train'> {
  return {
    model: meta.model, version: meta.version, backend, epochs: meta.epochs, seconds: meta.seconds,
    samplesPerSecond: meta.samplesPerSecond, finalLoss: meta.finalLoss, threshold: meta.threshold ?? NaN,
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

function progressOf(e: EpochProgress): TrainProgress {
  const etaSeconds = e.epoch > 0 ? (e.seconds / e.epoch) * (e.epochs - e.epoch) : 0;
  return { epoch: e.epoch, epochs: e.epochs, loss: e.loss, valLoss: e.valLoss, etaSeconds: Math.round(etaSeconds * 10) / 10 };
}
