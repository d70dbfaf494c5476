/** The AutoRec options as command-line flags, shared by `autorec evaluate` and `autorec run`. */
import { Command, InvalidArgumentError } from 'commander';
import { AUTOREC_DEFAULTS, type AutoRecOptions, type AutoRecVariant } from '../shared/ml/autorec.js';
import { integer, nonNegativeNumber, positiveInteger, positiveNumber } from './arg-parsers.js';

function variant(text: string): AutoRecVariant {
  if (text !== 'item' && text !== 'user') throw new InvalidArgumentError(`must be item or user, got ${JSON.stringify(text)}`);
  return text;
}

export function withAutoRecFlags(command: Command): Command {
  const d = AUTOREC_DEFAULTS;
  return command
    .option('--variant <v>', `item (I-AutoRec) or user (U-AutoRec) (default ${d.variant})`, variant)
    .option('--hidden <n>', `hidden units (default ${d.hidden})`, positiveInteger)
    .option('--lambda <x>', `weight decay λ on W and V (default ${d.lambda})`, nonNegativeNumber)
    .option('--lr <x>', `Adam learning rate (default ${d.learningRate})`, positiveNumber)
    .option('--epochs <n>', `passes over the vectors (default ${d.epochs})`, positiveInteger)
    .option('--batch-size <n>', `vectors per step (default ${d.batchSize})`, positiveInteger)
    .option('--seed <n>', `initialisation and shuffling (default ${d.seed})`, integer);
}

/** The options given on the command line (absent flags stay absent, so the defaults apply where the model is trained). */
export function autoRecOptionsFrom(opts: Record<string, unknown>): AutoRecOptions {
  const given = {
    variant: opts.variant, hidden: opts.hidden, lambda: opts.lambda, learningRate: opts.lr,
    epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed,
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}
