/**
 * What a report shows, as read from Redis (gather.ts) and rendered to HTML (html.ts). A section whose data is
 * absent is left out of the report, with the matching `notes` entry saying why.
 */
import type { JobResult, RunStage } from '../contracts/queues.js';
import type { DatasetMeta } from '../store/datasets.js';
import type { ModelVersionMeta } from '../store/models.js';
import type { ConfusionData } from './charts.js';

/** What a report is about: a run (by id), or a model version and the embeddings of its training dataset. */
export type ReportTarget = { run: string } | { model: string; version?: number | string };

/** One stage job of a run; times are ISO strings. */
export interface StageTiming {
  stage: RunStage;
  state: string;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** From start to finish of the last attempt. */
  seconds?: number;
  attempts: number;
  /** The worker that ran it (`queue@host:pid`). */
  worker?: string;
}

export interface RunFacts {
  id: string;
  summary: JobResult<'run'>;
  /** The tfjs backend the model was trained on (from the train job). */
  backend?: string;
  stages: StageTiming[];
  /** First job queued to the run job finished, in seconds. */
  seconds?: number;
}

/** A record among those with the largest reconstruction error. */
export interface Anomaly {
  id: string;
  /** Its stored anomaly score (the reconstruction error for detector `ae`). */
  error: number;
  /** Above the report's threshold. */
  anomalous: boolean;
  label?: string;
  cluster?: string;
  prediction?: string;
  /** Features with the largest reconstruction error in this record, largest first; empty when its row is gone. */
  features: { feature: string; error: number }[];
  /** The features whose replacement by their training median lowers its anomaly score most (Autoencoder.attribute). */
  attribution: { feature: string; contribution: number }[];
  /** Its score's p-value against the model's held-out normal rows, when the model is calibrated. */
  pValue?: number;
}

/** One point of the 2-D view of the codes (a seeded sample of the records). */
export interface ViewPoint {
  x: number;
  y: number;
  label?: string;
  cluster?: string;
}

export interface ReportData {
  /** Report heading, e.g. `run digits-1` or `model digits-ae@3`. */
  title: string;
  generatedAt: string;
  run?: RunFacts;
  model: ModelVersionMeta;
  /** Aliases pointing at this version. */
  aliases: string[];
  dataset: DatasetMeta;
  /** Epoch (1-based) whose weights the model kept, and whether training stopped early (from the artifact). */
  training: { bestEpoch: number; stoppedEarly: boolean; trainRows: number; validationRows: number };
  losses: { epoch: number; loss: number; valLoss?: number }[];
  /** The alert threshold: the detect stage's when it ran, else the model's; absent when neither has one. */
  threshold?: { value: number; source: 'detect' | 'model' };
  /** Reconstruction error of every record. */
  errors: Float32Array;
  /** Label of every record (parallel to `errors`), when the dataset has labels. */
  labels?: string[];
  view: { points: ViewPoint[]; xTitle: string; yTitle: string; method: string; records: number };
  clustering?: JobResult<'cluster'>;
  classification?: JobResult<'classify'> & { confusion?: ConfusionData };
  detection?: JobResult<'detect'>;
  anomalies: Anomaly[];
  /** Why a section is missing or partial. */
  notes: { clusters?: string; labels?: string; confusion?: string; anomalies?: string };
}
