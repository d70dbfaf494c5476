/**
 * `evaluate`: the whole recipe on one labelled table — stratified split, autoencoder training, reconstruction against
 * PCA at the same code size, K-means on the codes, classifiers (an SVM on the codes and/or classifiers built on the
 * encoder, shared/ml/encoder-classifier.ts) and, given a normal class, anomaly detection.
 * The report's keys are a contract (the CLI prints them as JSON and tests read them).
 *
 * Every classifier is scored on the same held-out part. With `labelFraction` < 1 they may use the labels of only that
 * share of the training part (a stratified, seeded subset); the other training rows are unlabelled, which only `joint`
 * uses (for reconstruction). The held-out rows are never trained on, by the autoencoder or any classifier.
 */
import type { Manifold } from '../analytics/cluster-codes.js';
import type { DistanceMetric } from '../analytics/neighbours.js';
import { InputError } from '../contracts/errors.js';
import { CLASSIFIERS, type ClassifierName } from '../contracts/queues.js';
import { ari, auprc, auroc, clusteringAccuracy, evaluateClusterings, fitKMeans, fitPca, mse, nmi, silhouetteScore, stratifiedSplit, trainSvm, accuracy, macroF1, type Split } from '../analytics/index.js';
import type { Table } from '../data/table.js';
import { selectRows } from '../data/table.js';
import { Autoencoder, type FitOptions } from '../ml/autoencoder.js';
import { fitEncoderClassifier } from '../ml/encoder-classifier.js';
import type { ModelOptions } from '../ml/model-config.js';
import { gatherRows } from '../ml/random.js';
import { applyScaler } from '../ml/scaler.js';
import type { ThresholdMethod } from '../ml/threshold.js';

export interface ClassificationFigures {
  accuracy: number;
  macro_f1: number;
}

export interface EvaluateOptions {
  /** Share of each class held out for testing. Default 0.3. */
  testFraction?: number;
  /** Clusters for K-means. Default: the number of distinct labels. */
  k?: number;
  /** The label value of normal rows: enables the anomaly section. */
  normal?: string;
  /** Also cluster a UMAP embedding of the codes (N2D) and report every variant in `clustering.variants`. Default none. */
  manifold?: Manifold;
  /** With `manifold: umap`: distance between codes in UMAP's neighbour graph. Default cosine. */
  umapMetric?: DistanceMetric;
  /** Which classifiers to train and score, or `all` of them. Default svm. */
  classifier?: ClassifierName | 'all';
  /** `joint`: weight of the reconstruction loss. Default 1. */
  alpha?: number;
  /** Share of the training part's labels the classifiers may use, in (0, 1]. Default 1. */
  labelFraction?: number;
  /** How the anomaly model's threshold is estimated (default the model's default, quantile 0.99). */
  threshold?: ThresholdMethod;
  /** Called after every training epoch, with which model is training. */
  onEpoch?: (stage: 'autoencoder' | 'anomaly', progress: Parameters<NonNullable<FitOptions['onEpoch']>>[0]) => void;
}

export interface EvaluationReport {
  backend: string;
  rows: number;
  features: number;
  code_size: number;
  train: { epochs: number; seconds: number; samples_per_second: number; final_loss: number };
  reconstruction: { test_mse: number; pca_test_mse: number };
  /** K-means on the codes; with `manifold: umap`, `variants` also holds K-means on the codes and on their UMAP embedding. */
  clustering: { k: number; nmi: number; ari: number; accuracy: number; silhouette: number; variants?: Record<string, { k: number; accuracy: number; nmi: number; ari: number; seconds: number }> };
  /**
   * `accuracy` and `macro_f1` are the SVM's when it ran (the default, and `all`), else those of the one classifier
   * chosen; `classifiers` holds the figures of every classifier that ran.
   */
  classification: ClassificationFigures & { classifiers: Partial<Record<ClassifierName, ClassificationFigures>> };
  /**
   * The anomaly model (trained on normal training rows) on the test part: AUROC/AUPRC of its detector's scores, its
   * threshold, and the share of the test part's normal rows above it (the false-alarm rate a user would see).
   */
  anomaly?: { detector: string; auroc: number; auprc: number; threshold: number; false_alarm_rate: number };
}


function asMatrix(values: Float32Array, width: number) {
  return { values, rows: values.length / width, width };
}

export async function evaluate(table: Table, model: ModelOptions, options: EvaluateOptions, backend: string): Promise<EvaluationReport> {
  const labels = table.labels;
  if (!labels) throw new InputError('evaluate needs a label column (--label)', { source: table.source });
  const seed = model.seed ?? 0;
  const split = stratifiedSplit(labels, options.testFraction ?? 0.3, seed);
  const train = selectRows(table, split.train);
  const test = selectRows(table, split.test);
  const classes = [...new Set(labels)];
  checkClassifierOptions(options);
  if (options.normal !== undefined && !classes.includes(options.normal)) {
    throw new InputError(`--normal ${JSON.stringify(options.normal)} is not a label of this file (labels: ${classes.join(', ')})`, { source: table.source });
  }

  const ae = await Autoencoder.fit(train, model, { onEpoch: (p) => options.onEpoch?.('autoencoder', p) });
  try {
    const width = table.width;
    const q = ae.codeSize;
    const codes = asMatrix(ae.encode(table), q);
    const testCodes = asMatrix(gatherRows(codes.values, q, split.test), q);

    const scaledTest = applyScaler(ae.scaler, test.values, width);
    const reconstructed = applyScaler(ae.scaler, ae.decode(testCodes.values, testCodes.rows), width);
    const pca = fitPca(asMatrix(applyScaler(ae.scaler, train.values, width), width), q);

    const k = options.k ?? classes.length;
    const clusters = fitKMeans(codes, { k, seed }).assignments;

    const variants = options.manifold === 'umap'
      ? Object.fromEntries((await evaluateClusterings(codes.values, codes.rows, q, labels, { k, seed, ...(options.umapMetric ? { umap: { metric: options.umapMetric } } : {}) })).map((v) => [v.variant, { k: v.k, accuracy: v.acc, nmi: v.nmi, ari: v.ari, seconds: v.seconds }]))
      : undefined;
    const classification = await classificationSection(ae, train, test, codes, split, seed, options);
    const history = ae.history;
    const report: EvaluationReport = {
      backend,
      rows: table.rows,
      features: width,
      code_size: q,
      train: {
        epochs: history.epochs.length,
        seconds: history.seconds,
        samples_per_second: history.samplesPerSecond,
        final_loss: history.epochs.at(-1)?.loss ?? NaN,
      },
      reconstruction: { test_mse: mse(scaledTest, reconstructed), pca_test_mse: pca.reconstructionMse(asMatrix(scaledTest, width)) },
      clustering: {
        k,
        nmi: nmi(labels, clusters),
        ari: ari(labels, clusters),
        accuracy: clusteringAccuracy(labels, clusters),
        silhouette: silhouetteScore(codes, clusters, { seed }),
        ...(variants ? { variants } : {}),
      },
      classification,
    };
    if (options.normal !== undefined) report.anomaly = await anomalySection(train, test, model, options);
    return report;
  } finally {
    ae.dispose();
  }
}

function checkClassifierOptions(options: EvaluateOptions): void {
  const { classifier = 'svm', labelFraction = 1, alpha = 1 } = options;
  if (classifier !== 'all' && !CLASSIFIERS.includes(classifier)) {
    throw new InputError(`must be one of ${CLASSIFIERS.join(', ')} or all`, { field: 'classifier', value: classifier });
  }
  if (!(labelFraction > 0 && labelFraction <= 1)) throw new InputError('must be in (0, 1]', { field: 'labelFraction', value: labelFraction });
  if (!(alpha >= 0 && Number.isFinite(alpha))) throw new InputError('must be a finite number ≥ 0', { field: 'alpha', value: alpha });
}

/** The chosen classifiers, trained on the labelled share of the training part and scored on the test part. */
async function classificationSection(
  ae: Autoencoder, train: Table, test: Table, codes: { values: Float32Array; width: number }, split: Split, seed: number, options: EvaluateOptions,
): Promise<EvaluationReport['classification']> {
  const { classifier = 'svm', labelFraction = 1, alpha = 1 } = options;
  const kinds: readonly ClassifierName[] = classifier === 'all' ? CLASSIFIERS : [classifier];
  const labelledIndex = labelFraction < 1 ? stratifiedSplit(train.labels!, 1 - labelFraction, seed).train : train.labels!.map((_, i) => i);
  const isLabelled = new Set(labelledIndex);
  const labelled = selectRows(train, labelledIndex);
  const figures = (predicted: string[]): ClassificationFigures => ({ accuracy: accuracy(test.labels!, predicted), macro_f1: macroF1(test.labels!, predicted) });
  const out: Partial<Record<ClassifierName, ClassificationFigures>> = {};
  for (const kind of kinds) {
    if (kind === 'svm') {
      const q = codes.width;
      const svm = await trainSvm(asMatrix(gatherRows(codes.values, q, labelledIndex.map((i) => split.train[i])), q), labelled.labels!, { kernel: 'rbf', C: 10, gamma: 'scale' });
      try {
        out.svm = figures(svm.predict(asMatrix(gatherRows(codes.values, q, split.test), q)));
      } finally {
        svm.free();
      }
      continue;
    }
    const unlabelled = kind === 'joint' && labelledIndex.length < train.rows
      ? selectRows(train, train.labels!.flatMap((_, i) => (isLabelled.has(i) ? [] : [i])))
      : undefined;
    const model = await fitEncoderClassifier(ae, kind, { labelled, labels: labelled.labels!, unlabelled }, { alpha, seed });
    try {
      out[kind] = figures(model.predict(test));
    } finally {
      model.dispose();
    }
  }
  return { ...(out.svm ?? out[kinds[0]]!), classifiers: out };
}

async function anomalySection(train: Table, test: Table, model: ModelOptions, options: EvaluateOptions): Promise<EvaluationReport['anomaly']> {
  const normalRows = train.labels!.flatMap((l, i) => (l === options.normal ? [i] : []));
  const detector = await Autoencoder.fit(selectRows(train, normalRows), model, { onEpoch: (p) => options.onEpoch?.('anomaly', p), threshold: options.threshold });
  try {
    const { scores } = detector.score(test);
    const isAnomaly = test.labels!.map((l) => l !== options.normal);
    const threshold = detector.threshold?.value ?? NaN;
    const normalScores = scores.filter((_, i) => !isAnomaly[i]);
    return {
      detector: detector.config.detector, auroc: auroc(isAnomaly, scores), auprc: auprc(isAnomaly, scores), threshold,
      false_alarm_rate: normalScores.filter((s) => s > threshold).length / normalScores.length,
    };
  } finally {
    detector.dispose();
  }
}
