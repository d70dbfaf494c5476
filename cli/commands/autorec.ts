/** `latentflow autorec evaluate <ratings file>`: split the ratings, train AutoRec, report held-out RMSE next to the global mean's. */
import { Command, InvalidArgumentError } from 'commander';
import { readRatings, splitRatings } from '../../shared/data/ratings.js';
import { AUTOREC_DEFAULTS, AutoRec, globalMeanRmse, type AutoRecVariant } from '../../shared/ml/autorec.js';
import { formatTable } from '../output.js';
import { startRuntime } from '../runtime.js';
import { fraction, positiveInteger, positiveNumber } from '../arg-parsers.js';
import { integer, nonNegativeNumber } from '../arg-parsers.js';

export interface AutoRecEvaluation {
  variant: AutoRecVariant;
  rmse: number;
  baseline_rmse: number;
  train_ratings: number;
  test_ratings: number;
  seconds: number;
}

function variant(text: string): AutoRecVariant {
  if (text !== 'item' && text !== 'user') throw new InvalidArgumentError(`must be item or user, got ${JSON.stringify(text)}`);
  return text;
}

function evaluateCommand(): Command {
  const d = AUTOREC_DEFAULTS;
  return new Command('evaluate')
    .description('split a ratings file (seeded), train AutoRec on the training part and print the held-out RMSE next to the global-mean baseline')
    .argument('<file>', 'user,item,rating[,timestamp] CSV/TSV (header optional), MovieLens u.data or ratings.dat; gzip allowed')
    .option('--variant <v>', 'item (I-AutoRec) or user (U-AutoRec)', variant, d.variant)
    .option('--hidden <n>', 'hidden units', positiveInteger, d.hidden)
    .option('--lambda <x>', 'weight decay λ on W and V', nonNegativeNumber, d.lambda)
    .option('--lr <x>', 'Adam learning rate', positiveNumber, d.learningRate)
    .option('--epochs <n>', 'passes over the vectors', positiveInteger, d.epochs)
    .option('--batch-size <n>', 'vectors per step', positiveInteger, d.batchSize)
    .option('--seed <n>', 'initialisation, shuffling and the split', integer, d.seed)
    .option('--test-fraction <f>', 'share of the ratings held out', fraction, 0.1)
    .option('--json', 'print {variant, rmse, baseline_rmse, train_ratings, test_ratings, seconds} as JSON')
    .action(async (file: string, opts: Record<string, unknown>) => {
      const json = opts.json === true;
      await startRuntime(json);
      const ratings = await readRatings(file);
      const seed = opts.seed as number;
      const { train, test } = splitRatings(ratings, opts.testFraction as number, seed);
      const started = performance.now();
      const model = await AutoRec.fit(train, {
        variant: opts.variant as AutoRecVariant, hidden: opts.hidden as number, lambda: opts.lambda as number,
        learningRate: opts.lr as number, epochs: opts.epochs as number, batchSize: opts.batchSize as number, seed,
      }, {
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

export function autorecCommand(): Command {
  return new Command('autorec').description('AutoRec collaborative filtering (Sedhain et al. 2015)').addCommand(evaluateCommand());
}
