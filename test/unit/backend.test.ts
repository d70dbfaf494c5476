import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../shared/contracts/errors.js';
import { backendInfo, currentTensorCount, initBackend } from '../../shared/ml/backend.js';
import { isWasmMatMulPatched, patchWasmMatMul } from '../../shared/ml/wasm-kernels.js';

const TOLERANCE = 1e-4;
const FLAGS = [[false, false], [true, false], [false, true], [true, true]] as const;

function values(shape: number[], seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

/** Runs `fn` on one backend (inputs are created inside, on that backend) and copies the results out. */
async function on(name: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(name));
  const out = tf.tidy(() => fn().map((t) => t.dataSync() as Float32Array));
  await tf.setBackend('wasm');
  return out;
}

async function onBoth(fn: () => tf.Tensor[]): Promise<void> {
  const [cpu, wasm] = [await on('cpu', fn), await on('wasm', fn)];
  assert.equal(wasm.length, cpu.length);
  cpu.forEach((expected, i) => {
    assert.equal(wasm[i].length, expected.length);
    expected.forEach((e, j) => {
      const w = wasm[i][j];
      if (!(Math.abs(w - e) <= TOLERANCE * Math.max(1, Math.abs(e)))) assert.fail(`output ${i}[${j}]: wasm ${w}, cpu ${e}`);
    });
  });
}

/** Shapes of a and b for a product [m,k]x[k,n] (with leading batch dims), laid out for the given transposes. */
function operands(batch: number[], m: number, k: number, n: number, ta: boolean, tb: boolean): [number[], number[]] {
  return [[...batch, ...(ta ? [k, m] : [m, k])], [...batch, ...(tb ? [n, k] : [k, n])]];
}

const SHAPES: [number[], number, number, number][] = [
  [[], 7, 5, 3],
  [[], 64, 784, 32],
  [[], 1, 17, 9],
  [[1], 12, 10, 6],
  [[3], 8, 6, 5],
  [[2, 2], 4, 9, 3],
];

test('an explicit tensorflow request fails with a ConfigError naming LATENTFLOW_BACKEND', async () => {
  await assert.rejects(initBackend('tensorflow', () => undefined), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /LATENTFLOW_BACKEND=tensorflow/);
    assert.match(err.message, /tfjs-node/);
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(backendInfo(), undefined);
});

test('auto resolves to wasm here, once, with the matmul patch installed', async () => {
  const logged: string[] = [];
  const info = await initBackend('auto', (msg) => logged.push(msg));
  assert.equal(info.name, 'wasm');
  assert.equal(info.requested, 'auto');
  assert.match(info.reason ?? '', /^tensorflow: /);
  assert.equal(typeof info.simd, 'boolean');
  assert.equal(info.threads, 1);
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(await initBackend('auto', (msg) => logged.push(msg)), info);
  assert.deepEqual(await initBackend('wasm', (msg) => logged.push(msg)), info);
  assert.deepEqual(backendInfo(), info);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /wasm/);
  assert.ok(isWasmMatMulPatched());
  assert.equal(patchWasmMatMul(), false);
  await assert.rejects(initBackend('cpu'), /LATENTFLOW_BACKEND=cpu/);
});

test('tf.matMul on wasm matches cpu for every transpose combination and shape', async () => {
  await initBackend('auto', () => undefined);
  for (const [batch, m, k, n] of SHAPES) {
    for (const [ta, tb] of FLAGS) {
      const [sa, sb] = operands(batch, m, k, n, ta, tb);
      await onBoth(() => [tf.matMul(tf.tensor(values(sa, 1), sa), tf.tensor(values(sb, 2), sb), ta, tb)]);
    }
  }
});

test('tf.fused.matMul with bias and activation on wasm matches cpu', async () => {
  await initBackend('auto', () => undefined);
  for (const [ta, tb] of FLAGS) {
    for (const [batch, m, k, n] of [SHAPES[0], SHAPES[1], SHAPES[3]]) {
      const [sa, sb] = operands(batch, m, k, n, ta, tb);
      await onBoth(() => {
        const [a, b, bias] = [tf.tensor(values(sa, 3), sa), tf.tensor(values(sb, 4), sb), tf.tensor1d(values([n], 5))];
        const fused = (extra: Partial<Parameters<typeof tf.fused.matMul>[0]>): tf.Tensor =>
          tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, ...extra });
        return [
          fused({ activation: 'relu' }),
          fused({ activation: 'leakyrelu', leakyreluAlpha: 0.1 }),
          fused({ activation: 'prelu', preluActivationWeights: tf.tensor1d(values([n], 6)) }),
        ];
      });
    }
  }
});

test('gradients of a 2-layer dense MLP agree on wasm and cpu', async () => {
  await initBackend('auto', () => undefined);
  const [n, d, h, o] = [32, 20, 12, 5];
  const mlp = (fusedLayer: boolean) => (): tf.Tensor[] => {
    const x = tf.tensor2d(values([n, d], 7), [n, d]);
    const y = tf.tensor2d(values([n, o], 8), [n, o]);
    const params = [tf.tensor2d(values([d, h], 9), [d, h]), tf.tensor1d(values([h], 10)),
      tf.tensor2d(values([h, o], 11), [h, o]), tf.tensor1d(values([o], 12))];
    const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
      const hidden = fusedLayer
        ? tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' })
        : tf.relu(tf.add(tf.matMul(x, w1), b1));
      return tf.losses.meanSquaredError(y, tf.add(tf.matMul(hidden, w2), b2));
    };
    const grads = tf.grads(loss)(params);
    return [loss(params[0], params[1], params[2], params[3]), ...grads];
  };
  await onBoth(mlp(false));
  await onBoth(mlp(true));
});

test('wrapped matmuls leak no tensors or backend buffers', async () => {
  await initBackend('auto', () => undefined);
  const a = tf.tensor2d(values([64, 48], 13), [64, 48]);
  const b = tf.tensor2d(values([64, 48], 14), [64, 48]);
  const c = tf.tensor2d(values([48, 64], 16), [48, 64]);
  const bias = tf.tensor1d(values([48], 15));
  const [tensors, buffers] = [currentTensorCount(), tf.backend().numDataIds()];
  for (let i = 0; i < 20; i++) {
    tf.matMul(a, b, true, false).dispose();
    tf.matMul(a, b, false, true).dispose();
    tf.matMul(a, c, true, true).dispose();
    tf.fused.matMul({ a, b, transposeA: true, bias, activation: 'relu' }).dispose();
    tf.dispose(tf.grads((w: tf.Tensor) => tf.sum(tf.matMul(a, w, true, false)))([b]));
  }
  assert.equal(currentTensorCount(), tensors);
  assert.equal(tf.backend().numDataIds(), buffers);
  tf.dispose([a, b, c, bias]);
});
