/**
 * `autorec evaluate`: a seeded split of a ratings file, AutoRec trained on the training part, and on the held-out
 * part its RMSE and top-N ranking next to the classic baselines measured in the same run: the global mean, the bias
 * model (μ + b_u + b_i) and popularity (items by number of training ratings). The report's keys are a contract (the
 * CLI prints them as JSON).
 *
 * Ranking protocol: every user with at least one relevant held-out rating (at least the relevance threshold; any
 * held-out pair for implicit feedback) ranks every item that has training ratings and that the user did not rate in
 * training; Precision, Recall, NDCG and HitRate at k (shared/analytics/top-n-metrics.ts) are averaged over those users.
 * A relevant item without training ratings cannot be ranked by any model and counts as missed.
 */
import { fitRatingBiases, predictBiases } from '../analytics/rating-biases.js';
import { rmse } from '../analytics/regression-metrics.js';
import { itemsByUser, topNScores, TopNMeans, type TopNScores } from '../analytics/top-n-metrics.js';
import { InputError } from '../contracts/errors.js';
import { splitRatings, type Ratings } from '../data/ratings.js';
import { AutoRec, type AutoRecHooks } from '../ml/autorec.js';
import type { AutoRecOptions, AutoRecVariant } from '../ml/autorec-config.js';

export interface AutoRecEvaluateOptions {
  /** Share of the ratings held out. Default 0.1. */
  testFraction?: number;
  /** Seed of the split. Default 0. */
  splitSeed?: number;
  /** AutoRec options; defaults apply to what is absent. */
  model?: AutoRecOptions;
  /** Explicit ratings: a held-out rating at least this is relevant. Default: the top fifth of the scale, min + 0.8·(max − min). */
  relevance?: number;
  /** Ranking depth. Default 10. */
  k?: number;
  hooks?: AutoRecHooks;
}

export interface AutoRecEvaluation {
  variant: AutoRecVariant;
  implicit: boolean;
  /** Held-out RMSE of AutoRec (null for implicit feedback, whose outputs are not ratings). */
  rmse: number | null;
  /** Held-out RMSE of the global mean (= baselines.global_mean_rmse; kept for scripts written before `baselines`). */
  baseline_rmse: number;
  train_ratings: number;
  test_ratings: number;
  /** Epochs the predicting network (ratings; presence for implicit feedback) trained, and the one whose weights it kept. */
  epochs: number;
  best_epoch: number;
  seconds: number;
  /** AutoRec's top-k ranking on the held-out part. */
  ranking: TopNScores;
  /** How the ranking was measured. */
  ranking_protocol: { k: number; relevance: number | null; users: number };
  /** The same ranking figures for popularity. */
  popularity: TopNScores;
  baselines: { global_mean_rmse: number; bias_rmse: number; popularity_ndcg: number };
}

/** RMSE of predicting the mean training rating for every held-out rating. */
export function globalMeanRmse(train: Ratings, test: Ratings): number {
  let mean = 0;
  for (const r of train.entries.rating) mean += r;
  mean /= train.entries.rating.length;
  return rmse(test.entries.rating, new Float64Array(test.entries.rating.length).fill(mean));
}

/** RMSE of the bias model fitted on `train` (predictions clipped to the rating range). */
export function biasModelRmse(train: Ratings, test: Ratings): number {
  const biases = fitRatingBiases(train.entries, train.users.length, train.items.length);
  const { user, item, rating } = test.entries;
  const predicted = predictBiases(biases, user, item).map((r) => Math.min(train.max, Math.max(train.min, r)));
  return rmse(rating, predicted);
}

/** Relevant held-out items per user: rated at least `relevance`, or every held-out pair when it is null. */
function relevantItems(test: Ratings, relevance: number | null): Map<number, Set<number>> {
  const { user, item, rating } = test.entries;
  const pairs = Array.from(rating.keys()).filter((k) => relevance === null || rating[k] >= relevance);
  return itemsByUser(user, item, pairs);
}

/** Top-k of popularity (training ratings per item, ties to the lower index) for each user, without the user's training items. */
function popularityScores(train: Ratings, relevant: Map<number, Set<number>>, k: number): TopNScores {
  const { user, item } = train.entries;
  const counts = new Int32Array(train.items.length);
  for (let e = 0; e < item.length; e++) counts[item[e]]++;
  const seen = itemsByUser(user, item, Array.from(user.keys()).filter((e) => relevant.has(user[e])));
  const ranked = Array.from(counts.keys()).filter((i) => counts[i] > 0).sort((a, b) => counts[b] - counts[a] || a - b);
  const means = new TopNMeans();
  for (const [u, items] of relevant) {
    const own = seen.get(u) ?? new Set<number>();
    const list: number[] = [];
    for (const i of ranked) {
      if (list.length === k) break;
      if (!own.has(i)) list.push(i);
    }
    means.add(topNScores(list, items, k));
  }
  return means.means();
}

/** Splits (seeded), trains, and measures AutoRec and the baselines on the held-out part. */
export async function evaluateAutoRec(ratings: Ratings, options: AutoRecEvaluateOptions = {}): Promise<AutoRecEvaluation> {
  const { train, test } = splitRatings(ratings, options.testFraction ?? 0.1, options.splitSeed ?? 0);
  return evaluateAutoRecOn(train, test, options);
}

/**
 * Trains on `train` and measures AutoRec and the baselines on `test` (the same id maps, as subsetRatings makes them);
 * the split options are ignored. For measuring on a split made elsewhere, e.g. a peer's.
 */
export async function evaluateAutoRecOn(train: Ratings, test: Ratings, options: AutoRecEvaluateOptions = {}): Promise<AutoRecEvaluation> {
  const k = options.k ?? 10;
  const started = performance.now();
  const model = await AutoRec.fit(train, options.model, options.hooks);
  try {
    const implicit = model.config.implicit;
    const relevance = implicit ? null : options.relevance ?? train.min + 0.8 * (train.max - train.min);
    const relevant = relevantItems(test, relevance);
    if (relevant.size === 0) throw new InputError(`no held-out rating is relevant (at least ${relevance}): lower the relevance threshold`, { field: 'relevance', value: relevance });
    const users = [...relevant.keys()];
    const means = new TopNMeans();
    let at = 0;
    for await (const batch of model.recommendAll(k, { users: users.map((u) => train.users[u]) })) {
      for (const { items } of batch) means.add(topNScores(items.map((r) => model.itemIndexOf(r.item)), relevant.get(users[at++])!, k));
    }
    const ranking = means.means();
    const popularity = popularityScores(train, relevant, k);
    const globalMean = globalMeanRmse(train, test);
    const { epochs, bestEpoch } = model.training;
    return {
      variant: model.config.variant, implicit, rmse: implicit ? null : model.rmse(test), baseline_rmse: globalMean,
      train_ratings: train.entries.rating.length, test_ratings: test.entries.rating.length,
      epochs, best_epoch: bestEpoch, seconds: (performance.now() - started) / 1000,
      ranking, ranking_protocol: { k, relevance, users: users.length }, popularity,
      baselines: { global_mean_rmse: globalMean, bias_rmse: biasModelRmse(train, test), popularity_ndcg: popularity.ndcg },
    };
  } finally {
    model.dispose();
  }
}
