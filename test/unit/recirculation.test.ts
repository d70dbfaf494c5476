import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { modelOptionsFrom, withModelFlags } from '../../cli/model-flags.js';
import { ConfigError, InputError } from '../../shared/contracts/errors.js';
import { stratifiedSplit } from '../../shared/analytics/split.js';
import { readTable } from '../../shared/data/read-table.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { currentTensorCount, initBackend } from '../../shared/ml/backend.js';
import { resolveModelConfig, type ModelOptions } from '../../shared/ml/model-config.js';
import { disposeStack, restoreStack, stackWeights, type DenseLayer } from '../../shared/ml/network.js';
import { recirculationStep, resolveRecirculationConfig, trainRecirculation } from '../../shared/ml/recirculation.js';
import { fitScaler, applyScaler } from '../../shared/ml/scaler.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

before(async () => {
  await initBackend('wasm', () => {});
});

const sigma = (a: number) => 1 / (1 + Math.exp(-a));
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6) => {
  assert.equal(actual.length, expected.length);
  for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(actual[k] - expected[k]) <= tolerance, `[${k}] ${actual[k]} vs ${expected[k]}`);
};

/** A 2-visible, 1-hidden loop: w_ji = (0.5, −0.5), hidden bias 0.1, w_ij = (1, −1), visible biases (0, 0.2). */
function tinyLoop(): { encoder: DenseLayer; decoder: DenseLayer } {
  const [encoder] = restoreStack([{ inputs: 2, units: 1, activation: 'sigmoid' }], [Float32Array.of(0.5, -0.5), Float32Array.of(0.1)]);
  const [decoder] = restoreStack([{ inputs: 1, units: 2, activation: 'sigmoid' }], [Float32Array.of(1, -1), Float32Array.of(0, 0.2)]);
  return { encoder, decoder };
}

/** Eqs. (1)–(5) of the paper for one pattern, written out unit by unit: the changes [Δw_j1, Δw_j2, Δθ_j, Δw_1j, Δw_2j, Δθ_1, Δθ_2]. */
function paperChanges(y0: [number, number], lambda: number, epsilon: number): number[] {
  const y1 = sigma(0.5 * y0[0] - 0.5 * y0[1] + 0.1);
  const y2 = [lambda * y0[0] + (1 - lambda) * sigma(1 * y1 + 0), lambda * y0[1] + (1 - lambda) * sigma(-1 * y1 + 0.2)];
  const y3 = lambda * y1 + (1 - lambda) * sigma(0.5 * y2[0] - 0.5 * y2[1] + 0.1);
  return [
    epsilon * y2[0] * (y1 - y3), epsilon * y2[1] * (y1 - y3), epsilon * (y1 - y3),
    epsilon * y1 * (y0[0] - y2[0]), epsilon * y1 * (y0[1] - y2[1]), epsilon * (y0[0] - y2[0]), epsilon * (y0[1] - y2[1]),
  ];
}

function changesAfterStep(rows: number[][], lambda: number, epsilon: number): { changes: number[]; loss: number } {
  const { encoder, decoder } = tinyLoop();
  const before = [...stackWeights([encoder, decoder]).flatMap((w) => Array.from(w))];
  const y0 = tf.tensor2d(rows);
  const loss = recirculationStep(encoder, decoder, y0, lambda, epsilon);
  const after = stackWeights([encoder, decoder]).flatMap((w) => Array.from(w));
  y0.dispose();
  disposeStack([encoder, decoder]);
  return { changes: after.map((w, k) => w - before[k]), loss };
}

describe('the update equations', () => {
  test('one step on one pattern matches the paper\'s equations, and hand-computed values', () => {
    const { changes, loss } = changesAfterStep([[1, 0]], 0.75, 1);
    close(changes, paperChanges([1, 0], 0.75, 1), 1e-6);
    // By hand: y_j(1) = σ(0.6) = 0.645656; reconstruction σ(0.645656) = 0.656031, σ(−0.445656) = 0.390394;
    // y(2) = (0.75 + 0.25·0.656031, 0.25·0.390394) = (0.914008, 0.097599); y_j(3) = 0.75·0.645656 + 0.25·σ(0.508205)
    // = 0.640339; so y_j(1) − y_j(3) = 0.005318 and y(0) − y(2) = (0.085992, −0.097599).
    close(changes, [0.004860, 0.000519, 0.005318, 0.055521, -0.063015, 0.085992, -0.097599], 2e-6);
    // The loss is the reconstruction's mean squared error before the step: ((1 − 0.656031)² + 0.390394²) / 2.
    assert.ok(Math.abs(loss - 0.135361) < 1e-6, `loss ${loss}`);
  });

  test('a batch changes the weights by the mean of its rows\' changes', () => {
    const a = paperChanges([1, 0], 0.75, 2);
    const b = paperChanges([0.2, 0.9], 0.75, 2);
    close(changesAfterStep([[1, 0], [0.2, 0.9]], 0.75, 2).changes, a.map((x, k) => (x + b[k]) / 2), 1e-6);
  });

  test('λ = 1 gives no learning signal: y(2) = y(0) and y(3) = y(1), so nothing changes', () => {
    const { changes, loss } = changesAfterStep([[1, 0], [0.3, 0.6]], 1, 5);
    assert.deepEqual(changes, [0, 0, 0, 0, 0, 0, 0]);
    assert.ok(loss > 0);
  });
});

describe('options', () => {
  test('recirculation defaults: one sigmoid layer, the paper\'s λ and constant step, no noise', () => {
    const c = resolveModelConfig({ trainer: 'recirculation' }, 64);
    assert.deepEqual([c.encoder, c.decoder, c.codeActivation, c.outputActivation], [[26], [], 'sigmoid', 'sigmoid']);
    assert.deepEqual([c.regression, c.learningRate, c.lrSchedule, c.noise], [0.75, 2, 'constant', 0]);
    const b = resolveModelConfig({}, 64);
    assert.deepEqual([b.trainer, b.learningRate, b.lrSchedule, b.regression], ['backprop', 0.002, 'cosine', undefined]);
    assert.deepEqual(resolveRecirculationConfig({ hidden: 4 }), { hidden: 4, lambda: 0.75, learningRate: 2, lrSchedule: 'constant', epochs: 200, batchSize: 64, validationSplit: 0.1, seed: 0 });
  });

  test('a resolved config is valid options again (a scheduled retrain reuses it)', () => {
    for (const options of [{ trainer: 'recirculation', codeSize: 8, regression: 0.5 }, {}] satisfies ModelOptions[]) {
      const { inputWidth, ...again } = resolveModelConfig(options, 64);
      assert.deepEqual(resolveModelConfig(again, inputWidth), resolveModelConfig(options, 64));
    }
  });

  test('what recirculation cannot honour is refused, naming each option', () => {
    const refused = (options: ModelOptions, ...fields: string[]) => assert.throws(() => resolveModelConfig({ trainer: 'recirculation', ...options }, 64),
      (e: unknown) => e instanceof ConfigError && fields.every((f) => e.message.includes(`"${f}"`)) && /recirculation/.test(e.message));
    refused({ encoder: [32, 16] }, 'encoder');
    refused({ decoder: [32] }, 'decoder');
    refused({ codeActivation: 'tanh', outputActivation: 'linear' }, 'codeActivation', 'outputActivation');
    refused({ loss: 'bce' }, 'loss');
    refused({ noise: 0.2, l2: 1e-4, sparsity: 0.1, patience: 3, optimizer: 'sgd' }, 'noise', 'l2', 'sparsity', 'patience', 'optimizer');
    assert.throws(() => resolveModelConfig({ regression: 0.5 }, 64), (e: unknown) => e instanceof ConfigError && /"regression"/.test(e.message) && /recirculation/.test(e.message));
    assert.throws(() => resolveModelConfig({ trainer: 'recirculation', regression: 1 }, 64), /regression/);
    assert.throws(() => resolveModelConfig({ trainer: 'hebbian' as never }, 64), /trainer/);
    assert.throws(() => resolveRecirculationConfig({ hidden: 0 }), (e: unknown) => e instanceof ConfigError && /hidden/.test(e.message));
    assert.throws(() => resolveRecirculationConfig({ hidden: 4, lambda: -0.1 }), /lambda/);
    assert.throws(() => resolveRecirculationConfig({ hidden: 4, bogus: 1 } as never), /bogus/);
  });

  test('inputs outside [0, 1] after scaling are refused at fit, naming the row and column', async () => {
    const data = lowRankMatrix(50, 6, 2, 0.01, 1);
    await assert.rejects(Autoencoder.fit(data, { trainer: 'recirculation', codeSize: 2, scale: 'standard', epochs: 1 }),
      (e: unknown) => e instanceof InputError && /recirculation/.test(e.message) && /row \d+/.test(e.message) && /column "x\d"/.test(e.message));
  });

  test('the command line has --trainer and --regression', () => {
    const command = withModelFlags(new Command()).exitOverride();
    command.parse(['--trainer', 'recirculation', '--regression', '0.6', '--code-size', '8'], { from: 'user' });
    assert.deepEqual(modelOptionsFrom(command.opts()), { trainer: 'recirculation', regression: 0.6, codeSize: 8 });
  });
});

describe('training', () => {
  const synthetic = lowRankMatrix(300, 12, 3, 0.05, 2);
  const scaled = { values: applyScaler(fitScaler('minmax', synthetic.values, 300, 12), synthetic.values, 12), rows: 300, width: 12 };

  test('seeded: the same seed gives the same weights and history, another seed other weights', async () => {
    const options = { hidden: 4, epochs: 5, batchSize: 32 };
    const runs = [await trainRecirculation(scaled, { ...options, seed: 3 }), await trainRecirculation(scaled, { ...options, seed: 3 }), await trainRecirculation(scaled, { ...options, seed: 4 })];
    const weights = runs.map((r) => stackWeights([...r.encoder, ...r.decoder]));
    assert.deepEqual(weights[0], weights[1]);
    assert.deepEqual(runs[0].history.epochs.map((e) => e.loss), runs[1].history.epochs.map((e) => e.loss));
    assert.notDeepEqual(weights[0], weights[2]);
    for (const r of runs) disposeStack([...r.encoder, ...r.decoder]);
  });

  test('the reconstruction error falls over the epochs, on training and validation rows', async () => {
    const losses: number[] = [];
    const valLosses: number[] = [];
    const model = await Autoencoder.fit(synthetic, { trainer: 'recirculation', codeSize: 4, epochs: 40, batchSize: 32 }, {
      onEpoch: (p) => { losses.push(p.loss); valLosses.push(p.valLoss!); },
    });
    try {
      assert.equal(losses.length, 40);
      assert.ok(losses[39] < losses[0] / 2, `loss ${losses[0]} → ${losses[39]}`);
      assert.ok(valLosses[39] < valLosses[0] / 2, `validation loss ${valLosses[0]} → ${valLosses[39]}`);
      assert.equal(model.history.validationRows, 30);
    } finally {
      model.dispose();
    }
  });

  test('an aborted fit stops after the current step and keeps a usable model', async () => {
    const stop = new AbortController();
    const model = await Autoencoder.fit(synthetic, { trainer: 'recirculation', codeSize: 4, epochs: 50 }, { signal: stop.signal, onEpoch: () => stop.abort() });
    try {
      assert.equal(model.history.epochs.length, 1);
      assert.equal(model.encode(synthetic).length, 300 * 4);
    } finally {
      model.dispose();
    }
  });
});

describe('digits (1797 × 64): recirculation against back-propagation at the same size and epochs', () => {
  // 64 → 16 → 64, sigmoid code and outputs, minmax scaling, batch 64, 50 epochs, 20% of the rows held out (stratified).
  // Back-propagation gets its best rate on this net (Adam 0.03, cosine; 0.002 and 0.01 do worse, see
  // bench/results/recirculation.md), recirculation its default ε = 2 and the paper's λ = 0.75.
  const SAME = { encoder: [16], epochs: 50, batchSize: 64, seed: 0 } satisfies ModelOptions;
  let train: Table;
  let held: Table;
  let recirculated: Autoencoder | undefined;

  before(async () => {
    const digits = await readTable('data/digits.csv.gz', { idColumn: 'id', labelColumn: 'label' });
    const split = stratifiedSplit(digits.labels!, 0.2, 0);
    train = selectRows(digits, split.train);
    held = selectRows(digits, split.test);
  });

  const heldOutMse = (model: Autoencoder) => model.score(held).errors.reduce((s, e) => s + e, 0) / held.rows;

  test('held-out MSE within 1.5× of back-propagation\'s', async (t) => {
    const tensors = currentTensorCount();
    recirculated = await Autoencoder.fit(train, { ...SAME, trainer: 'recirculation' });
    const backprop = await Autoencoder.fit(train, { ...SAME, codeActivation: 'sigmoid', outputActivation: 'sigmoid', noise: 0, learningRate: 0.03 });
    try {
      assert.deepEqual([backprop.config.encoder, backprop.config.decoder], [recirculated.config.encoder, recirculated.config.decoder]);
      const [rc, bp] = [heldOutMse(recirculated), heldOutMse(backprop)];
      t.diagnostic(`held-out MSE (${held.rows} rows): recirculation ${rc.toFixed(5)}, back-propagation ${bp.toFixed(5)}, ratio ${(rc / bp).toFixed(2)}`);
      assert.ok(rc <= 1.5 * bp, `recirculation ${rc} vs back-propagation ${bp}`);
      assert.ok(recirculated.history.epochs.at(-1)!.loss < recirculated.history.epochs[0].loss / 3);
    } finally {
      backprop.dispose();
    }
    assert.equal(currentTensorCount(), tensors + 4, 'the recirculated model holds its 4 weight tensors, nothing else is left');
  });

  test('the recirculated model is a normal autoencoder: artifact round-trip, codes in (0, 1)', () => {
    const model = recirculated!;
    const loaded = Autoencoder.fromArtifact(model.toArtifact());
    try {
      assert.equal(loaded.config.trainer, 'recirculation');
      assert.equal(loaded.codeSize, 16);
      const codes = loaded.encode(held);
      assert.deepEqual(codes, model.encode(held));
      assert.ok(codes.every((c) => c > 0 && c < 1));
      assert.deepEqual(loaded.score(held).errors, model.score(held).errors);
      assert.deepEqual(loaded.history, model.history);
      assert.ok(loaded.threshold && loaded.threshold.value > 0);
    } finally {
      loaded.dispose();
      model.dispose();
    }
  });
});
