/**
 * The model options as command-line flags: one table gives each flag its field, parser and help, so the flags, their
 * help text and the names in error messages cannot drift apart.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../shared/contracts/errors.js';
import { ACTIVATIONS, DETECTORS, LOSSES, LR_SCHEDULES, NOISE_KINDS, OPTIMIZERS, SCALERS, TRAINERS, type ModelOptions } from '../shared/ml/model-config.js';

type Field = keyof ModelOptions;

interface Flag {
  flag: string;
  field: Field;
  help: string;
  parse?: (text: string) => unknown;
  choices?: readonly string[];
}

function number(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError(`not a number: ${JSON.stringify(text)}`);
  return value;
}

function widths(text: string): number[] {
  return text.split(',').map((part) => {
    const value = Number(part);
    if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`widths must be positive integers separated by commas, got ${JSON.stringify(text)}`);
    return value;
  });
}

export const MODEL_FLAGS: readonly Flag[] = [
  { flag: '--trainer <name>', field: 'trainer', choices: TRAINERS, help: 'backprop, or recirculation (Hinton & McClelland 1987: one sigmoid hidden layer, no back-propagation) (default backprop)' },
  { flag: '--regression <lambda>', field: 'regression', parse: number, help: 'recirculation: regression λ in [0, 1) mixing old and new activations (default 0.75)' },
  { flag: '--encoder <widths>', field: 'encoder', parse: widths, help: 'encoder layer widths, the last being the code size (default: from the input width)' },
  { flag: '--code-size <q>', field: 'codeSize', parse: number, help: 'code size q, < the input width (default: last encoder width, else 0.4·width in [2, 32])' },
  { flag: '--decoder <widths>', field: 'decoder', parse: widths, help: 'decoder hidden widths (default: the encoder mirrored)' },
  { flag: '--activation <name>', field: 'activation', choices: ACTIVATIONS, help: 'hidden activation (default elu)' },
  { flag: '--code-activation <name>', field: 'codeActivation', choices: ACTIVATIONS, help: 'code activation (default tanh)' },
  { flag: '--output-activation <name>', field: 'outputActivation', choices: ACTIVATIONS, help: 'output activation (default linear; sigmoid for bce)' },
  { flag: '--loss <name>', field: 'loss', choices: LOSSES, help: 'reconstruction loss (default mse)' },
  { flag: '--l1 <lambda>', field: 'l1', parse: number, help: 'L1 weight penalty λ·Σ|θ| (default 0)' },
  { flag: '--l2 <lambda>', field: 'l2', parse: number, help: 'L2 weight penalty λ·Σθ² (default 0)' },
  { flag: '--sparsity <lambda>', field: 'sparsity', parse: number, help: 'L1 activity penalty on the code (default 0)' },
  { flag: '--noise <amount>', field: 'noise', parse: number, help: 'denoising corruption: gaussian σ or masking rate (default 0.2)' },
  { flag: '--noise-kind <kind>', field: 'noiseKind', choices: NOISE_KINDS, help: 'corruption kind (default gaussian)' },
  { flag: '--optimizer <name>', field: 'optimizer', choices: OPTIMIZERS, help: 'optimizer (default adam)' },
  { flag: '--lr <rate>', field: 'learningRate', parse: number, help: 'initial learning rate (default 0.002; recirculation: its step ε, default 2)' },
  { flag: '--lr-schedule <name>', field: 'lrSchedule', choices: LR_SCHEDULES, help: 'learning-rate schedule (default cosine; recirculation constant)' },
  { flag: '--batch-size <n>', field: 'batchSize', parse: number, help: 'rows per step (default 64)' },
  { flag: '--epochs <n>', field: 'epochs', parse: number, help: 'maximum epochs (default 200)' },
  { flag: '--validation-split <fraction>', field: 'validationSplit', parse: number, help: 'share of training rows held out for validation (default 0.1)' },
  { flag: '--patience <n>', field: 'patience', parse: number, help: 'early-stopping patience in epochs, 0 = off (default 0)' },
  { flag: '--min-delta <d>', field: 'minDelta', parse: number, help: 'smallest improvement for early stopping (default 1e-5)' },
  { flag: '--scale <kind>', field: 'scale', choices: SCALERS, help: 'preprocessing fitted on training rows (default minmax)' },
  { flag: '--seed <n>', field: 'seed', parse: number, help: 'seed for initialisation, shuffling and splits (default 0)' },
  { flag: '--detector <name>', field: 'detector', choices: DETECTORS, help: 'anomaly score: ae (reconstruction error), iforest (isolation forest), vae (variational autoencoder) or ensemble (ae + iforest) (default ensemble)' },
];

/** Adds every model flag to a command. */
export function withModelFlags(command: Command): Command {
  for (const f of MODEL_FLAGS) {
    const option = new Option(f.flag, f.help);
    if (f.choices) option.choices(f.choices);
    if (f.parse) option.argParser(f.parse);
    command.addOption(option);
  }
  return command;
}

const optionKey = (flag: string) => flag.split(' ')[0].slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The model options a user gave on the command line (absent flags stay absent, so defaults apply). */
export function modelOptionsFrom(opts: Record<string, unknown>): ModelOptions {
  const out: Record<string, unknown> = {};
  for (const f of MODEL_FLAGS) {
    const value = opts[optionKey(f.flag)];
    if (value !== undefined) out[f.field] = value;
  }
  return out;
}

/** Rewrites a ConfigError's option field names into the flags the user typed. */
export function inFlagTerms(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  let message = error.message;
  for (const f of MODEL_FLAGS) message = message.replace(new RegExp(`\\b${f.field}\\b`, 'g'), f.flag.split(' ')[0]);
  return new ConfigError(message, { cause: error });
}
