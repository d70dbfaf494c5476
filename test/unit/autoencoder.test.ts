import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { resolveModelConfig } from '../../shared/ml/model-config.js';
import { estimateThreshold, quantile } from '../../shared/ml/threshold.js';
import { ConfigError, InputError } from '../../shared/contracts/errors.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

const small = { epochs: 30, batchSize: 32, encoder: [16, 3], seed: 7 };

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('model config', () => {
  test('mirrors the encoder into the decoder and fills documented defaults', () => {
    const c = resolveModelConfig({ encoder: [32, 16, 4] }, 20);
    assert.deepEqual(c.decoder, [16, 32]);
    assert.equal(c.codeSize, 4);
    assert.equal(c.loss, 'mse');
    assert.equal(c.outputActivation, 'linear');
    assert.equal(resolveModelConfig({ loss: 'bce' }, 20).outputActivation, 'sigmoid');
  });

  test('rejects a code as wide as the input, naming the field', () => {
    assert.throws(() => resolveModelConfig({ codeSize: 8 }, 8), (e: unknown) => e instanceof ConfigError && /codeSize/.test(e.message) && /8/.test(e.message));
  });

  test('rejects bce with a non-sigmoid output and unknown or invalid fields', () => {
    assert.throws(() => resolveModelConfig({ loss: 'bce', outputActivation: 'linear' }, 8), /outputActivation/);
    assert.throws(() => resolveModelConfig({ learningRate: -1 }, 8), /learningRate/);
    assert.throws(() => resolveModelConfig({ activation: 'swish' as never }, 8), /activation/);
    assert.throws(() => resolveModelConfig({ bogus: 1 } as never, 8), /bogus/);
  });
});

describe('thresholds', () => {
  const errors = Array.from({ length: 101 }, (_, i) => i);
  test('quantile interpolates like numpy', () => {
    assert.equal(quantile(errors, 0.99), 99);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  });
  test('sigma and contamination', () => {
    assert.ok(Math.abs(estimateThreshold([1, 1, 3, 3], { method: 'sigma', k: 2 }).value - 4) < 1e-12);
    assert.equal(estimateThreshold(errors, { method: 'contamination', fraction: 0.1 }).value, 90);
  });
});

describe('autoencoder', () => {
  const data = lowRankMatrix(400, 12, 3, 0.02, 3);

  test('learns a low-rank manifold: loss falls and the error is a small part of the variance', async () => {
    const epochs: number[] = [];
    const model = await Autoencoder.fit(data, { ...small, scale: 'standard', noise: 0, codeActivation: 'linear' }, { onEpoch: (p) => { epochs.push(p.loss); assert.ok(p.samplesPerSecond > 0); } });
    try {
      assert.equal(epochs.length, 30);
      assert.ok(epochs[29] < epochs[0] / 3, `loss ${epochs[0]} → ${epochs[29]}`);
      const { errors } = model.score(data);
      const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
      assert.ok(mean < 0.05, `mean error ${mean} (each standardised feature has variance 1)`);
      assert.equal(model.encode(data).length, 400 * 3);
      assert.equal(model.reconstruct(data).length, 400 * 12);
      assert.equal(model.decode(model.encode(data), 400).length, 400 * 12);
      assert.ok(model.threshold && model.threshold.value > 0);
    } finally {
      model.dispose();
    }
  });

  test('the same seed gives the same model; the artifact round-trips to identical outputs', async () => {
    const a = await Autoencoder.fit(data, { ...small, epochs: 5 });
    const b = await Autoencoder.fit(data, { ...small, epochs: 5 });
    const loaded = Autoencoder.fromArtifact(a.toArtifact());
    try {
      assert.deepEqual(a.encode(data), b.encode(data));
      assert.deepEqual(loaded.encode(data), a.encode(data));
      assert.deepEqual(loaded.score(data).errors, a.score(data).errors);
      assert.deepEqual(loaded.threshold, a.threshold);
      assert.deepEqual(loaded.history, a.history);
      assert.deepEqual(loaded.scaler, a.scaler);
      assert.equal(loaded.fingerprint, a.fingerprint);
      assert.deepEqual(loaded.features, data.features);
    } finally {
      [a, b, loaded].forEach((m) => m.dispose());
    }
  });

  test('no tensors leak through fit, encode, score, save, load and dispose', async () => {
    const baseline = tf.memory().numTensors;
    const model = await Autoencoder.fit(data, { ...small, epochs: 3, patience: 1, l1: 1e-4, l2: 1e-4, sparsity: 1e-3 });
    model.encode(data);
    model.score(data, { cells: true });
    model.reconstruct(data);
    const loaded = Autoencoder.fromArtifact(model.toArtifact());
    loaded.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, baseline);
  });

  test('early stopping stops before the epoch budget and keeps the best epoch', async () => {
    const model = await Autoencoder.fit(data, { ...small, epochs: 500, patience: 3, minDelta: 0.5, lrSchedule: 'constant' });
    try {
      assert.ok(model.history.stoppedEarly);
      assert.ok(model.history.epochs.length < 10);
    } finally {
      model.dispose();
    }
  });

  test('penalties do what they say: L2 shrinks weights, sparsity shrinks codes', async () => {
    const plain = await Autoencoder.fit(data, { ...small, noise: 0 });
    const sparse = await Autoencoder.fit(data, { ...small, noise: 0, sparsity: 0.05, l2: 1e-3 });
    try {
      const meanAbs = (m: Autoencoder) => m.encode(data).reduce((a, v) => a + Math.abs(v), 0);
      assert.ok(meanAbs(sparse) < meanAbs(plain) * 0.8, `${meanAbs(sparse)} vs ${meanAbs(plain)}`);
    } finally {
      plain.dispose();
      sparse.dispose();
    }
  });

  test('a NaN is rejected with its row, column and value', async () => {
    const bad = { ...data, values: data.values.slice(), ids: Array.from({ length: 400 }, (_, i) => `r${i}`), source: 'x.csv' };
    bad.values[5 * 12 + 4] = NaN;
    await assert.rejects(Autoencoder.fit(bad, small), (e: unknown) =>
      e instanceof InputError && /x\.csv/.test(e.message) && /row 5/.test(e.message) && /"x4"/.test(e.message) && /NaN/.test(e.message) && /r5/.test(e.message));
  });

  test('a wrong width is rejected on encode, and bce refuses inputs outside [0, 1]', async () => {
    const model = await Autoencoder.fit(data, { ...small, epochs: 1 });
    try {
      assert.throws(() => model.encode({ values: new Float32Array(10), rows: 1, width: 10 }), /10 features but the model expects 12/);
    } finally {
      model.dispose();
    }
    await assert.rejects(Autoencoder.fit(data, { ...small, loss: 'bce', scale: 'none' }), /bce.*\[0, 1\]/);
  });

  test('per-cell errors point at the corrupted feature', async () => {
    const model = await Autoencoder.fit(data, small);
    try {
      const row = { values: data.values.slice(0, 12), rows: 1, width: 12 };
      row.values[7] += 30;
      const { cellErrors } = model.score(row, { cells: true });
      assert.equal(model.topFeatures(cellErrors!, 1)[0].feature, 'x7');
    } finally {
      model.dispose();
    }
  });
});
