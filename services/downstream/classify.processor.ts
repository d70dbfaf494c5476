/**
 * `classify` jobs: an SVM on labelled codes, scored on a held-out part; a predicted label for every record. The stored
 * result (EmbeddingStore `classify`) also holds the held-out rows' confusion matrix, `confusion: {labels, matrix}`
 * (rows true labels, columns predicted, over every label of the dataset in natural order).
 */
import { accuracy, confusionMatrix, distinctLabels, macroF1, stratifiedSplit, trainSvm } from '../../shared/analytics/index.js';
import { InputError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import { labelsFor, pickRows, readCodes } from '../../shared/pipeline/codes.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { resolveTarget } from '../../shared/pipeline/target.js';
import type { DatasetStore } from '../../shared/store/datasets.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface ClassifyDeps {
  datasets: Pick<DatasetStore, 'meta' | 'chunks'>;
  models: Pick<ModelRegistry, 'resolve'>;
  embeddings: Pick<EmbeddingStore, 'status' | 'read' | 'writeAssignments' | 'writeResult'>;
}

/** The SVM of `latentflow evaluate`: rbf kernel, C = 10, scikit-learn's gamma 'scale'. */
const SVM = { kernel: 'rbf', C: 10, gamma: 'scale' } as const;

/** `rows`, or a stratified sample of `max` of them when there are more. */
function capped(rows: number[], labels: readonly string[], max: number, seed: number): number[] {
  if (rows.length <= max) return rows;
  const kept = stratifiedSplit(rows.map((i) => labels[i]), 1 - max / rows.length, seed).train;
  return kept.map((k) => rows[k]);
}

export function createClassifyProcessor(deps: ClassifyDeps): (job: PipelineJob<'classify'>) => Promise<JobResult<'classify'>> {
  return async (job) => {
    const p = parsePayload('classify', job.data);
    const target = await resolveTarget(job, p, deps.models);
    const { ids, codes } = await readCodes(deps.embeddings, target);
    const labels = await labelsFor(deps.datasets, p.dataset, ids);
    if (!labels) throw new InputError(`dataset "${p.dataset}" has no labels: an SVM needs them`, { field: 'dataset' });
    const split = stratifiedSplit(labels, p.testFraction, p.seed);
    const train = capped(split.train, labels, p.maxTrain, p.seed);
    const svm = await trainSvm(pickRows(codes, train), train.map((i) => labels[i]), SVM);
    try {
      const truth = split.test.map((i) => labels[i]);
      const tested = svm.predict(pickRows(codes, split.test));
      const predicted = svm.predict(codes);
      const result: JobResult<'classify'> = {
        ...target,
        accuracy: accuracy(truth, tested), macroF1: macroF1(truth, tested),
        trained: train.length, tested: split.test.length, predicted: predicted.length,
      };
      await deps.embeddings.writeAssignments(target, 'predictions', new Map(ids.map((id, i) => [id, predicted[i]])));
      const confusion = confusionMatrix(truth, tested, distinctLabels(labels, tested));
      await deps.embeddings.writeResult(target, 'classify', { ...result, testFraction: p.testFraction, seed: p.seed, maxTrain: p.maxTrain, confusion, svm: svm.toJSON() });
      return result;
    } finally {
      svm.free();
    }
  };
}
