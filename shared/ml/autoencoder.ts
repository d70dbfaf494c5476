/**
 * A trained autoencoder with its preprocessing, threshold and history: the object every service and command uses.
 * All inputs and outputs are plain Float32Arrays in the caller's units; scaling happens inside. Errors are measured
 * in the scaled space (so features weigh equally) with the model's loss (mse or bce), averaged over features.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { InputError } from '../contracts/errors.js';
import { artifactError, checkWeightShapes, decodeArtifact, encodeArtifact, parseHeader } from './artifact.js';
import { cellErrors } from './loss.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { ACTIVATIONS, DETECTORS, LOSSES, networkLayers, resolveModelConfig, SCALERS, stepRows, type ModelConfig, type ModelOptions } from './model-config.js';
import { buildStack, disposeOnFailure, disposeStack, forward, INFERENCE_BATCH, mapBatches, restoreStack, specsOf, stackWeights, tfjsForward, type DenseLayer, type LayerSpec } from './network.js';
import { nativeInference, type NativeInference } from './native-train.js';
import { applyScaler, fitScaler, invertScaler, type Scaler } from './scaler.js';
import { estimateThreshold, type Threshold, type ThresholdMethod } from './threshold.js';
import { CALIBRATION_SCORES } from './calibration.js';
import { Detector, type DetectorHeader, type ScoreParts } from './detector.js';
import { VAE_EPOCHS, VAE_LEARNING_RATE } from './vae.js';
import { gatherRows, permutation, seededRandom } from './random.js';
import { trainRecirculation, type RecirculationOptions } from './recirculation.js';
import { backpropEngine, trainStacks, type FitHooks, type TrainingData, type TrainingHistory, type TrainingOutcome } from './train.js';

const BATCH = INFERENCE_BATCH;
/** Held-out rows enough to calibrate a detector on (a 1% cut is then its largest score; the tail fit goes further). */
const HELD_OUT_CALIBRATION_ROWS = 100;
/**
 * Training rows up to which a detector with fewer held-out rows is calibrated by cross-fitting: small tables, whose
 * five extra trainings cost little (a 1,797-row table, 200 epochs, would take six times as long as its training).
 */
const CROSS_FIT_MAX_ROWS = 1000;
const CROSS_FIT_FOLDS = 5;
const ARTIFACT_FORMAT = 1;

/**
 * Per-row reconstruction errors and anomaly scores (the detector's: for detector `ae` the same array), and when asked
 * for, per-cell errors (rows × width) and the codes (rows × codeSize).
 */
export interface Scores {
  errors: Float32Array;
  scores: Float32Array;
  cellErrors?: Float32Array;
  codes?: Float32Array;
}

export interface FitOptions extends FitHooks {
  /** How the anomaly threshold is estimated from the validation rows' anomaly scores (all training rows without validation rows). */
  threshold?: ThresholdMethod;
}

interface ArtifactHeader {
  format: number;
  kind: 'autoencoder';
  config: ModelConfig;
  features: string[];
  scaler: Scaler;
  threshold: Threshold | null;
  history: TrainingHistory;
  fingerprint: string;
  encoder: LayerSpec[];
  decoder: LayerSpec[];
  createdAt: string;
  /** Absent in models saved before detectors existed (they score by reconstruction error, uncalibrated). */
  detector?: DetectorHeader;
}

const count = z.number().int().positive();
const finite = z.number().finite();
const LayerSpecSchema = z.object({ inputs: count, units: count, activation: z.enum(ACTIVATIONS) });

/** What a loaded artifact header must hold before a model is built from it; other fields pass through unchecked. */
const ArtifactHeaderSchema = z.looseObject({
  config: z.looseObject({ inputWidth: count, codeSize: count, encoder: z.array(count).min(1), decoder: z.array(count), loss: z.enum(LOSSES) }),
  features: z.array(z.string()),
  scaler: z.object({ kind: z.enum(SCALERS), offset: z.array(finite), divisor: z.array(finite.refine((v) => v !== 0, 'must not be 0')) }),
  threshold: z.looseObject({ value: finite }).nullable().optional(),
  // Losses may be null: JSON writes a NaN loss (a diverged epoch) as null.
  history: z.looseObject({ epochs: z.array(z.looseObject({ epoch: z.number(), loss: z.number().nullable() })), bestEpoch: z.number().int() }),
  fingerprint: z.string(),
  encoder: z.array(LayerSpecSchema),
  decoder: z.array(LayerSpecSchema),
  createdAt: z.string(),
  detector: z.object({
    kind: z.enum(DETECTORS),
    calibrationRows: z.number().int().nonnegative(),
    ensemble: z.object({ ae: z.object({ center: finite, spread: finite }), iforest: z.object({ center: finite, spread: finite }) }).optional(),
    forest: z.object({ sampleSize: count, trees: count, nodes: count }).optional(),
    vae: z.object({ encoder: z.array(LayerSpecSchema).max(64), decoder: z.array(LayerSpecSchema).max(64), seed: z.number().int() }).optional(),
  }).optional(),
});

interface WeightShape { name: string; shape: number[] }

/** The kernel and bias shapes of a stack's layers, named `<part> layer <i> kernel|bias`, in weight order. */
function layerShapes(part: string, specs: readonly { inputs: number; units: number }[]): WeightShape[] {
  return specs.flatMap((spec, i) => [{ name: `${part} layer ${i + 1} kernel`, shape: [spec.inputs, spec.units] }, { name: `${part} layer ${i + 1} bias`, shape: [spec.units] }]);
}

/**
 * The header of an autoencoder artifact, checked against its weights: the layer specs follow from the widths in its
 * config (input → encoder widths → code → decoder widths → input), every kernel and bias has the length its layer
 * calls for, and the features and the scaler have one entry per input. Anything else is an InputError naming `source`.
 */
function checkArtifact(raw: unknown, weights: readonly Float32Array[], source: string): ArtifactHeader {
  const header = parseHeader(ArtifactHeaderSchema, raw, source);
  const { inputWidth, codeSize, encoder, decoder } = header.config;
  const fail = (problem: string) => artifactError(source, problem);
  if (encoder.at(-1) !== codeSize) throw fail(`its config's last encoder width ${encoder.at(-1)} is not its code size ${codeSize}`);
  for (const [what, n] of [['features', header.features.length], ['scaler offsets', header.scaler.offset.length], ['scaler divisors', header.scaler.divisor.length]] as const) {
    if (n !== inputWidth) throw fail(`${n} ${what} for an input width of ${inputWidth}`);
  }
  const chain = (first: number, units: number[]) => units.map((u, i) => ({ inputs: i === 0 ? first : units[i - 1], units: u }));
  const stacks = { encoder: [header.encoder, chain(inputWidth, encoder)], decoder: [header.decoder, chain(codeSize, [...decoder, inputWidth])] } as const;
  const shapes: WeightShape[] = [];
  for (const [part, [specs, expected]] of Object.entries(stacks)) {
    if (specs.length !== expected.length) throw fail(`${specs.length} ${part} layers, the widths in its config call for ${expected.length}`);
    specs.forEach((spec, i) => {
      const e = expected[i];
      if (spec.inputs !== e.inputs || spec.units !== e.units) {
        throw fail(`${part} layer ${i + 1} is ${spec.inputs}×${spec.units}, the widths in its config call for ${e.inputs}×${e.units}`);
      }
    });
    shapes.push(...layerShapes(part, specs));
  }
  const detector = header.detector;
  if (detector) {
    const n = CALIBRATION_SCORES;
    shapes.push({ name: 'detector medians', shape: [inputWidth] });
    const reference = weights[shapes.length];
    if (reference !== undefined && reference.length > n) throw fail(`${reference.length} detector reference scores, at most ${n}`);
    shapes.push({ name: 'detector reference scores', shape: [reference?.length ?? 0] });
    if (detector.forest) {
      const { nodes, trees } = detector.forest;
      for (const part of ['features', 'values', 'children']) shapes.push({ name: `isolation forest ${part}`, shape: [nodes] });
      shapes.push({ name: 'isolation forest roots', shape: [trees] });
    }
    if (detector.vae) {
      const { encoder: venc, decoder: vdec } = detector.vae;
      const chainOk = (specs: { inputs: number; units: number }[], first: number, last: number) =>
        specs.length > 0 && specs[0].inputs === first && specs.at(-1)!.units === last && specs.every((l, i) => i === 0 || l.inputs === specs[i - 1].units);
      const code = vdec[0]?.inputs ?? 0;
      if (!chainOk(venc, inputWidth, 2 * code) || !chainOk(vdec, code, inputWidth)) throw fail('its VAE layers do not chain from the input to a code and back');
      shapes.push(...layerShapes('VAE encoder', venc), ...layerShapes('VAE decoder', vdec));
    }
  }
  checkWeightShapes(weights, shapes, source);
  // The header as written (the parsed copy reorders keys): a model saved again gives the same bytes.
  const written = raw as { threshold?: unknown };
  return { ...written, threshold: written.threshold ?? null } as unknown as ArtifactHeader;
}

/** sha256 over the width, feature names and raw values: identifies the training data without storing it. */
export function dataFingerprint(data: Matrix): string {
  const hash = createHash('sha256');
  hash.update(`${data.width}\n${(data.features ?? []).join(',')}\n`);
  hash.update(Buffer.from(data.values.buffer, data.values.byteOffset, data.values.byteLength));
  return hash.digest('hex');
}

export class Autoencoder {
  /** Scaling and the stacks' forward passes on the native addon, made on first use; null where unavailable (tfjs). */
  private native?: NativeInference | null;

  private constructor(
    readonly config: ModelConfig,
    readonly features: string[],
    readonly scaler: Scaler,
    private readonly encoder: DenseLayer[],
    private readonly decoder: DenseLayer[],
    readonly history: TrainingHistory,
    public threshold: Threshold | null,
    readonly fingerprint: string,
    readonly createdAt: string,
    readonly detector: Detector,
  ) {}

  get inputWidth(): number { return this.config.inputWidth; }
  get codeSize(): number { return this.config.codeSize; }

  /** Copies of the encoder and decoder stacks (new variables the caller owns and disposes); this model is untouched. */
  copyStacks(): { encoder: DenseLayer[]; decoder: DenseLayer[] } {
    const copy = (stack: DenseLayer[]) => restoreStack(specsOf(stack), stackWeights(stack));
    return { encoder: copy(this.encoder), decoder: copy(this.decoder) };
  }

  /**
   * Trains a new model on `data` (the scaler is fitted on it too) and calibrates its detector on rows it did not
   * train on (see {@link calibrationParts}), from which the threshold is estimated.
   */
  static async fit(data: Matrix, options: ModelOptions = {}, fitOptions: FitOptions = {}): Promise<Autoencoder> {
    const { model, validationIndex } = await Autoencoder.train(data, options, fitOptions);
    try {
      const parts = await model.calibrationParts(data, validationIndex, options, fitOptions.signal);
      model.threshold = estimateThreshold(model.detector.calibrate(parts), fitOptions.threshold);
      return model;
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  /** The network trained on `data` and its detector fitted on the training rows without the validation rows; uncalibrated. */
  private static async train(data: Matrix, options: ModelOptions, fitOptions: FitHooks): Promise<{ model: Autoencoder; validationIndex: Uint32Array }> {
    checkMatrix(data);
    if (data.rows < 2) throw new InputError(`training needs at least 2 rows, got ${data.rows}`, { source: data.source });
    const config = resolveModelConfig(options, data.width);
    const scaler = fitScaler(config.scale, data.values, data.rows, data.width);
    const scaled = applyScaler(scaler, data.values, data.width);
    if (config.loss === 'bce') assertUnitRange(scaled, data, 'loss "bce" needs inputs in [0, 1] after scaling; use --scale minmax or --loss mse');
    if (config.trainer === 'recirculation') assertUnitRange(scaled, data, 'trainer "recirculation" needs inputs in [0, 1] after scaling (its units are sigmoid); use --scale minmax');
    const training = { values: scaled, rows: data.rows, width: data.width };
    const { encoder, decoder, history, validationIndex } = config.trainer === 'recirculation'
      ? await trainRecirculation(training, recirculationOptions(config), fitOptions)
      : await backpropagate(training, config, fitOptions);
    try {
      const features = data.features ?? Array.from({ length: data.width }, (_, j) => `f${j + 1}`);
      const held = new Uint8Array(data.rows);
      for (const i of validationIndex) held[i] = 1;
      const trainIndex = validationIndex.length > 0 ? Array.from({ length: data.rows }, (_, i) => i).filter((i) => held[i] === 0) : undefined;
      const fitRows = trainIndex ? gatherRows(scaled, data.width, trainIndex) : scaled;
      const vae = {
        shape: { hidden: config.encoder.slice(0, -1), code: config.codeSize },
        training: { epochs: Math.min(VAE_EPOCHS, config.epochs), batchSize: config.batchSize, learningRate: VAE_LEARNING_RATE, seed: config.seed },
      };
      const detector = await Detector.fit(config.detector, fitRows, trainIndex?.length ?? data.rows, data.width, config.seed, vae);
      const model = new Autoencoder(config, features, scaler, encoder, decoder, history, null, dataFingerprint(data), new Date().toISOString(), detector);
      return { model, validationIndex };
    } catch (error) {
      disposeStack(encoder);
      disposeStack(decoder);
      throw error;
    }
  }

  /**
   * The score components of rows no model trained on, to calibrate the detector: the validation rows when there are
   * at least HELD_OUT_CALIBRATION_ROWS of them; else, for up to CROSS_FIT_MAX_ROWS rows, out-of-fold scores of every
   * row from CROSS_FIT_FOLDS models each trained on the other folds (cross-conformal calibration: a few dozen held-out
   * rows cannot place a 1% cut, and small tables train fast); else the validation rows, or the training rows when
   * there are none (then p-values are optimistic: training rows score lower than new ones).
   */
  private async calibrationParts(data: Matrix, validationIndex: Uint32Array, options: ModelOptions, signal?: AbortSignal): Promise<ScoreParts> {
    const rowsOf = (index: ArrayLike<number>) => ({ values: gatherRows(data.values, data.width, index), rows: index.length, width: data.width });
    if (validationIndex.length >= HELD_OUT_CALIBRATION_ROWS || data.rows > CROSS_FIT_MAX_ROWS || data.rows < 2 * CROSS_FIT_FOLDS) {
      return this.scoreParts(validationIndex.length > 0 ? rowsOf(validationIndex) : data);
    }
    const order = permutation(data.rows, seededRandom(`calibration:${this.config.seed}`));
    const ae = new Float32Array(data.rows);
    const kind = this.config.detector;
    const iforest = kind === 'iforest' || kind === 'ensemble' ? new Float32Array(data.rows) : undefined;
    const vae = kind === 'vae' ? new Float32Array(data.rows) : undefined;
    for (let fold = 0; fold < CROSS_FIT_FOLDS; fold++) {
      const out = Array.from(order).filter((_, k) => k % CROSS_FIT_FOLDS === fold);
      const inFold = new Set(out);
      const rest = Array.from({ length: data.rows }, (_, i) => i).filter((i) => !inFold.has(i));
      const { model } = await Autoencoder.train(rowsOf(rest), options, { signal });
      try {
        const parts = model.scoreParts(rowsOf(out));
        out.forEach((row, k) => {
          ae[row] = parts.ae[k];
          if (iforest) iforest[row] = parts.iforest![k];
          if (vae) vae[row] = parts.vae![k];
        });
      } finally {
        model.dispose();
      }
    }
    return { ae, iforest, vae };
  }

  /** Latent codes, rows × codeSize. */
  encode(data: Matrix): Float32Array {
    checkMatrix(data, this.inputWidth);
    const run = this.inference();
    return mapBatches(run.scale(data.values, data.rows), data.rows, this.inputWidth, this.codeSize, run.encoder, this.units);
  }

  /** Reconstructions in the input's units from codes (rows × codeSize). */
  decode(codes: Float32Array, rows: number): Float32Array {
    checkMatrix({ values: codes, rows, width: this.codeSize, source: 'codes' });
    const scaled = mapBatches(codes, rows, this.codeSize, this.inputWidth, this.inference().decoder, this.units);
    return invertScaler(this.scaler, scaled, this.inputWidth);
  }

  /** Reconstructions of `data` in its own units. */
  reconstruct(data: Matrix): Float32Array {
    checkMatrix(data, this.inputWidth);
    const run = this.inference();
    const out = mapBatches(run.scale(data.values, data.rows), data.rows, this.inputWidth, this.inputWidth, (x, n) => run.decoder(run.encoder(x, n), n), this.units);
    return invertScaler(this.scaler, out, this.inputWidth);
  }

  /**
   * Reconstruction error per row (mean over features of the model's loss, in the scaled space); per cell and the codes
   * on request, from the same forward pass (so a caller needing codes and errors does not encode twice).
   */
  score(data: Matrix, options: { cells?: boolean; codes?: boolean } = {}): Scores {
    checkMatrix(data, this.inputWidth);
    const scaled = this.scale(data);
    const pass = this.pass(scaled, data.rows, options);
    return { ...pass, scores: this.detector.scores(pass.errors, scaled, data.rows) };
  }

  /** The parts of an ensemble's score: reconstruction errors and, with a forest, its scores (for comparisons). */
  scoreParts(data: Matrix): ScoreParts {
    checkMatrix(data, this.inputWidth);
    const scaled = this.scale(data);
    return this.detector.parts(this.pass(scaled, data.rows, {}).errors, scaled, data.rows);
  }

  /** P-values of anomaly scores against the validation rows (shared/ml/calibration.ts); undefined for an uncalibrated model. */
  pValues(scores: ArrayLike<number>): Float64Array | undefined {
    return this.detector.pValues(scores);
  }

  /**
   * Per-feature attribution of each row's anomaly score, by occlusion: how much the score falls when that feature
   * alone is set to its training median (in the scaled space), for every detector alike; the `k` largest (positive)
   * contributions per row, largest first. Costs (width + 1) scorings per row: meant for alerted rows. Empty lists
   * for a model saved before detectors existed (no medians).
   */
  attribute(data: Matrix, k = 3): { feature: string; contribution: number }[][] {
    checkMatrix(data, this.inputWidth);
    const width = this.inputWidth;
    const medians = this.detector.medians;
    if (medians.some((m) => Number.isNaN(m))) return Array.from({ length: data.rows }, () => []);
    const scaled = this.scale(data);
    const variants = width + 1;
    const out: { feature: string; contribution: number }[][] = [];
    const probe = new Float32Array(variants * width);
    for (let r = 0; r < data.rows; r++) {
      const row = scaled.subarray(r * width, (r + 1) * width);
      for (let v = 0; v < variants; v++) probe.set(row, v * width);
      for (let j = 0; j < width; j++) probe[(j + 1) * width + j] = medians[j];
      const scores = this.detector.scores(this.pass(probe, variants, {}).errors, probe, variants);
      const ranked: { feature: string; contribution: number }[] = [];
      for (let j = 0; j < width; j++) {
        const contribution = scores[0] - scores[j + 1];
        if (contribution > 0) ranked.push({ feature: this.features[j], contribution });
      }
      out.push(ranked.sort((a, b) => b.contribution - a.contribution).slice(0, k));
    }
    return out;
  }

  private scale(data: Matrix): Float32Array {
    const native = this.nativeStacks();
    return native ? native.scale(data.values, data.rows) : applyScaler(this.scaler, data.values, this.inputWidth);
  }

  /** One forward pass over scaled rows: reconstruction errors, and cell errors and codes on request. */
  private pass(scaled: Float32Array, rows: number, options: { cells?: boolean; codes?: boolean }): Omit<Scores, 'scores'> {
    const width = this.inputWidth;
    const native = this.nativeStacks();
    const errors = new Float32Array(rows);
    const cells = options.cells ? new Float32Array(rows * width) : undefined;
    const codes = options.codes ? new Float32Array(rows * this.codeSize) : undefined;
    if (native) {
      for (let start = 0; start < rows; start += BATCH) {
        const n = Math.min(BATCH, rows - start);
        const x = scaled.subarray(start * width, (start + n) * width);
        const z = native.encoder(x, n);
        native.errors(native.decoder(z, n), x, n, errors, start, cells, start * width);
        codes?.set(z, start * this.codeSize);
      }
      return { errors, cellErrors: cells, codes };
    }
    // Fewer rows per slice for a wide network, so that no slice passes STEP_VALUES_LIMIT (the wasm heap is finite).
    const batch = stepRows(this.units, BATCH);
    for (let start = 0; start < rows; start += batch) {
      const n = Math.min(batch, rows - start);
      tf.tidy(() => {
        const x = tf.tensor2d(scaled.subarray(start * width, (start + n) * width), [n, width]);
        const z = forward(this.encoder, x);
        const e = cellErrors(forward(this.decoder, z), x, this.config.loss);
        errors.set(tf.mean(e, 1).dataSync(), start);
        cells?.set(e.dataSync(), start * width);
        codes?.set(z.dataSync(), start * this.codeSize);
      });
    }
    return { errors, cellErrors: cells, codes };
  }

  /** The `k` features with the largest error in one row's cell errors, largest first. */
  topFeatures(cellErrorsOfRow: ArrayLike<number>, k = 3): { feature: string; error: number }[] {
    return Array.from(cellErrorsOfRow, (error, j) => ({ feature: this.features[j], error }))
      .sort((a, b) => b.error - a.error)
      .slice(0, k);
  }

  toArtifact(): Buffer {
    const header: ArtifactHeader = {
      format: ARTIFACT_FORMAT, kind: 'autoencoder', config: this.config, features: this.features, scaler: this.scaler,
      threshold: this.threshold, history: this.history, fingerprint: this.fingerprint,
      encoder: specsOf(this.encoder), decoder: specsOf(this.decoder), createdAt: this.createdAt,
    };
    const detector = this.detector.toParts();
    header.detector = detector.header;
    return encodeArtifact(header, [...stackWeights(this.encoder), ...stackWeights(this.decoder), ...detector.arrays]);
  }

  /**
   * The model in an artifact (see ./artifact.ts), after checking its structure; a malformed artifact is an
   * InputError naming `source` and the problem.
   */
  static fromArtifact(bytes: Uint8Array, source = 'model artifact'): Autoencoder {
    const { header: raw, weights } = decodeArtifact<Partial<ArtifactHeader>>(bytes, source);
    if (raw.kind !== 'autoencoder' || raw.format !== ARTIFACT_FORMAT) {
      throw new InputError(`unsupported model artifact (kind ${String(raw.kind)}, format ${String(raw.format)})`, { source });
    }
    const header = checkArtifact(raw, weights, source);
    const split = 2 * header.encoder.length;
    const end = split + 2 * header.decoder.length;
    const width = header.config.inputWidth;
    let detector: Detector;
    try {
      detector = header.detector ? Detector.fromParts(header.detector, weights.slice(end), width) : Detector.legacy(width);
    } catch (error) {
      throw error instanceof InputError ? artifactError(source, error.message) : error;
    }
    const encoder = restoreStack(header.encoder, weights.slice(0, split));
    const decoder = restoreStack(header.decoder, weights.slice(split, end));
    const config = { ...header.config, detector: header.config.detector ?? 'ae' };
    return new Autoencoder(config, header.features, header.scaler, encoder, decoder, header.history,
      header.threshold, header.fingerprint, header.createdAt, detector);
  }

  dispose(): void {
    disposeStack(this.encoder);
    disposeStack(this.decoder);
    this.detector.dispose();
  }

  private nativeStacks(): NativeInference | null {
    if (this.native === undefined) this.native = nativeInference(this.encoder, this.decoder, this.scaler, this.config.loss) ?? null;
    return this.native;
  }

  /** Scaling and the two forward passes: on the addon when available, else on tfjs. */
  /** Units of the whole network, input and output included: what bounds the rows of one inference slice. */
  private get units(): number {
    return networkLayers(this.config).reduce((sum, w) => sum + w, 0);
  }

  private inference(): Pick<NativeInference, 'scale' | 'encoder' | 'decoder'> {
    const native = this.nativeStacks();
    if (native) return native;
    return { scale: (values) => applyScaler(this.scaler, values, this.inputWidth), encoder: tfjsForward(this.encoder), decoder: tfjsForward(this.decoder) };
  }
}

function specsFor(inputs: number, widths: number[], hidden: LayerSpec['activation'], last: LayerSpec['activation']): LayerSpec[] {
  return widths.map((units, i) => ({ inputs: i === 0 ? inputs : widths[i - 1], units, activation: i === widths.length - 1 ? last : hidden }));
}

/** Builds the stacks `config` describes and trains them by back-propagation (./train.ts); frees them on failure. */
async function backpropagate(data: TrainingData, config: ModelConfig, hooks: FitHooks): Promise<TrainingOutcome & { encoder: DenseLayer[]; decoder: DenseLayer[] }> {
  const encoder = buildStack(specsFor(config.inputWidth, config.encoder, config.activation, config.codeActivation), config.seed);
  const decoder = buildStack(specsFor(config.codeSize, [...config.decoder, config.inputWidth], config.activation, config.outputActivation), config.seed + 1);
  const outcome = await disposeOnFailure([encoder, decoder], () => trainStacks(encoder, decoder, data, config, backpropEngine(encoder, decoder, config, data.width), hooks));
  return { encoder, decoder, ...outcome };
}

/** The model options recirculation reads (model-config.ts `trainer`): the code is its hidden layer. */
function recirculationOptions(config: ModelConfig): RecirculationOptions {
  const { codeSize: hidden, regression: lambda, learningRate, lrSchedule, epochs, batchSize, validationSplit, seed } = config;
  return { hidden, lambda, learningRate, lrSchedule, epochs, batchSize, validationSplit, seed };
}

function assertUnitRange(scaled: Float32Array, data: Matrix, problem: string): void {
  const k = scaled.findIndex((v) => v < 0 || v > 1);
  if (k >= 0) {
    const row = Math.floor(k / data.width);
    throw new InputError(problem, {
      source: data.source, row, column: data.features?.[k % data.width] ?? (k % data.width) + 1, value: data.values[k],
    });
  }
}
