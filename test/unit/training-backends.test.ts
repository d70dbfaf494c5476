// The wasm path with its patched matmuls must train the same model as the reference cpu backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { isWasmMatMulPatched } from '../../shared/ml/wasm-kernels.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

const data = lowRankMatrix(300, 20, 4, 0.02, 11);
const options = { encoder: [32, 16, 4], epochs: 15, batchSize: 32, seed: 3 };

async function trainOn(backend: 'wasm' | 'cpu') {
  await tf.setBackend(backend);
  const model = await Autoencoder.fit(data, options);
  const result = { losses: model.history.epochs.map((e) => e.loss), codes: model.encode(data), errors: model.score(data).errors };
  model.dispose();
  return result;
}

test('training on patched wasm gives the cpu backend numbers within tolerance', async () => {
  const info = await initBackend('wasm', () => {});
  assert.equal(info.name, 'wasm');
  assert.ok(isWasmMatMulPatched());
  const wasm = await trainOn('wasm');
  const cpu = await trainOn('cpu');
  await tf.setBackend('wasm');
  for (let e = 0; e < cpu.losses.length; e++) {
    assert.ok(Math.abs(wasm.losses[e] - cpu.losses[e]) <= 1e-3 * Math.max(1e-3, cpu.losses[e]) + 1e-6, `epoch ${e + 1}: ${wasm.losses[e]} vs ${cpu.losses[e]}`);
  }
  let maxCodeDiff = 0;
  for (let i = 0; i < cpu.codes.length; i++) maxCodeDiff = Math.max(maxCodeDiff, Math.abs(wasm.codes[i] - cpu.codes[i]));
  assert.ok(maxCodeDiff < 1e-3, `largest code difference ${maxCodeDiff}`);
  const meanError = (xs: Float32Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(meanError(wasm.errors) - meanError(cpu.errors)) < 1e-3 * meanError(cpu.errors));
});
