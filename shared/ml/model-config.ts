/**
 * The autoencoder's options: one zod schema is both the runtime validation and the TypeScript type.
 * `ModelOptions` is what a user may give (everything optional); `resolveModelConfig` turns it plus the input width
 * into a `ModelConfig` with every default filled in and every cross-field rule checked.
 */
import { z } from 'zod';
import { ConfigError } from '../contracts/errors.js';

/** Activations accepted for hidden, code and output layers. */
export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'linear', 'leaky_relu', 'softplus'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const LOSSES = ['mse', 'bce'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
export const SCALERS = ['minmax', 'standard', 'none'] as const;
export const NOISE_KINDS = ['gaussian', 'mask'] as const;
export const LR_SCHEDULES = ['cosine', 'constant'] as const;
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

const width = z.number().int().positive();
const nonNegative = z.number().finite().nonnegative();

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
    encoder: z.array(width).min(1).optional(),
    /** Code size q (overrides the last encoder width). Default: the last encoder width, else 0.4·width rounded, in [2, 32]. */
    codeSize: width.optional(),
    /** Decoder hidden widths (the output layer is added). Default: the encoder's hidden widths mirrored. */
    decoder: z.array(width).optional(),
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
    /** Rows per training step. Default 64. */
    batchSize: width.default(64),
    /** Maximum training epochs. Default 200. */
    epochs: width.default(200),
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
  })
  .strict();

export type ModelOptions = z.input<typeof ModelOptionsSchema>;

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
