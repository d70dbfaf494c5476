/**
 * `latentflow autorec evaluate <ratings file>`: split the ratings, train AutoRec, report held-out RMSE next to the
 * global mean's. `latentflow autorec run <ratings file|dataset>`: train through the pipeline and store every user's
 * top-N items.
 */
import { Command } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import { readRatings, splitRatings } from '../../shared/data/ratings.js';
import { AutoRec, globalMeanRmse, type AutoRecVariant } from '../../shared/ml/autorec.js';
import { makeFlowProducer, submitAutoRecRun } from '../../shared/pipeline/flow.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { fraction, integer, positiveInteger } from '../arg-parsers.js';
import { autoRecOptionsFrom, withAutoRecFlags } from '../autorec-flags.js';
import { withConnection } from '../connection.js';
import { checkName, datasetNameOf, isFile } from '../dataset-import.js';
import { formatTable } from '../output.js';
import { withQueues } from '../queues.js';
import { waitForRun } from '../run-progress.js';
import { startRuntime } from '../runtime.js';

export interface AutoRecEvaluation {
  variant: AutoRecVariant;
  rmse: number;
  baseline_rmse: number;
  train_ratings: number;
  test_ratings: number;
  seconds: number;
}

function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('split a ratings file (seeded), train AutoRec on the training part and print the held-out RMSE next to the global-mean baseline')
    .argument('<file>', 'user,item,rating[,timestamp] CSV/TSV (header optional), MovieLens u.data or ratings.dat; gzip allowed')
    .option('--test-fraction <f>', 'share of the ratings held out (default 0.1)', fraction, 0.1)
    .option('--split-seed <n>', 'seed of the split (default: --seed, else 0)', integer)
    .option('--json', 'print {variant, rmse, baseline_rmse, train_ratings, test_ratings, seconds} as JSON');
  withAutoRecFlags(command);
  return command.action(async (file: string, opts: Record<string, unknown>) => {
    const json = opts.json === true;
    await startRuntime(json);
    const ratings = await readRatings(file);
    const splitSeed = (opts.splitSeed ?? opts.seed ?? 0) as number;
    const { train, test } = splitRatings(ratings, opts.testFraction as number, splitSeed);
    const started = performance.now();
    const model = await AutoRec.fit(train, autoRecOptionsFrom(opts), {
      onEpoch: (p) => { if (!json) process.stderr.write(`\repoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${p.epoch === p.epochs ? '\n' : ''}`); },
    });
    let report: AutoRecEvaluation;
    try {
      report = {
        variant: model.config.variant, rmse: model.rmse(test), baseline_rmse: globalMeanRmse(train, test),
        train_ratings: train.entries.rating.length, test_ratings: test.entries.rating.length,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      model.dispose();
    }
    console.log(json ? JSON.stringify(report) : formatTable([
      ['variant', report.variant === 'item' ? 'I-AutoRec' : 'U-AutoRec'], ['train ratings', report.train_ratings], ['test ratings', report.test_ratings],
      ['test RMSE (AutoRec)', report.rmse], ['test RMSE (global mean)', report.baseline_rmse], ['seconds', report.seconds],
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
        promoteIfBetter: opts.promoteIfBetter === true,
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
