/**
 * The fused native training engine (shared/ml/native-train.ts, native/blas/src/dense.c) against the tfjs engine it
 * replaces: step by step on every supported activation and loss, with noise, penalties and a cosine schedule; and
 * through Autoencoder.fit on a real dataset. Skipped when the addon (with denseStep) is not built.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { readTable } from '../../shared/data/read-table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { resolveModelConfig, type Activation, type ModelOptions } from '../../shared/ml/model-config.js';
import { loadNativeBlas, nativeBlasError } from '../../shared/ml/native-blas.js';
import { cellErrorsInto, corruptInto, nativeScaler, nativeStepEngine, nativeTrainingIneligibility } from '../../shared/ml/native-train.js';
import { applyScaler, fitScaler } from '../../shared/ml/scaler.js';
import { buildStack, disposeStack, variablesOf, type DenseLayer } from '../../shared/ml/network.js';
import { lastTrainingEngine, noiseSeed, scheduledRate, tfjsStepEngine, type StepEngine } from '../../shared/ml/train.js';
import { projectPath } from '../helpers/cli.js';

const blas = loadNativeBlas();
const skip = blas === undefined || typeof blas.denseStep !== 'function'
  ? `native BLAS addon with denseStep not available (${nativeBlasError() ?? 'rebuild it'}); build native/blas`
  : false;

const WIDTH = 12;
const ROWS = 32;

function uniform(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  });
}

function stacks(activation: Activation, output: Activation, code: Activation): { encoder: DenseLayer[]; decoder: DenseLayer[] } {
  return {
    encoder: buildStack([{ inputs: WIDTH, units: 8, activation }, { inputs: 8, units: 3, activation: code }], 5),
    decoder: buildStack([{ inputs: 3, units: 8, activation }, { inputs: 8, units: WIDTH, activation: output }], 6),
  };
}

/** Runs `steps` steps (epoch-by-epoch learning rates, as train.ts) and returns the losses and final weights. */
function runEngine(make: (e: DenseLayer[], d: DenseLayer[]) => StepEngine | undefined, options: ModelOptions, steps: number, act: [Activation, Activation, Activation]) {
  const config = resolveModelConfig({ batchSize: ROWS, epochs: steps, ...options }, WIDTH);
  const { encoder, decoder } = stacks(...act);
  const engine = make(encoder, decoder);
  assert.ok(engine !== undefined, 'engine is eligible');
  const data = uniform(ROWS * WIDTH, 11);
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) losses.push(engine.step(data, ROWS - (s % 2) * 3, noiseSeed(config, s), scheduledRate(config, s)));
  const valLoss = engine.evaluate(data, ROWS);
  engine.close();
  const weights = variablesOf([...encoder, ...decoder]).map((v) => v.dataSync() as Float32Array);
  disposeStack(encoder);
  disposeStack(decoder);
  return { losses, valLoss, weights, engine: engine.kind };
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)))) assert.fail(`${what}: ${actual}, expected ${expected}`);
}

describe('native training engine', { skip }, () => {
  before(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  const cases: { name: string; act: [Activation, Activation, Activation]; options: ModelOptions }[] = [
    ...(['linear', 'relu', 'elu', 'selu', 'tanh', 'sigmoid', 'leaky_relu'] as const).map((a) => ({
      name: `${a}, mse`, act: [a, 'linear', a] as [Activation, Activation, Activation], options: { noise: 0 },
    })),
    { name: 'relu/sigmoid, bce', act: ['relu', 'sigmoid', 'tanh'], options: { loss: 'bce', noise: 0 } },
    { name: 'elu/tanh, gaussian noise (default)', act: ['elu', 'linear', 'tanh'], options: {} },
    { name: 'relu, masking noise, bce', act: ['relu', 'sigmoid', 'linear'], options: { loss: 'bce', noise: 0.25, noiseKind: 'mask' } },
    { name: 'l1 + l2 + sparsity, constant rate', act: ['elu', 'linear', 'relu'], options: { l1: 1e-3, l2: 1e-3, sparsity: 1e-2, lrSchedule: 'constant' } },
  ];
  for (const c of cases) {
    test(`one step after another matches tfjs: ${c.name}`, () => {
      const options: ModelOptions = { learningRate: 0.01, ...c.options };
      const config = resolveModelConfig({ batchSize: ROWS, epochs: 4, ...options }, WIDTH);
      const tensors = tf.memory().numTensors;
      const native = runEngine((e, d) => nativeStepEngine(e, d, config, WIDTH), options, 4, c.act);
      const reference = runEngine((e, d) => tfjsStepEngine(e, d, config, WIDTH), options, 4, c.act);
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
      assert.equal(native.engine, 'native');
      native.losses.forEach((l, i) => assertClose(l, reference.losses[i], 1e-4, `loss of step ${i + 1}`));
      assertClose(native.valLoss, reference.valLoss, 1e-4, 'evaluation');
      native.weights.forEach((w, i) => w.forEach((x, j) => assertClose(x, reference.weights[i][j], 2e-4, `weight ${i}[${j}]`)));
    });
  }

  test('input corruption reproduces tf.randomNormal / tf.randomUniform for the same seed', () => {
    const x = uniform(999, 3);
    for (const noiseKind of ['gaussian', 'mask'] as const) {
      const noise = noiseKind === 'mask' ? 0.3 : 0.2;
      const out = new Float32Array(x.length);
      corruptInto(out, x, x.length, { noise, noiseKind }, 4242);
      const native = new Float32Array(x.length + 1);
      blas!.corrupt(native, x, 0, x.length, noiseKind === 'mask' ? 1 : 0, noise, '4242');
      assert.deepEqual(native.subarray(0, x.length), out, `${noiseKind}: addon and JS`);
      assert.equal(native[x.length], 0, 'writes only count values');
      assert.throws(() => blas!.corrupt(native, x, 1, x.length, 0, noise, '1'), RangeError);
      const expected = tf.tidy(() => {
        const t = tf.tensor1d(x);
        return (noiseKind === 'gaussian'
          ? tf.add(t, tf.randomNormal([x.length], 0, noise, 'float32', 4242))
          : tf.mul(t, tf.cast(tf.greaterEqual(tf.randomUniform([x.length], 0, 1, 'float32', 4242), noise), 'float32'))).dataSync();
      });
      assert.deepEqual(out, expected, noiseKind);
    }
  });

  test('the addon computes the cell errors of loss.ts (against the JS reference cellErrorsInto)', () => {
    const x = uniform(40 * WIDTH, 3);
    const y = uniform(40 * WIDTH, 31);
    for (const loss of ['mse', 'bce'] as const) {
      const cells = new Float32Array(y.length);
      const rowsOut = new Float32Array(40);
      blas!.errors(y, 0, x, 0, 40, WIDTH, loss === 'bce' ? 1 : 0, rowsOut, 0, cells, 0);
      const expected = new Float32Array(y.length);
      cellErrorsInto(expected, y, x, y.length, loss);
      cells.forEach((c, i) => assertClose(c, expected[i], 1e-6, `${loss} cell ${i}`));
      rowsOut.forEach((r, i) => assertClose(r, expected.subarray(i * WIDTH, (i + 1) * WIDTH).reduce((s, v) => s + v, 0) / WIDTH, 1e-6, `${loss} row ${i}`));
      assert.throws(() => blas!.errors(y, 0, x, 0, 41, WIDTH, 0, rowsOut, 0, null, 0), RangeError);
    }
  });

  test('denseStep refuses out-of-range requests without touching anything', () => {
    const layout = Int32Array.from([1, 4, 2, 1, 0, 8, 10, 18, 26, 28]); // 4→2 relu; w 0, b 8, moments after
    const params = new Float32Array(30).fill(0.5);
    const before = params.slice();
    const x = new Float32Array(3 * 4);
    const options = Float64Array.from([0, 0.2, -1, 0, 0, 0, 1, 0.1, 0.9, 0.999, 1e-7, 0.1, 0.001]);
    const work = new Float32Array(3 * 2 + 2 * 3 * 2 + 8 + 2);
    const call = (over: Partial<{ params: Float32Array; layout: Int32Array; work: Float32Array; x: Float32Array; xOff: number; rows: number; target: Float32Array; options: Float64Array }>) => {
      const a = { params, layout, work, x, xOff: 0, rows: 3, target: new Float32Array(6), options, ...over };
      return blas!.denseStep(a.params, a.layout, a.work, a.x, a.xOff, a.target, 0, a.rows, a.options);
    };
    assert.throws(() => call({ work: new Float32Array(work.length - 1) }), RangeError);
    assert.throws(() => call({ xOff: 1 }), RangeError);
    assert.throws(() => call({ rows: 4 }), RangeError);
    assert.throws(() => call({ params: new Float32Array(29) }), RangeError);
    assert.throws(() => call({ layout: Int32Array.from([1, 4, 2, 9, 0, 8, 10, 18, 26, 28]) }), RangeError);
    assert.throws(() => call({ layout: Int32Array.from([2, 4, 2, 1, 0, 8, 10, 18, 26, 28]) }), RangeError);
    assert.throws(() => call({ layout: Int32Array.from([1, 4, 2, 1, -1, 8, 10, 18, 26, 28]) }), RangeError);
    assert.throws(() => call({ target: new Float32Array(5) }), RangeError);
    assert.throws(() => call({ options: new Float64Array(12) }), RangeError);
    assert.throws(() => call({ x: new Float64Array(12) as unknown as Float32Array }), TypeError);
    assert.deepEqual(params, before);
    assert.ok(Number.isFinite(call({})));
    assert.notDeepEqual(params, before);
  });

  test('the addon scales inputs exactly as applyScaler', () => {
    const values = Float32Array.from(uniform(50 * WIDTH, 23), (v, i) => (v - 0.3) * (1 + (i % WIDTH)));
    for (const kind of ['minmax', 'standard', 'none'] as const) {
      const scaler = fitScaler(kind, values.subarray(0, 30 * WIDTH), 30, WIDTH);
      assert.deepEqual(nativeScaler(scaler)!(values, 50), applyScaler(scaler, values, WIDTH), kind);
    }
  });

  test('ineligible models fall back to tfjs, with the reason', async () => {
    const { encoder, decoder } = stacks('softplus', 'linear', 'tanh');
    try {
      assert.match(nativeTrainingIneligibility(encoder, decoder, resolveModelConfig({}, WIDTH)) ?? '', /softplus/);
    } finally {
      disposeStack(encoder);
      disposeStack(decoder);
    }
    const relu = stacks('relu', 'linear', 'tanh');
    try {
      assert.equal(nativeTrainingIneligibility(relu.encoder, relu.decoder, resolveModelConfig({}, WIDTH)), undefined);
      assert.match(nativeTrainingIneligibility(relu.encoder, relu.decoder, resolveModelConfig({ optimizer: 'sgd' }, WIDTH)) ?? '', /sgd/);
    } finally {
      disposeStack(relu.encoder);
      disposeStack(relu.decoder);
    }
    const data = { values: uniform(40 * WIDTH, 9), rows: 40, width: WIDTH };
    for (const options of [{ activation: 'softplus' }, { optimizer: 'rmsprop' }] as ModelOptions[]) {
      const model = await Autoencoder.fit(data, { ...options, epochs: 2, encoder: [6, 3] });
      assert.equal(lastTrainingEngine(), 'tfjs', JSON.stringify(options));
      model.dispose();
    }
  });

  describe('Autoencoder.fit on digits, native vs LATENTFLOW_NATIVE_BLAS=off', () => {
    const saved = process.env.LATENTFLOW_NATIVE_BLAS;
    after(() => {
      if (saved === undefined) delete process.env.LATENTFLOW_NATIVE_BLAS;
      else process.env.LATENTFLOW_NATIVE_BLAS = saved;
    });

    test('gives close loss histories, the same early stop, and working models', async () => {
      const table = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
      const data = { values: table.values.subarray(0, 600 * table.width), rows: 600, width: table.width };
      // Defaults otherwise: elu/tanh, gaussian noise 0.2, cosine schedule, adam, 10% validation.
      const options: ModelOptions = { epochs: 6, batchSize: 64, encoder: [32, 8], seed: 3, patience: 2, minDelta: 0.5 };
      const tensors = tf.memory().numTensors;
      const fit = async (mode: 'native' | 'off') => {
        if (mode === 'off') process.env.LATENTFLOW_NATIVE_BLAS = 'off';
        else delete process.env.LATENTFLOW_NATIVE_BLAS;
        const model = await Autoencoder.fit(data, options);
        const engine = lastTrainingEngine();
        const { errors } = model.score(data);
        const codes = model.encode(data);
        const restored = Autoencoder.fromArtifact(model.toArtifact());
        assert.deepEqual(restored.encode(data), codes, 'artifact round trip');
        restored.dispose();
        model.dispose();
        return { history: model.history, engine, meanError: errors.reduce((s, e) => s + e, 0) / errors.length };
      };
      const native = await fit('native');
      const reference = await fit('off');
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
      assert.equal(native.engine, 'native');
      assert.equal(reference.engine, 'tfjs');
      assert.equal(native.history.epochs.length, reference.history.epochs.length);
      assert.equal(native.history.bestEpoch, reference.history.bestEpoch);
      native.history.epochs.forEach((e, i) => {
        const r = reference.history.epochs[i];
        assert.equal(e.learningRate, r.learningRate);
        assertClose(e.loss, r.loss, 1e-3, `loss of epoch ${i + 1}`);
        assertClose(e.valLoss!, r.valLoss!, 1e-3, `validation loss of epoch ${i + 1}`);
      });
      assertClose(native.meanError, reference.meanError, 1e-3, 'mean reconstruction error');
    });

    test('inference (encode, decode, reconstruct, score) on the addon matches tfjs', async () => {
      const values = uniform(300 * WIDTH, 17);
      const data = { values, rows: 300, width: WIDTH };
      for (const options of [{ activation: 'selu', loss: 'bce', scale: 'minmax' }, { activation: 'leaky_relu', codeActivation: 'linear' }] as ModelOptions[]) {
        delete process.env.LATENTFLOW_NATIVE_BLAS;
        const model = await Autoencoder.fit(data, { ...options, epochs: 3, encoder: [8, 3] });
        const tensors = tf.memory().numTensors;
        const native = { score: model.score(data, { cells: true, codes: true }), codes: model.encode(data), reconstruction: model.reconstruct(data) };
        const decoded = model.decode(native.codes, data.rows);
        assert.equal(tf.memory().numTensors, tensors, 'native inference allocates no tensors');
        process.env.LATENTFLOW_NATIVE_BLAS = 'off';
        const tfjs = Autoencoder.fromArtifact(model.toArtifact()); // decides its path on first use: tfjs here
        const reference = { score: tfjs.score(data, { cells: true, codes: true }), codes: tfjs.encode(data), reconstruction: tfjs.reconstruct(data) };
        const near = (a: Float32Array, b: Float32Array, what: string) => a.forEach((x, i) => assertClose(x, b[i], 1e-5, `${what}[${i}]`));
        near(native.codes, reference.codes, 'codes');
        near(native.reconstruction, reference.reconstruction, 'reconstruction');
        near(decoded, tfjs.decode(reference.codes, data.rows), 'decode');
        near(native.score.errors, reference.score.errors, 'errors');
        near(native.score.cellErrors!, reference.score.cellErrors!, 'cell errors');
        near(native.score.codes!, reference.codes, 'score codes');
        tfjs.dispose();
        model.dispose();
      }
    });
  });
});
