/**
 * The autoencoder's options: one zod schema is both the runtime validation and the TypeScript type.
 * `ModelOptions` is what a user may give (everything optional); `resolveModelConfig` turns it plus the input width
 * into a `ModelConfig` with every default filled in and every cross-field rule checked.
 *
 * Size limits (MODEL_LIMITS of shared/contracts/limits.ts, and {@link STEP_VALUES_LIMIT}): the schema bounds each
 * width, the layer counts, epochs and batch size; `resolveModelConfig` bounds the input width, the network's
 * parameters and the values one training step computes. Both run before anything is allocated, so no options can
 * exhaust the memory of the process that trains (a wasm runtime that runs out of memory is broken for good).
 */
import { z } from 'zod';
import { ConfigError } from '../contracts/errors.js';
import { MODEL_LIMITS } from '../contracts/limits.js';

/** Activations accepted for hidden, code and output layers. */
export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'linear', 'leaky_relu', 'softplus'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const LOSSES = ['mse', 'bce'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
export const SCALERS = ['minmax', 'standard', 'none'] as const;
export const NOISE_KINDS = ['gaussian', 'mask'] as const;
export const LR_SCHEDULES = ['cosine', 'constant'] as const;
/** The anomaly scores a model can give (shared/ml/detector.ts). */
export const DETECTORS = ['ae', 'iforest', 'vae', 'ensemble'] as const;
export type DetectorName = (typeof DETECTORS)[number];
/** How the weights are learned: back-propagation, or recirculation (Hinton & McClelland 1987, ./recirculation.ts). */
export const TRAINERS = ['backprop', 'recirculation'] as const;
export type Trainer = (typeof TRAINERS)[number];

/**
 * The defaults that depend on `trainer`. backprop: Adam's rate, cosine-decayed. recirculation: the paper's regression
 * λ = 0.75 and constant step; ε = 2 from a sweep on digits (hidden 16, batch 64, 200 epochs; bench/results/recirculation.md).
 */
export const TRAINER_DEFAULTS = {
  backprop: { learningRate: 0.002, lrSchedule: 'cosine' },
  recirculation: { learningRate: 2, lrSchedule: 'constant', regression: 0.75 },
} as const satisfies Record<Trainer, { learningRate: number; lrSchedule: (typeof LR_SCHEDULES)[number]; regression?: number }>;

/**
 * Values (rows × units, where units are the widths of every layer, input and output included) one step may compute:
 * a training step's batch, or one slice of inference. The parameter limit alone leaves this open: 64-65536-2-65536-64
 * has 8.8M parameters, yet 2,048 rows per step (2^28 values) broke the plain wasm runtime ("memory access out of
 * bounds"; its heap cannot pass 4 GiB). Measured there, a tfjs training step costs ~31 bytes per value: peak RSS
 * 0.84 GB at 2^24 values, 1.46 GB at 2^25, 2.5 GB at 2^26. Belongs in MODEL_LIMITS (shared/contracts/limits.ts).
 */
export const STEP_VALUES_LIMIT = MODEL_LIMITS.stepValues;

/** A count as the limit messages print it: 20,000,000. */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

const width = z.number().int().positive().max(MODEL_LIMITS.layerWidth, {
  error: (issue) => `${formatCount(Number(issue.input))} units: a layer may have at most ${formatCount(MODEL_LIMITS.layerWidth)}`,
});
const nonNegative = z.number().finite().nonnegative();

/** At most `most` layer widths; `what` names them in the message. */
const widths = (most: number, what: string) => z.array(width).max(most, {
  error: (issue) => `${(issue.input as unknown[]).length} ${what}: the limit is ${most}`,
});

export const ModelOptionsSchema = z
  .object({
    /**
     * How the weights are learned. Default backprop: gradient descent on the loss with `optimizer`. recirculation
     * (Hinton & McClelland 1987): one sigmoid hidden layer (the code) and sigmoid outputs, learned without
     * back-propagation. It uses codeSize (or a one-width encoder), learningRate (its step ε), lrSchedule, regression,
     * epochs, batchSize, validationSplit, scale (inputs must lie in [0, 1]: minmax) and seed, and rejects what it
     * cannot honour: more layers, other activations, bce, noise, l1, l2, sparsity, patience, another optimizer.
     */
    trainer: z.enum(TRAINERS).default('backprop'),
    /** recirculation only: regression λ in [0, 1), the share of the old activation kept on the second pass. Default 0.75 (the paper's). */
    regression: z.number().min(0).lt(1).optional(),
    /** Encoder layer widths; the last is the code size q. Default: hidden widths from the input width, then q. */
    encoder: widths(MODEL_LIMITS.layers, 'encoder layers').min(1).optional(),
    /** Code size q (overrides the last encoder width). Default: the last encoder width, else 0.4·width rounded, in [2, 32]. */
    codeSize: width.optional(),
    /** Decoder hidden widths (the output layer is added, so at most MODEL_LIMITS.layers − 1). Default: the encoder's hidden widths mirrored. */
    decoder: widths(MODEL_LIMITS.layers - 1, 'decoder hidden layers (its output layer comes on top)').optional(),
    /** Hidden-layer activation. Default elu. */
    activation: z.enum(ACTIVATIONS).default('elu'),
    /** Code-layer activation. Default tanh (bounded codes cluster better than linear ones; measured on digits). */
    codeActivation: z.enum(ACTIVATIONS).default('tanh'),
    /** Output activation. Default sigmoid for bce, linear for mse. */
    outputActivation: z.enum(ACTIVATIONS).optional(),
    /** Reconstruction loss. Default mse. bce needs a sigmoid output and inputs in [0, 1]. */
    loss: z.enum(LOSSES).default('mse'),
    /** L1 weight penalty λ·Σ|θ| over kernel weights. Default 0. */
    l1: nonNegative.default(0),
    /** L2 weight penalty λ·Σθ² over kernel weights. Default 0. */
    l2: nonNegative.default(0),
    /** L1 activity penalty on the code (sparse autoencoder): λ·mean over rows of Σ|code|. Default 0. */
    sparsity: nonNegative.default(0),
    /** Input corruption for a denoising autoencoder: gaussian σ (in scaled units), or masking rate in [0, 1). Default 0.2. */
    noise: nonNegative.default(0.2),
    /** Kind of corruption applied when noise > 0. Default gaussian. */
    noiseKind: z.enum(NOISE_KINDS).default('gaussian'),
    /** Optimizer. Default adam. */
    optimizer: z.enum(OPTIMIZERS).default('adam'),
    /** Initial learning rate (recirculation: its step ε). Default 0.002; recirculation 2. */
    learningRate: z.number().finite().positive().optional(),
    /** Learning-rate schedule over the epochs: cosine decay to 1% of the initial rate, or constant. Default cosine; recirculation constant (the paper's). */
    lrSchedule: z.enum(LR_SCHEDULES).optional(),
    /** Rows per training step, at most MODEL_LIMITS.batchSize (and {@link STEP_VALUES_LIMIT} values per step). Default 64. */
    batchSize: z.number().int().positive().max(MODEL_LIMITS.batchSize, {
      error: (issue) => `${formatCount(Number(issue.input))} rows per step: the limit is ${formatCount(MODEL_LIMITS.batchSize)}`,
    }).default(64),
    /** Maximum training epochs, at most MODEL_LIMITS.epochs. Default 200. */
    epochs: z.number().int().positive().max(MODEL_LIMITS.epochs, {
      error: (issue) => `${formatCount(Number(issue.input))} epochs: the limit is ${formatCount(MODEL_LIMITS.epochs)}`,
    }).default(200),
    /** Fraction of the training rows held out to measure validation loss (and pick the threshold). Default 0.1. */
    validationSplit: z.number().min(0).max(0.5).default(0.1),
    /** Early stopping: epochs without an improvement of at least minDelta before stopping; 0 disables. Default 0. */
    patience: z.number().int().nonnegative().default(0),
    /** Smallest validation-loss decrease that counts as an improvement. Default 1e-5. */
    minDelta: nonNegative.default(1e-5),
    /** Preprocessing fitted on the training rows and stored with the model. Default minmax. */
    scale: z.enum(SCALERS).default('minmax'),
    /** Seed for weight initialisation, shuffling, validation split and noise. Default 0. */
    seed: z.number().int().nonnegative().default(0),
    /**
     * The anomaly score (shared/ml/detector.ts): ae (reconstruction error), iforest, vae or ensemble (ae + iforest).
     * Default ensemble: the best mean AUROC on Fashion-MNIST and wine one-class, within 0.002 on digits and
     * breast_cancer (bench/results/detect.md).
     */
    detector: z.enum(DETECTORS).default('ensemble'),
  })
  .strict();

export type ModelOptions = z.input<typeof ModelOptionsSchema>;

/**
 * Model options validated as given, without filling in defaults (what job payloads carry): {@link resolveModelConfig}
 * fills them, and must see which options a user set (recirculation refuses a noise or activation set by hand, not the
 * backprop defaults). Problems are reported under the same field paths as {@link ModelOptionsSchema}'s.
 */
export const ModelOptionsInputSchema = z.custom<ModelOptions>().superRefine((value, ctx) => {
  const parsed = ModelOptionsSchema.safeParse(value);
  if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});

/** Options with every default resolved for a given input width. */
export interface ModelConfig extends Omit<z.output<typeof ModelOptionsSchema>, 'encoder' | 'decoder' | 'codeSize' | 'outputActivation' | 'learningRate' | 'lrSchedule' | 'regression'> {
  inputWidth: number;
  encoder: number[];
  decoder: number[];
  codeSize: number;
  outputActivation: Activation;
  learningRate: number;
  lrSchedule: (typeof LR_SCHEDULES)[number];
  /** recirculation's λ; absent for backprop. */
  regression?: number;
}

/** Default hidden widths: four times the input (capped at 256, at least 4·q), then the input width (at least 2·q). */
function defaultHidden(inputWidth: number, q: number): number[] {
  const first = Math.max(4 * q, Math.min(256, 4 * inputWidth));
  const second = Math.max(2 * q, Math.min(inputWidth, Math.floor(first / 2)));
  return [first, second];
}

/** Zod issues as one line naming each field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'options'}: ${i.message}`).join('; ');
}

/** Validates options and fills every default for an input of `inputWidth` features. Throws ConfigError naming the field. */
export function resolveModelConfig(options: ModelOptions, inputWidth: number): ModelConfig {
  const parsed = ModelOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(`invalid model options: ${describeIssues(parsed.error)}`);
  const o = parsed.data;
  const recirculation = o.trainer === 'recirculation';
  const conflicts = recirculation ? recirculationConflicts(options, o)
    : o.regression !== undefined ? ['field "regression" applies to trainer "recirculation" only'] : [];
  if (conflicts.length > 0) throw new ConfigError(`invalid model options: ${conflicts.join('; ')}`);
  const q = o.codeSize ?? o.encoder?.at(-1) ?? Math.max(2, Math.min(32, Math.round(inputWidth * 0.4)));
  if (q >= inputWidth) {
    throw new ConfigError(`code size ${q} must be smaller than the input width ${inputWidth} (field "codeSize" or the last "encoder" width)`);
  }
  const hidden = o.encoder ? o.encoder.slice(0, -1) : recirculation ? [] : defaultHidden(inputWidth, q);
  const encoder = [...hidden, q];
  const decoder = o.decoder ?? [...hidden].reverse();
  const tooLarge = networkSizeProblems([inputWidth, ...encoder, ...decoder, inputWidth], o.batchSize);
  if (tooLarge.length > 0) throw new ConfigError(`invalid model options: ${tooLarge.join('; ')}`);
  const outputActivation = o.outputActivation ?? (recirculation || o.loss === 'bce' ? 'sigmoid' : 'linear');
  if (o.loss === 'bce' && outputActivation !== 'sigmoid') {
    throw new ConfigError(`loss "bce" needs outputs in [0, 1]: field "outputActivation" must be sigmoid, not ${outputActivation}`);
  }
  if (o.noiseKind === 'mask' && o.noise >= 1) {
    throw new ConfigError(`field "noise": a masking rate must be below 1, got ${o.noise}`);
  }
  const defaults = TRAINER_DEFAULTS[o.trainer];
  const resolved = { learningRate: o.learningRate ?? defaults.learningRate, lrSchedule: o.lrSchedule ?? defaults.lrSchedule };
  if (!recirculation) return { ...o, inputWidth, encoder, decoder, codeSize: q, outputActivation, ...resolved };
  return {
    ...o, inputWidth, encoder, decoder, codeSize: q, codeActivation: 'sigmoid', outputActivation, noise: 0, ...resolved,
    regression: o.regression ?? TRAINER_DEFAULTS.recirculation.regression,
  };
}

/** The widths of every layer of a resolved network, input first and output last. */
export function networkLayers(config: Pick<ModelConfig, 'inputWidth' | 'encoder' | 'decoder'>): number[] {
  return [config.inputWidth, ...config.encoder, ...config.decoder, config.inputWidth];
}

/** Weights and biases of the dense layers `layers[0] → layers[1] → …` (`layers[0]` is the input width). */
export function denseParameters(layers: readonly number[]): number {
  let total = 0;
  for (let i = 1; i < layers.length; i++) total += layers[i - 1] * layers[i] + layers[i];
  return total;
}

/** How {@link networkSizeProblems} names the input's units and what to change. */
export interface SizeTerms {
  /** What the input's units are, e.g. `features`. */
  input: string;
  /** Advice when the network has too many parameters. */
  remedy: string;
}

/**
 * Why a dense network of `layers` (widths, input first, output last) trained `batchSize` rows per step is too large,
 * one message per problem (empty when it fits): an input wider than MODEL_LIMITS.layerWidth, more than
 * MODEL_LIMITS.parameters weights and biases, or more than {@link STEP_VALUES_LIMIT} values per training step (checked
 * only when the network itself fits).
 */
export function networkSizeProblems(
  layers: readonly number[], batchSize: number, terms: SizeTerms = { input: 'features', remedy: 'use fewer features or narrower layers' },
): string[] {
  const problems: string[] = [];
  const shape = layers.join('-');
  if (layers[0] > MODEL_LIMITS.layerWidth) {
    problems.push(`the input has ${formatCount(layers[0])} ${terms.input}: a layer (the input included) may have at most ${formatCount(MODEL_LIMITS.layerWidth)} units`);
  }
  const parameters = denseParameters(layers);
  if (parameters > MODEL_LIMITS.parameters) {
    problems.push(`the network ${shape} has ${formatCount(parameters)} parameters; the limit is ${formatCount(MODEL_LIMITS.parameters)}: ${terms.remedy}`);
  }
  if (problems.length > 0) return problems;
  const units = layers.reduce((sum, w) => sum + w, 0);
  if (batchSize * units > STEP_VALUES_LIMIT) {
    problems.push(`field "batchSize": ${formatCount(batchSize)} rows per step through the ${formatCount(units)} units of the network ${shape} `
      + `are ${formatCount(batchSize * units)} values; the limit is ${formatCount(STEP_VALUES_LIMIT)}: use a batchSize of at most `
      + `${formatCount(Math.floor(STEP_VALUES_LIMIT / units))}, or narrower layers`);
  }
  return problems;
}

/** Rows of one inference slice through a network of `units` units in all: `most`, fewer when a slice would pass {@link STEP_VALUES_LIMIT} values. */
export function stepRows(units: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(STEP_VALUES_LIMIT / units)));
}

/**
 * What `trainer: 'recirculation'` cannot honour, one message per option: an architecture other than one sigmoid hidden
 * layer, bce, and backprop-only options moved off their defaults (`options` are as given, `o` as parsed).
 */
function recirculationConflicts(options: ModelOptions, o: z.output<typeof ModelOptionsSchema>): string[] {
  const trainer = 'trainer "recirculation"';
  const conflicts: string[] = [];
  if (o.encoder && o.encoder.length > 1) conflicts.push(`field "encoder": ${trainer} learns one hidden layer, the code: give one width or "codeSize", not ${o.encoder.join(',')}`);
  if (o.decoder && o.decoder.length > 0) conflicts.push(`field "decoder": ${trainer} has no hidden layers between the code and the output, got ${o.decoder.join(',')}`);
  for (const field of ['codeActivation', 'outputActivation'] as const) {
    const given = options[field];
    if (given !== undefined && given !== 'sigmoid') conflicts.push(`field "${field}": ${trainer} uses sigmoid units, not ${given}`);
  }
  if (o.loss !== 'mse') conflicts.push(`field "loss": ${trainer} reduces the squared reconstruction error (mse), not ${o.loss}`);
  if (options.noise !== undefined && options.noise > 0) conflicts.push(`field "noise": ${trainer} does not corrupt its inputs`);
  for (const field of ['l1', 'l2', 'sparsity'] as const) {
    if (o[field] > 0) conflicts.push(`field "${field}": ${trainer} has no penalty terms`);
  }
  if (o.patience > 0) conflicts.push(`field "patience": ${trainer} has no early stopping`);
  if (o.optimizer !== 'adam') conflicts.push(`field "optimizer": ${trainer} steps by its own rule (its step size is "learningRate")`);
  return conflicts;
}
