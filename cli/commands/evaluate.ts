/** `latentflow evaluate <file> --label COL`: the whole recipe on a labelled file, as a table or JSON. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { MANIFOLDS, type Manifold } from '../../shared/analytics/cluster-codes.js';
import { DISTANCE_METRICS, type DistanceMetric } from '../../shared/analytics/neighbours.js';
import { readTable } from '../../shared/data/read-table.js';
import { CLASSIFIERS, type ClassifierName } from '../../shared/contracts/queues.js';
import { evaluate, type ClassificationFigures, type EvaluationReport } from '../../shared/evaluation/evaluate.js';
import { inFlagTerms, modelOptionsFrom, withModelFlags } from '../model-flags.js';
import { formatTable } from '../output.js';
import { epochBar } from '../progress.js';
import { startRuntime } from '../runtime.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { clusters, fraction, nonNegativeNumber } from '../arg-parsers.js';
import { THRESHOLD_FLAG_HELP, thresholdFrom } from '../threshold-flag.js';
import type { ThresholdMethod } from '../../shared/ml/threshold.js';

/** A share in (0, 1]. */
function share(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n > 0 && n <= 1)) throw new InvalidArgumentError(`must be a number in (0, 1], got ${JSON.stringify(text)}`);
  return n;
}

const CLASSIFIER_LABELS: Record<ClassifierName, string> = { svm: 'SVM', frozen: 'frozen encoder', finetune: 'fine-tuned encoder', joint: 'joint' };

function humanReport(r: EvaluationReport): string {
  const rows: [string, string | number][] = [
    ['backend', r.backend], ['rows × features', `${r.rows} × ${r.features}`], ['code size', r.code_size],
    ['train epochs', r.train.epochs], ['train seconds', r.train.seconds], ['train samples/s', Math.round(r.train.samples_per_second)],
    ['final loss', r.train.final_loss],
    ['test MSE (autoencoder)', r.reconstruction.test_mse], ['test MSE (PCA, same q)', r.reconstruction.pca_test_mse],
    ['k-means k', r.clustering.k], ['k-means NMI', r.clustering.nmi], ['k-means ARI', r.clustering.ari],
    ['k-means accuracy', r.clustering.accuracy], ['silhouette', r.clustering.silhouette],
    ...Object.entries(r.clustering.variants ?? {}).map(([name, v]): [string, string] => [`${name} ACC / NMI / ARI`, `${v.accuracy.toFixed(4)} / ${v.nmi.toFixed(4)} / ${v.ari.toFixed(4)} (${v.seconds.toFixed(1)} s)`]),
  ];
  for (const [name, f] of Object.entries(r.classification.classifiers) as [ClassifierName, ClassificationFigures][]) {
    rows.push([`${CLASSIFIER_LABELS[name]} accuracy`, f.accuracy], [`${CLASSIFIER_LABELS[name]} macro-F1`, f.macro_f1]);
  }
  if (r.anomaly) {
    rows.push(['anomaly detector', r.anomaly.detector], ['anomaly AUROC', r.anomaly.auroc], ['anomaly AUPRC', r.anomaly.auprc], ['anomaly threshold', r.anomaly.threshold],
      ['false alarms on normal test rows', r.anomaly.false_alarm_rate]);
  }
  return formatTable(rows);
}

export function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('split a labelled file, train, and report reconstruction vs PCA, k-means on codes, classifiers (SVM on codes, or on the encoder) and (with --normal) anomaly detection')
    .argument('<file>', 'CSV, NDJSON or IDX file with a label column')
    .option('--normal <value>', 'label value of normal rows: also train on normal training rows only and report anomaly AUROC/AUPRC')
    .option('--k <n>', 'k-means clusters (default: number of labels)', clusters)
    .option('--test-fraction <f>', 'share of each class held out for testing', fraction, 0.3)
    .addOption(new Option('--manifold <name>', 'umap: also k-means on a UMAP embedding of the codes (N2D), every variant reported').choices([...MANIFOLDS]).default('none'))
    .addOption(new Option('--umap-metric <name>', 'with --manifold umap: distance between codes in its neighbour graph').choices([...DISTANCE_METRICS]).default('cosine'))
    .addOption(new Option('--classifier <name>', 'svm: RBF SVM on the codes; frozen: softmax head on the encoder; finetune: then the encoder too; joint: head + decoder on cross-entropy + alpha × reconstruction; all: the four')
      .choices([...CLASSIFIERS, 'all']).default('svm'))
    .option('--alpha <a>', 'joint: weight of the reconstruction loss', nonNegativeNumber, 1)
    .option('--label-fraction <f>', 'share of the training part\'s labels the classifiers may use (the rest are unlabelled rows, used by joint for reconstruction)', share, 1)
    .option('--threshold <method>', THRESHOLD_FLAG_HELP, thresholdFrom)
    .option('--json', 'print the report as JSON');
  withTableFlags(command);
  withModelFlags(command);
  return command.action(async (file: string, opts: Record<string, unknown>) => {
    const json = opts.json === true;
    const backend = await startRuntime(json);
    const table = await readTable(file, tableOptionsFrom(opts));
    const bar = json ? undefined : epochBar('training');
    let report: EvaluationReport;
    try {
      report = await evaluate(table, modelOptionsFrom(opts), {
        testFraction: opts.testFraction as number, k: opts.k as number | undefined, normal: opts.normal as string | undefined, manifold: opts.manifold as Manifold, umapMetric: opts.umapMetric as DistanceMetric,
        classifier: opts.classifier as ClassifierName | 'all', alpha: opts.alpha as number, labelFraction: opts.labelFraction as number,
        ...(opts.threshold !== undefined ? { threshold: opts.threshold as ThresholdMethod } : {}),
        onEpoch: (_stage, p) => bar?.update(p),
      }, backend.name);
    } catch (error) {
      throw inFlagTerms(error);
    } finally {
      bar?.stop();
    }
    console.log(json ? JSON.stringify(report, null, 2) : humanReport(report));
  });
}
