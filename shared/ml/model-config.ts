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

const width = z.number().int().positive();
const nonNegative = z.number().finite().nonnegative();

export const ModelOptionsSchema = z
  .object({
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
    /** Initial learning rate. Default 0.002. */
    learningRate: z.number().finite().positive().default(0.002),
    /** Learning-rate schedule over the epochs: cosine decay to 1% of the initial rate, or constant. Default cosine. */
    lrSchedule: z.enum(LR_SCHEDULES).default('cosine'),
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
export interface ModelConfig extends Omit<z.output<typeof ModelOptionsSchema>, 'encoder' | 'decoder' | 'codeSize' | 'outputActivation'> {
  inputWidth: number;
  encoder: number[];
  decoder: number[];
  codeSize: number;
  outputActivation: Activation;
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
  const q = o.codeSize ?? o.encoder?.at(-1) ?? Math.max(2, Math.min(32, Math.round(inputWidth * 0.4)));
  if (q >= inputWidth) {
    throw new ConfigError(`code size ${q} must be smaller than the input width ${inputWidth} (field "codeSize" or the last "encoder" width)`);
  }
  const hidden = o.encoder ? o.encoder.slice(0, -1) : defaultHidden(inputWidth, q);
  const encoder = [...hidden, q];
  const decoder = o.decoder ?? [...hidden].reverse();
  const outputActivation = o.outputActivation ?? (o.loss === 'bce' ? 'sigmoid' : 'linear');
  if (o.loss === 'bce' && outputActivation !== 'sigmoid') {
    throw new ConfigError(`loss "bce" needs outputs in [0, 1]: field "outputActivation" must be sigmoid, not ${outputActivation}`);
  }
  if (o.noiseKind === 'mask' && o.noise >= 1) {
    throw new ConfigError(`field "noise": a masking rate must be below 1, got ${o.noise}`);
  }
  return { ...o, inputWidth, encoder, decoder, codeSize: q, outputActivation };
}
