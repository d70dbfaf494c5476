/**
 * `classify` jobs: a classifier trained on the labelled records of a stratified training part, scored on the held-out
 * part; a predicted label for every record. `svm` trains an RBF SVM on the stored codes; `frozen`, `finetune` and
 * `joint` train on the model version's encoder (shared/ml/encoder-classifier.ts, defaults there) over the dataset's
 * rows, where for `joint` the held-out rows contribute reconstruction only (their labels are never used). The model
 * version itself is not changed. The stored result (EmbeddingStore `classify`) also holds the held-out rows' confusion
 * matrix, `confusion: {labels, matrix}` (rows true labels, columns predicted, over every label of the dataset in
 * natural order), and the trained SVM (`svm`) or the encoder classifier's resolved options (`options`).
 */
import { accuracy, confusionMatrix, distinctLabels, macroF1, stratifiedSplit, type Split } from '../../shared/analytics/index.js';
import { InputError } from '../../shared/contracts/errors.js';
import { MODEL_LIMITS } from '../../shared/contracts/limits.js';
import { parsePayload, type JobResult, type Payload } from '../../shared/contracts/queues.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { fitEncoderClassifier, type EncoderClassifierKind } from '../../shared/ml/encoder-classifier.js';
import { labelsFor, pickRows, readCodes, type StoredCodes } from '../../shared/pipeline/codes.js';
import { svmInThread } from '../../shared/pipeline/offload.js';
import type { PipelineProcessor } from '../../shared/pipeline/queues.js';
import { featureAligner, rowsWithIds } from '../../shared/pipeline/rows.js';
import { resolveTarget, type Target } from '../../shared/pipeline/target.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface ClassifyDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  /** `load` is used by the encoder classifiers only (a fresh copy per job: they train on copies of its weights). */
  models: Pick<ModelRegistry, 'resolve' | 'load'>;
  embeddings: Pick<EmbeddingStore, 'status' | 'read' | 'writeAssignments' | 'writeResult'>;
}

/** The SVM of `latentflow evaluate`: rbf kernel, C = 10, scikit-learn's gamma 'scale'. */
const SVM = { kernel: 'rbf', C: 10, gamma: 'scale' } as const;

/** What a classifier produced: held-out and all-record predictions, and what to store about it. */
interface Trained {
  trained: number;
  tested: string[];
  predicted: string[];
  stored: Record<string, unknown>;
}

/** `rows`, or a stratified sample of `max` of them when there are more. */
function capped(rows: number[], labels: readonly string[], max: number, seed: number): number[] {
  if (rows.length <= max) return rows;
  const kept = stratifiedSplit(rows.map((i) => labels[i]), 1 - max / rows.length, seed).train;
  return kept.map((k) => rows[k]);
}

/** The SVM trains and predicts in a worker thread (libsvm's training is one synchronous call of seconds). */
async function svmOnCodes(codes: StoredCodes['codes'], labels: readonly string[], split: Split, p: Payload<'classify'>, signal?: AbortSignal): Promise<Trained> {
  const train = capped(split.train, labels, p.maxTrain, p.seed);
  const { predictions: [tested, predicted], svm } = await svmInThread(pickRows(codes, train), train.map((i) => labels[i]), [pickRows(codes, split.test), codes], SVM, signal);
  return { trained: train.length, tested, predicted, stored: { maxTrain: p.maxTrain, svm } };
}

/** The dataset's rows of `ids`, in that order, in the model's feature order. */
async function rowsInOrder(deps: ClassifyDeps, dataset: string, ids: readonly string[], features: readonly string[]): Promise<Table> {
  const missing = (id: string) => new InputError(`record "${id}" has embeddings but is not in dataset "${dataset}" (re-imported since?): encode again`);
  const table = await rowsWithIds(deps.datasets, dataset, new Set(ids));
  if (!table) throw missing(ids[0]);
  const aligned = featureAligner(table.features, features, dataset)(table);
  const position = new Map(aligned.ids.map((id, i) => [id, i]));
  return selectRows(aligned, ids.map((id) => {
    const i = position.get(id);
    if (i === undefined) throw missing(id);
    return i;
  }));
}

async function onEncoder(
  deps: ClassifyDeps, kind: EncoderClassifierKind, target: Target, ids: readonly string[], labels: readonly string[], split: Split, p: Payload<'classify'>,
): Promise<Trained> {
  const { model } = await deps.models.load(target.model, target.version);
  try {
    const rows = await rowsInOrder(deps, p.dataset, ids, model.features);
    const labelled = selectRows(rows, split.train);
    const unlabelled = kind === 'joint' ? selectRows(rows, split.test) : undefined;
    const classifier = await fitEncoderClassifier(model, kind, { labelled, labels: split.train.map((i) => labels[i]), unlabelled }, { alpha: p.alpha, seed: p.seed });
    try {
      const predicted = classifier.predict(rows);
      return { trained: split.train.length, tested: split.test.map((i) => predicted[i]), predicted, stored: { options: classifier.config } };
    } finally {
      classifier.dispose();
    }
  } finally {
    model.dispose();
  }
}

export function createClassifyProcessor(deps: ClassifyDeps): PipelineProcessor<'classify'> {
  return async (job, _token, signal) => {
    const p = parsePayload('classify', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const { ids, codes } = await readCodes(deps.embeddings, target);
    const labels = await labelsFor(deps.datasets, p.dataset, ids);
    if (!labels) throw new InputError(`dataset "${p.dataset}" has no labels: a classifier needs them`, { field: 'dataset' });
    const classes = new Set(labels).size;
    if (classes > MODEL_LIMITS.classes) {
      throw new InputError(`dataset "${p.dataset}" has ${classes} distinct labels; a classifier learns at most ${MODEL_LIMITS.classes} (is the label column an id?)`, { field: 'dataset' });
    }
    const split = stratifiedSplit(labels, p.testFraction, p.seed);
    const out = p.classifier === 'svm' ? await svmOnCodes(codes, labels, split, p, signal) : await onEncoder(deps, p.classifier, target, ids, labels, split, p);
    const truth = split.test.map((i) => labels[i]);
    const result: JobResult<'classify'> = {
      ...target,
      accuracy: accuracy(truth, out.tested), macroF1: macroF1(truth, out.tested),
      trained: out.trained, tested: split.test.length, predicted: out.predicted.length, classifier: p.classifier,
    };
    await deps.embeddings.writeAssignments(target, 'predictions', new Map(ids.map((id, i) => [id, out.predicted[i]])));
    const confusion = confusionMatrix(truth, out.tested, distinctLabels(labels, out.tested));
    await deps.embeddings.writeResult(target, 'classify', { ...result, testFraction: p.testFraction, seed: p.seed, confusion, ...out.stored });
    return result;
  };
}
