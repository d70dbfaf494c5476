/**
 * The training loop. Rows are shuffled once per epoch on the JS side and each batch is gathered into one reused
 * contiguous buffer: tf.layers' `fit` gathers every batch inside the backend, which took 41% of wasm training time,
 * and gathering the whole epoch into a fresh buffer cost ~8% of a native epoch (page faults, cache misses).
 * The loop yields to the event loop between steps so that a worker's lock renewals and progress reports keep running.
 *
 * The steps themselves run on one of two engines with the same semantics: the fused native step of ./native-train
 * (forward, backward and Adam in one addon call, when the addon is loaded and the model qualifies) or tfjs autodiff
 * with a tfjs optimizer. The epoch loop, shuffles, noise seeds, schedule, validation and early stopping are shared.
 */
import * as tf from '@tensorflow/tfjs';
import { cellErrors } from './loss.js';
import { stepRows, type ModelConfig } from './model-config.js';
import { assignWeights, forward, variablesOf, type DenseLayer } from './network.js';
import { nativeStepEngine } from './native-train.js';
import { pacer } from '../analytics/pacer.js';
import { gatherRows, permutation, seededRandom } from './random.js';

/** One epoch's figures, as reported to progress callbacks and kept in the model's history. */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  /** Mean training objective (reconstruction loss + penalties) over the epoch's batches. */
  loss: number;
  /** Objective on the held-out validation rows (no input corruption); absent without validation rows. */
  valLoss?: number;
  learningRate: number;
  samplesPerSecond: number;
  /** Seconds since training started. */
  seconds: number;
}

export interface TrainingHistory {
  epochs: EpochProgress[];
  /** Epoch (1-based) whose weights the model keeps. */
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
  samplesPerSecond: number;
  trainRows: number;
  validationRows: number;
}

export interface TrainingOutcome {
  history: TrainingHistory;
  /** Row indices held out for validation (the threshold is estimated on these). */
  validationIndex: Uint32Array;
}

export interface FitHooks {
  /** Called after every epoch; training waits for a returned promise. */
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  /** Aborting stops training after the current step; the weights so far are kept. */
  signal?: AbortSignal;
}

export interface TrainingData {
  values: Float32Array;
  rows: number;
  width: number;
}

const EVAL_BATCH = 2048;

/**
 * What runs the optimisation steps. Every engine mirrors `objective` and the optimizer `makeOptimizer` builds, so the
 * loop in `trainStacks` is the same whichever engine runs.
 */
export interface StepEngine {
  readonly kind: 'native' | 'tfjs' | 'recirculation';
  /**
   * One optimizer step at `learningRate` on the first `n` rows of `batch` (clean rows, also the targets); the input is
   * corrupted as `corrupt` does with `noiseSeed`. Returns the batch objective before the update.
   */
  step(batch: Float32Array, n: number, noiseSeed: number, learningRate: number): number;
  /** Mean objective over `rows` rows without corruption. */
  evaluate(data: Float32Array, rows: number): number;
  /** A copy of the current weights (for early stopping). */
  snapshot(): WeightsSnapshot;
  /** Leaves the final weights in the layers' variables and frees the engine's state. */
  close(): void;
}

export interface WeightsSnapshot {
  /** Makes these the current weights. */
  restore(): void;
  dispose(): void;
}

function makeOptimizer(config: ModelConfig): tf.Optimizer {
  switch (config.optimizer) {
    case 'adam': return tf.train.adam(config.learningRate);
    case 'sgd': return tf.train.momentum(config.learningRate, 0.9);
    case 'rmsprop': return tf.train.rmsprop(config.learningRate);
  }
}

function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  // SGD and momentum cache −lr in a scalar that only their setLearningRate renews; Adam and RMSProp read the field.
  // (Not `instanceof`: tfjs's Optimizer.[Symbol.hasInstance] accepts any optimizer.)
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(rate);
  else o.learningRate = rate;
}

/** The learning rate of an epoch (1-based): constant, or cosine decay from the initial rate to 1% of it. */
export function scheduledRate(config: Pick<ModelConfig, 'lrSchedule' | 'learningRate' | 'epochs'>, epoch: number): number {
  if (config.lrSchedule === 'constant') return config.learningRate;
  const progress = (epoch - 1) / Math.max(1, config.epochs);
  return config.learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The seed of the input corruption of training step `step` (1-based, counted over all epochs). */
export function noiseSeed(config: Pick<ModelConfig, 'seed'>, step: number): number {
  return config.seed * 100003 + step;
}

function corrupt(x: tf.Tensor2D, config: ModelConfig, seed: number): tf.Tensor2D {
  if (config.noise === 0) return x;
  if (config.noiseKind === 'gaussian') return tf.add(x, tf.randomNormal(x.shape, 0, config.noise, 'float32', seed));
  return tf.mul(x, tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), config.noise), 'float32'));
}

/** The training objective for a batch: mean cell error plus weight and code penalties. */
export function objective(encoder: DenseLayer[], decoder: DenseLayer[], input: tf.Tensor2D, target: tf.Tensor2D, config: ModelConfig): tf.Scalar {
  const code = forward(encoder, input);
  let total: tf.Scalar = tf.mean(cellErrors(forward(decoder, code), target, config.loss));
  if (config.sparsity > 0) total = tf.add(total, tf.mul(config.sparsity, tf.mean(tf.sum(tf.abs(code), 1))));
  for (const layer of [...encoder, ...decoder]) {
    if (config.l2 > 0) total = tf.add(total, tf.mul(config.l2, tf.sum(tf.square(layer.kernel))));
    if (config.l1 > 0) total = tf.add(total, tf.mul(config.l1, tf.sum(tf.abs(layer.kernel))));
  }
  return total;
}

/** The tfjs engine: autodiff of `objective` and a tfjs optimizer, on whatever backend tfjs runs. */
export function tfjsStepEngine(encoder: DenseLayer[], decoder: DenseLayer[], config: ModelConfig, width: number): StepEngine {
  const variables = variablesOf([...encoder, ...decoder]);
  const optimizer = makeOptimizer(config);
  const evalRows = stepRows([...encoder, ...decoder].reduce((units, l) => units + l.kernel.shape[1]!, width), EVAL_BATCH);
  return {
    kind: 'tfjs',
    step(batch, n, seed, learningRate) {
      setLearningRate(optimizer, learningRate);
      return tf.tidy(() => {
        const x = tf.tensor2d(batch.subarray(0, n * width), [n, width]);
        const cost = optimizer.minimize(() => objective(encoder, decoder, corrupt(x, config, seed), x, config), true, variables);
        return cost!.dataSync()[0];
      });
    },
    evaluate(data, rows) {
      let sum = 0;
      for (let start = 0; start < rows; start += evalRows) {
        const n = Math.min(evalRows, rows - start);
        sum += tf.tidy(() => {
          const x = tf.tensor2d(data.subarray(start * width, (start + n) * width), [n, width]);
          return objective(encoder, decoder, x, x, config).dataSync()[0] * n;
        });
      }
      return sum / rows;
    },
    snapshot() {
      const copies = variables.map((v) => v.clone());
      return {
        restore: () => assignWeights([...encoder, ...decoder], copies),
        dispose: () => copies.forEach((t) => t.dispose()),
      };
    },
    close: () => optimizer.dispose(),
  };
}

/** Back-propagation's engine: the native fused step when the model qualifies, else tfjs. */
export function backpropEngine(encoder: DenseLayer[], decoder: DenseLayer[], config: ModelConfig, width: number): StepEngine {
  return nativeStepEngine(encoder, decoder, config, width) ?? tfjsStepEngine(encoder, decoder, config, width);
}

let lastEngine: StepEngine['kind'] | undefined;

/** Which engine the last `trainStacks` call ran on (for diagnostics and tests). */
export function lastTrainingEngine(): StepEngine['kind'] | undefined {
  return lastEngine;
}

/** What the epoch loop of {@link trainStacks} reads: shuffling, validation split, schedule and early stopping. */
export type LoopConfig = Pick<ModelConfig, 'seed' | 'validationSplit' | 'batchSize' | 'epochs' | 'learningRate' | 'lrSchedule' | 'minDelta' | 'patience'>;

/**
 * Trains the two stacks in place on already-scaled data with `engine` (closed at the end); returns the history. Every
 * trainer shares this loop — seeded shuffles, validation rows, schedule, history, early stopping, yields, abort — and
 * differs only in its engine: {@link backpropEngine}, or recirculation's (./recirculation).
 */
export async function trainStacks(
  encoder: DenseLayer[], decoder: DenseLayer[], data: TrainingData, config: LoopConfig, engine: StepEngine, hooks: FitHooks = {},
): Promise<TrainingOutcome> {
  const { values, rows, width } = data;
  const random = seededRandom(config.seed);
  const order = permutation(rows, random);
  const validationRows = rows >= 20 ? Math.floor(rows * config.validationSplit) : 0;
  const validation = gatherRows(values, width, order, 0, validationRows);
  const trainIndex = order.slice(validationRows);
  const trainRows = trainIndex.length;
  lastEngine = engine.kind;
  const batch = new Float32Array(Math.min(config.batchSize, trainRows) * width);
  const history: EpochProgress[] = [];
  const started = performance.now();
  let best = { value: Infinity, epoch: 0, weights: null as WeightsSnapshot | null };
  let stoppedEarly = false;
  let keptEpoch = 0;
  let step = 0;
  const yields = pacer();
  try {
    for (let epoch = 1; epoch <= config.epochs && !hooks.signal?.aborted; epoch++) {
      const epochStart = performance.now();
      const learningRate = scheduledRate(config, epoch);
      const epochOrder = permutation(trainRows, random).map((k) => trainIndex[k]);
      let lossSum = 0;
      for (let start = 0; start < trainRows && !hooks.signal?.aborted; start += config.batchSize) {
        const n = Math.min(config.batchSize, trainRows - start);
        gatherRows(values, width, epochOrder, start, start + n, batch);
        lossSum += engine.step(batch, n, noiseSeed(config, ++step), learningRate) * n;
        await yields.due();
      }
      const loss = lossSum / trainRows;
      const valLoss = validationRows > 0 ? engine.evaluate(validation, validationRows) : undefined;
      const now = performance.now();
      const progress: EpochProgress = {
        epoch, epochs: config.epochs, loss, valLoss, learningRate,
        samplesPerSecond: trainRows / ((now - epochStart) / 1000),
        seconds: (now - started) / 1000,
      };
      history.push(progress);
      await hooks.onEpoch?.(progress);
      const monitored = valLoss ?? loss;
      if (monitored < best.value - config.minDelta) {
        best.weights?.dispose();
        best = { value: monitored, epoch, weights: config.patience > 0 ? engine.snapshot() : null };
      } else if (config.patience > 0 && epoch - best.epoch >= config.patience) {
        stoppedEarly = true;
        break;
      }
      await yields.now();
    }
    if (best.weights) {
      best.weights.restore();
      keptEpoch = best.epoch;
    }
  } finally {
    best.weights?.dispose();
    engine.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const summary: TrainingHistory = {
    epochs: history,
    bestEpoch: keptEpoch || history.length,
    stoppedEarly,
    seconds,
    samplesPerSecond: (trainRows * history.length) / seconds,
    trainRows,
    validationRows,
  };
  return { history: summary, validationIndex: order.slice(0, validationRows) };
}
