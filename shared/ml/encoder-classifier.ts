/**
 * Classifiers built on a trained autoencoder's encoder: a softmax head on the code (optionally through one hidden
 * layer). Kinds:
 * - `frozen`: only the head trains, on the codes of the frozen encoder;
 * - `finetune`: the frozen phase, then encoder and head together at `learningRate × tuneRate`;
 * - `joint`: the frozen phase, then encoder, head and decoder together on cross-entropy over the labelled rows
 *   + `alpha` × the model's reconstruction loss over every row, labelled or not (the autoencoder as a regulariser of
 *   the classifier; unlabelled rows contribute reconstruction only).
 *
 * Everything trains on copies of the model's weights: the autoencoder itself never changes. Rows are given in the
 * caller's units (as to `Autoencoder.encode`) and scaled inside with the model's scaler. Training is seeded and
 * deterministic for a given backend.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { distinctLabels } from '../analytics/labels.js';
import { InputError } from '../contracts/errors.js';
import type { Autoencoder } from './autoencoder.js';
import { trainHead, tuneNetwork, type PhaseHooks, type PhaseProgress, type Rows } from './classifier-phases.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { buildStack, disposeStack, mapBatches, stackUnits, stackWeights, tfjsForward, type DenseLayer, type LayerSpec } from './network.js';
import { seededRandom } from './random.js';
import { applyScaler } from './scaler.js';

export const ENCODER_CLASSIFIERS = ['frozen', 'finetune', 'joint'] as const;
export type EncoderClassifierKind = (typeof ENCODER_CLASSIFIERS)[number];

const count = z.number().int().nonnegative();
const rate = z.number().finite().positive();

/**
 * The options of every encoder classifier, each with its default (the one place they are written). The defaults were
 * measured on digits (data/digits.csv.gz, 30% held out, 100% and 10% of the labels); phases are counted in optimizer
 * steps so that their cost does not grow with the rows (1,000 + 1,200 steps of 64 rows take seconds on digits); a
 * large labelled set may want more tuning steps and less noise (bench/fmnist-classify.ts).
 */
export const EncoderClassifierOptionsSchema = z.object({
  /** Units of the head's hidden layer (elu), or 0 for a softmax layer straight on the code. Default 256. */
  hidden: count.default(256),
  /** Steps of the head phase (the whole of `frozen`, the first phase of `finetune` and `joint`). Default 1000. */
  headSteps: count.default(1000),
  /** Steps of the phase that trains the encoder too (`finetune`, `joint`). Default 1200. */
  tuneSteps: count.default(1200),
  /** Initial Adam learning rate of the head phase; each phase decays its rate by a cosine to 1% of it. Default 0.01. */
  learningRate: rate.default(0.01),
  /** The tuning phase's initial learning rate as a share of `learningRate`. Default 0.1. */
  tuneRate: rate.max(1).default(0.1),
  /** Rows per step (and reconstruction rows per step for `joint`). Default 64. */
  batchSize: z.number().int().positive().default(64),
  /** `joint`: weight of the reconstruction loss (the model's loss, mean per cell) next to the cross-entropy. Default 1. */
  alpha: z.number().finite().nonnegative().default(1),
  /** Gaussian σ added to the rows (in the model's scaled units) at each tuning step, a regulariser. Default 0.25. */
  noise: z.number().finite().nonnegative().default(0.25),
  /** Gaussian σ added to the codes at each head step. Default 0.2. */
  codeNoise: z.number().finite().nonnegative().default(0.2),
  /** Seed of the head's initial weights, the shuffles and the noise. Default 0. */
  seed: count.default(0),
}).strict();

export type EncoderClassifierOptions = z.input<typeof EncoderClassifierOptionsSchema>;
export type EncoderClassifierConfig = z.output<typeof EncoderClassifierOptionsSchema>;

/** Fills the defaults; an InputError names the first bad field and its value. */
export function resolveEncoderClassifierOptions(options: EncoderClassifierOptions = {}): EncoderClassifierConfig {
  const parsed = EncoderClassifierOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.map(String).join('.');
  const value = (options as Record<string, unknown>)[field];
  throw new InputError(`invalid encoder-classifier option: ${issue.message}`, { field: field || 'options', value });
}

/** Labelled rows, and for `joint` optional unlabelled rows (reconstruction only); rows in the caller's units. */
export interface ClassifierData {
  labelled: Matrix;
  /** One label per labelled row. */
  labels: readonly string[];
  /** Rows without labels: used by `joint` only (ignored by the other kinds). */
  unlabelled?: Matrix;
}

/** A report of either phase (after each pass over its rows, and its last step), as given to `onEpoch` and kept in `history`. */
export type ClassifierEpoch = PhaseProgress;

export type ClassifierHooks = PhaseHooks;

/** A trained classifier holding its own tfjs variables: call `dispose()` when done. */
export interface EncoderClassifier {
  readonly kind: EncoderClassifierKind;
  readonly config: EncoderClassifierConfig;
  /** The class labels, in the order of `probabilities`' columns. */
  readonly classes: string[];
  readonly history: ClassifierEpoch[];
  /** The most probable class of every row (rows in the caller's units). */
  predict(rows: Matrix): string[];
  /** Class probabilities, rows × classes. */
  probabilities(rows: Matrix): Float32Array;
  /** Copies of the classifier's encoder weights (kernel then bias per layer), as `stackWeights` gives them. */
  encoderWeights(): Float32Array[];
  dispose(): void;
}

function headSpecs(codeSize: number, hidden: number, classes: number): LayerSpec[] {
  return hidden > 0
    ? [{ inputs: codeSize, units: hidden, activation: 'elu' }, { inputs: hidden, units: classes, activation: 'linear' }]
    : [{ inputs: codeSize, units: classes, activation: 'linear' }];
}

function checkData(model: Autoencoder, data: ClassifierData): void {
  checkMatrix(data.labelled, model.inputWidth);
  if (data.unlabelled) checkMatrix(data.unlabelled, model.inputWidth);
  if (data.labels.length !== data.labelled.rows) {
    throw new InputError(`${data.labels.length} labels for ${data.labelled.rows} labelled rows`, { field: 'labels', value: data.labels.length });
  }
  if (data.labelled.rows < 2) throw new InputError('a classifier needs at least 2 labelled rows', { field: 'labelled', value: data.labelled.rows });
}

/**
 * Trains a classifier of `kind` on the encoder of `model` (which is not changed).
 * @throws InputError for a bad option (naming the field and value), rows of the wrong width or with non-finite values,
 *   a label count that differs from the labelled rows, or fewer than 2 classes.
 */
export async function fitEncoderClassifier(
  model: Autoencoder, kind: EncoderClassifierKind, data: ClassifierData, options: EncoderClassifierOptions = {}, hooks: ClassifierHooks = {},
): Promise<EncoderClassifier> {
  if (!ENCODER_CLASSIFIERS.includes(kind)) throw new InputError(`must be one of ${ENCODER_CLASSIFIERS.join(', ')}`, { field: 'kind', value: kind });
  const config = resolveEncoderClassifierOptions(options);
  checkData(model, data);
  const classes = distinctLabels(data.labels).map(String);
  if (classes.length < 2) throw new InputError('a classifier needs at least 2 classes among the labels', { field: 'labels', value: classes.join(', ') });
  const index = new Map(classes.map((c, i) => [c, i]));
  const classIds = Int32Array.from(data.labels, (l) => index.get(l)!);
  const scale = (m: Matrix): Rows => ({ values: applyScaler(model.scaler, m.values, m.width), rows: m.rows, width: m.width });
  const labelled = scale(data.labelled);

  const { encoder, decoder } = model.copyStacks();
  const head = buildStack(headSpecs(model.codeSize, config.hidden, classes.length), config.seed);
  const history: ClassifierEpoch[] = [];
  const recorded: ClassifierHooks = {
    signal: hooks.signal,
    onEpoch: (p) => {
      history.push(p);
      return hooks.onEpoch?.(p);
    },
  };
  const random = seededRandom(config.seed);
  const phase = (steps: number, learningRate: number, noise: number, noiseSeed: number) =>
    ({ steps, learningRate, batchSize: config.batchSize, random, noise, noiseSeed });
  try {
    const codes = {
      values: mapBatches(labelled.values, labelled.rows, labelled.width, model.codeSize, tfjsForward(encoder), stackUnits(encoder)),
      rows: labelled.rows, width: model.codeSize, classIds, classes: classes.length,
    };
    await trainHead(head, codes, phase(config.headSteps, config.learningRate, config.codeNoise, config.seed * 100_003), recorded);
    if (kind !== 'frozen') {
      const reconstruction = kind === 'joint' && config.alpha > 0
        ? { decoder, alpha: config.alpha, loss: model.config.loss, rows: concatRows(labelled, data.unlabelled ? scale(data.unlabelled) : undefined) }
        : undefined;
      const settings = phase(config.tuneSteps, config.learningRate * config.tuneRate, config.noise, config.seed * 100_003 + 50_021);
      await tuneNetwork({ encoder, head, reconstruction }, { ...labelled, classIds, classes: classes.length }, settings, recorded);
    }
  } catch (error) {
    disposeStack(encoder);
    disposeStack(head);
    throw error;
  } finally {
    disposeStack(decoder);
  }
  return classifierOf(kind, config, classes, history, model, encoder, head);
}

function concatRows(a: Rows, b: Rows | undefined): Rows {
  if (!b || b.rows === 0) return a;
  const values = new Float32Array(a.values.length + b.values.length);
  values.set(a.values);
  values.set(b.values, a.values.length);
  return { values, rows: a.rows + b.rows, width: a.width };
}

function classifierOf(
  kind: EncoderClassifierKind, config: EncoderClassifierConfig, classes: string[], history: ClassifierEpoch[],
  model: Autoencoder, encoder: DenseLayer[], head: DenseLayer[],
): EncoderClassifier {
  const width = model.inputWidth;
  const classify = tfjsForward([...encoder, ...head], (logits) => tf.softmax(logits));
  let disposed = false;
  const probabilities = (rows: Matrix): Float32Array => {
    if (disposed) throw new Error('this classifier has been disposed');
    checkMatrix(rows, width);
    return mapBatches(applyScaler(model.scaler, rows.values, width), rows.rows, width, classes.length, classify, stackUnits([...encoder, ...head]));
  };
  return {
    kind, config, classes, history, probabilities,
    predict(rows) {
      const p = probabilities(rows);
      const k = classes.length;
      return Array.from({ length: rows.rows }, (_, i) => {
        let best = 0;
        for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
        return classes[best];
      });
    },
    encoderWeights: () => stackWeights(encoder),
    dispose() {
      if (disposed) return;
      disposed = true;
      disposeStack(encoder);
      disposeStack(head);
    },
  };
}
