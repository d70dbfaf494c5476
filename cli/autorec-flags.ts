/** The AutoRec options as command-line flags, shared by `autorec evaluate` and `autorec run`. */
import { Option, type Command } from 'commander';
import { AUTOREC_BASELINES, AUTOREC_DEFAULTS, AUTOREC_RANKINGS, AUTOREC_VARIANTS, type AutoRecOptions } from '../shared/ml/autorec-config.js';
import { integer, nonNegativeNumber, positiveInteger, positiveNumber } from './arg-parsers.js';

export function withAutoRecFlags(command: Command): Command {
  const d = AUTOREC_DEFAULTS;
  return command
    .addOption(new Option('--variant <v>', `item (I-AutoRec) or user (U-AutoRec) (default ${d.variant})`).choices(AUTOREC_VARIANTS))
    .option('--hidden <n>', `the rating network's hidden units (default ${d.hidden})`, positiveInteger)
    .option('--lambda <x>', `the rating network's weight decay λ on W and V, on the paper's scale (default ${d.lambda})`, nonNegativeNumber)
    .option('--presence-hidden <n>', `the presence network's hidden units (ranking; the only network with --implicit) (default ${d.presenceHidden})`, positiveInteger)
    .option('--presence-lambda <x>', `the presence network's weight decay λ (default ${d.presenceLambda})`, nonNegativeNumber)
    .option('--lr <x>', `Adam learning rate (default ${d.learningRate})`, positiveNumber)
    .option('--epochs <n>', `most passes over the vectors (default ${d.epochs})`, positiveInteger)
    .option('--batch-size <n>', `vectors per step (default ${d.batchSize})`, positiveInteger)
    .option('--seed <n>', `initialisation, shuffling, dropout and the validation part (default ${d.seed})`, integer)
    .addOption(new Option('--baseline <b>', `what the network reconstructs ratings relative to: biases (μ + b_u + b_i) or mean (default ${d.baseline})`).choices(AUTOREC_BASELINES))
    .addOption(new Option('--ranking <r>', `explicit ratings: rank recommendations by presence (a second network: would the user pick the item) × predicted rating, or by rating alone (default ${d.ranking})`).choices(AUTOREC_RANKINGS))
    .option('--dropout <p>', `share of input entries zeroed in training (default ${d.dropout})`, nonNegativeNumber)
    .option('--validation <f>', `share of the training ratings that picks the best epoch; 0: no early stopping (default ${d.validation})`, nonNegativeNumber)
    .option('--patience <n>', `epochs without a better validation score before stopping (default ${d.patience})`, positiveInteger)
    .option('--implicit', 'implicit feedback: every observed pair is a positive, others weighted zeros; outputs are scores')
    .option('--negative-weight <w>', `implicit: loss weight of an unobserved pair (default ${d.negativeWeight})`, nonNegativeNumber);
}

/** The options given on the command line (absent flags stay absent, so the defaults apply where the model is trained). */
export function autoRecOptionsFrom(opts: Record<string, unknown>): AutoRecOptions {
  const given = {
    variant: opts.variant, hidden: opts.hidden, lambda: opts.lambda, presenceHidden: opts.presenceHidden, presenceLambda: opts.presenceLambda, learningRate: opts.lr,
    epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed, baseline: opts.baseline, ranking: opts.ranking, dropout: opts.dropout,
    validation: opts.validation, patience: opts.patience, implicit: opts.implicit === true ? true : undefined, negativeWeight: opts.negativeWeight,
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}
