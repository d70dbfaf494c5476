/**
 * AutoRec (Sedhain, Menon, Sanner, Xie, WWW 2015): an autoencoder over the sparse rating vectors.
 * I-AutoRec (`variant: 'item'`) reconstructs each item's vector of user ratings, U-AutoRec (`'user'`) each user's
 * vector of item ratings: h(r) = W·sigmoid(V·r + μ) + b (shared/ml/autorec-network.ts), trained on
 *   Σ over OBSERVED entries (r − h(r))² + λ/2·(‖W‖² + ‖V‖²).
 * Unobserved entries are 0 in the input and carry no loss.
 *
 * Departures from the paper, each measured on real ratings (bench/results/autorec.md):
 * - The network reconstructs residuals, not raw ratings: each rating less a baseline (`baseline: 'biases'`, the
 *   default: μ + b_u + b_i of the bias model, shared/analytics/rating-biases.ts; `'mean'`: the global mean), and the
 *   baseline is added back. An unobserved 0 then means "as the baseline expects", not "a rating of 0". The decoder
 *   starts at zero (the untrained model is the baseline) and, over biases, has no output bias of its own.
 * - Early stopping: `validation` (default 5%) of the training ratings are left out of the fit and score each epoch;
 *   the weights of the best epoch are kept.
 * - Optional input dropout (`dropout`): observed entries zeroed at random in the input, kept in the target.
 * - Adam on mini-batches instead of L-BFGS / Rprop (tfjs has neither; mini-batches bound the memory).
 * - Ranking (`ranking: 'presence'`, the default): a second network, with its own size (`presenceHidden`,
 *   `presenceLambda`), learns which items a user rates at all, as for implicit feedback, and recommendations are ranked by its output times the predicted
 *   rating's place on the scale. Predicted ratings alone rank rarely-rated items first and lose to popularity.
 * - Implicit feedback (`implicit`): only the presence network: every observed pair is a 1, every other pair a 0
 *   weighted `negativeWeight` (Hu, Koren & Volinsky 2008; CDAE); its outputs are scores for ranking, not ratings.
 *
 * Sparsity: the training ratings are kept as one sparse list per vector (shared/ml/sparse-vectors.ts) and densified
 * one batch at a time, so memory is bounded by batch size × width, never users × items.
 *
 * Predictions are clipped to the training rating range. A user or item without training ratings ("unseen") gets a
 * fallback, never a network output: with `baseline: 'biases'` the bias model's μ + b_u + b_i (no bias for the unseen
 * side); with `'mean'` the item's mean for an unseen user, the user's mean for an unseen item, else the global mean.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../contracts/errors.js';
import { pacer } from '../analytics/pacer.js';
import { fitRatingBiases, type RatingBiases } from '../analytics/rating-biases.js';
import { rmse } from '../analytics/regression-metrics.js';
import { TopN } from '../analytics/top-n.js';
import { itemsByUser, topNScores, TopNMeans } from '../analytics/top-n-metrics.js';
import type { Ratings } from '../data/ratings.js';
import { artifactError, checkWeightShapes, decodeArtifact, encodeArtifact, parseHeader } from './artifact.js';
import { checkAutoRecSize, networkSize, networksOf, resolveAutoRecConfig, type AutoRecConfig, type AutoRecOptions } from './autorec-config.js';
import { AutoRecNetwork, RECONSTRUCT_BATCH, type AutoRecEpoch, type NetworkRole, type Validation } from './autorec-network.js';
import { permutation, seededRandom } from './random.js';
import { toCsr, type Csr } from './sparse-vectors.js';

export type { AutoRecEpoch } from './autorec-network.js';

export interface AutoRecHooks {
  onEpoch?: (progress: AutoRecEpoch) => void | Promise<void>;
  signal?: AbortSignal;
}

/** A recommended item: its ranking score (lists are ordered by it) and, for explicit ratings, its predicted rating. */
export interface Recommendation {
  item: string;
  score: number;
  rating?: number;
}

/** The training vectors as the networks see them: ratings less their baseline (1 for implicit feedback), and presence (1 per pair). */
interface Inputs {
  rating: Csr;
  presence: Csr;
}

interface AutoRecHeader {
  kind: 'autorec';
  /** 1: written before format 2's options existed (one network, ratings less the global mean, ranked by rating). */
  version: 2;
  config: AutoRecConfig;
  users: string[];
  items: string[];
  min: number;
  max: number;
  history: AutoRecEpoch[];
}

/** What a loaded artifact header must hold (the config is checked by resolveAutoRecConfig); other fields pass through. */
const AutoRecHeaderSchema = z.looseObject({
  version: z.union([z.literal(1), z.literal(2)]),
  config: z.looseObject({}),
  users: z.array(z.string()),
  items: z.array(z.string()),
  min: z.number().finite(),
  max: z.number().finite(),
  history: z.array(z.looseObject({})),
});

/** How a format-1 model was trained: the options format 2 added, at the values that reproduce it. */
const FORMAT_1_OPTIONS: AutoRecOptions = { baseline: 'mean', ranking: 'rating', dropout: 0, validation: 0, implicit: false };

/**
 * The options a saved config stands for. Format 1 predates baselines, ranking and validation. Models saved before
 * the presence network had its own size have one of the rating network's (`hidden`, `lambda`). A saved config holds
 * every field, but implicit models have no rating network, so its size is not an option of theirs.
 */
function storedOptions(config: Record<string, unknown>, version: number): AutoRecOptions {
  const presence = 'presenceHidden' in config ? {} : { presenceHidden: config.hidden, presenceLambda: config.lambda };
  const options = { ...presence, ...config, ...(version === 1 ? FORMAT_1_OPTIONS : {}) } as Record<string, unknown>;
  if (options.implicit === true) {
    delete options.hidden;
    delete options.lambda;
  }
  return options;
}

/** Ranking depth of the presence network's validation score (NDCG@10). */
const VALIDATION_TOP = 10;
/** Ridge strength of the baseline's biases (shared/analytics/rating-biases.ts), from the FilmTrust sweep. */
const BIAS_REG = 5;

export class AutoRec {
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;
  /** Every training rating by vector (items for I-AutoRec, users for U-AutoRec), as each network sees it. */
  private readonly inputs: Inputs;
  private readonly globalMean: number;
  private readonly userMean: Float32Array;
  private readonly itemMean: Float32Array;
  private readonly userCount: Int32Array;
  private readonly itemCount: Int32Array;
  /** The bias model, for `baseline: 'biases'` (explicit ratings). */
  private readonly biases: RatingBiases | undefined;
  private disposed = false;

  private constructor(
    readonly config: AutoRecConfig,
    readonly users: string[],
    readonly items: string[],
    private readonly trainEntries: Ratings['entries'],
    readonly min: number,
    readonly max: number,
    private readonly networks: Partial<Record<NetworkRole, AutoRecNetwork>>,
    readonly history: AutoRecEpoch[],
  ) {
    this.userIndex = new Map(users.map((u, i) => [u, i]));
    this.itemIndex = new Map(items.map((u, i) => [u, i]));
    const train = trainEntries;
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
    this.biases = !config.implicit && config.baseline === 'biases' ? fitRatingBiases(train, users.length, items.length, { reg: BIAS_REG }) : undefined;
    this.inputs = this.vectorsOf(Array.from({ length: train.rating.length }, (_, k) => k));
  }

  /** The index of an item id in the model's maps (-1 when unknown). */
  itemIndexOf(item: string): number {
    return this.itemIndex.get(item) ?? -1;
  }

  /** Training ratings. */
  get ratings(): number {
    return this.trainEntries.rating.length;
  }

  /** The training history of the network whose outputs {@link predict} returns (ratings, or presence for implicit feedback). */
  private get predictorHistory(): AutoRecEpoch[] {
    const network = this.config.implicit ? 'presence' : 'rating';
    // Format-1 histories name no network: they had only the rating network.
    return this.history.filter((e) => (e.network ?? 'rating') === network);
  }

  /** Its last training loss. */
  get finalLoss(): number {
    return this.predictorHistory.at(-1)?.loss ?? 0;
  }

  /** Its epochs trained and the one whose weights it kept: the first best validation score, else the last epoch. */
  get training(): { epochs: number; bestEpoch: number } {
    const history = this.predictorHistory;
    const higherIsBetter = this.config.implicit;
    let best: AutoRecEpoch | undefined;
    for (const e of history) {
      if (e.validation === undefined) continue;
      if (best === undefined || (higherIsBetter ? e.validation > best.validation! : e.validation < best.validation!)) best = e;
    }
    return { epochs: history.length, bestEpoch: best?.epoch ?? history.length };
  }

  /** sha256 over the training ratings (ids and entries): equal for models trained on the same data. */
  get fingerprint(): string {
    const hash = createHash('sha256').update(JSON.stringify([this.users, this.items]));
    for (const column of [this.trainEntries.user, this.trainEntries.item, this.trainEntries.rating]) hash.update(new Uint8Array(column.buffer, column.byteOffset, column.byteLength));
    return hash.digest('hex');
  }

  /** Number of vectors the networks reconstruct (items for I-AutoRec, users for U-AutoRec). */
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
    const model = new AutoRec(config, ratings.users, ratings.items, ratings.entries, ratings.min, ratings.max, {}, []);
    try {
      await model.train(hooks);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /** The explicit rating the rating network's output is added to for (user, item): μ, or μ + b_u + b_i. */
  private baseline(u: number, i: number): number {
    if (this.biases === undefined) return this.globalMean;
    return this.biases.mean + this.biases.user[u] + this.biases.item[i];
  }

  /** The sparse vectors of training entries `entries`: ratings less their baseline, and presence (1 per entry). */
  private vectorsOf(entries: readonly number[]): Inputs {
    const e = this.trainEntries;
    const byItem = this.config.variant === 'item';
    const rows = entries.map((k) => (byItem ? e.item[k] : e.user[k]));
    const cols = entries.map((k) => (byItem ? e.user[k] : e.item[k]));
    const implicit = this.config.implicit;
    const rating = toCsr(rows, cols, entries.map((k) => (implicit ? 1 : e.rating[k] - this.baseline(e.user[k], e.item[k]))), this.vectors);
    return { rating, presence: { ptr: rating.ptr, index: rating.index, value: new Float32Array(rating.value.length).fill(1) } };
  }

  private async train(hooks: AutoRecHooks): Promise<void> {
    const { config } = this;
    const { fit, validation } = this.holdOut(seededRandom(`autorec:${config.seed}`));
    const started = performance.now();
    for (const role of networksOf(config)) {
      if (hooks.signal?.aborted === true) return;
      const { hidden, lambda } = networkSize(config, role);
      const network = AutoRecNetwork.create(this.width, hidden, role === 'rating' ? config.seed : config.seed + 7919);
      this.networks[role] = network;
      const check: Validation | undefined = validation.length === 0 ? undefined
        : role === 'rating' ? this.rmseOn(fit, validation) : this.ndcgOn(fit, validation);
      const training = {
        ...config,
        lambda,
        unobserved: role === 'presence' ? config.negativeWeight : 0,
        outputBias: role === 'presence' || config.baseline === 'mean',
      };
      this.history.push(...await network.train(fit[role], training, check, role, { ...hooks, started }));
    }
  }

  /**
   * The training vectors without a seeded `config.validation` share of the ratings, and those ratings' entry
   * indices (none when validation is 0).
   */
  private holdOut(random: () => number): { fit: Inputs; validation: number[] } {
    const n = this.trainEntries.rating.length;
    const held = Math.round(n * this.config.validation);
    if (held === 0) return { fit: this.inputs, validation: [] };
    const order = permutation(n, random);
    const validation = Array.from(order.subarray(0, held));
    return { fit: this.vectorsOf(Array.from(order.subarray(held))), validation };
  }

  /** Validation by the RMSE of the rating network's predictions, from the `fit` vectors, of the held-out ratings. */
  private rmseOn(fit: Inputs, validation: readonly number[]): Validation {
    const e = this.trainEntries;
    const user = validation.map((k) => e.user[k]);
    const item = validation.map((k) => e.item[k]);
    const rating = validation.map((k) => e.rating[k]);
    return { score: () => Promise.resolve(rmse(rating, this.predictWith(fit, user, item))), higherIsBetter: false };
  }

  /** Validation by the NDCG@10 of the presence network's ranking, for each user with held-out ratings, of the items not in its `fit` vector. */
  private ndcgOn(fit: Inputs, validation: readonly number[]): Validation {
    const relevant = itemsByUser(this.trainEntries.user, this.trainEntries.item, validation);
    const users = [...relevant.keys()];
    const slots = users.map((_, k) => k);
    const score = async (): Promise<number> => {
      const top = new TopN(users.length, VALIDATION_TOP);
      const yields = pacer();
      const steps = this.rankFor(top, users, true, fit, slots, 'presence');
      while (steps.next().done !== true) await yields.due();
      const means = new TopNMeans();
      users.forEach((u, slot) => means.add(topNScores(top.list(slot).map((r) => r.index), relevant.get(u)!, VALIDATION_TOP)));
      return means.means().ndcg;
    };
    return { score, higherIsBetter: true };
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error('AutoRec model used after dispose()');
  }

  /** The network a prediction comes from: ratings, or presence for implicit feedback. */
  private get predictor(): AutoRecNetwork {
    return (this.config.implicit ? this.networks.presence : this.networks.rating)!;
  }

  /** The model's prediction for a seen (user, item) pair from the predicting network's output there. */
  private predictionOf(u: number, i: number, output: number): number {
    return this.config.implicit ? output : this.clip(this.baseline(u, i) + output);
  }

  /**
   * The ranking score of a seen pair from the networks' outputs there: the presence output for implicit feedback;
   * the predicted rating with `ranking: 'rating'`; else presence (at least 0) × the predicted rating's place on the
   * scale, 0 at min to 1 at max.
   */
  private rankScore(predicted: number, presence: number): number {
    if (this.config.implicit) return presence;
    if (this.config.ranking === 'rating') return predicted;
    return Math.max(0, presence) * this.onScale(predicted);
  }

  private onScale(rating: number): number {
    return this.max > this.min ? (rating - this.min) / (this.max - this.min) : 1;
  }

  private clip(r: number): number {
    return r < this.min ? this.min : r > this.max ? this.max : r;
  }

  /** The prediction for a pair where the user or the item has no training ratings (0 for implicit feedback). */
  private fallback(u: number | undefined, i: number | undefined): number {
    if (this.config.implicit) return 0;
    const userSeen = u !== undefined && this.userCount[u] > 0;
    const itemSeen = i !== undefined && this.itemCount[i] > 0;
    if (this.biases !== undefined) return this.clip(this.biases.mean + (userSeen ? this.biases.user[u] : 0) + (itemSeen ? this.biases.item[i] : 0));
    if (userSeen && !itemSeen) return this.clip(this.userMean[u]);
    if (!userSeen && itemSeen) return this.clip(this.itemMean[i]);
    return this.clip(this.globalMean);
  }

  /**
   * Predicted ratings (scores, for implicit feedback) for pairs of 0-based user and item indices (the model's maps;
   * out of range = unseen), batched by vector. Ratings are clipped to [min, max].
   */
  predictIndices(user: ArrayLike<number>, item: ArrayLike<number>): Float32Array {
    this.checkOpen();
    return this.predictWith(this.inputs, user, item);
  }

  private predictWith(inputs: Inputs, user: ArrayLike<number>, item: ArrayLike<number>): Float32Array {
    const out = new Float32Array(user.length);
    const byItem = this.config.variant === 'item';
    // Requests grouped by the vector they need.
    const pending = new Map<number, number[]>();
    for (let k = 0; k < user.length; k++) {
      const u = user[k] >= 0 && user[k] < this.users.length ? user[k] : undefined;
      const i = item[k] >= 0 && item[k] < this.items.length ? item[k] : undefined;
      if (u === undefined || i === undefined || this.userCount[u] === 0 || this.itemCount[i] === 0) {
        out[k] = this.fallback(u, i);
        continue;
      }
      const vector = byItem ? i : u;
      const list = pending.get(vector);
      if (list === undefined) pending.set(vector, [k]);
      else list.push(k);
    }
    const vectors = [...pending.keys()];
    const width = this.width;
    const input = this.config.implicit ? inputs.presence : inputs.rating;
    for (const { from, to, output } of this.predictor.batches(input, vectors)) {
      for (let row = from; row < to; row++) {
        for (const k of pending.get(vectors[row])!) out[k] = this.predictionOf(user[k], item[k], output[(row - from) * width + (byItem ? user[k] : item[k])]);
      }
    }
    return out;
  }

  /** Predicted rating (score, for implicit feedback) of one user for one item, by external ids (unknown ids get the fallback). */
  predict(user: string, item: string): number {
    return this.predictIndices([this.userIndex.get(user) ?? -1], [this.itemIndex.get(item) ?? -1])[0];
  }

  /** The user's top `n` items; see {@link recommendAll}. An unknown user gets the fallback ranking. */
  recommend(user: string, n = 10, options: { excludeSeen?: boolean } = {}): Recommendation[] {
    this.checkOpen();
    const u = this.userIndex.get(user);
    const top = new TopN(1, n);
    if (u === undefined || this.userCount[u] === 0) this.rankFallback(top, [0]);
    else {
      const steps = this.rankFor(top, [u], options.excludeSeen ?? true, this.inputs, [0], 'final');
      while (steps.next().done !== true) { /* every batch */ }
    }
    return this.listOf(top, 0);
  }

  /**
   * Every user's (or the given users') top `n` items by ranking score (see AUTOREC_RANKINGS), in batches of users, in
   * the order asked. Ties go to the lower item index. Items without training ratings are never recommended (nothing
   * is known of them); by default items the user rated in training are left out. A user without training ratings
   * (or unknown to the model) gets the fallback ranking: the items by their predicted rating with no user part (bias
   * model: μ + b_i; else the item's mean rating), weighted by popularity (training ratings ÷ the most any item has)
   * when ranking by presence; or for implicit feedback the most popular items.
   * Memory: one batch of reconstructed vectors per network plus users × n.
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
      this.rankFallback(top, unseenAt);
      const yields = pacer();
      const steps = this.rankFor(top, seen, excludeSeen, this.inputs, seenAt, 'final');
      while (steps.next().done !== true) await yields.due();
      for (let k = 0; k < part.length; k += batchUsers) {
        yield part.slice(k, k + batchUsers).map((user, j) => ({ user, items: this.listOf(top, k + j) }));
      }
    }
  }

  private listOf(top: TopN, slot: number): Recommendation[] {
    return top.list(slot).map(({ index, score, extra }) => ({ item: this.items[index], score, ...(this.config.implicit ? {} : { rating: extra }) }));
  }

  /** Fills `slots` of `top` with the fallback ranking of the items that have training ratings. */
  private rankFallback(top: TopN, slots: readonly number[]): void {
    if (slots.length === 0) return;
    let most = 1;
    for (let i = 0; i < this.items.length; i++) most = Math.max(most, this.itemCount[i]);
    for (let i = 0; i < this.items.length; i++) {
      if (this.itemCount[i] === 0) continue;
      const rating = this.fallback(undefined, i);
      const score = this.config.implicit ? this.itemCount[i]
        : this.config.ranking === 'presence' ? (this.itemCount[i] / most) * this.onScale(rating) : rating;
      for (const slot of slots) top.offer(slot, i, score, rating);
    }
  }

  /**
   * Ranks the items for users `users` (indices with training ratings) into `top` slots `slots` by the `final`
   * ranking score, or by the presence network alone, reading the vectors from `inputs` (and, with `exclude`, leaving
   * out each user's items in them), one batch of reconstructed vectors per iteration (a generator, so that callers
   * can yield between batches).
   */
  private *rankFor(top: TopN, users: readonly number[], exclude: boolean, inputs: Inputs, slots: readonly number[], by: 'final' | 'presence'): Generator<void> {
    if (users.length === 0) return;
    const width = this.width;
    const rating = by === 'final' && !this.config.implicit ? this.networks.rating : undefined;
    const presence = by === 'presence' || this.config.implicit || this.config.ranking === 'presence' ? this.networks.presence : undefined;
    const marked = new Uint8Array(width);
    const seen = inputs.presence;
    // Both networks' outputs for vectors[from..to).
    const outputsOf = (vectors: ArrayLike<number>, from: number, to: number) => ({
      rating: rating?.reconstruct(inputs.rating, vectors, from, to),
      presence: presence?.reconstruct(inputs.presence, vectors, from, to),
    });
    const offer = (slot: number, u: number, i: number, at: number, out: ReturnType<typeof outputsOf>) => {
      const predicted = out.rating !== undefined ? this.predictionOf(u, i, out.rating[at]) : 0;
      const score = by === 'presence' ? out.presence![at] : this.rankScore(predicted, out.presence?.[at] ?? 0);
      top.offer(slot, i, score, predicted);
    };
    if (this.config.variant === 'item') {
      // Rows are items, columns users: each batch of item vectors scores that batch of items for every user.
      const items: number[] = [];
      for (let i = 0; i < this.items.length; i++) if (this.itemCount[i] > 0) items.push(i);
      for (let from = 0; from < items.length; from += RECONSTRUCT_BATCH) {
        const to = Math.min(items.length, from + RECONSTRUCT_BATCH);
        const out = outputsOf(items, from, to);
        for (let row = from; row < to; row++) {
          const i = items[row];
          // The item's raters, from its vector.
          if (exclude) for (let p = seen.ptr[i]; p < seen.ptr[i + 1]; p++) marked[seen.index[p]] = 1;
          const base = (row - from) * width;
          for (let k = 0; k < users.length; k++) if (marked[users[k]] === 0) offer(slots[k], users[k], i, base + users[k], out);
          if (exclude) for (let p = seen.ptr[i]; p < seen.ptr[i + 1]; p++) marked[seen.index[p]] = 0;
        }
        yield;
      }
      return;
    }
    // Rows are users, columns items: each batch of user vectors scores every item for that batch of users.
    for (let from = 0; from < users.length; from += RECONSTRUCT_BATCH) {
      const to = Math.min(users.length, from + RECONSTRUCT_BATCH);
      const out = outputsOf(users, from, to);
      for (let row = from; row < to; row++) {
        const u = users[row];
        if (exclude) for (let p = seen.ptr[u]; p < seen.ptr[u + 1]; p++) marked[seen.index[p]] = 1;
        const base = (row - from) * width;
        for (let i = 0; i < this.items.length; i++) if (this.itemCount[i] > 0 && marked[i] === 0) offer(slots[row], u, i, base + i, out);
        if (exclude) for (let p = seen.ptr[u]; p < seen.ptr[u + 1]; p++) marked[seen.index[p]] = 0;
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

  /**
   * One `.lfm` artifact (kind `autorec`): config, id maps, rating range, history, then each network's weights (the
   * rating network first, see {@link networksOf}) and the training ratings.
   */
  save(): Buffer {
    this.checkOpen();
    const header: AutoRecHeader = { kind: 'autorec', version: 2, config: this.config, users: this.users, items: this.items, min: this.min, max: this.max, history: this.history };
    const weights = networksOf(this.config).flatMap((role) => this.networks[role]!.weights());
    // Indices as float32 are exact below 2^24 users/items.
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
      config = resolveAutoRecConfig(storedOptions(header.config, header.version));
    } catch (error) {
      throw artifactError(source, `header field "config": ${(error as Error).message}`);
    }
    const width = config.variant === 'item' ? header.users.length : header.items.length;
    const roles = networksOf(config);
    const at = roles.length * 4;
    const n = weights[at]?.length ?? 0;
    checkWeightShapes(weights, [
      ...roles.flatMap((role) => AutoRecNetwork.shapes(width, networkSize(config, role).hidden).map(({ name, shape }) => ({ name: `${role} ${name}`, shape }))),
      { name: 'training users', shape: [n] }, { name: 'training items', shape: [n] }, { name: 'training ratings', shape: [n] },
    ], source);
    const [users, items, ratings] = weights.slice(at);
    const entries = { user: Int32Array.from(users), item: Int32Array.from(items), rating: ratings };
    for (let k = 0; k < n; k++) {
      if (!(users[k] === entries.user[k] && entries.user[k] >= 0 && entries.user[k] < header.users.length
        && items[k] === entries.item[k] && entries.item[k] >= 0 && entries.item[k] < header.items.length && Number.isFinite(entries.rating[k]))) {
        throw artifactError(source, `training entry ${k} (user ${users[k]}, item ${items[k]}, rating ${entries.rating[k]}) is not a known user and item with a finite rating`);
      }
    }
    const networks = Object.fromEntries(roles.map((role, k) => [role, AutoRecNetwork.fromWeights(width, networkSize(config, role).hidden, weights.slice(k * 4, k * 4 + 4))]));
    return new AutoRec(config, header.users, header.items, entries, header.min, header.max, networks, header.history as unknown as AutoRecEpoch[]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const network of Object.values(this.networks)) network.dispose();
  }
}
