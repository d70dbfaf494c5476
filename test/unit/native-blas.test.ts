/**
 * The optional native OpenBLAS kernels for the wasm backend (shared/ml/native-blas.ts), checked against the wasm
 * backend's own kernels and the cpu backend. Skipped when the addon is not built (npm run build:native).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { checkMatrix } from '../../shared/ml/matrix.js';
import { initBackend } from '../../shared/ml/backend.js';
import {
  installNativeMatMul, installNativeTrainingKernels, isNativeMatMulInstalled, isNativeTrainingKernelsInstalled,
  loadNativeBlas, nativeAdam, nativeBlasError, uninstallNativeMatMul, uninstallNativeTrainingKernels,
} from '../../shared/ml/native-blas.js';
import { patchWasmMatMul, unpatchWasmMatMul } from '../../shared/ml/wasm-kernels.js';

const TOLERANCE = 1e-4;
const blas = loadNativeBlas();
const skip = blas === undefined ? `native BLAS addon not available (${nativeBlasError()}); build it with npm run build:native` : false;

function values(shape: number[], seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(values(shape, seed), shape);

type Mode = 'native' | 'wasm' | 'cpu';

/**
 * Runs `fn` on the wasm backend with the native kernels installed, on wasm without them, or on cpu; copies the
 * outputs out and checks that no tensor (engine) and no wasm allocation (backend) is left behind.
 */
async function run(mode: Mode, fn: () => tf.Tensor[]): Promise<{ data: Float32Array[]; shapes: number[][] }> {
  assert.ok(await tf.setBackend(mode === 'cpu' ? 'cpu' : 'wasm'));
  if (mode === 'native') {
    assert.ok(installNativeMatMul());
    assert.ok(installNativeTrainingKernels());
  } else if (mode === 'wasm') {
    uninstallNativeMatMul();
    uninstallNativeTrainingKernels();
  }
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  try {
    const out = tf.tidy(() => fn().map((x) => ({ data: x.dataSync() as Float32Array, shape: x.shape })));
    assert.equal(tf.memory().numTensors, tensors, `${mode}: tensors leaked`);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, `${mode}: backend data leaked`);
    return { data: out.map((o) => o.data), shapes: out.map((o) => o.shape) };
  } finally {
    await tf.setBackend('wasm');
  }
}

function close(actual: { data: Float32Array[]; shapes: number[][] }, expected: { data: Float32Array[]; shapes: number[][] }, what: string): void {
  assert.deepEqual(actual.shapes, expected.shapes, `${what}: shapes`);
  expected.data.forEach((e, i) => {
    assert.equal(actual.data[i].length, e.length);
    e.forEach((x, j) => {
      const y = actual.data[i][j];
      if (!(Math.abs(y - x) <= TOLERANCE * Math.max(1, Math.abs(x)))) assert.fail(`${what}: output ${i}[${j}] = ${y}, expected ${x}`);
    });
  });
}

/**
 * Native against cpu, and against the wasm kernels where they accept the case. `wasm: false` skips the latter where
 * the stock wasm kernel is known to be wrong (tfjs-backend-wasm 4.22's _FusedMatMul adds the bias wrongly to batched
 * products: every matrix after the first differs from cpu).
 */
async function agree(what: string, fn: () => tf.Tensor[], { wasm: compareWasm = true } = {}): Promise<void> {
  const native = await run('native', fn);
  close(native, await run('cpu', fn), `${what} (vs cpu)`);
  if (!compareWasm) return;
  let wasm: Awaited<ReturnType<typeof run>> | undefined;
  try {
    wasm = await run('wasm', fn);
  } catch {
    wasm = undefined; // e.g. the wasm _FusedMatMul rejects batched / broadcast operands; cpu is the reference then
  }
  if (wasm !== undefined) close(native, wasm, `${what} (vs wasm)`);
}

/** a and b for op(a)·op(b) = [..batchA, m, k]·[..batchB, k, n], stored as the transposes ask. */
function operands(batchA: number[], batchB: number[], m: number, k: number, n: number, ta: boolean, tb: boolean, seed = 1): [tf.Tensor, tf.Tensor] {
  return [t([...batchA, ...(ta ? [k, m] : [m, k])], seed), t([...batchB, ...(tb ? [n, k] : [k, n])], seed + 1)];
}

const FLAGS = [[false, false], [true, false], [false, true], [true, true]] as const;
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

describe('native BLAS kernels for the wasm backend', { skip }, () => {
  before(async () => {
    await initBackend('wasm', () => undefined);
  });
  after(() => {
    uninstallNativeMatMul();
    uninstallNativeTrainingKernels();
  });

  test('the addon multiplies Float32Arrays, checks bounds and sets its thread count', () => {
    const b = blas!;
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2×3
    const w = Float32Array.from([1, 0, 0, 1, 1, 1]); // 3×2
    const c = new Float32Array(4).fill(1);
    b.sgemm(false, false, 2, 2, 3, 2, a, 0, 3, w, 0, 2, 1, c, 0, 2);
    assert.deepEqual([...c], [2 * 4 + 1, 2 * 5 + 1, 2 * 10 + 1, 2 * 11 + 1]);
    assert.throws(() => b.sgemm(false, false, 2, 2, 3, 1, a, 1, 3, w, 0, 2, 0, c, 0, 2), RangeError);
    assert.throws(() => b.sgemm(false, false, 2, 2, 3, 1, a, 0, 3, w, 0, 2, 0, c, 1, 2), RangeError);
    const before = b.getNumThreads();
    b.setNumThreads(1);
    assert.equal(b.getNumThreads(), 1);
    b.setNumThreads(before);
    assert.throws(() => b.setNumThreads(0), RangeError);
    assert.match(b.config(), /OpenBLAS/);
  });

  for (const [ta, tb] of FLAGS) {
    test(`matMul transposeA=${ta} transposeB=${tb}, small and large`, async () => {
      await agree('small', () => [tf.matMul(...operands([], [], 5, 7, 3, ta, tb), ta, tb)]);
      await agree('large', () => [tf.matMul(...operands([], [], 130, 300, 70, ta, tb), ta, tb)]);
    });
  }

  test('batched and broadcast-batched matMul', async () => {
    for (const [ta, tb] of FLAGS) {
      await agree(`batched ${ta} ${tb}`, () => [tf.matMul(...operands([2, 3], [2, 3], 4, 5, 6, ta, tb), ta, tb)]);
      await agree(`rank 2 · rank 3 ${ta} ${tb}`, () => [tf.matMul(...operands([], [3], 4, 5, 6, ta, tb), ta, tb)]);
      await agree(`rank 4 · [1,1] ${ta} ${tb}`, () => [tf.matMul(...operands([2, 3], [1, 1], 4, 5, 6, ta, tb), ta, tb)]);
      await agree(`[2,1] · [1,3] (fallback) ${ta} ${tb}`, () => [tf.matMul(...operands([2, 1], [1, 3], 4, 5, 6, ta, tb), ta, tb)]);
    }
  });

  test('fused matMul: bias and every activation', async () => {
    for (const activation of ACTIVATIONS) {
      for (const [ta, tb] of FLAGS) {
        await agree(`${activation} ${ta} ${tb}`, () => {
          const [a, b] = operands([], [], 9, 11, 6, ta, tb);
          const prelu = activation === 'prelu' ? t([6], 5) : undefined;
          return [
            tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: t([6], 4), activation, preluActivationWeights: prelu, leakyreluAlpha: 0.3 }),
            tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, activation, preluActivationWeights: prelu }),
          ];
        });
      }
    }
    await agree('batched, per-column bias and prelu', () => {
      const [a, b] = operands([3], [3], 4, 5, 6, false, true);
      return [tf.fused.matMul({ a, b, transposeB: true, bias: t([6], 4), activation: 'prelu', preluActivationWeights: t([6], 5) })];
    }, { wasm: false });
    await agree('bias of the output shape, scalar prelu', () => {
      const [a, b] = operands([], [], 4, 5, 6, true, false);
      return [tf.fused.matMul({ a, b, transposeA: true, bias: t([4, 6], 4), activation: 'prelu', preluActivationWeights: t([1], 5) })];
    });
  });

  test('gradients of a small dense model', async () => {
    const model = (fused: boolean) => (): tf.Tensor[] => {
      const x = t([16, 12], 1);
      const weights = [t([12, 8], 2), t([8], 3), t([8, 12], 4), t([12], 5)];
      const layer = (h: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, activation: 'relu' | 'sigmoid'): tf.Tensor2D => {
        if (fused) return tf.fused.matMul({ a: h, b: w, bias: b, activation }) as tf.Tensor2D;
        const z = tf.add(tf.matMul(h, w as tf.Tensor2D), b);
        return (activation === 'relu' ? tf.relu(z) : tf.sigmoid(z)) as tf.Tensor2D;
      };
      const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar =>
        tf.mean(tf.squaredDifference(layer(layer(x as tf.Tensor2D, w1, b1, 'relu'), w2, b2, 'sigmoid'), x));
      const { value, grads } = tf.valueAndGrads((w1, b1, w2, b2) => loss(w1, b1, w2, b2))(weights);
      return [value, ...grads];
    };
    await agree('unfused', model(false));
    await agree('fused', model(true));
  });

  test('Sum over leading axes and the shared-memory Identity', async () => {
    const x = (): tf.Tensor => t([6, 4, 5], 7);
    await agree('sum axis 0', () => [tf.sum(x(), 0), tf.sum(x(), 0, true), tf.sum(x(), [0, 1]), tf.sum(x(), [-3])]);
    await agree('sum other axes (fallback)', () => [tf.sum(x(), 1), tf.sum(x(), -1), tf.sum(x()), tf.sum(tf.cast(x(), 'int32'), 0)]);
    await agree('clone', () => {
      const a = x();
      const b = tf.clone(a);
      a.dispose(); // the clone keeps the shared memory alive
      return [b, tf.add(b, 1)];
    });
  });

  test('NativeAdam matches tf.train.adam step for step', async () => {
    const train = (native: boolean) => async (): Promise<Float32Array[]> => {
      const w = tf.variable(t([20, 10], 1));
      const b = tf.variable(t([10], 2));
      const kept = tf.clone(w); // shares w's memory: the optimizer must not write into it
      const before = kept.dataSync().slice();
      const optimizer = native ? nativeAdam(0.01)! : tf.train.adam(0.01);
      for (let step = 0; step < 5; step++) {
        tf.tidy(() => {
          optimizer.minimize(() => tf.mean(tf.square(tf.add(tf.matMul(t([8, 20], 3 + step) as tf.Tensor2D, w), b))), false, [w, b]);
        });
      }
      assert.deepEqual(kept.dataSync(), before, 'a clone of a variable changed');
      const out = [w.dataSync().slice() as Float32Array, b.dataSync().slice() as Float32Array];
      const state = await optimizer.getWeights();
      assert.equal(state.length, 5); // iterations, then m and v of both variables
      state[0].tensor.dispose(); // the iterations scalar is made for the caller

      optimizer.dispose();
      tf.dispose([w, b, kept]);
      return out;
    };
    installNativeMatMul();
    installNativeTrainingKernels();
    const count = tf.memory().numTensors;
    const stock = await train(false)();
    const afterStock = tf.memory().numTensors;
    const native = await train(true)();
    // tfjs's own Adam leaves a tensor or so behind after dispose(); NativeAdam must not add to that
    assert.equal(tf.memory().numTensors - afterStock, afterStock - count, 'tensors leaked');
    close({ data: native, shapes: [] }, { data: stock, shapes: [] }, 'weights after 5 steps');
  });

  test('install/uninstall are idempotent and coexist with the transpose-first patch', () => {
    uninstallNativeMatMul();
    uninstallNativeTrainingKernels();
    const patched = tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc;
    const sum = tf.getKernel(tf.Sum, 'wasm').kernelFunc;
    assert.ok(installNativeMatMul());
    assert.ok(installNativeMatMul());
    assert.ok(isNativeMatMulInstalled());
    assert.notEqual(tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc, patched);
    uninstallNativeMatMul();
    uninstallNativeMatMul();
    assert.equal(tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc, patched);
    // unpatching wasm-kernels re-registers the stock kernels over the native ones; that is reported, not undone
    assert.ok(installNativeMatMul());
    unpatchWasmMatMul();
    assert.equal(isNativeMatMulInstalled(), false);
    patchWasmMatMul();
    const repatched = tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc;
    uninstallNativeMatMul(); // ours are gone: must leave the patch alone
    assert.equal(tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc, repatched);
    assert.ok(installNativeTrainingKernels());
    assert.ok(isNativeTrainingKernelsInstalled());
    uninstallNativeTrainingKernels();
    assert.equal(tf.getKernel(tf.Sum, 'wasm').kernelFunc, sum);
  });
});

test('firstNonFinite finds the first NaN or ±Infinity across its 4096-value blocks, as the input check reports it', { skip }, () => {
  const x = new Float32Array(10_000).fill(0.5);
  assert.equal(blas!.firstNonFinite!(x, 0, x.length), -1);
  for (const [at, bad] of [[0, NaN], [4095, Infinity], [4096, -Infinity], [9999, NaN]] as const) {
    const y = x.slice();
    y[at] = bad;
    y[Math.min(9999, at + 7)] = NaN;
    assert.equal(blas!.firstNonFinite!(y, 0, y.length), at);
    assert.equal(blas!.firstNonFinite!(y, at + 1, y.length - at - 1), at === 9999 ? -1 : Math.min(9999, at + 7) - at - 1);
  }
  assert.throws(() => blas!.firstNonFinite!(x, 1, x.length), RangeError);
  const rows = x.slice(0, 12);
  rows[7] = Infinity;
  assert.throws(() => checkMatrix({ values: rows, rows: 3, width: 4, ids: ['a', 'b', 'c'], features: ['w', 'x', 'y', 'z'] }), /row 1, column "z", value "Infinity": not a finite number \(record id b\)/);
});

test('loading never throws: a missing or broken addon gives undefined', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'native-blas-'));
  try {
    const broken = path.join(dir, 'broken.node');
    writeFileSync(broken, 'not a shared object');
    const module = fileURLToPath(new URL('../../shared/ml/native-blas.ts', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify([m.loadNativeBlas() === undefined, m.installNativeMatMul(), m.nativeAdam() === undefined, m.nativeBlasError()])))`;
    for (const file of [broken, path.join(dir, 'missing.node'), 'off']) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, LATENTFLOW_NATIVE_BLAS: file } });
      const [missing, installed, noAdam, error] = JSON.parse(stdout) as [boolean, boolean, boolean, string];
      assert.equal(missing, true, file);
      assert.equal(installed, false);
      assert.equal(noAdam, true);
      assert.ok(error.length > 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
