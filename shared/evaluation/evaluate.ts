/**
 * `evaluate`: the whole recipe on one labelled table — stratified split, autoencoder training, reconstruction against
 * PCA at the same code size, K-means on the codes, an SVM on the codes and, given a normal class, anomaly detection.
 * The report's keys are a contract (the CLI prints them as JSON and tests read them).
 */
import { InputError } from '../contracts/errors.js';
import { ari, auprc, auroc, clusteringAccuracy, fitKMeans, fitPca, mse, nmi, silhouetteScore, stratifiedSplit, trainSvm, accuracy, macroF1 } from '../analytics/index.js';
import type { Table } from '../data/table.js';
import { selectRows } from '../data/table.js';
import { Autoencoder, type FitOptions } from '../ml/autoencoder.js';
import type { ModelOptions } from '../ml/model-config.js';
import { gatherRows } from '../ml/random.js';
import { applyScaler } from '../ml/scaler.js';

export interface EvaluateOptions {
  /** Share of each class held out for testing. Default 0.3. */
  testFraction?: number;
  /** Clusters for K-means. Default: the number of distinct labels. */
  k?: number;
  /** The label value of normal rows: enables the anomaly section. */
  normal?: string;
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
  clustering: { k: number; nmi: number; ari: number; accuracy: number; silhouette: number };
  classification: { accuracy: number; macro_f1: number };
  anomaly?: { auroc: number; auprc: number; threshold: number };
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
  if (options.normal !== undefined && !classes.includes(options.normal)) {
    throw new InputError(`--normal ${JSON.stringify(options.normal)} is not a label of this file (labels: ${classes.join(', ')})`, { source: table.source });
  }

  const ae = await Autoencoder.fit(train, model, { onEpoch: (p) => options.onEpoch?.('autoencoder', p) });
  try {
    const width = table.width;
    const q = ae.codeSize;
    const codes = asMatrix(ae.encode(table), q);
    const trainCodes = asMatrix(gatherRows(codes.values, q, split.train), q);
    const testCodes = asMatrix(gatherRows(codes.values, q, split.test), q);

    const scaledTest = applyScaler(ae.scaler, test.values, width);
    const reconstructed = applyScaler(ae.scaler, ae.decode(testCodes.values, testCodes.rows), width);
    const pca = fitPca(asMatrix(applyScaler(ae.scaler, train.values, width), width), q);

    const k = options.k ?? classes.length;
    const clusters = fitKMeans(codes, { k, seed }).assignments;

    const svm = await trainSvm(trainCodes, train.labels!, { kernel: 'rbf', C: 10, gamma: 'scale' });
    let predicted: string[];
    try {
      predicted = svm.predict(testCodes);
    } finally {
      svm.free();
    }

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
      },
      classification: { accuracy: accuracy(test.labels!, predicted), macro_f1: macroF1(test.labels!, predicted) },
    };
    if (options.normal !== undefined) report.anomaly = await anomalySection(train, test, model, options);
    return report;
  } finally {
    ae.dispose();
  }
}

async function anomalySection(train: Table, test: Table, model: ModelOptions, options: EvaluateOptions): Promise<EvaluationReport['anomaly']> {
  const normalRows = train.labels!.flatMap((l, i) => (l === options.normal ? [i] : []));
  const detector = await Autoencoder.fit(selectRows(train, normalRows), model, { onEpoch: (p) => options.onEpoch?.('anomaly', p) });
  try {
    const errors = detector.score(test).errors;
    const isAnomaly = test.labels!.map((l) => l !== options.normal);
    return { auroc: auroc(isAnomaly, errors), auprc: auprc(isAnomaly, errors), threshold: detector.threshold?.value ?? NaN };
  } finally {
    detector.dispose();
  }
}
