/** `latentflow evaluate <file> --label COL`: the whole recipe on a labelled file, as a table or JSON. */
import { Command } from 'commander';
import { readTable } from '../../shared/data/read-table.js';
import { evaluate, type EvaluationReport } from '../../shared/evaluation/evaluate.js';
import { inFlagTerms, modelOptionsFrom, withModelFlags } from '../model-flags.js';
import { formatTable } from '../output.js';
import { epochBar } from '../progress.js';
import { startRuntime } from '../runtime.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { clusters, fraction } from '../arg-parsers.js';

function humanReport(r: EvaluationReport): string {
  const rows: [string, string | number][] = [
    ['backend', r.backend], ['rows × features', `${r.rows} × ${r.features}`], ['code size', r.code_size],
    ['train epochs', r.train.epochs], ['train seconds', r.train.seconds], ['train samples/s', Math.round(r.train.samples_per_second)],
    ['final loss', r.train.final_loss],
    ['test MSE (autoencoder)', r.reconstruction.test_mse], ['test MSE (PCA, same q)', r.reconstruction.pca_test_mse],
    ['k-means k', r.clustering.k], ['k-means NMI', r.clustering.nmi], ['k-means ARI', r.clustering.ari],
    ['k-means accuracy', r.clustering.accuracy], ['silhouette', r.clustering.silhouette],
    ['SVM accuracy', r.classification.accuracy], ['SVM macro-F1', r.classification.macro_f1],
  ];
  if (r.anomaly) rows.push(['anomaly AUROC', r.anomaly.auroc], ['anomaly AUPRC', r.anomaly.auprc], ['anomaly threshold', r.anomaly.threshold]);
  return formatTable(rows);
}

export function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('split a labelled file, train, and report reconstruction vs PCA, k-means on codes, SVM on codes and (with --normal) anomaly detection')
    .argument('<file>', 'CSV, NDJSON or IDX file with a label column')
    .option('--normal <value>', 'label value of normal rows: also train on normal training rows only and report anomaly AUROC/AUPRC')
    .option('--k <n>', 'k-means clusters (default: number of labels)', clusters)
    .option('--test-fraction <f>', 'share of each class held out for testing', fraction, 0.3)
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
        testFraction: opts.testFraction as number, k: opts.k as number | undefined, normal: opts.normal as string | undefined,
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
