/**
 * Fast transposed matmuls on the wasm backend. Its BatchMatMul and _FusedMatMul kernels reach XNNPACK only when
 * neither input is transposed; with `transposeA` or `transposeB` set (every Dense / tf.matMul gradient) they fall
 * back to a naive blocked loop ~10× slower. The patch materialises the transpose with the wasm Transpose kernel
 * (O(n·m)) and calls the original kernel with both flags false. XNNPACK is only used for unbatched products (every
 * leading dimension 1), so batched inputs, slow either way, are passed through unchanged.
 */
import * as tf from '@tensorflow/tfjs';

const PATCHED_KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

type WasmBackend = { disposeData(dataId: tf.DataId): boolean };

const originals = new Map<string, tf.KernelConfig>();

function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

const unbatched = (x: tf.TensorInfo): boolean => x.shape.slice(0, -2).every((d) => d === 1);

function untransposed(kernel: tf.KernelFunc, transpose: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if ((!transposeA && !transposeB) || !unbatched(a) || !unbatched(b)) return kernel({ inputs, backend, attrs });
    const temps: tf.TensorInfo[] = [];
    const materialise = (x: tf.TensorInfo): tf.TensorInfo => {
      const t = transpose({ inputs: { x }, backend, attrs: { perm: swapLastTwo(x.shape.length) } }) as tf.TensorInfo;
      temps.push(t);
      return t;
    };
    try {
      const plain = { a: transposeA ? materialise(a) : a, b: transposeB ? materialise(b) : b };
      return kernel({ inputs: { ...inputs, ...plain }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) (backend as WasmBackend).disposeData(t.dataId);
    }
  };
}

/**
 * Replaces the wasm BatchMatMul and _FusedMatMul kernels with the transpose-first wrappers. Idempotent; the wasm
 * backend must be registered (the kernels are looked up in tfjs's kernel registry). Gradient functions are registered
 * per kernel name and stay as they are; the transposed matmuls they issue now take the fast path.
 * @returns true if this call installed the patch, false if it was already installed.
 */
export function patchWasmMatMul(): boolean {
  if (originals.size > 0) return false;
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (transpose === undefined) throw new Error('wasm Transpose kernel is not registered');
  for (const name of PATCHED_KERNELS) {
    const original = tf.getKernel(name, 'wasm');
    if (original === undefined) throw new Error(`wasm ${name} kernel is not registered`);
    originals.set(name, original);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: untransposed(original.kernelFunc, transpose.kernelFunc) });
  }
  return true;
}

/** Restores the original wasm kernels (for benchmarks and tests). Idempotent. */
export function unpatchWasmMatMul(): void {
  for (const [name, original] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  }
  originals.clear();
}

/** Whether `patchWasmMatMul` is in effect. */
export function isWasmMatMulPatched(): boolean {
  return originals.size > 0;
}
