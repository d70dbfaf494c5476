/** `train` jobs: fit an autoencoder on a stored dataset (its `normal` rows only, when given) and register it. */
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import type { EpochProgress } from '../../shared/ml/train.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface TrainDeps {
  datasets: Pick<DatasetStore, 'load'>;
  models: Pick<ModelRegistry, 'register'>;
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
    const table = await trainingRows(deps.datasets, p.dataset, p.normal);
    const model = await Autoencoder.fit(table, p.options, { threshold: p.threshold, onEpoch: (e) => job.updateProgress(progressOf(e)) });
    try {
      const meta = await deps.models.register(p.model, model, { dataset: p.dataset, normal: p.normal });
      const h = model.history;
      return {
        model: p.model, version: meta.version, backend: deps.backend, epochs: h.epochs.length, seconds: h.seconds,
        samplesPerSecond: h.samplesPerSecond, finalLoss: h.epochs.at(-1)?.loss ?? NaN, threshold: model.threshold?.value ?? NaN,
      };
    } finally {
      model.dispose();
    }
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
