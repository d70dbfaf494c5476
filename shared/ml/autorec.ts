/**
 * AutoRec (Sedhain, Menon, Sanner, Xie, WWW 2015): an autoencoder over the sparse rating vectors.
 * I-AutoRec (`variant: 'item'`) reconstructs each item's vector of user ratings, U-AutoRec (`'user'`) each user's
 * vector of item ratings: h(r) = f(W·g(V·r + μ) + b), g = sigmoid, f = identity, trained on
 *   Σ over OBSERVED entries (r − h(r))² + λ/2·(‖W‖² + ‖V‖²).
 * Unobserved entries are 0 in the input and carry no loss.
 *
 * One departure from the paper: ratings are centred on the global mean of the training ratings (r − r̄ in, h(r) + r̄
 * out), so that an unobserved 0 in the input means "an average rating", not "a rating of 0" below the scale. On the
 * 5%-observed synthetic test matrix this alone took the test RMSE from 0.75 to 0.65 at the same settings.
 *
 * Sparsity: the training ratings are kept as one sparse list per vector (CSR, by item for I-AutoRec, by user for
 * U-AutoRec) and densified one batch at a time into a batch × width matrix plus a 0/1 mask, so memory is bounded by
 * batch size × width, never users × items.
 *
 * Optimiser: the paper used L-BFGS / Rprop (full-batch). Here Adam on mini-batches: tfjs has no L-BFGS or Rprop,
 * and mini-batches keep the memory bound above. Each batch minimises an unbiased estimate of the paper's objective
 * divided by the number of observed ratings (mean squared error of the batch's observed entries + λ/2·‖θ‖² / n_obs),
 * so λ means the same as in the paper.
 *
 * Predictions are clipped to the training rating range. A user or item without training ratings ("unseen") gets a
 * fallback, never a network output: an unseen user on a seen item gets the item's mean training rating, a seen user
 * on an unseen item the user's mean, and when both are unseen the global mean.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { InputError, ConfigError } from '../contracts/errors.js';
import { rmse } from '../analytics/regression-metrics.js';
import type { Ratings } from '../data/ratings.js';
import { artifactError, checkWeightShapes, decodeArtifact, encodeArtifact, parseHeader } from './artifact.js';
import { MODEL_LIMITS } from '../contracts/limits.js';
import { describeIssues, formatCount, networkSizeProblems } from './model-config.js';
import { pacer } from '../analytics/pacer.js';
import { permutation, seededRandom } from './random.js';

export type AutoRecVariant = 'item' | 'user';

export interface AutoRecConfig {
  /** `item` (I-AutoRec, the paper's best) or `user` (U-AutoRec). */
  variant: AutoRecVariant;
  /** Hidden units k (paper: 500). */
  hidden: number;
  /** Weight-decay strength λ on W and V (paper: tuned over {0.001, 0.01, 0.1, 1, 100, 1000}). */
  lambda: number;
  /** Adam learning rate. */
  learningRate: number;
  epochs: number;
  /** Vectors (items for I-AutoRec, users for U-AutoRec) per step. */
  batchSize: number;
  /** Initialisation and shuffling. */
  seed: number;
}

/**
 * Defaults: sigmoid/identity and 500 hidden units as the paper's best; Adam at 0.001, 32 vectors per batch, 100 epochs.
 * λ = 10: the paper tunes λ per dataset over {0.001, …, 1000} without fixing one; with our per-observed-rating
 * normalisation λ means the same as the paper's. On the 1,000 × 500, 5%-observed synthetic test matrix (global-mean
 * baseline 0.963, noise 0.3), 500 hidden units: λ = 5 → 0.582, 10 → 0.552 (lr 0.001) / 0.579 (lr 0.003); 100 hidden
 * units, lr 0.003: λ = 1 → 0.583, 3 → 0.557, 5 → 0.542, 7 → 0.534, 10 → 0.531, 20 → 0.583, 30 → 0.651, 100 → 0.961.
 * Tune it on your data (sparser data wants a larger λ).
 */
export const AUTOREC_DEFAULTS: AutoRecConfig = { variant: 'item', hidden: 500, lambda: 10, learningRate: 0.001, epochs: 100, batchSize: 32, seed: 0 };

export interface AutoRecEpoch {
  epoch: number;
  epochs: number;
  /** Mean over the epoch's batches of the batch objective (observed MSE + λ/2·‖θ‖²/n_obs). */
  loss: number;
  seconds: number;
}

export interface AutoRecHooks {
  onEpoch?: (progress: AutoRecEpoch) => void | Promise<void>;
  signal?: AbortSignal;
}

/** A positive integer of at most `limit`; the message names the value, its unit and the limit. */
const bounded = (limit: number, unit: string) => z.number().int().min(1).max(limit, {
  error: (issue) => `${formatCount(Number(issue.input))} ${unit}: the limit is ${formatCount(limit)}`,
});

/**
 * AutoRec options as a job payload or the CLI gives them; every field optional (defaults: {@link AUTOREC_DEFAULTS}).
 * Sizes are capped by MODEL_LIMITS here, and the network the ratings call for by {@link AutoRec.fit} (its width is
 * the number of users, or items for `variant: 'user'`).
 */
export const AutoRecOptionsSchema = z.object({
  variant: z.enum(['item', 'user']),
  hidden: bounded(MODEL_LIMITS.layerWidth, 'hidden units'),
  lambda: z.number().min(0).finite(),
  learningRate: z.number().positive().finite(),
  epochs: bounded(MODEL_LIMITS.epochs, 'epochs'),
  batchSize: bounded(MODEL_LIMITS.batchSize, 'vectors per step'),
  seed: z.number().int(),
}).partial().strict();

export type AutoRecOptions = z.input<typeof AutoRecOptionsSchema>;

/** Validates options and fills every default. Throws ConfigError naming the option. */
export function resolveAutoRecConfig(options: AutoRecOptions = {}): AutoRecConfig {
  const parsed = AutoRecOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(`invalid autorec options: ${describeIssues(parsed.error)}`);
  return { ...AUTOREC_DEFAULTS, ...parsed.data };
}

/**
 * Throws ConfigError when the network `config` calls for on ratings of `users` users and `items` items is beyond
 * MODEL_LIMITS (shared/ml/model-config.ts `networkSizeProblems`): its input and output are as wide as a rating
 * vector (users for I-AutoRec, items for U-AutoRec), so it has about 2 × hidden × width parameters.
 */
export function checkAutoRecSize(config: AutoRecConfig, users: number, items: number): void {
  const width = config.variant === 'item' ? users : items;
  const tooLarge = networkSizeProblems([width, config.hidden, width], config.batchSize, config.variant === 'item'
    ? { input: 'users (the length of an item\'s rating vector)', remedy: 'use fewer hidden units, or variant "user" when there are fewer items than users' }
    : { input: 'items (the length of a user\'s rating vector)', remedy: 'use fewer hidden units, or variant "item" when there are fewer users than items' });
  if (tooLarge.length > 0) throw new ConfigError(`invalid autorec options for ${formatCount(users)} users × ${formatCount(items)} items: ${tooLarge.join('; ')}`);
}

/** Sparse vectors: vector v's entries are `index[ptr[v]..ptr[v+1])` with `value` at the same positions. */
interface Csr {
  ptr: Int32Array;
  index: Int32Array;
  value: Float32Array;
}

function toCsr(rows: Int32Array, cols: Int32Array, values: Float32Array, nRows: number): Csr {
  const ptr = new Int32Array(nRows + 1);
  for (let k = 0; k < rows.length; k++) ptr[rows[k] + 1]++;
  for (let r = 0; r < nRows; r++) ptr[r + 1] += ptr[r];
  const fill = ptr.slice(0, nRows);
  const index = new Int32Array(rows.length);
  const value = new Float32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const at = fill[rows[k]]++;
    index[at] = cols[k];
    value[at] = values[k];
  }
  return { ptr, index, value };
}

/** Densifies vectors `order[from..to)`, less `offset`, into a (to−from) × width matrix and its 0/1 mask of observed entries. */
function densify(csr: Csr, width: number, order: ArrayLike<number>, from: number, to: number, offset: number): { x: Float32Array; mask: Float32Array; observed: number } {
  const x = new Float32Array((to - from) * width);
  const mask = new Float32Array((to - from) * width);
  let observed = 0;
  for (let k = from; k < to; k++) {
    const v = order[k];
    const base = (k - from) * width;
    for (let p = csr.ptr[v]; p < csr.ptr[v + 1]; p++) {
      x[base + csr.index[p]] = csr.value[p] - offset;
      mask[base + csr.index[p]] = 1;
      observed++;
    }
  }
  return { x, mask, observed };
}

/** RMSE of predicting the mean training rating for every test rating: the baseline AutoRec is compared with. */
export function globalMeanRmse(train: Ratings, test: Ratings): number {
  let mean = 0;
  for (const r of train.entries.rating) mean += r;
  mean /= train.entries.rating.length;
  let s = 0;
  for (const r of test.entries.rating) s += (r - mean) ** 2;
  return Math.sqrt(s / test.entries.rating.length);
}

interface AutoRecHeader {
  kind: 'autorec';
  version: 1;
  config: AutoRecConfig;
  users: string[];
  items: string[];
  min: number;
  max: number;
  history: AutoRecEpoch[];
}

/** What a loaded artifact header must hold (the config is checked by resolveAutoRecConfig); other fields pass through. */
const AutoRecHeaderSchema = z.looseObject({
  version: z.literal(1),
  config: z.looseObject({}),
  users: z.array(z.string()),
  items: z.array(z.string()),
  min: z.number().finite(),
  max: z.number().finite(),
  history: z.array(z.looseObject({})),
});

const PREDICT_BATCH = 256;

/** An item and its predicted rating. */
export interface Recommendation {
  item: string;
  rating: number;
}

/**
 * The `n` best (index, score) pairs offered to each of `slots` lists, highest score first. An offer equal to the
 * worst kept score is refused, so with indices offered in increasing order ties keep the lower index.
 */
class TopN {
  private readonly index: Int32Array;
  private readonly score: Float32Array;
  private readonly count: Int32Array;

  constructor(slots: number, private readonly n: number) {
    this.index = new Int32Array(slots * n);
    this.score = new Float32Array(slots * n);
    this.count = new Int32Array(slots);
  }

  offer(slot: number, index: number, score: number): void {
    const base = slot * this.n;
    let at = this.count[slot];
    if (at === this.n) {
      if (!(score > this.score[base + this.n - 1])) return;
      at--;
    } else this.count[slot]++;
    while (at > 0 && score > this.score[base + at - 1]) {
      this.score[base + at] = this.score[base + at - 1];
      this.index[base + at] = this.index[base + at - 1];
      at--;
    }
    this.score[base + at] = score;
    this.index[base + at] = index;
  }

  list(slot: number): { index: number; score: number }[] {
    const base = slot * this.n;
    return Array.from({ length: this.count[slot] }, (_, k) => ({ index: this.index[base + k], score: this.score[base + k] }));
  }
}

export class AutoRec {
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;
  /** Training ratings by vector (items for I-AutoRec, users for U-AutoRec). */
  private readonly csr: Csr;
  private readonly globalMean: number;
  private readonly userMean: Float32Array;
  private readonly itemMean: Float32Array;
  private readonly userCount: Int32Array;
  private readonly itemCount: Int32Array;
  private disposed = false;

  private constructor(
    readonly config: AutoRecConfig,
    readonly users: string[],
    readonly items: string[],
    private readonly trainEntries: Ratings['entries'],
    readonly min: number,
    readonly max: number,
    /** V (width × hidden), μ (hidden), W (hidden × width), b (width). */
    private readonly v: tf.Variable,
    private readonly mu: tf.Variable,
    private readonly w: tf.Variable,
    private readonly b: tf.Variable,
    readonly history: AutoRecEpoch[],
  ) {
    this.userIndex = new Map(users.map((u, i) => [u, i]));
    this.itemIndex = new Map(items.map((u, i) => [u, i]));
    const train = trainEntries;
    const item = config.variant === 'item';
    this.csr = toCsr(item ? train.item : train.user, item ? train.user : train.item, train.rating, this.vectors);
    this.userMean = new Float32Array(users.length);
    this.itemMean = new Float32Array(items.length);
    this.userCount = new Int32Array(users.length);
    this.itemCount = new Int32Array(items.length);
    let sum = 0;
    for (let k = 0; k < train.rating.length; k++) {
      const r = train.rating[k];
      sum += r;
      this.userMean[train.user[k]] += r;
      this.userCount[train.user[k]]++;
      this.itemMean[train.item[k]] += r;
      this.itemCount[train.item[k]]++;
    }
    this.globalMean = train.rating.length > 0 ? sum / train.rating.length : (min + max) / 2;
    for (let u = 0; u < users.length; u++) this.userMean[u] = this.userCount[u] > 0 ? this.userMean[u] / this.userCount[u] : this.globalMean;
    for (let i = 0; i < items.length; i++) this.itemMean[i] = this.itemCount[i] > 0 ? this.itemMean[i] / this.itemCount[i] : this.globalMean;
  }

  /** Training ratings. */
  get ratings(): number {
    return this.trainEntries.rating.length;
  }

  /** sha256 over the training ratings (ids and entries): equal for models trained on the same data. */
  get fingerprint(): string {
    const hash = createHash('sha256').update(JSON.stringify([this.users, this.items]));
    for (const column of [this.trainEntries.user, this.trainEntries.item, this.trainEntries.rating]) hash.update(new Uint8Array(column.buffer, column.byteOffset, column.byteLength));
    return hash.digest('hex');
  }

  /** Number of vectors the network reconstructs (items for I-AutoRec, users for U-AutoRec). */
  private get vectors(): number {
    return this.config.variant === 'item' ? this.items.length : this.users.length;
  }

  /** Length of each vector (users for I-AutoRec, items for U-AutoRec). */
  private get width(): number {
    return this.config.variant === 'item' ? this.users.length : this.items.length;
  }

  /** Trains on `ratings` (its id maps become the model's). */
  static async fit(ratings: Ratings, options: AutoRecOptions = {}, hooks: AutoRecHooks = {}): Promise<AutoRec> {
    const config = resolveAutoRecConfig(options);
    if (ratings.entries.rating.length === 0) throw new InputError('no training ratings', { field: 'ratings' });
    checkAutoRecSize(config, ratings.users.length, ratings.items.length);
    const width = config.variant === 'item' ? ratings.users.length : ratings.items.length;
    const seed = config.seed;
    const [v, mu, w, b] = tf.tidy(() => {
      const limit = Math.sqrt(6 / (width + config.hidden));
      return [
        tf.variable(tf.randomUniform([width, config.hidden], -limit, limit, 'float32', seed * 1009 + 1), true),
        tf.variable(tf.zeros([config.hidden]), true),
        tf.variable(tf.randomUniform([config.hidden, width], -limit, limit, 'float32', seed * 1009 + 2), true),
        tf.variable(tf.zeros([width]), true),
      ];
    });
    const model = new AutoRec(config, ratings.users, ratings.items, ratings.entries, ratings.min, ratings.max, v, mu, w, b, []);
    try {
      await model.train(hooks);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  private forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(tf.sigmoid(tf.add(tf.matMul(x, this.v), this.mu)), this.w), this.b);
  }

  private async train(hooks: AutoRecHooks): Promise<void> {
    const { config } = this;
    const n = this.vectors;
    const width = this.width;
    const totalObserved = this.trainEntries.rating.length;
    // The batch's share of the paper's penalty, normalised like the error term (per observed rating).
    const penalty = config.lambda / 2 / totalObserved;
    const random = seededRandom(`autorec:${config.seed}`);
    const optimizer = tf.train.adam(config.learningRate);
    const started = performance.now();
    const yields = pacer();
    try {
      for (let epoch = 1; epoch <= config.epochs; epoch++) {
        const order = permutation(n, random);
        let lossSum = 0;
        let batches = 0;
        for (let start = 0; start < n; start += config.batchSize) {
          if (hooks.signal?.aborted === true) return;
          const end = Math.min(n, start + config.batchSize);
          const batch = densify(this.csr, width, order, start, end, this.globalMean);
          if (batch.observed === 0) continue;
          const loss = tf.tidy((): tf.Scalar => {
            const x = tf.tensor2d(batch.x, [end - start, width]);
            const mask = tf.tensor2d(batch.mask, [end - start, width]);
            const cost = optimizer.minimize((): tf.Scalar => {
              const err: tf.Scalar = tf.div(tf.sum(tf.mul(tf.square(tf.sub(this.forward(x), x)), mask)), batch.observed);
              if (penalty === 0) return err;
              return tf.add(err, tf.mul(penalty, tf.add(tf.sum(tf.square(this.w)), tf.sum(tf.square(this.v)))));
            }, true, [this.v, this.mu, this.w, this.b]);
            return cost ?? tf.scalar(0);
          });
          lossSum += (await loss.data())[0];
          loss.dispose();
          batches++;
          await yields.due();
        }
        const progress = { epoch, epochs: config.epochs, loss: batches > 0 ? lossSum / batches : 0, seconds: (performance.now() - started) / 1000 };
        this.history.push(progress);
        await hooks.onEpoch?.(progress);
      }
    } finally {
      optimizer.dispose();
    }
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error('AutoRec model used after dispose()');
  }

  /** Network outputs for vectors `vectors[from..to)`, each a row of `width`, as one Float32Array. */
  private reconstruct(vectors: ArrayLike<number>, from: number, to: number): Float32Array {
    const width = this.width;
    const { x } = densify(this.csr, width, vectors, from, to, this.globalMean);
    return tf.tidy(() => tf.add(this.forward(tf.tensor2d(x, [to - from, width])), this.globalMean).dataSync() as Float32Array);
  }

  private clip(r: number): number {
    return r < this.min ? this.min : r > this.max ? this.max : r;
  }

  /** The fallback for a pair where the user or the item has no training ratings. */
  private fallback(u: number | undefined, i: number | undefined): number {
    const userSeen = u !== undefined && this.userCount[u] > 0;
    const itemSeen = i !== undefined && this.itemCount[i] > 0;
    if (userSeen && !itemSeen) return this.userMean[u];
    if (!userSeen && itemSeen) return this.itemMean[i];
    return this.globalMean;
  }

  /**
   * Predicted ratings for pairs of 0-based user and item indices (the model's maps; out of range = unseen), batched
   * by vector. Clipped to [min, max].
   */
  predictIndices(user: ArrayLike<number>, item: ArrayLike<number>): Float32Array {
    this.checkOpen();
    const out = new Float32Array(user.length);
    const byItem = this.config.variant === 'item';
    // Requests grouped by the vector they need.
    const pending = new Map<number, number[]>();
    for (let k = 0; k < user.length; k++) {
      const u = user[k] >= 0 && user[k] < this.users.length ? user[k] : undefined;
      const i = item[k] >= 0 && item[k] < this.items.length ? item[k] : undefined;
      if (u === undefined || i === undefined || this.userCount[u] === 0 || this.itemCount[i] === 0) {
        out[k] = this.clip(this.fallback(u, i));
        continue;
      }
      const vector = byItem ? i : u;
      const list = pending.get(vector);
      if (list === undefined) pending.set(vector, [k]);
      else list.push(k);
    }
    const vectors = [...pending.keys()];
    const width = this.width;
    for (let start = 0; start < vectors.length; start += PREDICT_BATCH) {
      const end = Math.min(vectors.length, start + PREDICT_BATCH);
      const h = this.reconstruct(vectors, start, end);
      for (let row = start; row < end; row++) {
        for (const k of pending.get(vectors[row])!) out[k] = this.clip(h[(row - start) * width + (byItem ? user[k] : item[k])]);
      }
    }
    return out;
  }

  /** Predicted rating of one user for one item, by external ids (unknown ids get the fallback). */
  predict(user: string, item: string): number {
    return this.predictIndices([this.userIndex.get(user) ?? -1], [this.itemIndex.get(item) ?? -1])[0];
  }

  /**
   * The user's top `n` items by predicted rating; see {@link recommendAll}. An unknown user gets the items with the
   * highest mean training rating.
   */
  recommend(user: string, n = 10, options: { excludeSeen?: boolean } = {}): Recommendation[] {
    this.checkOpen();
    const u = this.userIndex.get(user);
    const top = new TopN(1, n);
    if (u === undefined || this.userCount[u] === 0) this.rankByItemMean(top, [0]);
    else {
      const steps = this.rankSeen(top, [u], options.excludeSeen ?? true);
      while (steps.next().done !== true) { /* every batch */ }
    }
    return this.listOf(top, 0);
  }

  /**
   * Every user's (or the given users') top `n` items by predicted rating, in batches of users, in the order asked.
   * Ties go to the lower item index. Items without training ratings are never recommended (nothing is known of
   * them); by default items the user rated in training are left out. A user without training ratings (or unknown to
   * the model) gets the items with the highest mean training rating — the same fallback {@link predictIndices} uses.
   * Memory: one batch of reconstructed vectors plus users × n.
   */
  async *recommendAll(n = 10, options: { users?: readonly string[]; excludeSeen?: boolean; batchUsers?: number } = {}): AsyncGenerator<{ user: string; items: Recommendation[] }[]> {
    this.checkOpen();
    const asked = options.users ?? this.users;
    const batchUsers = options.batchUsers ?? 1000;
    const excludeSeen = options.excludeSeen ?? true;
    // For I-AutoRec every user's ranking needs every item vector, so all asked users are ranked in one pass over the
    // items; U-AutoRec ranks a batch of users from their own vectors.
    const step = this.config.variant === 'item' ? asked.length : batchUsers;
    for (let from = 0; from < asked.length; from += step) {
      const part = asked.slice(from, from + step);
      const top = new TopN(part.length, n);
      const seen: number[] = [];
      const seenAt: number[] = [];
      const unseenAt: number[] = [];
      part.forEach((user, k) => {
        const u = this.userIndex.get(user);
        if (u !== undefined && this.userCount[u] > 0) {
          seen.push(u);
          seenAt.push(k);
        } else unseenAt.push(k);
      });
      this.rankByItemMean(top, unseenAt);
      const yields = pacer();
      const steps = this.rankSeen(top, seen, excludeSeen, seenAt);
      while (steps.next().done !== true) await yields.due();
      for (let k = 0; k < part.length; k += batchUsers) {
        yield part.slice(k, k + batchUsers).map((user, j) => ({ user, items: this.listOf(top, k + j) }));
      }
    }
  }

  private listOf(top: TopN, slot: number): Recommendation[] {
    return top.list(slot).map(({ index, score }) => ({ item: this.items[index], rating: score }));
  }

  /** Fills `slots` of `top` with the items of highest mean training rating. */
  private rankByItemMean(top: TopN, slots: readonly number[]): void {
    if (slots.length === 0) return;
    for (let i = 0; i < this.items.length; i++) {
      if (this.itemCount[i] === 0) continue;
      const r = this.clip(this.itemMean[i]);
      for (const slot of slots) top.offer(slot, i, r);
    }
  }

  /**
   * Ranks the items for users `users` (indices with training ratings) into `top` slots `slots` (default 0, 1, …),
   * one batch of reconstructed vectors per iteration (a generator, so that callers can yield between batches).
   */
  private *rankSeen(top: TopN, users: readonly number[], excludeSeen: boolean, slots: readonly number[] = users.map((_, k) => k)): Generator<void> {
    if (users.length === 0) return;
    const width = this.width;
    const marked = new Uint8Array(this.config.variant === 'item' ? this.users.length : this.items.length);
    if (this.config.variant === 'item') {
      // Rows are items, columns users: each batch of item vectors scores that batch of items for every user.
      const items: number[] = [];
      for (let i = 0; i < this.items.length; i++) if (this.itemCount[i] > 0) items.push(i);
      for (let start = 0; start < items.length; start += PREDICT_BATCH) {
        const end = Math.min(items.length, start + PREDICT_BATCH);
        const h = this.reconstruct(items, start, end);
        for (let row = start; row < end; row++) {
          const i = items[row];
          // The item's raters, from its training vector.
          if (excludeSeen) for (let p = this.csr.ptr[i]; p < this.csr.ptr[i + 1]; p++) marked[this.csr.index[p]] = 1;
          const base = (row - start) * width;
          for (let k = 0; k < users.length; k++) if (marked[users[k]] === 0) top.offer(slots[k], i, this.clip(h[base + users[k]]));
          if (excludeSeen) for (let p = this.csr.ptr[i]; p < this.csr.ptr[i + 1]; p++) marked[this.csr.index[p]] = 0;
        }
        yield;
      }
      return;
    }
    // Rows are users, columns items: each batch of user vectors scores every item for that batch of users.
    for (let start = 0; start < users.length; start += PREDICT_BATCH) {
      const end = Math.min(users.length, start + PREDICT_BATCH);
      const h = this.reconstruct(users, start, end);
      for (let row = start; row < end; row++) {
        const u = users[row];
        if (excludeSeen) for (let p = this.csr.ptr[u]; p < this.csr.ptr[u + 1]; p++) marked[this.csr.index[p]] = 1;
        const base = (row - start) * width;
        for (let i = 0; i < this.items.length; i++) if (this.itemCount[i] > 0 && marked[i] === 0) top.offer(slots[row], i, this.clip(h[base + i]));
        if (excludeSeen) for (let p = this.csr.ptr[u]; p < this.csr.ptr[u + 1]; p++) marked[this.csr.index[p]] = 0;
      }
      yield;
    }
  }

  /** Root mean squared error of the predictions on `ratings`' entries (which must use the model's id maps). */
  rmse(ratings: Ratings): number {
    const { user, item, rating } = ratings.entries;
    if (rating.length === 0) return NaN;
    return rmse(rating, this.predictIndices(user, item));
  }

  /** One `.lfm` artifact (kind `autorec`): config, id maps, rating range, history, weights and the training ratings. */
  save(): Buffer {
    this.checkOpen();
    const header: AutoRecHeader = { kind: 'autorec', version: 1, config: this.config, users: this.users, items: this.items, min: this.min, max: this.max, history: this.history };
    // Indices as float32 are exact below 2^24 users/items.
    const weights = [this.v, this.mu, this.w, this.b].map((t) => new Float32Array(t.dataSync()));
    return encodeArtifact(header, [...weights, Float32Array.from(this.trainEntries.user), Float32Array.from(this.trainEntries.item), this.trainEntries.rating]);
  }

  /**
   * The model in an artifact written by {@link save}, after checking its structure against its header (weight shapes
   * from the config and the id maps, training entries that index them); a malformed artifact is an InputError naming
   * `source` and the problem.
   */
  static load(bytes: Uint8Array, source = 'model artifact'): AutoRec {
    const { header: raw, weights } = decodeArtifact<{ kind?: unknown }>(bytes, source);
    if (raw.kind !== 'autorec') throw new InputError(`not an AutoRec model (kind ${JSON.stringify(raw.kind)})`, { source });
    const header = parseHeader(AutoRecHeaderSchema, raw, source);
    let config: AutoRecConfig;
    try {
      config = resolveAutoRecConfig(header.config);
    } catch (error) {
      throw artifactError(source, `header field "config": ${(error as Error).message}`);
    }
    const width = config.variant === 'item' ? header.users.length : header.items.length;
    const n = weights[4]?.length ?? 0;
    checkWeightShapes(weights, [
      { name: 'V', shape: [width, config.hidden] }, { name: 'μ', shape: [config.hidden] }, { name: 'W', shape: [config.hidden, width] }, { name: 'b', shape: [width] },
      { name: 'training users', shape: [n] }, { name: 'training items', shape: [n] }, { name: 'training ratings', shape: [n] },
    ], source);
    const entries = { user: Int32Array.from(weights[4]), item: Int32Array.from(weights[5]), rating: weights[6] };
    for (let k = 0; k < n; k++) {
      if (!(weights[4][k] === entries.user[k] && entries.user[k] >= 0 && entries.user[k] < header.users.length
        && weights[5][k] === entries.item[k] && entries.item[k] >= 0 && entries.item[k] < header.items.length && Number.isFinite(entries.rating[k]))) {
        throw artifactError(source, `training entry ${k} (user ${weights[4][k]}, item ${weights[5][k]}, rating ${entries.rating[k]}) is not a known user and item with a finite rating`);
      }
    }
    const [v, mu, w, b] = tf.tidy(() => [
      tf.variable(tf.tensor2d(weights[0], [width, config.hidden]), true),
      tf.variable(tf.tensor1d(weights[1]), true),
      tf.variable(tf.tensor2d(weights[2], [config.hidden, width]), true),
      tf.variable(tf.tensor1d(weights[3]), true),
    ]);
    return new AutoRec(config, header.users, header.items, entries, header.min, header.max, v, mu, w, b, header.history as unknown as AutoRecEpoch[]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.v, this.mu, this.w, this.b]) t.dispose();
  }
}
