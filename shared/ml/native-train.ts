/**
 * The fused native training engine: each step of ./train.ts runs as one call of the addon's `denseStep`
 * (native/blas/src/dense.c: forward, backward and Adam over the whole stack, with OpenBLAS matmuls), instead of
 * ~80 tfjs kernels plus tape bookkeeping. Same semantics as the tfjs engine (./train.ts `tfjsStepEngine`):
 *
 * - objective: `objective` of ./train.ts (mse or bce, l1/l2 kernel penalties, code sparsity), gradients as tfjs's;
 * - optimizer: tf.train.adam(lr) — β1 0.9, β2 0.999, ε = the backend's epsilon() (1e-7 for float32), bias correction
 *   from float32 running products β1ᵗ, β2ᵗ as AdamOptimizer keeps them; the learning rate is the loop's per epoch;
 * - input corruption: the values tf.randomNormal / tf.randomUniform give for the same seed (tfjs-core
 *   ops/rand_util.js: seedrandom's alea, Marsaglia's polar method), rounded to float32 and applied as tf.add /
 *   tf.mul would, so a noisy step sees the very same input as on tfjs. Drawn by the addon (noise.c; ~2.5 ms for a
 *   256×784 gaussian batch, the serial alea chain bounds it, against ~4.7 ms for `corruptInto` in JS).
 *
 * `nativeInference` (with `nativeForward`, `nativeScaler`) is the inference side (Autoencoder's encode, decode,
 * reconstruct and score): the same scaling, forward pass and cell errors without tfjs; `cellErrorsInto` is the JS
 * reference of the addon's `errors`.
 *
 * The weights and Adam moments live in one Float32Array owned by the engine, copied from the layers' variables when
 * it starts and written back to them by `close` (so encode, score and artifacts work unchanged afterwards). The tfjs
 * backend is not involved during training, whichever it is.
 *
 * Eligible: the addon loads and has denseStep (LATENTFLOW_NATIVE_BLAS=off disables the addon, LATENTFLOW_NATIVE_TRAIN=off
 * only this engine; both read at each fit), the optimizer is adam, and every activation is one dense.c implements (all
 * of network.ts's but softplus). Anything else trains on tfjs. The OpenBLAS thread count is whatever the process set
 * (backend.ts: LATENTFLOW_BLAS_THREADS), else OpenBLAS's default (OPENBLAS_NUM_THREADS or every core).
 */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { Activation, ModelConfig } from './model-config.js';
import type { Scaler } from './scaler.js';
import { loadNativeBlas, nativeBlasError, type NativeBlas } from './native-blas.js';
import { LEAKY_RELU_ALPHA, type DenseLayer, type RowsForward } from './network.js';
import type { StepEngine } from './train.js';

/** dense.c's activation codes. */
const DENSE_ACTIVATIONS: Readonly<Partial<Record<Activation, number>>> = {
  linear: 0, relu: 1, elu: 2, selu: 3, tanh: 4, sigmoid: 5, leaky_relu: 6,
};

const LAYOUT_FIELDS = 9; // in, out, activation, w, b, mw, vw, mb, vb
const MAX_LAYERS = 64;
/** dense.c's options: [loss, leakyAlpha, codeLayer, sparsity, l1, l2, update, lr, beta1, beta2, epsilon, c1, c2]. */
const O = { loss: 0, leaky: 1, code: 2, sparsity: 3, l1: 4, l2: 5, update: 6, lr: 7, beta1: 8, beta2: 9, eps: 10, c1: 11, c2: 12, count: 13 } as const;
/** tf.train.adam's defaults. */
const BETA1 = 0.9;
const BETA2 = 0.999;

/** The addon if native training is allowed now (the switches are read at each call), else why not. */
function addon(): NativeBlas | string {
  if (process.env.LATENTFLOW_NATIVE_TRAIN === 'off') return 'LATENTFLOW_NATIVE_TRAIN=off';
  const blas = loadNativeBlas();
  if (blas === undefined) return `native BLAS addon unavailable (${nativeBlasError()})`;
  if (typeof blas.denseStep !== 'function' || typeof blas.corrupt !== 'function') return 'the native BLAS addon predates denseStep; rebuild it';
  return blas;
}

/** Why the model cannot train natively, or undefined when it can. */
export function nativeTrainingIneligibility(encoder: DenseLayer[], decoder: DenseLayer[], config: ModelConfig): string | undefined {
  const blas = eligibleAddon(encoder, decoder, config);
  return typeof blas === 'string' ? blas : undefined;
}

/** The addon when the model can train natively, else why not. */
function eligibleAddon(encoder: DenseLayer[], decoder: DenseLayer[], config: ModelConfig): NativeBlas | string {
  const blas = addon();
  if (typeof blas === 'string') return blas;
  if (config.optimizer !== 'adam') return `optimizer ${config.optimizer} (native training implements adam)`;
  const layers = [...encoder, ...decoder];
  if (layers.length > MAX_LAYERS) return `more than ${MAX_LAYERS} layers`;
  const unsupported = layers.find((l) => DENSE_ACTIVATIONS[l.activation] === undefined);
  if (unsupported !== undefined) return `activation ${unsupported.activation}`;
  if (layers.some((l) => l.kernel.dtype !== 'float32' || l.bias.dtype !== 'float32')) return 'non-float32 weights';
  const params = layers.reduce((s, l) => s + l.kernel.size + l.bias.size, 0);
  const widest = Math.max(...layers.map((l) => l.kernel.shape[1]!));
  if (3 * params > 2 ** 31 - 1 || config.batchSize * widest > 2 ** 31 - 1) return 'model too large for 32-bit offsets';
  return blas;
}

/** Scratch elements dense.c needs: every layer's output, plus two gradient buffers and dW, db when updating. */
function workSize(widths: { in: number; out: number }[], rows: number, update: boolean): number {
  const outputs = widths.reduce((s, w) => s + rows * w.out, 0);
  if (!update) return outputs;
  const maxOut = Math.max(...widths.map((w) => w.out));
  return outputs + 2 * rows * maxOut + Math.max(...widths.map((w) => w.in * w.out)) + maxOut;
}

/**
 * The reference (and fallback-free JS) form of the addon's `corrupt`, kept for tests and documentation.
 * out[i] = x[i] corrupted as train.ts `corrupt` does with this seed: + tf.randomNormal(…, 0, σ, 'float32', seed), or
 * · (tf.randomUniform(…, 0, 1, 'float32', seed) ≥ rate), value for value (tfjs-core MPRandGauss / UniformRandom).
 */
export function corruptInto(out: Float32Array, x: Float32Array, count: number, config: Pick<ModelConfig, 'noise' | 'noiseKind'>, seed: number): void {
  const random = seedrandom.alea(String(seed));
  if (config.noiseKind === 'mask') {
    const rate = Math.fround(config.noise);
    for (let i = 0; i < count; i++) out[i] = x[i] * (Math.fround(random()) >= rate ? 1 : 0);
    return;
  }
  const std = config.noise;
  for (let i = 0; i < count;) {
    let v1: number, v2: number, s: number;
    do {
      v1 = 2 * random() - 1;
      v2 = 2 * random() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
    out[i] = x[i] + Math.fround(std * v1 * mul);
    i++;
    if (i < count) out[i] = x[i] + Math.fround(std * v2 * mul);
    i++;
  }
}

/** A stack's weights (and room for Adam moments) in one Float32Array, with dense.c's layout. */
interface Packed {
  params: Float32Array;
  layout: Int32Array;
  widths: { in: number; out: number }[];
  offsets: { w: number; b: number }[];
  /** Elements of the weights region (the moments follow it: first, then second). */
  total: number;
}

function pack(layers: DenseLayer[], moments: boolean): Packed {
  const widths = layers.map((l) => ({ in: l.kernel.shape[0], out: l.kernel.shape[1]! }));
  const total = layers.reduce((s, l) => s + l.kernel.size + l.bias.size, 0);
  // [weights (kernel, bias per layer) | first moments | second moments], each region laid out alike.
  const params = new Float32Array(moments ? 3 * total : total);
  const layout = new Int32Array(1 + LAYOUT_FIELDS * layers.length);
  layout[0] = layers.length;
  const offsets: { w: number; b: number }[] = [];
  let at = 0;
  layers.forEach((l, i) => {
    const { in: inputs, out } = widths[i];
    const w = at;
    const b = at + inputs * out;
    params.set(l.kernel.dataSync(), w);
    params.set(l.bias.dataSync(), b);
    const m = moments ? total : 0;
    layout.set([inputs, out, DENSE_ACTIVATIONS[l.activation]!, w, b, m + w, 2 * m + w, m + b, 2 * m + b], 1 + LAYOUT_FIELDS * i);
    offsets.push({ w, b });
    at = b + out;
  });
  return { params, layout, widths, offsets, total };
}

/** shared/ml/scaler.ts `applyScaler` on the addon, the same float64 arithmetic; undefined without the addon. */
export function nativeScaler(scaler: Scaler): ((values: Float32Array, rows: number) => Float32Array) | undefined {
  const blas = loadNativeBlas();
  if (blas === undefined || typeof blas.scale !== 'function') return undefined;
  const offset = Float64Array.from(scaler.offset);
  const divisor = Float64Array.from(scaler.divisor);
  const width = offset.length;
  // The identity (scale: none) passes the values through: no copy; callers only read the result.
  if (offset.every((o) => o === 0) && divisor.every((d) => d === 1)) return (values) => values;
  return (values, rows) => {
    const out = new Float32Array(rows * width);
    blas.scale(out, values, 0, rows, width, offset, divisor);
    return out;
  };
}

/** Everything Autoencoder's inference needs, on the addon (see `nativeInference`). */
export interface NativeInference {
  /** applyScaler. */
  scale: (values: Float32Array, rows: number) => Float32Array;
  encoder: NativeForward;
  decoder: NativeForward;
  /**
   * loss.ts cellErrors of reconstructions y against targets t (rows × width from their starts): row means into
   * rowOut[rowOff..], cells into cellOut[cellOff..] when given.
   */
  errors: (y: Float32Array, t: Float32Array, rows: number, rowOut: Float32Array, rowOff: number, cellOut?: Float32Array, cellOff?: number) => void;
}

/**
 * A trained autoencoder's scaling, forward passes and errors on the addon (snapshots of the current weights), or
 * undefined when the addon is unavailable or off, or an activation is not supported.
 */
export function nativeInference(encoder: DenseLayer[], decoder: DenseLayer[], scaler: Scaler, loss: ModelConfig['loss']): NativeInference | undefined {
  const blas = loadNativeBlas();
  if (blas === undefined || typeof blas.errors !== 'function') return undefined;
  const enc = nativeForward(encoder);
  const dec = nativeForward(decoder);
  const scale = nativeScaler(scaler);
  if (enc === undefined || dec === undefined || scale === undefined) return undefined;
  const width = scaler.offset.length;
  const code = loss === 'bce' ? 1 : 0;
  return {
    scale, encoder: enc, decoder: dec,
    errors: (y, t, rows, rowOut, rowOff, cellOut, cellOff = 0) =>
      blas.errors(y, 0, t, 0, rows, width, code, rowOut, rowOff, cellOut ?? null, cellOff),
  };
}

/** The forward pass of a stack on the addon: maps `rows` rows of input to a new rows × out array. */
export type NativeForward = RowsForward;

/**
 * `stack`'s forward pass (network.ts `forward`) on a snapshot of its current weights, run by the addon without tfjs,
 * or undefined when the addon is unavailable (or LATENTFLOW_NATIVE_BLAS=off) or an activation is not supported.
 * Later changes to the variables are not seen: meant for trained models, whose weights no longer change.
 */
function nativeForward(stack: DenseLayer[]): NativeForward | undefined {
  const blas = loadNativeBlas();
  if (blas === undefined || typeof blas.denseStep !== 'function' || stack.length === 0 || stack.length > MAX_LAYERS) return undefined;
  if (stack.some((l) => DENSE_ACTIVATIONS[l.activation] === undefined || l.kernel.dtype !== 'float32')) return undefined;
  const { params, layout, widths } = pack(stack, false);
  const options = new Float64Array(O.count);
  options[O.loss] = 2; // none: forward only
  options[O.leaky] = LEAKY_RELU_ALPHA;
  options[O.code] = -1;
  const outWidth = widths[widths.length - 1].out;
  let work = new Float32Array(0);
  return (x, rows) => {
    const need = workSize(widths, rows, false);
    if (work.length < need) work = new Float32Array(need);
    blas.denseStep(params, layout, work, x, 0, x, 0, rows, options);
    const last = need - rows * outWidth;
    return work.slice(last, need);
  };
}

const BCE_EPSILON = Math.fround(1e-7); // shared/ml/loss.ts EPSILON, as the float32 clip bounds
const BCE_HIGH = Math.fround(1 - 1e-7);

/** out[i] = the cell error of shared/ml/loss.ts `cellErrors` for reconstruction y[i] and target t[i], in float32. */
export function cellErrorsInto(out: Float32Array, y: Float32Array, t: Float32Array, count: number, loss: ModelConfig['loss']): void {
  const f = Math.fround;
  if (loss === 'mse') {
    for (let i = 0; i < count; i++) {
      const d = f(y[i] - t[i]);
      out[i] = d * d;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const p = y[i] < BCE_EPSILON ? BCE_EPSILON : y[i] > BCE_HIGH ? BCE_HIGH : y[i];
    const ti = t[i];
    out[i] = -f(f(ti * f(Math.log(p))) + f(f(1 - ti) * f(Math.log(f(1 - p)))));
  }
}

/** The native engine for these stacks, or undefined when they are not eligible (see the header). */
export function nativeStepEngine(encoder: DenseLayer[], decoder: DenseLayer[], config: ModelConfig, width: number): StepEngine | undefined {
  const blas = eligibleAddon(encoder, decoder, config);
  if (typeof blas === 'string') return undefined;
  const layers = [...encoder, ...decoder];
  const { params, layout, widths, offsets, total } = pack(layers, true);
  const rows = config.batchSize;
  const work = new Float32Array(workSize(widths, rows, true));
  const noisy = config.noise > 0 ? new Float32Array(rows * width) : undefined;
  const options = (update: boolean): Float64Array => {
    const o = new Float64Array(O.count);
    o[O.loss] = config.loss === 'bce' ? 1 : 0;
    o[O.leaky] = LEAKY_RELU_ALPHA;
    o[O.code] = encoder.length - 1;
    o[O.sparsity] = config.sparsity;
    o[O.l1] = config.l1;
    o[O.l2] = config.l2;
    o[O.update] = update ? 1 : 0;
    o[O.beta1] = BETA1;
    o[O.beta2] = BETA2;
    o[O.eps] = tf.backend().epsilon(); // tf.train.adam's default ε
    return o;
  };
  const train = options(true);
  const evaluate = options(false);
  // AdamOptimizer's accBeta1/accBeta2: float32 variables starting at β and multiplied by β after every step.
  let accBeta1 = Math.fround(BETA1);
  let accBeta2 = Math.fround(BETA2);
  return {
    kind: 'native',
    step(batch, n, seed, learningRate) {
      let x = batch;
      if (noisy !== undefined) {
        blas.corrupt(noisy, batch, 0, n * width, config.noiseKind === 'mask' ? 1 : 0, config.noise, String(seed));
        x = noisy;
      }
      train[O.lr] = learningRate;
      train[O.c1] = Math.fround(1 - accBeta1);
      train[O.c2] = Math.fround(1 - accBeta2);
      const cost = blas.denseStep(params, layout, work, x, 0, batch, 0, n, train);
      accBeta1 = Math.fround(accBeta1 * Math.fround(BETA1));
      accBeta2 = Math.fround(accBeta2 * Math.fround(BETA2));
      return cost;
    },
    evaluate(data, count) {
      let sum = 0;
      for (let start = 0; start < count; start += rows) {
        const n = Math.min(rows, count - start);
        sum += blas.denseStep(params, layout, work, data, start * width, data, start * width, n, evaluate) * n;
      }
      return sum / count;
    },
    snapshot() {
      const copy = params.slice(0, total);
      return { restore: () => params.set(copy), dispose: () => undefined };
    },
    close() {
      tf.tidy(() => layers.forEach((l, i) => {
        const { in: inputs, out } = widths[i];
        const { w, b } = offsets[i];
        l.kernel.assign(tf.tensor2d(params.slice(w, w + inputs * out), [inputs, out]));
        l.bias.assign(tf.tensor1d(params.slice(b, b + out)));
      }));
    },
  };
}
