/**
 * The training loop. Rows are shuffled once per epoch on the JS side into one contiguous buffer and fed as
 * contiguous batches: tf.layers' `fit` gathers every batch inside the backend, which took 41% of wasm training time.
 * The loop yields to the event loop between steps so that a worker's lock renewals and progress reports keep running.
 */
import * as tf from '@tensorflow/tfjs';
import { cellErrors } from './loss.js';
import type { ModelConfig } from './model-config.js';
import { assignWeights, forward, variablesOf, type DenseLayer } from './network.js';
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

const YIELD_EVERY_MS = 50;
const EVAL_BATCH = 2048;

function makeOptimizer(config: ModelConfig): tf.Optimizer {
  switch (config.optimizer) {
    case 'adam': return tf.train.adam(config.learningRate);
    case 'sgd': return tf.train.momentum(config.learningRate, 0.9);
    case 'rmsprop': return tf.train.rmsprop(config.learningRate);
  }
}

function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

function scheduledRate(config: ModelConfig, epoch: number): number {
  if (config.lrSchedule === 'constant') return config.learningRate;
  const progress = (epoch - 1) / Math.max(1, config.epochs);
  return config.learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * progress)));
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

function evaluateObjective(encoder: DenseLayer[], decoder: DenseLayer[], data: Float32Array, rows: number, width: number, config: ModelConfig): number {
  let sum = 0;
  for (let start = 0; start < rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, rows - start);
    sum += tf.tidy(() => {
      const x = tf.tensor2d(data.subarray(start * width, (start + n) * width), [n, width]);
      return objective(encoder, decoder, x, x, config).dataSync()[0] * n;
    });
  }
  return sum / rows;
}

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Trains the two stacks in place on already-scaled data; returns the history. */
export async function trainStacks(encoder: DenseLayer[], decoder: DenseLayer[], data: TrainingData, config: ModelConfig, hooks: FitHooks = {}): Promise<TrainingOutcome> {
  const { values, rows, width } = data;
  const random = seededRandom(config.seed);
  const order = permutation(rows, random);
  const validationRows = rows >= 20 ? Math.floor(rows * config.validationSplit) : 0;
  const validation = gatherRows(values, width, order, 0, validationRows);
  const trainIndex = order.slice(validationRows);
  const trainRows = trainIndex.length;
  const variables = variablesOf([...encoder, ...decoder]);
  const optimizer = makeOptimizer(config);
  const history: EpochProgress[] = [];
  const started = performance.now();
  let best = { value: Infinity, epoch: 0, weights: null as tf.Tensor[] | null };
  let stoppedEarly = false;
  let keptEpoch = 0;
  let step = 0;
  let lastYield = started;
  try {
    for (let epoch = 1; epoch <= config.epochs && !hooks.signal?.aborted; epoch++) {
      const epochStart = performance.now();
      const learningRate = scheduledRate(config, epoch);
      setLearningRate(optimizer, learningRate);
      const shuffled = gatherRows(values, width, permutation(trainRows, random).map((k) => trainIndex[k]));
      let lossSum = 0;
      for (let start = 0; start < trainRows && !hooks.signal?.aborted; start += config.batchSize) {
        const n = Math.min(config.batchSize, trainRows - start);
        const seed = config.seed * 100003 + ++step;
        lossSum += tf.tidy(() => {
          const x = tf.tensor2d(shuffled.subarray(start * width, (start + n) * width), [n, width]);
          const cost = optimizer.minimize(() => objective(encoder, decoder, corrupt(x, config, seed), x, config), true, variables);
          return cost!.dataSync()[0] * n;
        });
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await pause();
          lastYield = performance.now();
        }
      }
      const loss = lossSum / trainRows;
      const valLoss = validationRows > 0 ? evaluateObjective(encoder, decoder, validation, validationRows, width, config) : undefined;
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
        best.weights?.forEach((t) => t.dispose());
        best = { value: monitored, epoch, weights: config.patience > 0 ? variables.map((v) => v.clone()) : null };
      } else if (config.patience > 0 && epoch - best.epoch >= config.patience) {
        stoppedEarly = true;
        break;
      }
      await pause();
      lastYield = performance.now();
    }
    if (best.weights) {
      assignWeights([...encoder, ...decoder], best.weights);
      keptEpoch = best.epoch;
    }
  } finally {
    best.weights?.forEach((t) => t.dispose());
    optimizer.dispose();
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
