/**
 * `latentflow autorec evaluate <ratings file>`: split the ratings, train AutoRec, report held-out RMSE next to the
 * global mean's. `latentflow autorec run <ratings file|dataset>`: train through the pipeline and store every user's
 * top-N items.
 */
import { Command } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import { PRIORITY } from '../../shared/contracts/queues.js';
import { readRatings } from '../../shared/data/ratings.js';
import { evaluateAutoRec } from '../../shared/evaluation/autorec-evaluate.js';
import { makeFlowProducer, submitAutoRecRun } from '../../shared/pipeline/flow.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { finiteNumber, fraction, integer, positiveInteger } from '../arg-parsers.js';
import { autoRecOptionsFrom, withAutoRecFlags } from '../autorec-flags.js';
import { withConnection } from '../connection.js';
import { checkName, datasetNameOf, isFile } from '../dataset-import.js';
import { formatTable } from '../output.js';
import { withQueues } from '../queues.js';
import { waitForRun } from '../run-progress.js';
import { startRuntime } from '../runtime.js';

function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('split a ratings file (seeded), train AutoRec on the training part, and print its held-out RMSE and top-N ranking next to the global mean, the bias model and popularity')
    .argument('<file>', 'user,item,rating[,timestamp] CSV/TSV (header optional), MovieLens u.data or ratings.dat; gzip allowed')
    .option('--test-fraction <f>', 'share of the ratings held out (default 0.1)', fraction, 0.1)
    .option('--split-seed <n>', 'seed of the split (default: --seed, else 0)', integer)
    .option('--relevance <r>', 'a held-out rating at least this is relevant for the ranking (default: the top fifth of the scale)', finiteNumber)
    .option('--k <n>', 'ranking depth (default 10)', positiveInteger, 10)
    .option('--json', 'print the report as JSON: {variant, implicit, rmse, baseline_rmse, train_ratings, test_ratings, epochs, best_epoch, seconds, ranking: {precision, recall, ndcg, hit_rate}, ranking_protocol, popularity, baselines: {global_mean_rmse, bias_rmse, popularity_ndcg}}');
  withAutoRecFlags(command);
  return command.action(async (file: string, opts: Record<string, unknown>) => {
    const json = opts.json === true;
    await startRuntime(json);
    const ratings = await readRatings(file);
    const report = await evaluateAutoRec(ratings, {
      testFraction: opts.testFraction as number, splitSeed: (opts.splitSeed ?? opts.seed ?? 0) as number, model: autoRecOptionsFrom(opts),
      relevance: opts.relevance as number | undefined, k: opts.k as number,
      hooks: { onEpoch: (p) => { if (!json) process.stderr.write(`\repoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${p.validation !== undefined ? ` validation ${p.validation.toFixed(4)}` : ''}   `); } },
    });
    if (!json) process.stderr.write('\n');
    if (json) return console.log(JSON.stringify(report));
    const k = report.ranking_protocol.k;
    const name = `${report.variant === 'item' ? 'I' : 'U'}-AutoRec${report.implicit ? ' (implicit)' : ''}`;
    console.log(formatTable([
      ['model', name], ['train ratings', report.train_ratings], ['test ratings', report.test_ratings],
      ['epochs (best)', `${report.epochs} (${report.best_epoch})`],
      ...(report.rmse !== null ? [['test RMSE', report.rmse] as [string, number]] : []),
      ['test RMSE, global mean', report.baselines.global_mean_rmse], ['test RMSE, bias model', report.baselines.bias_rmse],
      [`ranked users (relevant: ${report.ranking_protocol.relevance === null ? 'every held-out pair' : `rating ≥ ${report.ranking_protocol.relevance}`})`, report.ranking_protocol.users],
      [`Precision / Recall @${k}`, `${report.ranking.precision.toFixed(4)} / ${report.ranking.recall.toFixed(4)}`],
      [`NDCG / HitRate @${k}`, `${report.ranking.ndcg.toFixed(4)} / ${report.ranking.hit_rate.toFixed(4)}`],
      [`popularity NDCG / HitRate @${k}`, `${report.popularity.ndcg.toFixed(4)} / ${report.popularity.hit_rate.toFixed(4)}`],
      ['seconds', report.seconds],
    ]));
  });
}

function runCommand(): Command {
  const command = new Command('run')
    .description('train an AutoRec recommender through the pipeline (train job of kind autorec) and store every user\'s top-N unseen items (recommend job)')
    .argument('<ratings>', 'a ratings dataset name, or a ratings file (imported first as a ratings dataset named after the file)')
    .option('--model <name>', 'model name (default: the dataset name)')
    .option('--n <n>', 'items stored per user (default 10)', positiveInteger)
    .option('--promote-if-better', 'point production at the new version when its final loss beats production\'s')
    .option('--run-id <id>', 'run id (default: a random UUID)')
    .option('--priority <n>', `${PRIORITY.highest} (taken first) … ${PRIORITY.lowest}: where the run's jobs queue behind others (default ${PRIORITY.run})`, positiveInteger)
    .option('--wait', 'wait for the recommendations to be stored and print the result')
    .option('--json', 'print JSON: with --wait {run, model, version, users, n, seconds}, else {run}');
  withAutoRecFlags(command);
  return command.action(async (target: string, opts: Record<string, unknown>) => {
    const json = opts.json === true;
    const fromFile = await isFile(target);
    if (!fromFile && target.includes('/')) throw new InputError('no such file (and it is not a ratings dataset name either)', { source: target });
    const dataset = checkName(fromFile ? datasetNameOf(target) : target, 'dataset');
    const model = checkName(typeof opts.model === 'string' ? opts.model : dataset, 'model');
    await withConnection(async (connection) => {
      const store = new RatingsStore(connection.redis, connection.keys);
      if (fromFile) {
        const meta = await store.save(dataset, await readRatings(target), target);
        console.error(`imported ${target} as ratings dataset ${meta.name} (${meta.ratings} ratings, ${meta.users} users × ${meta.items} items)`);
      } else await store.meta(dataset);
      const flows = makeFlowProducer(connection.redis, connection.keys);
      const submitted = await submitAutoRecRun(flows, connection.keys, {
        run: opts.runId as string | undefined, model, dataset, options: autoRecOptionsFrom(opts), n: opts.n as number | undefined,
        promoteIfBetter: opts.promoteIfBetter === true, priority: opts.priority as number | undefined,
      }).finally(() => flows.close());
      if (opts.wait !== true) {
        console.log(json ? JSON.stringify({ run: submitted.run }) : `submitted run ${submitted.run} (train ${model} on ratings ${dataset}, then recommend); follow it with: latentflow jobs ${submitted.run}`);
        return;
      }
      const results = await withQueues(connection, ['train', 'recommend'], (queues) => waitForRun(queues, connection.keys.bullPrefix, submitted.jobId, {
        display: json ? 'none' : 'lines', root: 'recommend',
      }));
      const r = results.recommend!;
      if (json) return console.log(JSON.stringify({ run: submitted.run, model: r.model, version: r.version, users: r.users, n: r.n, seconds: r.seconds }));
      console.log(formatTable([['run', submitted.run], ['model', `${r.model}@${r.version}`], ['users', r.users], ['items per user', r.n], ['seconds', r.seconds]]));
      console.log(`top items of a user: latentflow recommend --model ${r.model} --user <id>`);
    });
  });
}

export function autorecCommand(): Command {
  return new Command('autorec').description('AutoRec collaborative filtering (Sedhain et al. 2015)').addCommand(evaluateCommand()).addCommand(runCommand());
}
