/**
 * What turns a trained autoencoder into an anomaly detector: which score it alerts on, that score's calibration
 * (./calibration.ts: p-values against the model's held-out validation rows) and the per-feature reference values that
 * attributions perturb towards.
 *
 * Detectors (`detector` in the model options):
 * - `ae`: the reconstruction error (mean over features of the model's loss);
 * - `iforest`: an isolation forest (./isolation-forest.ts) grown on the model's scaled training rows;
 * - `vae`: a variational autoencoder's reconstruction probability (./vae.ts), its own network of the same widths;
 * - `ensemble`: the mean of the two, each standardised by the median and interquartile range of its scores on the
 *   validation rows (so neither dominates by its units), the combination PyOD calls "average of standardised scores".
 * Every detector is fitted on the training rows without the validation rows, which calibrate it.
 */
import { InputError } from '../contracts/errors.js';
import { calibrate, pValues, type Calibration } from './calibration.js';
import { IsolationForest, type ForestArrays } from './isolation-forest.js';
import { DETECTORS, type DetectorName } from './model-config.js';
import type { LayerSpec } from './network.js';
import { quantile } from './threshold.js';
import { Vae, type VaeShape, type VaeTraining } from './vae.js';


/** What a detector combines: reconstruction errors, and the forest's scores when it has a forest. */
export interface ScoreParts { ae: Float32Array; iforest?: Float32Array; vae?: Float32Array }

/** Median and interquartile range of one component's validation scores. */
export interface Standardiser { center: number; spread: number }

/** The detector's description in a model file's header; its arrays follow the network's weights. */
export interface DetectorHeader {
  kind: DetectorName;
  /** Rows the calibration stands for; the stored reference scores are the second array. */
  calibrationRows: number;
  ensemble?: { ae: Standardiser; iforest: Standardiser };
  /** Rows per tree and trees, with a forest (its four arrays follow). */
  forest?: { sampleSize: number; trees: number; nodes: number };
  /** With a VAE: its layers (its weights follow, encoder then decoder) and the seed of its scoring draws. */
  vae?: { encoder: LayerSpec[]; decoder: LayerSpec[]; seed: number };
}

export class Detector {
  private constructor(
    readonly kind: DetectorName,
    /** Per-feature medians of the scaled training rows: what an attribution replaces a feature with. */
    readonly medians: Float32Array,
    private readonly forest: IsolationForest | undefined,
    private readonly vae: Vae | undefined,
    private ensemble: { ae: Standardiser; iforest: Standardiser } | undefined,
    private calibrationOf: Calibration | undefined,
  ) {}

  /** The detector of a model saved before detectors existed: reconstruction error, no calibration, no medians. */
  static legacy(width: number): Detector {
    return new Detector('ae', new Float32Array(width).fill(NaN), undefined, undefined, undefined, undefined);
  }

  /** Fits the detector's own parts (not the calibration) on scaled training rows; `vae` shapes and trains a VAE. */
  static async fit(kind: DetectorName, scaled: Float32Array, rows: number, width: number, seed: number, vae: { shape: VaeShape; training: VaeTraining }): Promise<Detector> {
    const forest = kind === 'iforest' || kind === 'ensemble' ? IsolationForest.fit(scaled, rows, width, { seed }) : undefined;
    const network = kind === 'vae' ? await Vae.fit(scaled, rows, width, vae.shape, vae.training) : undefined;
    return new Detector(kind, columnMedians(scaled, rows, width), forest, network, undefined, undefined);
  }

  /**
   * The anomaly scores of rows whose reconstruction errors are `errors` and scaled values `scaled`. Before
   * {@link calibrate} an ensemble has no standardisers and cannot score.
   */
  scores(errors: Float32Array, scaled: Float32Array, rows: number): Float32Array {
    return this.combine(this.parts(errors, scaled, rows));
  }

  /** What this detector combines for rows with these reconstruction errors and scaled values. */
  parts(errors: Float32Array, scaled: Float32Array, rows: number): ScoreParts {
    return { ae: errors, iforest: this.forest?.score(scaled, rows), vae: this.vae?.score(scaled, rows) };
  }

  /** The anomaly scores of rows with these components. */
  combine(parts: ScoreParts): Float32Array {
    if (this.kind === 'ae') return parts.ae;
    if (this.kind === 'vae') return parts.vae!;
    const forest = parts.iforest!;
    if (this.kind === 'iforest') return forest;
    const e = this.ensemble;
    if (e === undefined) throw new Error('an ensemble detector scores only once calibrated');
    const out = new Float32Array(forest.length);
    for (let i = 0; i < out.length; i++) out[i] = ((parts.ae[i] - e.ae.center) / e.ae.spread + (forest[i] - e.iforest.center) / e.iforest.spread) / 2;
    return out;
  }

  /**
   * Calibrates on held-out rows' components: their reconstruction errors and (with a forest) forest scores, from
   * this model or, cross-fitted, from models that did not train on them. Returns their anomaly scores.
   */
  calibrate(parts: ScoreParts): Float32Array {
    if (this.kind === 'ensemble') this.ensemble = { ae: standardiser(parts.ae), iforest: standardiser(parts.iforest!) };
    const scores = this.combine(parts);
    this.calibrationOf = calibrate(scores);
    return scores;
  }

  get calibration(): Calibration | undefined {
    return this.calibrationOf;
  }

  /** P-values of anomaly scores (./calibration.ts); undefined for a model saved before calibration existed. */
  pValues(scores: ArrayLike<number>): Float64Array | undefined {
    return this.calibrationOf ? pValues(this.calibrationOf, scores) : undefined;
  }

  /** The header part and the arrays a model file stores (medians, reference scores, then any forest's four). */
  toParts(): { header: DetectorHeader; arrays: Float32Array[] } {
    const arrays = [this.medians, this.calibrationOf?.scores ?? new Float32Array(0)];
    const header: DetectorHeader = { kind: this.kind, calibrationRows: this.calibrationOf?.rows ?? 0 };
    if (this.ensemble) header.ensemble = this.ensemble;
    if (this.forest) {
      const f = this.forest.arrays;
      header.forest = { sampleSize: this.forest.sampleSize, trees: f.roots.length, nodes: f.feature.length };
      arrays.push(f.feature, f.value, f.left, f.roots);
    }
    if (this.vae) {
      const v = this.vae.toParts();
      header.vae = { encoder: v.encoder, decoder: v.decoder, seed: this.vae.seed };
      arrays.push(...v.weights);
    }
    return { header, arrays };
  }

  dispose(): void {
    this.vae?.dispose();
  }

  /** The detector of a model file (its header part and arrays); an InputError when they do not fit. */
  static fromParts(header: DetectorHeader, arrays: Float32Array[], width: number): Detector {
    if (!DETECTORS.includes(header.kind)) throw new InputError(`unknown detector ${JSON.stringify(header.kind)}`);
    const [medians, reference, ...rest] = arrays;
    const forestArrays = header.forest ? rest.slice(0, 4) : [];
    const vaeWeights = header.forest ? rest.slice(4) : rest;
    if (medians.length !== width) throw new InputError(`detector medians: ${medians.length} values for ${width} inputs`);
    const needsForest = header.kind === 'iforest' || header.kind === 'ensemble';
    if (needsForest !== (header.forest !== undefined) || (header.kind === 'ensemble') !== (header.ensemble !== undefined) || (header.kind === 'vae') !== (header.vae !== undefined)) {
      throw new InputError(`detector ${header.kind} stored without the parts it needs`);
    }
    let forest: IsolationForest | undefined;
    if (header.forest) {
      const [feature, value, left, roots] = forestArrays as [Float32Array, Float32Array, Float32Array, Float32Array];
      const nodes: ForestArrays = { feature, value, left, roots };
      forest = IsolationForest.fromArrays(nodes, width, header.forest.sampleSize);
    }
    const sorted = reference.every((v, i) => Number.isFinite(v) && (i === 0 || reference[i - 1] <= v));
    if (!sorted) throw new InputError('detector reference scores are not finite and ascending');
    const calibration = reference.length > 0 ? { scores: reference, rows: Math.max(header.calibrationRows, reference.length) } : undefined;
    const vae = header.vae ? Vae.fromParts(header.vae.encoder, header.vae.decoder, vaeWeights, header.vae.seed) : undefined;
    return new Detector(header.kind, medians, forest, vae, header.ensemble, calibration);
  }
}

function standardiser(scores: Float32Array): Standardiser {
  const center = quantile(scores, 0.5);
  const spread = quantile(scores, 0.75) - quantile(scores, 0.25);
  // A constant component (all validation scores equal) is scaled by 1 rather than divided by 0.
  return { center, spread: spread > 0 ? spread : Math.abs(center) || 1 };
}

function columnMedians(values: Float32Array, rows: number, width: number): Float32Array {
  const column = new Float32Array(rows);
  return Float32Array.from({ length: width }, (_, j) => {
    for (let i = 0; i < rows; i++) column[i] = values[i * width + j];
    return quantile(column, 0.5);
  });
}
