/**
 * The classic bias model of collaborative filtering: r̂(u, i) = μ + b_u + b_i, fitted by alternating closed-form
 * ridge updates (Koren, Bell & Volinsky 2009, §"Adding biases"; Koren 2010 fits them the same way). It is both the
 * baseline a recommender must beat and the part AutoRec's residual mode subtracts first. Written here: a few lines of
 * array arithmetic, for which no npm package is worth depending on.
 */

/** Ratings as parallel arrays of 0-based user and item indices. */
export interface RatingEntries {
  user: ArrayLike<number>;
  item: ArrayLike<number>;
  rating: ArrayLike<number>;
}

export interface RatingBiases {
  /** μ: the mean training rating. */
  mean: number;
  /** b_u per user index (0 for users without ratings). */
  user: Float64Array;
  /** b_i per item index (0 for items without ratings). */
  item: Float64Array;
}

export interface BiasOptions {
  /** Ridge strength on each bias (a user or item with n ratings has its mean residual shrunk by n / (n + reg)). Default 10. */
  reg?: number;
  /** Alternating rounds (items, then users). Default 20. */
  rounds?: number;
}

/** Fits μ, b_u and b_i on `entries` for `users` users and `items` items. */
export function fitRatingBiases(entries: RatingEntries, users: number, items: number, options: BiasOptions = {}): RatingBiases {
  const reg = options.reg ?? 10;
  const rounds = options.rounds ?? 20;
  const n = entries.rating.length;
  let mean = 0;
  for (let k = 0; k < n; k++) mean += entries.rating[k];
  mean = n > 0 ? mean / n : 0;
  const user = new Float64Array(users);
  const item = new Float64Array(items);
  const userCount = new Float64Array(users);
  const itemCount = new Float64Array(items);
  for (let k = 0; k < n; k++) {
    userCount[entries.user[k]]++;
    itemCount[entries.item[k]]++;
  }
  const sums = { user: new Float64Array(users), item: new Float64Array(items) };
  for (let round = 0; round < rounds; round++) {
    sums.item.fill(0);
    for (let k = 0; k < n; k++) sums.item[entries.item[k]] += entries.rating[k] - mean - user[entries.user[k]];
    for (let i = 0; i < items; i++) item[i] = sums.item[i] / (itemCount[i] + reg);
    sums.user.fill(0);
    for (let k = 0; k < n; k++) sums.user[entries.user[k]] += entries.rating[k] - mean - item[entries.item[k]];
    for (let u = 0; u < users; u++) user[u] = sums.user[u] / (userCount[u] + reg);
  }
  return { mean, user, item };
}

/** μ + b_u + b_i for each (user, item) pair; an index out of range contributes no bias. */
export function predictBiases(biases: RatingBiases, user: ArrayLike<number>, item: ArrayLike<number>): Float64Array {
  const out = new Float64Array(user.length);
  for (let k = 0; k < user.length; k++) out[k] = biases.mean + (biases.user[user[k]] ?? 0) + (biases.item[item[k]] ?? 0);
  return out;
}
