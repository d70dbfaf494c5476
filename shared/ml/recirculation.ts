/**
 * Training by recirculation (Hinton & McClelland, "Learning Representations by Recirculation", NIPS 1987, pp. 358–366):
 * a one-hidden-layer autoencoder learned without back-propagation, by comparing the activations the original input
 * produces with those its reconstruction produces. Visible units i, hidden units j, σ the logistic function, biases
 * as weights from a unit that is always on, w_ji visible→hidden, w_ij hidden→visible. One pass around the loop
 * (equations numbered here):
 *
 *   (1) y_j(1) = σ(Σ_i w_ji y_i(0))                             hidden units driven by the input y_i(0)
 *   (2) y_i(2) = λ y_i(0) + (1 − λ) σ(Σ_j w_ij y_j(1))          visible units "regress": old activation mixed with the reconstruction
 *   (3) y_j(3) = λ y_j(1) + (1 − λ) σ(Σ_i w_ji y_i(2))          hidden units regress likewise, driven by y(2)
 *   (4) Δw_ij = ε y_j(1) (y_i(0) − y_i(2))                      hidden→visible: presynaptic × change of postsynaptic activity
 *   (5) Δw_ji = ε y_i(2) (y_j(1) − y_j(3))                      visible→hidden: likewise, on the second pass
 *
 * λ is the paper's regression parameter (0.75 in its simulations). With λ = 1 nothing is learned: y(2) = y(0) and
 * y(3) = y(1). Both updates use the weights before the step and are applied together.
 *
 * Here, in mini-batches: (4) and (5) are averaged over a batch's rows, so ε does not scale with the batch size. The
 * step size may follow a schedule (the paper's is constant, the default). The trained weights are those of an
 * ordinary autoencoder with a sigmoid code layer (the hidden units) and a sigmoid output layer, whose reconstruction
 * is σ(Σ_j w_ij y_j(1)), i.e. (2) with λ = 0; the per-epoch loss is that reconstruction's mean squared error, measured
 * like back-propagation's. Visible activations are in [0, 1], so the inputs must be too (min-max scaling).
 *
 * The two layers are network.ts dense layers trained in place with tfjs ops (on whichever backend runs), initialised
 * exactly as back-propagation's are for the same seed, so the two trainers start from the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ConfigError } from '../contracts/errors.js';
import { describeIssues, ModelOptionsSchema, stepRows, TRAINER_DEFAULTS } from './model-config.js';
import { buildStack, disposeOnFailure, forward, stackUnits, type DenseLayer } from './network.js';
import { trainStacks, type FitHooks, type StepEngine, type TrainingData, type TrainingOutcome } from './train.js';

const model = ModelOptionsSchema.shape;

/**
 * Recirculation's options: the model options' own fields (same bounds and defaults) under the paper's names.
 * As model options (`trainer: 'recirculation'`), codeSize gives `hidden` and `regression` gives `lambda`.
 */
export const RecirculationOptionsSchema = z.object({
  /** Hidden units: the code size. Required. */
  hidden: z.number().int().positive(),
  /** Regression λ in [0, 1): the share of the old activation kept on the second pass (eqs. 2, 3). Default 0.75 (the paper's). */
  lambda: model.regression,
  /** Step size ε of eqs. (4) and (5), per row (the changes are averaged over a batch). Default 2. */
  learningRate: model.learningRate,
  /** Step-size schedule over the epochs: constant (the paper's) or cosine decay to 1% of ε. Default constant. */
  lrSchedule: model.lrSchedule,
  /** Passes over the training rows. Default 200. */
  epochs: model.epochs,
  /** Rows per step. Default 64. */
  batchSize: model.batchSize,
  /** Share of the rows held out to measure validation loss, as back-propagation's training does. Default 0.1. */
  validationSplit: model.validationSplit,
  /** Initialisation, validation split and shuffling. Default 0. */
  seed: model.seed,
}).strict();

export type RecirculationOptions = z.input<typeof RecirculationOptionsSchema>;
export type RecirculationConfig = Required<z.output<typeof RecirculationOptionsSchema>>;

/** Validates options and fills every default (λ, ε and the schedule from model-config.ts TRAINER_DEFAULTS). Throws ConfigError naming the option. */
export function resolveRecirculationConfig(options: RecirculationOptions): RecirculationConfig {
  const parsed = RecirculationOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(`invalid recirculation options: ${describeIssues(parsed.error)}`);
  const defaults = TRAINER_DEFAULTS.recirculation;
  const o = parsed.data;
  return { ...o, lambda: o.lambda ?? defaults.regression, learningRate: o.learningRate ?? defaults.learningRate, lrSchedule: o.lrSchedule ?? defaults.lrSchedule };
}

/**
 * One recirculation step, eqs. (1)–(5), on a batch of rows y(0) (values in [0, 1]): `encoder` holds w_ji (kernel
 * [visible × hidden]) and the hidden biases, `decoder` w_ij (kernel [hidden × visible]) and the visible biases, both
 * sigmoid. Changes both layers in place by the batch-averaged updates and returns the mean squared error of the
 * reconstruction σ(Σ_j w_ij y_j(1)) before the step.
 */
export function recirculationStep(encoder: DenseLayer, decoder: DenseLayer, y0: tf.Tensor2D, lambda: number, learningRate: number): number {
  return tf.tidy(() => {
    const y1 = forward([encoder], y0);
    const reconstruction = forward([decoder], y1);
    const y2 = tf.add<tf.Tensor2D>(tf.mul(lambda, y0), tf.mul(1 - lambda, reconstruction));
    const y3 = tf.add(tf.mul(lambda, y1), tf.mul(1 - lambda, forward([encoder], y2)));
    const visibleChange = tf.sub(y0, y2);
    const hiddenChange = tf.sub(y1, y3);
    const scale = learningRate / y0.shape[0];
    decoder.kernel.assign(tf.add(decoder.kernel, tf.mul(scale, tf.matMul(y1, visibleChange, true, false))));
    decoder.bias.assign(tf.add(decoder.bias, tf.mul(scale, tf.sum(visibleChange, 0))));
    encoder.kernel.assign(tf.add(encoder.kernel, tf.mul(scale, tf.matMul(y2, hiddenChange, true, false))));
    encoder.bias.assign(tf.add(encoder.bias, tf.mul(scale, tf.sum(hiddenChange, 0))));
    return tf.mean(tf.squaredDifference(y0, reconstruction)).dataSync()[0];
  });
}

const EVAL_BATCH = 2048;

/** Mean squared reconstruction error (λ = 0) of `rows` rows of `data`, without learning. */
export function reconstructionError(encoder: DenseLayer, decoder: DenseLayer, data: Float32Array, rows: number): number {
  const width = encoder.kernel.shape[0];
  let sum = 0;
  const slice = stepRows(stackUnits([encoder, decoder]), EVAL_BATCH);
  for (let start = 0; start < rows; start += slice) {
    const n = Math.min(slice, rows - start);
    sum += tf.tidy(() => {
      const x = tf.tensor2d(data.subarray(start * width, (start + n) * width), [n, width]);
      return tf.sum(tf.squaredDifference(x, forward([decoder], forward([encoder], x)))).dataSync()[0];
    });
  }
  return rows > 0 ? sum / (rows * width) : 0;
}

/** Recirculation as a step engine of the shared training loop (no optimizer state, no noise, no early stopping). */
function recirculationEngine(encoder: DenseLayer, decoder: DenseLayer, lambda: number): StepEngine {
  const width = encoder.kernel.shape[0];
  return {
    kind: 'recirculation',
    step(batch, n, _noiseSeed, learningRate) {
      const y0 = tf.tensor2d(batch.subarray(0, n * width), [n, width]);
      try {
        return recirculationStep(encoder, decoder, y0, lambda, learningRate);
      } finally {
        y0.dispose();
      }
    },
    evaluate: (data, rows) => reconstructionError(encoder, decoder, data, rows),
    snapshot() {
      throw new Error('recirculation keeps no snapshots (no early stopping)');
    },
    close() {},
  };
}

/** The trained layers (one each, sigmoid; the caller owns and disposes them), with the history and validation rows. */
export interface RecirculationOutcome extends TrainingOutcome {
  encoder: DenseLayer[];
  decoder: DenseLayer[];
}

/**
 * Trains a visible–hidden–visible autoencoder by recirculation on already-scaled data (values in [0, 1]). Weights
 * start as shared/ml/autoencoder.ts builds them for back-propagation with the same seed; the validation rows and epoch
 * shuffles come from the seed as in back-propagation's loop (shared/ml/train.ts), so both trainers see the same rows
 * in the same order. Yields to the event loop between steps; aborting stops after the current step and keeps the
 * weights so far.
 */
export async function trainRecirculation(data: TrainingData, options: RecirculationOptions, hooks: FitHooks = {}): Promise<RecirculationOutcome> {
  const config = resolveRecirculationConfig(options);
  const { width } = data;
  const encoder = buildStack([{ inputs: width, units: config.hidden, activation: 'sigmoid' }], config.seed);
  const decoder = buildStack([{ inputs: config.hidden, units: width, activation: 'sigmoid' }], config.seed + 1);
  const loop = { ...config, minDelta: 0, patience: 0 };
  const outcome = await disposeOnFailure([encoder, decoder], () => trainStacks(encoder, decoder, data, loop, recirculationEngine(encoder[0], decoder[0], config.lambda), hooks));
  return { encoder, decoder, ...outcome };
}
