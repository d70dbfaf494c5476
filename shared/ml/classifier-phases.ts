/**
 * The training phases of ./encoder-classifier.ts, on rows already in the model's scaled space: a head phase on fixed
 * codes (the encoder's output, computed once), and a tuning phase through the encoder (cross-entropy, plus for `joint`
 * α × the model's reconstruction loss, through the decoder, of a batch drawn from every row). Both use Adam with a
 * cosine decay over the phase's steps, Gaussian input noise, seeded shuffles, and yield to the event loop between
 * steps so that a worker's lock renewals run; an aborted signal stops a phase after the current step.
 */
import * as tf from '@tensorflow/tfjs';
import { cellErrors, type LossKind } from './loss.js';
import { forward, variablesOf, type DenseLayer } from './network.js';
import { pacer } from '../analytics/pacer.js';
import { gatherRows, permutation, type Random } from './random.js';

/** Rows × width, row-major, already in the model's scaled space. */
export interface Rows {
  values: Float32Array;
  rows: number;
  width: number;
}

/** A phase's figures after each pass over its rows (and after its last step). */
export interface PhaseProgress {
  phase: 'head' | 'tune';
  /** Passes over the phase's rows so far (the last one may be partial). */
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Mean objective over the steps since the previous report. */
  loss: number;
}

export interface PhaseHooks {
  onEpoch?: (progress: PhaseProgress) => void | Promise<void>;
  /** Aborting stops training after the current step; the weights so far are kept. */
  signal?: AbortSignal;
}

export interface PhaseSettings {
  steps: number;
  /** Initial Adam learning rate, decayed by a cosine to 1% of it over the steps. */
  learningRate: number;
  batchSize: number;
  random: Random;
  /** Gaussian σ added to the phase's inputs (codes in the head phase, rows in the tuning phase) at every step. */
  noise: number;
  /** Step `s` draws its noise with seed `noiseSeed + s`. */
  noiseSeed: number;
}

/** The layers a tuning phase trains, and for `joint` the decoder, the weight of its loss and the rows it sees. */
export interface TuneNetwork {
  encoder: DenseLayer[];
  head: DenseLayer[];
  reconstruction?: { decoder: DenseLayer[]; alpha: number; loss: LossKind; rows: Rows };
}

/** Labelled rows as class ids in 0..classes-1. */
export interface LabelledRows extends Rows {
  classIds: Int32Array;
  classes: number;
}

/** Draws indices from a seeded permutation of 0..size-1, reshuffling after each full pass. */
class Cycler {
  private order: Uint32Array;
  private at = 0;
  constructor(private readonly size: number, private readonly random: Random) {
    this.order = permutation(size, random);
  }

  next(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      if (this.at === this.size) {
        this.order = permutation(this.size, this.random);
        this.at = 0;
      }
      out[k] = this.order[this.at++];
    }
    return out;
  }
}

/** A batch of `picked` rows as inputs and one-hot targets. */
function batchOf(data: LabelledRows, picked: Uint32Array): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const y = new Float32Array(picked.length * data.classes);
  for (let k = 0; k < picked.length; k++) y[k * data.classes + data.classIds[picked[k]]] = 1;
  return {
    x: tf.tensor2d(gatherRows(data.values, data.width, picked), [picked.length, data.width]),
    y: tf.tensor2d(y, [picked.length, data.classes]),
  };
}

function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

function noisy(x: tf.Tensor2D, settings: PhaseSettings, seed: number): tf.Tensor2D {
  return settings.noise > 0 ? tf.add(x, tf.randomNormal(x.shape, 0, settings.noise, 'float32', settings.noiseSeed + seed)) : x;
}

/** Runs `step` `settings.steps` times with the decayed rate, reporting after every `stepsPerEpoch` steps. */
async function runSteps(
  phase: PhaseProgress['phase'], settings: PhaseSettings, optimizer: tf.AdamOptimizer, stepsPerEpoch: number, hooks: PhaseHooks,
  step: (index: number) => number,
): Promise<void> {
  const yields = pacer();
  const { steps } = settings;
  const epochs = Math.ceil(steps / stepsPerEpoch);
  let sum = 0;
  let count = 0;
  for (let s = 1; s <= steps && !hooks.signal?.aborted; s++) {
    // Adam reads its learningRate field at every step.
    (optimizer as unknown as { learningRate: number }).learningRate =
      settings.learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos((Math.PI * (s - 1)) / steps)));
    sum += step(s);
    count++;
    if (s % stepsPerEpoch === 0 || s === steps || hooks.signal?.aborted) {
      await hooks.onEpoch?.({ phase, epoch: Math.ceil(s / stepsPerEpoch), epochs, step: s, steps, loss: sum / count });
      sum = 0;
      count = 0;
      await yields.now();
    } else {
      await yields.due();
    }
  }
}

/** Trains `head` alone on fixed codes (rows × code size) of labelled rows. */
export async function trainHead(head: DenseLayer[], codes: LabelledRows, settings: PhaseSettings, hooks: PhaseHooks): Promise<void> {
  const optimizer = tf.train.adam(settings.learningRate);
  const variables = variablesOf(head);
  const batch = Math.min(settings.batchSize, codes.rows);
  const cycler = new Cycler(codes.rows, settings.random);
  try {
    await runSteps('head', settings, optimizer, Math.ceil(codes.rows / batch), hooks, (s) => tf.tidy(() => {
      const { x, y } = batchOf(codes, cycler.next(batch));
      return optimizer.minimize(() => crossEntropy(forward(head, noisy(x, settings, s)), y), true, variables)!.dataSync()[0];
    }));
  } finally {
    optimizer.dispose();
  }
}

/**
 * Trains encoder and head, and for `joint` the decoder, on the cross-entropy of a labelled batch plus α × the
 * reconstruction loss of a batch of `reconstruction.rows` (a denoising reconstruction: noisy input, clean target).
 * A reported epoch is a pass over the labelled rows, or for `joint` over the reconstruction rows.
 */
export async function tuneNetwork(net: TuneNetwork, labelled: LabelledRows, settings: PhaseSettings, hooks: PhaseHooks): Promise<void> {
  const recon = net.reconstruction;
  const variables = variablesOf([...net.encoder, ...net.head, ...(recon?.decoder ?? [])]);
  const optimizer = tf.train.adam(settings.learningRate);
  const batch = Math.min(settings.batchSize, labelled.rows);
  const labelledCycler = new Cycler(labelled.rows, settings.random);
  const reconBatch = recon ? Math.min(settings.batchSize, recon.rows.rows) : 0;
  const reconCycler = recon ? new Cycler(recon.rows.rows, settings.random) : undefined;
  const stepsPerEpoch = recon ? Math.ceil(recon.rows.rows / reconBatch) : Math.ceil(labelled.rows / batch);
  try {
    await runSteps('tune', settings, optimizer, stepsPerEpoch, hooks, (s) => tf.tidy(() => {
      const { x, y } = batchOf(labelled, labelledCycler.next(batch));
      const r = recon && reconCycler
        ? tf.tensor2d(gatherRows(recon.rows.values, recon.rows.width, reconCycler.next(reconBatch)), [reconBatch, recon.rows.width])
        : undefined;
      // One encoder pass over both batches (noisy inputs); the reconstruction's target is the clean batch.
      const input = r ? tf.concat2d([x, r], 0) : x;
      const cost = optimizer.minimize(() => {
        const codes = forward(net.encoder, noisy(input, settings, s));
        const ce = crossEntropy(forward(net.head, r ? codes.slice([0, 0], [batch, -1]) : codes), y);
        if (!recon || !r) return ce;
        const rebuilt = forward(recon.decoder, codes.slice([batch, 0], [reconBatch, -1]));
        return tf.add(ce, tf.mul(recon.alpha, tf.mean(cellErrors(rebuilt, r, recon.loss))));
      }, true, variables);
      return cost!.dataSync()[0];
    }));
  } finally {
    optimizer.dispose();
  }
}
