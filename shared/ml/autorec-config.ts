/**
 * AutoRec's options: one zod schema is the runtime validation and the type; `resolveAutoRecConfig` fills the
 * defaults. The defaults were chosen on real ratings (FilmTrust, `npm run bench -- autorec`, bench/results/autorec.md)
 * and checked on the synthetic matrix of the tests; see {@link AUTOREC_DEFAULTS}.
 */
import { z } from 'zod';
import { ConfigError } from '../contracts/errors.js';
import { MODEL_LIMITS } from '../contracts/limits.js';
import type { NetworkRole } from './autorec-network.js';
import { describeIssues, formatCount, networkSizeProblems } from './model-config.js';

export const AUTOREC_VARIANTS = ['item', 'user'] as const;
export type AutoRecVariant = (typeof AUTOREC_VARIANTS)[number];
/**
 * What the network reconstructs (explicit ratings): `mean`, each rating less the global training mean (AutoRec as
 * published, centred); `biases`, each rating less the bias model μ + b_u + b_i (shared/analytics/rating-biases.ts), so
 * the network learns only what the biases miss.
 */
export const AUTOREC_BASELINES = ['mean', 'biases'] as const;
export type AutoRecBaseline = (typeof AUTOREC_BASELINES)[number];
/**
 * How explicit-rating models rank items for a user: `presence`, by the chance the user picks the item at all (a second
 * network, trained as for implicit feedback) times the predicted rating's place on the scale; `rating`, by the
 * predicted rating alone (which favours items few people rated). Implicit-feedback models rank by presence.
 */
export const AUTOREC_RANKINGS = ['presence', 'rating'] as const;
export type AutoRecRanking = (typeof AUTOREC_RANKINGS)[number];

export interface AutoRecConfig {
  /** `item` (I-AutoRec, the paper's best) or `user` (U-AutoRec). */
  variant: AutoRecVariant;
  /** The rating network's hidden units k (paper: 500). Implicit-feedback models have no rating network. */
  hidden: number;
  /**
   * The rating network's weight-decay strength λ on W and V, on the paper's scale (its objective: squared errors +
   * λ/2·(‖W‖² + ‖V‖²)).
   */
  lambda: number;
  /** The presence network's hidden units: the ranking network of explicit models, the only network of implicit ones. */
  presenceHidden: number;
  /** The presence network's weight-decay strength, on the same scale as `lambda`. */
  presenceLambda: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Most epochs; fewer when early stopping ends training. */
  epochs: number;
  /** Vectors (items for I-AutoRec, users for U-AutoRec) per step. */
  batchSize: number;
  /** Initialisation, shuffling, dropout and the validation part. */
  seed: number;
  /** Explicit ratings: what is subtracted before the network (see AUTOREC_BASELINES). Ignored for implicit feedback. */
  baseline: AutoRecBaseline;
  /** Explicit ratings: how recommendations are ranked (see AUTOREC_RANKINGS). */
  ranking: AutoRecRanking;
  /** Share of each input vector's observed entries zeroed at random in training (denoising); the targets keep them. */
  dropout: number;
  /**
   * Share of the training ratings held out to choose the epoch (validation RMSE, or NDCG@10 for the presence network);
   * the weights of the best epoch are kept. 0: no early stopping, every epoch runs.
   */
  validation: number;
  /** Early stopping: epochs without a better validation score before training stops. */
  patience: number;
  /**
   * Implicit feedback (clicks, plays, purchases): every observed pair is a positive (1), every other pair a 0 weighted
   * `negativeWeight` in the loss (weighted zeros, as in Hu, Koren & Volinsky 2008 and CDAE); scores are not ratings.
   */
  implicit: boolean;
  /** Implicit feedback: the loss weight of an unobserved pair (a positive weighs 1). */
  negativeWeight: number;
}

/**
 * Defaults, from the FilmTrust sweep (bench/results/autorec.md; tuned on split seed 0, checked on the peer's split
 * and seed 1): item-based as the paper's best; the rating network reconstructs what the bias model misses, so it
 * needs far less capacity than the paper's 500 units and more weight decay (50 hidden, λ 50 on the paper's scale;
 * 100 measured 0.799 against 0.794, 500 overfit); 64 vectors per step (the peer's; 32 measured worse). The presence
 * network, which ranks, learns from every pair, not residuals, and wants more capacity and less decay (300 hidden,
 * λ 10: implicit NDCG@10 0.585 against 0.550 at 100 and λ 50), and unobserved pairs weighted 0.2 (0.542 against
 * 0.523 at 0.1). Early stopping on 5% of the training ratings with the best epoch kept, after 25 epochs without a
 * better score: the presence network's validation NDCG is noisy in its first epochs, and a patience of 10 stopped it
 * at epoch 3 on the peer's split (implicit NDCG@10 0.565 against 0.596 with 25).
 */
export const AUTOREC_DEFAULTS: AutoRecConfig = {
  variant: 'item', hidden: 50, lambda: 50, presenceHidden: 300, presenceLambda: 10, learningRate: 0.001, epochs: 100, batchSize: 64, seed: 0,
  baseline: 'biases', ranking: 'presence', dropout: 0, validation: 0.05, patience: 25, implicit: false, negativeWeight: 0.2,
};

/** A positive integer of at most `limit`; the message names the value, its unit and the limit. */
const bounded = (limit: number, unit: string) => z.number().int().min(1).max(limit, {
  error: (issue) => `${formatCount(Number(issue.input))} ${unit}: the limit is ${formatCount(limit)}`,
});

/**
 * AutoRec options as a job payload or the CLI gives them; every field optional (defaults: {@link AUTOREC_DEFAULTS}).
 * Sizes are capped by MODEL_LIMITS here, and the network the ratings call for by {@link checkAutoRecSize} (its width
 * is the number of users, or items for `variant: 'user'`).
 */
export const AutoRecOptionsSchema = z.object({
  variant: z.enum(AUTOREC_VARIANTS),
  hidden: bounded(MODEL_LIMITS.layerWidth, 'hidden units'),
  lambda: z.number().min(0).finite(),
  presenceHidden: bounded(MODEL_LIMITS.layerWidth, 'presence hidden units'),
  presenceLambda: z.number().min(0).finite(),
  learningRate: z.number().positive().finite(),
  epochs: bounded(MODEL_LIMITS.epochs, 'epochs'),
  batchSize: bounded(MODEL_LIMITS.batchSize, 'vectors per step'),
  seed: z.number().int(),
  baseline: z.enum(AUTOREC_BASELINES),
  ranking: z.enum(AUTOREC_RANKINGS),
  dropout: z.number().min(0).lt(1),
  validation: z.number().min(0).max(0.5),
  patience: z.number().int().min(1).max(MODEL_LIMITS.epochs),
  implicit: z.boolean(),
  negativeWeight: z.number().min(0).max(1),
}).partial().strict();

export type AutoRecOptions = z.input<typeof AutoRecOptionsSchema>;

/** Validates options and fills every default. Throws ConfigError naming the option. */
export function resolveAutoRecConfig(options: AutoRecOptions = {}): AutoRecConfig {
  const parsed = AutoRecOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(`invalid autorec options: ${describeIssues(parsed.error)}`);
  const given = parsed.data;
  if (given.implicit === true) {
    const ratingOnly = (['hidden', 'lambda'] as const).filter((key) => given[key] !== undefined);
    if (ratingOnly.length > 0) {
      throw new ConfigError(`invalid autorec options: ${ratingOnly.join(' and ')} size the rating network, and implicit-feedback models have only the presence network: use ${ratingOnly.map((key) => `presence${key[0].toUpperCase()}${key.slice(1)}`).join(' and ')}`);
    }
  }
  return { ...AUTOREC_DEFAULTS, ...given };
}

/** The networks a model of `config` has, in training and artifact order. */
export function networksOf(config: AutoRecConfig): NetworkRole[] {
  if (config.implicit) return ['presence'];
  return config.ranking === 'presence' ? ['rating', 'presence'] : ['rating'];
}

/** The hidden units and weight decay of a model's `role` network. */
export function networkSize(config: AutoRecConfig, role: NetworkRole): { hidden: number; lambda: number } {
  return role === 'rating' ? { hidden: config.hidden, lambda: config.lambda } : { hidden: config.presenceHidden, lambda: config.presenceLambda };
}

/**
 * Throws ConfigError when the network `config` calls for on ratings of `users` users and `items` items is beyond
 * MODEL_LIMITS (shared/ml/model-config.ts `networkSizeProblems`) for its larger network: a network's input and output
 * are as wide as a rating vector (users for I-AutoRec, items for U-AutoRec), so it has about 2 × hidden × width
 * parameters.
 */
export function checkAutoRecSize(config: AutoRecConfig, users: number, items: number): void {
  const width = config.variant === 'item' ? users : items;
  const largest = networksOf(config).reduce((a, b) => (networkSize(config, b).hidden > networkSize(config, a).hidden ? b : a));
  const hidden = networkSize(config, largest).hidden;
  const fewer = `use fewer hidden units (${largest === 'rating' ? 'hidden' : 'presenceHidden'})`;
  const tooLarge = networkSizeProblems([width, hidden, width], config.batchSize, config.variant === 'item'
    ? { input: 'users (the length of an item\'s rating vector)', remedy: `${fewer}, or variant "user" when there are fewer items than users` }
    : { input: 'items (the length of a user\'s rating vector)', remedy: `${fewer}, or variant "item" when there are fewer users than items` });
  if (tooLarge.length > 0) throw new ConfigError(`invalid autorec options for ${formatCount(users)} users × ${formatCount(items)} items: ${tooLarge.join('; ')}`);
}
