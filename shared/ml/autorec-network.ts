/**
 * One AutoRec network, h(r) = W·sigmoid(V·r + μ) + b over sparse vectors of one width, and its training loop:
 * Adam on mini-batches of densified vectors, the paper's weight decay λ/2·(‖W‖² + ‖V‖²), optional input dropout, and
 * early stopping on a caller's validation score with the best epoch's weights kept. What the vectors hold (ratings
 * less a baseline, or 1 for an observed pair) and how outputs become predictions is the caller's (shared/ml/autorec.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { pacer } from '../analytics/pacer.js';
import { permutation, seededRandom } from './random.js';
import { densify, type Csr } from './sparse-vectors.js';

/** What an AutoRec model holds a network for: predicting ratings, or whether a user would pick an item at all. */
export type NetworkRole = 'rating' | 'presence';

export interface AutoRecEpoch {
  /** The network this epoch trained. */
  network: NetworkRole;
  epoch: number;
  epochs: number;
  /** Mean over the epoch's batches of the batch objective (weighted squared error + λ/2·‖θ‖², per unit of loss weight). */
  loss: number;
  /** With early stopping: the validation score after this epoch (RMSE for ratings, NDCG@10 for presence). */
  validation?: number;
  seconds: number;
}

export interface NetworkTraining {
  lambda: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
  seed: number;
  dropout: number;
  patience: number;
  /** The loss weight of an unobserved cell (an observed one weighs 1): 0 for ratings, the negative weight for presence. */
  unobserved: number;
  /**
   * Whether the output bias b is trained. Not when the targets are residuals of a regularised baseline: an unpenalised
   * b per output would relearn, unshrunk, the user (or item) biases the baseline already shrinks, and overfit the
   * users with few ratings.
   */
  outputBias: boolean;
}

/** The epoch's validation score and whether higher is better; undefined when there is no validation part. */
export interface Validation {
  score: () => Promise<number>;
  higherIsBetter: boolean;
}

/** Vectors reconstructed per forward pass when predicting. */
export const RECONSTRUCT_BATCH = 256;

export class AutoRecNetwork {
  private constructor(
    readonly width: number,
    readonly hidden: number,
    /** V (width × hidden), μ (hidden), W (hidden × width), b (width). */
    private readonly variables: [tf.Variable, tf.Variable, tf.Variable, tf.Variable],
  ) {}

  /**
   * A new network: V Glorot-uniform (seeded), μ and b zero, and W zero, so that the untrained network outputs 0
   * ("as the baseline expects"), not noise of the size of the residuals it is to learn.
   */
  static create(width: number, hidden: number, seed: number): AutoRecNetwork {
    const variables = tf.tidy(() => {
      const limit = Math.sqrt(6 / (width + hidden));
      return [
        tf.variable(tf.randomUniform([width, hidden], -limit, limit, 'float32', seed * 1009 + 1), true),
        tf.variable(tf.zeros([hidden]), true),
        tf.variable(tf.zeros([hidden, width]), true),
        tf.variable(tf.zeros([width]), true),
      ] as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    });
    return new AutoRecNetwork(width, hidden, variables);
  }

  /** A network from the weights {@link weights} returned (shapes checked by the caller). */
  static fromWeights(width: number, hidden: number, weights: readonly Float32Array[]): AutoRecNetwork {
    const variables = tf.tidy(() => [
      tf.variable(tf.tensor2d(weights[0], [width, hidden]), true),
      tf.variable(tf.tensor1d(weights[1]), true),
      tf.variable(tf.tensor2d(weights[2], [hidden, width]), true),
      tf.variable(tf.tensor1d(weights[3]), true),
    ] as [tf.Variable, tf.Variable, tf.Variable, tf.Variable]);
    return new AutoRecNetwork(width, hidden, variables);
  }

  /** The shapes of V, μ, W and b for a network of this width and hidden size. */
  static shapes(width: number, hidden: number): { name: string; shape: number[] }[] {
    return [{ name: 'V', shape: [width, hidden] }, { name: 'μ', shape: [hidden] }, { name: 'W', shape: [hidden, width] }, { name: 'b', shape: [width] }];
  }

  private forward(x: tf.Tensor2D): tf.Tensor2D {
    const [v, mu, w, b] = this.variables;
    return tf.add(tf.matMul(tf.sigmoid(tf.add(tf.matMul(x, v), mu)), w), b);
  }

  /** Outputs for vectors `vectors[from..to)` of `input`, each a row of `width`, as one Float32Array. */
  reconstruct(input: Csr, vectors: ArrayLike<number>, from: number, to: number): Float32Array {
    const { x } = densify(input, this.width, vectors, from, to);
    return tf.tidy(() => this.forward(tf.tensor2d(x, [to - from, this.width])).dataSync() as Float32Array);
  }

  /** Outputs of every vector in `vectors`, in batches, as (row offset within the batch, batch outputs) per batch. */
  *batches(input: Csr, vectors: ArrayLike<number>): Generator<{ from: number; to: number; output: Float32Array }> {
    for (let from = 0; from < vectors.length; from += RECONSTRUCT_BATCH) {
      const to = Math.min(vectors.length, from + RECONSTRUCT_BATCH);
      yield { from, to, output: this.reconstruct(input, vectors, from, to) };
    }
  }

  /**
   * Trains on the vectors of `fit` (every one of its rows, `fit.ptr.length − 1`), minimising per batch an unbiased
   * estimate of the paper's objective divided by the total loss weight, so that λ means the same as in the paper.
   * With `validation`, stops after `patience` epochs without a better score and keeps the best epoch's weights.
   * Returns the epochs trained (`seconds` counted from `hooks.started`, default now); stops early, keeping the last weights, when `signal` is aborted.
   */
  async train(fit: Csr, t: NetworkTraining, validation: Validation | undefined, network: NetworkRole,
    hooks: { onEpoch?: (progress: AutoRecEpoch) => void | Promise<void>; signal?: AbortSignal; started?: number } = {}): Promise<AutoRecEpoch[]> {
    const n = fit.ptr.length - 1;
    const width = this.width;
    const random = seededRandom(`autorec:${network}:${t.seed}`);
    const observed = fit.ptr[n];
    const penalty = t.lambda / 2 / (observed + t.unobserved * (n * width - observed));
    const [v, mu, w, b] = this.variables;
    const trainable = t.outputBias ? [v, mu, w, b] : [v, mu, w];
    const optimizer = tf.train.adam(t.learningRate);
    const started = hooks.started ?? performance.now();
    const yields = pacer();
    const history: AutoRecEpoch[] = [];
    let best: { score: number; weights: Float32Array[] } | undefined;
    let sinceBest = 0;
    try {
      for (let epoch = 1; epoch <= t.epochs; epoch++) {
        const order = permutation(n, random);
        let lossSum = 0;
        let batches = 0;
        for (let start = 0; start < n; start += t.batchSize) {
          if (hooks.signal?.aborted === true) return history;
          const end = Math.min(n, start + t.batchSize);
          const batch = densify(fit, width, order, start, end, t.unobserved);
          if (batch.observed === 0) continue;
          const dropSeed = t.seed * 1_000_003 + epoch * 10_007 + batches;
          const loss = tf.tidy((): tf.Scalar => {
            const x = tf.tensor2d(batch.x, [end - start, width]);
            const mask = tf.tensor2d(batch.mask, [end - start, width]);
            const input = t.dropout > 0 ? tf.mul(x, tf.div(tf.step(tf.sub(tf.randomUniform(x.shape, 0, 1, 'float32', dropSeed), t.dropout)), 1 - t.dropout)) : x;
            const cost = optimizer.minimize((): tf.Scalar => {
              const err: tf.Scalar = tf.div(tf.sum(tf.mul(tf.square(tf.sub(this.forward(input as tf.Tensor2D), x)), mask)), batch.weight);
              if (penalty === 0) return err;
              return tf.add(err, tf.mul(penalty, tf.add(tf.sum(tf.square(w)), tf.sum(tf.square(v)))));
            }, true, trainable);
            return cost ?? tf.scalar(0);
          });
          lossSum += (await loss.data())[0];
          loss.dispose();
          batches++;
          await yields.due();
        }
        const score = validation !== undefined ? await validation.score() : undefined;
        const progress: AutoRecEpoch = {
          network, epoch, epochs: t.epochs, loss: batches > 0 ? lossSum / batches : 0,
          ...(score !== undefined ? { validation: score } : {}), seconds: (performance.now() - started) / 1000,
        };
        history.push(progress);
        await hooks.onEpoch?.(progress);
        if (score === undefined || validation === undefined) continue;
        const better = best === undefined || (validation.higherIsBetter ? score > best.score : score < best.score);
        if (better) {
          best = { score, weights: this.weights() };
          sinceBest = 0;
        } else if (++sinceBest >= t.patience) break;
      }
      if (best !== undefined) this.restore(best.weights);
      return history;
    } finally {
      optimizer.dispose();
    }
  }

  /** Copies of V, μ, W and b. */
  weights(): Float32Array[] {
    return this.variables.map((t) => new Float32Array(t.dataSync()));
  }

  private restore(weights: Float32Array[]): void {
    this.variables.forEach((t, k) => tf.tidy(() => t.assign(tf.tensor(weights[k], t.shape))));
  }

  dispose(): void {
    for (const t of this.variables) t.dispose();
  }
}
