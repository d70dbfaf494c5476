/**
 * `latentflow run <dataset or file>`: submit a run (train → encode → cluster → classify → detect → summary) to the
 * pipeline; with --wait, follow it live, print the summary and write the run's HTML report (see `latentflow report`).
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MANIFOLDS, type Manifold } from '../../shared/analytics/cluster-codes.js';
import { DISTANCE_METRICS, type DistanceMetric } from '../../shared/analytics/neighbours.js';
import { InputError } from '../../shared/contracts/errors.js';
import { PRIORITY } from '../../shared/contracts/queues.js';
import { formatOf, readTable } from '../../shared/data/read-table.js';
import { withConnection, type Connection } from '../connection.js';
import { checkName, datasetNameOf, isFile, saveDataset } from '../dataset-import.js';
import { modelOptionsFrom, withModelFlags } from '../model-flags.js';
import { DOWNSTREAM_STAGES, type DownstreamStage } from '../../shared/pipeline/flow.js';
import { defaultDisplay, formatSummary, stagesFor, submit, waitForSummary } from '../run.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { THRESHOLD_FLAG_HELP, thresholdFrom } from '../threshold-flag.js';
import { clusters, positiveInteger, positiveNumber } from '../arg-parsers.js';
import { startRuntime } from '../runtime.js';
import { writeReport } from './report.js';

function stageList(text: string): DownstreamStage[] {
  const stages = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of stages) {
    if (!(DOWNSTREAM_STAGES as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown stage ${JSON.stringify(s)} (${DOWNSTREAM_STAGES.join(', ')})`);
  }
  return stages as DownstreamStage[];
}

/**
 * Writes a finished run's report to `file` and prints `report: <file>` on stderr; a failure only prints a warning,
 * since the run itself succeeded.
 */
async function reportRun(connection: Connection, run: string, file: string): Promise<void> {
  try {
    await startRuntime(true);
    await writeReport(connection, { run }, file);
    console.error(`report: ${file}`);
  } catch (error) {
    console.error(`latentflow: warning: the run completed, but its report was not written: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function runCommand(): Command {
  const command = new Command('run')
    .description('run the pipeline on a dataset: train a new model version, encode every record, k-means and SVM on the codes, anomaly alerts')
    .argument('<dataset>', 'a dataset name, or a data file (imported first as a dataset named after the file)')
    .option('--model <name>', 'model name (default: the dataset name)')
    .option('--k <n>', 'k-means clusters (default: the number of labels)', clusters)
    .addOption(new Option('--manifold <name>', 'umap: k-means on a UMAP embedding of the codes (N2D) instead of the codes').choices([...MANIFOLDS]))
    .addOption(new Option('--umap-metric <name>', 'with --manifold umap: distance between codes in its neighbour graph (default cosine)').choices([...DISTANCE_METRICS]))
    .option('--normal <value>', 'train only on rows with this label (anomaly detection)')
    .option('--threshold <method>', THRESHOLD_FLAG_HELP + ' (default quantile:0.99)')
    .option('--alert-threshold <error>', 'alert above this reconstruction error (default: the model\'s threshold)', positiveNumber)
    .option('--stages <list>', `downstream stages after train and encode, comma-separated (default ${DOWNSTREAM_STAGES.join(',')}; classify is left out for a dataset without labels)`, stageList)
    .option('--run-id <id>', 'run id (default: a random UUID)')
    .option('--priority <n>', `${PRIORITY.highest} (taken first) … ${PRIORITY.lowest}: where the run's jobs queue behind others (default ${PRIORITY.run}; scheduled batches ${PRIORITY.scheduled})`, positiveInteger)
    .option('--wait', 'follow the run live and print its summary, then write its HTML report')
    .option('--report <file>', 'with --wait: where to write the run\'s report (default reports/<run id>.html)')
    .option('--no-report', 'with --wait: write no report')
    .option('--json', 'print JSON: with --wait the summary {run, model, version, dataset, records, embeddings, clustering, classification, anomalies}, else {run}');
  withTableFlags(command);
  withModelFlags(command);
  return command.action(async (target: string, opts: Record<string, unknown>) => {
    const json = opts.json === true;
    const fromFile = await isFile(target);
    if (!fromFile && (formatOf(target) !== undefined || target.includes('/'))) {
      throw new InputError('no such file (and it is not a dataset name either)', { source: target });
    }
    const dataset = fromFile ? datasetNameOf(target) : target;
    const model = checkName(typeof opts.model === 'string' ? opts.model : dataset, 'model');
    const threshold = typeof opts.threshold === 'string' ? thresholdFrom(opts.threshold) : undefined;
    const seed = typeof opts.seed === 'number' ? opts.seed : undefined;
    await withConnection(async (connection) => {
      if (fromFile) {
        const meta = await saveDataset(connection, dataset, await readTable(target, tableOptionsFrom(opts)));
        console.error(`imported ${target} as dataset ${meta.name} (${meta.rows} × ${meta.width})`);
      }
      const { stages, note } = await stagesFor(connection, dataset, opts.stages as DownstreamStage[] | undefined);
      if (note) console.error(note);
      const submitted = await submit(connection, {
        stages,
        run: opts.runId as string | undefined, priority: opts.priority as number | undefined, model, dataset, options: modelOptionsFrom(opts), normal: opts.normal as string | undefined,
        thresholdMethod: threshold, k: opts.k as number | undefined, manifold: opts.manifold as Manifold | undefined, umapMetric: opts.umapMetric as DistanceMetric | undefined, threshold: opts.alertThreshold as number | undefined, seed,
      });
      if (opts.wait !== true) {
        console.log(json ? JSON.stringify({ run: submitted.run }) : submitted.run);
        console.error(`submitted run ${submitted.run}: follow it with \`latentflow jobs ${submitted.run}\``);
        return;
      }
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        const summary = await waitForSummary(connection, submitted, defaultDisplay(), controller.signal);
        console.log(json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
        if (opts.report !== false) await reportRun(connection, submitted.run, typeof opts.report === 'string' ? opts.report : path.join('reports', `${submitted.run}.html`));
      } finally {
        process.off('SIGINT', stop);
      }
    });
  });
}
