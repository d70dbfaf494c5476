/**
 * Optional native matmuls for the wasm backend: an N-API addon (native/blas, built separately against the system
 * OpenBLAS) runs BatchMatMul and _FusedMatMul directly on the tensors in the wasm backend's linear memory, without
 * copies. The addon is optional: `loadNativeBlas` returns undefined, never throws, when it is not built or cannot be
 * loaded (e.g. libopenblas.so.0 missing at run time), and `installNativeMatMul` then does nothing.
 *
 * Location: native/blas/build/Release/latentflow_blas.node, looked up relative to this module (from the source tree
 * and from dist/). LATENTFLOW_NATIVE_BLAS=<path to a .node file> loads that file instead; LATENTFLOW_NATIVE_BLAS=off
 * disables the addon.
 *
 * tfjs internals relied on (tfjs-backend-wasm 4.22, dist/backend_wasm.js): `backend.dataIdMap.get(dataId)` gives
 * `{ memoryOffset, shape, dtype }` with `memoryOffset` a byte offset into `backend.wasm.HEAPU8.buffer` (the wasm
 * Memory's buffer, replaced when memory grows); `backend.makeOutput(shape, dtype)` mallocs and registers an output
 * tensor, as the wasm kernels themselves do (kernels/BatchMatMul.js).
 *
 * Order with ./wasm-kernels (the transpose-first patch): install this after `patchWasmMatMul` (initBackend applies the
 * patch when it starts wasm). The native kernels wrap whatever BatchMatMul / _FusedMatMul is registered when
 * `installNativeMatMul` runs and fall back to it for cases they do not handle, so fallbacks still get the fast
 * transpose-first path. `unpatchWasmMatMul` re-registers the stock kernels over these (the native kernels are then
 * gone, which `isNativeMatMulInstalled` reports); `uninstallNativeMatMul` restores the kernels it replaced only while
 * its own are still registered.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

/** The addon's interface (native/blas/src/blas.c). Offsets, leading dimensions and strides count elements. */
export interface NativeBlas {
  /**
   * C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i] for i < batch (default 1), row-major; op(A) is m×k, op(B) k×n.
   * A stride of 0 broadcasts that operand. Throws RangeError (touching nothing) if any access is out of bounds.
   */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOff: number, lda: number, b: Float32Array, bOff: number, ldb: number,
    beta: number, c: Float32Array, cOff: number, ldc: number,
    batch?: number, strideA?: number, strideB?: number, strideC?: number,
  ): void;
  /**
   * In place on rows×cols at x[off]: add bias (biasLen 0 none, 1 scalar, cols per column, rows·cols elementwise),
   * then apply activation (FUSED_ACTIVATIONS code); prelu weights broadcast like the bias.
   */
  epilogue(
    x: Float32Array, off: number, rows: number, cols: number,
    bias: Float32Array | null, biasOff: number, biasLen: number,
    activation: number, leakyAlpha: number,
    prelu: Float32Array | null, preluOff: number, preluLen: number,
  ): void;
  /** y[j] = Σ_r x[xOff + r·cols + j] (sum over the leading axis of rows×cols); y must not overlap x. */
  colsum(x: Float32Array, xOff: number, rows: number, cols: number, y: Float32Array, yOff: number): void;
  /** Index (from xOff) of the first NaN or ±Infinity among x[xOff .. xOff+n), or −1. Absent in builds before it. */
  firstNonFinite?(x: Float32Array, xOff: number, n: number): number;
  /**
   * One Adam step over n elements at offsets of `heap`, in the float32 arithmetic order of tfjs's AdamOptimizer;
   * the outputs may alias their own inputs. c1 = 1−β1ᵗ, c2 = 1−β2ᵗ.
   */
  adam(
    heap: Float32Array, n: number, param: number, grad: number, m: number, v: number,
    paramOut: number, mOut: number, vOut: number,
    learningRate: number, beta1: number, beta2: number, epsilon: number, c1: number, c2: number,
  ): void;
  /**
   * One fused forward + backward + Adam step (update 1) or forward-only objective (update 0) of a dense stack; see
   * native/blas/src/dense.c for the argument layout and shared/ml/native-train.ts for its use. Returns the batch
   * objective before the update. Throws RangeError (touching nothing) if any access is out of bounds.
   */
  denseStep(
    params: Float32Array, layout: Int32Array, work: Float32Array, x: Float32Array, xOff: number,
    target: Float32Array, targetOff: number, rows: number, options: Float64Array,
  ): number;
  /**
   * out[i] = x[xOff + i] corrupted as tfjs draws it for `seed` (String of tfjs's numeric seed): kind 0 adds
   * tf.randomNormal(…, 0, amount) values, kind 1 multiplies by tf.randomUniform(…) ≥ amount (native/blas/src/noise.c).
   */
  corrupt(out: Float32Array, x: Float32Array, xOff: number, count: number, kind: number, amount: number, seed: string): void;
  /**
   * out[r·width + j] = (x[xOff + r·width + j] − offset[j]) / divisor[j] in float64, rounded to float32 (as
   * shared/ml/scaler.ts applyScaler).
   */
  scale(out: Float32Array, x: Float32Array, xOff: number, rows: number, width: number, offset: Float64Array, divisor: Float64Array): void;
  /**
   * Cell errors of shared/ml/loss.ts (loss 0 mse, 1 bce) between y and t (rows × width at their offsets): row means
   * into rowOut at rowOff, the cells into cellOut at cellOff unless cellOut is null.
   */
  errors(
    y: Float32Array, yOff: number, t: Float32Array, tOff: number, rows: number, width: number, loss: number,
    rowOut: Float32Array, rowOff: number, cellOut: Float32Array | null, cellOff: number,
  ): void;
  /** OpenBLAS threads for later calls. */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** OpenBLAS build string and the CPU kernel family it chose. */
  config(): string;
}

/** Activation codes of the addon's epilogue (the numbering of tfjs-backend-wasm's FusableActivation). */
const FUSED_ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6,
};

const ADDON = 'native/blas/build/Release/latentflow_blas.node';
const ENV = 'LATENTFLOW_NATIVE_BLAS';

let cached: { blas: NativeBlas | undefined; error?: string } | undefined;

function candidates(): string[] {
  const override = process.env[ENV];
  if (override !== undefined && override !== '') return [override];
  // shared/ml/native-blas.ts in the source tree, dist/shared/ml/native-blas.js when built.
  return ['../../', '../../../'].map((up) => fileURLToPath(new URL(up + ADDON, import.meta.url)));
}

/**
 * The addon, loaded once per process; undefined if it is disabled, not built or fails to load (`nativeBlasError`
 * says why). Never throws.
 */
export function loadNativeBlas(): NativeBlas | undefined {
  // `off` is read at every call, not cached: it can be switched while the process runs (tests, a retry without it).
  if (process.env[ENV] === 'off') return undefined;
  if (cached !== undefined) return cached.blas;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (found === undefined) {
    cached = { blas: undefined, error: `not built (looked for ${paths.join(', ')})` };
    return undefined;
  }
  try {
    const blas = createRequire(import.meta.url)(found) as NativeBlas;
    if (typeof blas.sgemm !== 'function' || typeof blas.epilogue !== 'function') throw new Error('not a latentflow_blas addon');
    cached = { blas };
  } catch (err) {
    cached = { blas: undefined, error: `${found}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` };
  }
  return cached.blas;
}

/** Why `loadNativeBlas` returned undefined (after a call to it), else undefined. */
export function nativeBlasError(): string | undefined {
  return process.env[ENV] === 'off' ? `${ENV}=off` : cached?.error;
}

/** The parts of tfjs-backend-wasm's BackendWasm this module uses (see the header). */
interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

let heap: Float32Array | undefined;

/** A Float32Array over the whole wasm heap, renewed when memory growth has replaced the buffer. */
function heapOf(backend: WasmBackendInternals): Float32Array {
  const buffer = backend.wasm.HEAPU8.buffer;
  if (heap === undefined || heap.buffer !== buffer) heap = new Float32Array(buffer);
  return heap;
}

/** Element offset of a float32 tensor in the wasm heap. */
function offsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('native matmul: tensor is not on the wasm backend');
  return data.memoryOffset / 4;
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const sameDims = (x: number[], y: number[]): boolean => x.length === y.length && x.every((d, i) => d === y[i]);

interface Plan {
  m: number; n: number; k: number;
  batch: number; strideA: number; strideB: number;
  outShape: number[];
}

/**
 * The product's geometry, or undefined when the native path does not handle it: non-float32, an empty dimension, or
 * batch dimensions that broadcast other than "equal" or "one side has a single matrix" (tfjs's own wasm kernel
 * flattens batch dims the same way).
 */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): Plan | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [m, ka] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [kb, n] = transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  if (ka !== kb || m === 0 || n === 0 || ka === 0) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const [batchA, batchB] = [size(outerA), size(outerB)];
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  const rank = outer.length;
  const padded = (dims: number[]): number[] => [...Array<number>(rank - dims.length).fill(1), ...dims];
  if (!(batchA === 1 || batchB === 1 || (batchA === batchB && sameDims(padded(outerA), padded(outerB))))) return undefined;
  return {
    m, n, k: ka,
    batch: Math.max(batchA, batchB),
    strideA: batchA === 1 ? 0 : m * ka,
    strideB: batchB === 1 ? 0 : ka * n,
    outShape: [...outer, m, n],
  };
}

/** Allocates the output on the wasm backend and fills it with the product; returns it and its element offset. */
function gemm(blas: NativeBlas, backend: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean, p: Plan): [tf.TensorInfo, number] {
  const out = backend.makeOutput(p.outShape, 'float32');
  const c = offsetOf(backend, out);
  const h = heapOf(backend); // after makeOutput: its malloc may have grown the memory
  const lda = ta ? p.m : p.k;
  const ldb = tb ? p.k : p.n;
  blas.sgemm(ta, tb, p.m, p.n, p.k, 1, h, offsetOf(backend, a), lda, h, offsetOf(backend, b), ldb, 0, h, c, p.n,
    p.batch, p.strideA, p.strideB, p.m * p.n);
  return [out, c];
}

/**
 * How the epilogue reads a bias / prelu-weights tensor against an output of `rows`×`n` (rows = batch·m): as one
 * value, one per column, or one per output element; undefined when it broadcasts some other way.
 */
function operandLength(t: tf.TensorInfo, outShape: number[], n: number): number | undefined {
  const count = size(t.shape);
  if (count === 1) return 1;
  if (count === n && t.shape[t.shape.length - 1] === n) return n;
  const tail = outShape.slice(outShape.length - t.shape.length); // right-aligned, as broadcasting reads it
  if (count === size(outShape) && t.shape.length <= outShape.length && sameDims(t.shape, tail)) return count;
  return undefined;
}

function nativeBatchMatMul(blas: NativeBlas, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const p = plan(a, b, transposeA, transposeB);
    if (p === undefined) return fallback(args);
    return gemm(blas, args.backend as unknown as WasmBackendInternals, a, b, transposeA, transposeB, p)[0];
  };
}

function nativeFusedMatMul(blas: NativeBlas, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights: prelu } = args.inputs as {
      a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo;
    };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as tf._FusedMatMulAttrs;
    const code = FUSED_ACTIVATIONS[activation ?? 'linear'];
    const p = plan(a, b, transposeA, transposeB);
    if (p === undefined || code === undefined) return fallback(args);
    const biasLength = bias == null ? 0 : bias.dtype === 'float32' ? operandLength(bias, p.outShape, p.n) : undefined;
    const usePrelu = activation === 'prelu';
    const preluLength = !usePrelu ? 0 : prelu == null || prelu.dtype !== 'float32' ? undefined : operandLength(prelu, p.outShape, p.n);
    if (biasLength === undefined || preluLength === undefined) return fallback(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const [out, c] = gemm(blas, backend, a, b, transposeA, transposeB, p);
    if (biasLength > 0 || code !== FUSED_ACTIVATIONS.linear) {
      const h = heapOf(backend);
      blas.epilogue(h, c, p.batch * p.m, p.n,
        biasLength > 0 ? h : null, biasLength > 0 ? offsetOf(backend, bias!) : 0, biasLength,
        code, leakyreluAlpha || 0, // as the wasm kernel passes it
        usePrelu ? h : null, usePrelu ? offsetOf(backend, prelu!) : 0, preluLength);
    }
    return out;
  };
}

type KernelFactory = (blas: NativeBlas, fallback: tf.KernelFunc) => tf.KernelFunc;

/** A set of wasm kernels replaced together, and what they replaced (to tell whether ours are still registered). */
class KernelSwap {
  private readonly replaced = new Map<string, { original: tf.KernelConfig; ours: tf.KernelFunc }>();

  constructor(private readonly factories: Readonly<Record<string, KernelFactory>>) {}

  installed(): boolean {
    return this.replaced.size > 0 && [...this.replaced].every(([name, r]) => tf.getKernel(name, 'wasm')?.kernelFunc === r.ours);
  }

  install(): boolean {
    if (this.installed()) return true;
    const blas = loadNativeBlas();
    if (blas === undefined) return false;
    const names = Object.keys(this.factories);
    const current = names.map((name) => tf.getKernel(name, 'wasm'));
    if (current.some((k) => k === undefined)) return false;
    this.replaced.clear();
    names.forEach((name, i) => {
      const original = current[i];
      const ours = this.factories[name](blas, original.kernelFunc);
      this.replaced.set(name, { original, ours });
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ ...original, kernelFunc: ours });
    });
    return true;
  }

  uninstall(): void {
    for (const [name, { original, ours }] of this.replaced) {
      if (tf.getKernel(name, 'wasm')?.kernelFunc !== ours) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(original);
    }
    this.replaced.clear();
  }
}

const matMulSwap = new KernelSwap({ [tf.BatchMatMul]: nativeBatchMatMul, [tf._FusedMatMul]: nativeFusedMatMul });

/** Whether the native kernels are the registered wasm BatchMatMul and _FusedMatMul. */
export function isNativeMatMulInstalled(): boolean {
  return matMulSwap.installed();
}

/**
 * Registers the native BatchMatMul and _FusedMatMul for the wasm backend (see the header for the order with
 * ./wasm-kernels). Gradients are untouched (registered per kernel name); the transposed products they issue go to
 * OpenBLAS directly. Idempotent.
 * @returns false, changing nothing, when the addon is unavailable or the wasm kernels are not registered; else true.
 */
export function installNativeMatMul(): boolean {
  return matMulSwap.install();
}

/** Restores the kernels `installNativeMatMul` replaced, where its own are still registered. Idempotent. */
export function uninstallNativeMatMul(): void {
  matMulSwap.uninstall();
}

// ---- Training helpers: the other kernels a dense training step spends its time in ----

/** The normalised, sorted axes of a reduction (tfjs's `axis` attr: a number, an array, or all axes when empty). */
function reductionAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list = axis === undefined || (Array.isArray(axis) && axis.length === 0) ? [...Array(rank).keys()] : [axis].flat();
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
}

/**
 * Sum over leading axes (a bias gradient: dy summed over the batch). The wasm Sum kernel transposes the reduced axes
 * to the end first (kernels/Sum.js), a full copy plus a strided pass; this reads the rows once.
 */
function nativeSum(blas: NativeBlas, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = reductionAxes(axis, rank);
    const lead = axes.length;
    if (x.dtype !== 'float32' || lead === 0 || lead === rank || axes.some((a, i) => a !== i) || size(x.shape) === 0) return fallback(args);
    const rows = size(x.shape.slice(0, lead));
    const rest = x.shape.slice(lead);
    const backend = args.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(keepDims ? [...Array<number>(lead).fill(1), ...rest] : rest, 'float32');
    const h = heapOf(backend);
    blas.colsum(h, offsetOf(backend, x), rows, size(rest), h, offsetOf(backend, out));
    return out;
  };
}

/**
 * Identity without the copy: the output shares the input's memory (reference counted), as in tfjs's cpu backend.
 * tfjs clones every tensor a gradient saves through this kernel (engine.js `clone` in saveTensorsForBackwardMode);
 * the wasm kernel copies each one. Safe because no tfjs kernel writes into its inputs; code that writes into wasm
 * memory itself (like NativeAdam below) must not write into a tensor whose memory may be shared.
 */
function sharedIdentity(_blas: NativeBlas, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return fallback(args);
    (args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

const trainingSwap = new KernelSwap({ [tf.Sum]: nativeSum, [tf.Identity]: sharedIdentity });

/**
 * Registers the training helpers for the wasm backend: Sum over leading axes in C, and Identity without a copy.
 * Independent of `installNativeMatMul`. Idempotent; false when the addon is unavailable.
 */
export function installNativeTrainingKernels(): boolean {
  return trainingSwap.install();
}

export function uninstallNativeTrainingKernels(): void {
  trainingSwap.uninstall();
}

export function isNativeTrainingKernelsInstalled(): boolean {
  return trainingSwap.installed();
}

/** The AdamOptimizer fields NativeAdam reads (tfjs-core optimizers/adam_optimizer.js). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * tfjs's Adam with each variable's update done in one native pass instead of ~14 wasm kernels (same float32
 * arithmetic, same state, so getWeights / setWeights / serialisation are AdamOptimizer's). Writes no tensor in place:
 * new parameter and moment buffers are allocated on the backend and assigned to the variables (Variable.assign), so
 * memory shared with other tensors (clones, saved weights) is never touched. Falls back to AdamOptimizer's own update
 * when the wasm backend is not active or a gradient is not float32.
 */
export class NativeAdam extends tf.AdamOptimizer {
  constructor(private readonly blas: NativeBlas, learningRate: number, beta1?: number, beta2?: number, epsilon?: number) {
    super(learningRate, beta1 ?? 0.9, beta2 ?? 0.999, epsilon ?? null!);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const list = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor] as const)
      : Object.entries(variableGradients);
    if (tf.getBackend() !== 'wasm' || list.some(([, g]) => g != null && g.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const backend = tf.backend() as unknown as WasmBackendInternals;
    const scalarAt = (t: tf.Tensor): number => heapOf(backend)[offsetOf(backend, t)];
    const c1 = 1 - scalarAt(self.accBeta1);
    const c2 = 1 - scalarAt(self.accBeta2);
    const engine = tf.engine() as unknown as { makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor };
    list.forEach(([name, gradient], i) => {
      const value = tf.engine().registeredVariables[name];
      self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      if (gradient == null) return;
      const m = self.accumulatedFirstMoment[i].variable;
      const v = self.accumulatedSecondMoment[i].variable;
      const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
      const h = heapOf(backend); // after the allocations
      const off = (t: tf.TensorInfo): number => offsetOf(backend, t);
      this.blas.adam(h, value.size, off(value), off(gradient), off(m), off(v), off(outs[0]), off(outs[1]), off(outs[2]),
        self.learningRate, self.beta1, self.beta2, self.epsilon, c1, c2);
      [value, m, v].forEach((target, k) => {
        const t = engine.makeTensorFromTensorInfo(outs[k]);
        target.assign(t);
        t.dispose();
      });
    });
    tf.tidy(() => {
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/** A NativeAdam, or undefined when the addon is unavailable. Arguments as tf.train.adam. */
export function nativeAdam(learningRate = 0.001, beta1?: number, beta2?: number, epsilon?: number): tf.AdamOptimizer | undefined {
  const blas = loadNativeBlas();
  return blas === undefined ? undefined : new NativeAdam(blas, learningRate, beta1, beta2, epsilon);
}
