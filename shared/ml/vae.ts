/**
 * A variational autoencoder as an anomaly detector (Kingma & Welling 2014; scored by reconstruction probability as in
 * An & Cho 2015): an encoder to the mean and log-variance of a Gaussian code, a decoder back, trained on the ELBO
 * (squared error summed over features + KL divergence to N(0, I)). A row's score is its mean squared reconstruction
 * error averaged over SAMPLES codes drawn from its posterior, the negative log reconstruction probability under a
 * unit-variance Gaussian up to constants. The draws are seeded, so a row always gets the same score.
 *
 * Trained with tfjs (its own small network beside the autoencoder's, same widths, elu hidden units): Adam at 1e-3,
 * the model's batch size, the model's epochs up to VAE_EPOCHS.
 */
import * as tf from '@tensorflow/tfjs';
import { buildStack, disposeStack, forward, restoreStack, specsOf, stackWeights, type DenseLayer, type LayerSpec } from './network.js';
import { permutation, seededRandom } from './random.js';

/** Posterior draws per scored row. */
const SAMPLES = 8;
/** Epochs of the VAE at most (it trains beside the autoencoder; the autoencoder's count when smaller). */
export const VAE_EPOCHS = 100;
/** Adam's rate for the VAE, constant (the autoencoder's may be a recirculation step or a cosine schedule). */
export const VAE_LEARNING_RATE = 1e-3;

export interface VaeShape {
  /** Hidden widths of the encoder (mirrored in the decoder). */
  hidden: number[];
  /** Code size. */
  code: number;
}

export interface VaeTraining {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export class Vae {
  private constructor(private readonly encoder: DenseLayer[], private readonly decoder: DenseLayer[], readonly width: number, readonly code: number, readonly seed: number) {}

  /** Trains a VAE on scaled rows. */
  static async fit(scaled: Float32Array, rows: number, width: number, shape: VaeShape, training: VaeTraining): Promise<Vae> {
    const hidden = shape.hidden;
    const q = shape.code;
    const chain = (first: number, units: number[], last: LayerSpec['activation']): LayerSpec[] =>
      units.map((u, i) => ({ inputs: i === 0 ? first : units[i - 1], units: u, activation: i === units.length - 1 ? last : 'elu' }));
    const encoder = buildStack(chain(width, [...hidden, 2 * q], 'linear'), training.seed + 11);
    const decoder = buildStack(chain(q, [...[...hidden].reverse(), width], 'linear'), training.seed + 13);
    const vae = new Vae(encoder, decoder, width, q, training.seed);
    try {
      const optimizer = tf.train.adam(training.learningRate);
      const variables = [...encoder, ...decoder].flatMap((l) => [l.kernel, l.bias]);
      const random = seededRandom(`vae:${training.seed}`);
      const batch = Math.min(training.batchSize, rows);
      const all = tf.tensor2d(scaled, [rows, width]);
      try {
        for (let epoch = 0; epoch < training.epochs; epoch++) {
          const order = permutation(rows, random);
          for (let start = 0; start < rows; start += batch) {
            const n = Math.min(batch, rows - start);
            const index = tf.tensor1d(Int32Array.from(order.subarray(start, start + n)), 'int32');
            const x = tf.gather<tf.Tensor2D>(all, index);
            const eps = tf.randomNormal<tf.Rank.R2>([n, q], 0, 1, 'float32', Math.floor(random() * 2 ** 31));
            optimizer.minimize(() => vae.loss(x, eps), false, variables);
            tf.dispose([index, x, eps]);
          }
          // Yield between epochs, so that a worker's lock renewals and heartbeats still run.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        all.dispose();
      }
      optimizer.dispose();
      return vae;
    } catch (error) {
      vae.dispose();
      throw error;
    }
  }

  /** The negative ELBO per row, averaged over the batch. */
  private loss(x: tf.Tensor2D, eps: tf.Tensor2D): tf.Scalar {
    const stats = forward(this.encoder, x);
    const mu = stats.slice([0, 0], [-1, this.code]);
    const logVar = stats.slice([0, this.code], [-1, this.code]).clipByValue(-10, 10);
    const z = mu.add(eps.mul(logVar.mul(0.5).exp()));
    const reconstruction = forward(this.decoder, z as tf.Tensor2D).sub(x).square().sum(1);
    const kl = logVar.exp().add(mu.square()).sub(1).sub(logVar).sum(1).mul(0.5);
    return reconstruction.add(kl).mean<tf.Scalar>();
  }

  /** Scores of scaled rows: the mean squared reconstruction error over SAMPLES seeded posterior draws. */
  score(scaled: Float32Array, rows: number): Float32Array {
    const out = new Float32Array(rows);
    const slice = Math.max(1, Math.floor(65_536 / SAMPLES));
    for (let start = 0; start < rows; start += slice) {
      const n = Math.min(slice, rows - start);
      const scores = tf.tidy(() => {
        const x = tf.tensor2d(scaled.subarray(start * this.width, (start + n) * this.width), [n, this.width]);
        const stats = forward(this.encoder, x);
        const mu = stats.slice([0, 0], [-1, this.code]);
        const sd = stats.slice([0, this.code], [-1, this.code]).clipByValue(-10, 10).mul(0.5).exp();
        let total = tf.zeros([n]);
        for (let s = 0; s < SAMPLES; s++) {
          const eps = tf.randomNormal([n, this.code], 0, 1, 'float32', this.seed * 7 + s);
          const z = mu.add<tf.Tensor2D>(eps.mul(sd));
          total = total.add(forward(this.decoder, z).sub(x).square().mean(1));
        }
        return total.div(SAMPLES);
      });
      out.set(scores.dataSync(), start);
      scores.dispose();
    }
    return out;
  }

  /** Layer specs and weights (encoder, then decoder) for the model file. */
  toParts(): { encoder: LayerSpec[]; decoder: LayerSpec[]; weights: Float32Array[] } {
    return { encoder: specsOf(this.encoder), decoder: specsOf(this.decoder), weights: [...stackWeights(this.encoder), ...stackWeights(this.decoder)] };
  }

  static fromParts(encoder: LayerSpec[], decoder: LayerSpec[], weights: Float32Array[], seed: number): Vae {
    const width = encoder[0].inputs;
    const code = decoder[0].inputs;
    return new Vae(restoreStack(encoder, weights.slice(0, 2 * encoder.length)), restoreStack(decoder, weights.slice(2 * encoder.length)), width, code, seed);
  }

  dispose(): void {
    disposeStack(this.encoder);
    disposeStack(this.decoder);
  }
}
