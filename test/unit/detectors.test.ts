import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { auroc } from '../../shared/analytics/index.js';
import { ksTwoSample } from '../../shared/analytics/ks-test.js';
import { readTable } from '../../shared/data/read-table.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { calibrate, pValues, scoreAtPValue, severityOfPValue } from '../../shared/ml/calibration.js';
import { IsolationForest } from '../../shared/ml/isolation-forest.js';
import { permutation, seededRandom } from '../../shared/ml/random.js';
import { estimateThreshold } from '../../shared/ml/threshold.js';
import { projectPath } from '../helpers/cli.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Standard normal draws (Box–Muller) from a seeded source. */
function normals(n: number, seed: string, shift = 0): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, () => shift + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

describe('isolation forest', () => {
  const rows = 500, width = 4;
  const values = Float32Array.from(normals(rows * width, 'iforest'));

  test('scores a far-out row above every training row, and is the same forest for the same seed', () => {
    const forest = IsolationForest.fit(values, rows, width, { seed: 3 });
    const train = forest.score(values, rows);
    const far = forest.score(new Float32Array([6, -6, 6, -6]), 1)[0];
    assert.ok(far > Math.max(...train), `outlier ${far} vs largest training score ${Math.max(...train)}`);
    assert.ok(far > 0.6 && far <= 1);
    assert.deepEqual(IsolationForest.fit(values, rows, width, { seed: 3 }).score(values, 20), forest.score(values, 20));
  });

  test('refuses stored arrays that point outside the forest or loop back', () => {
    const forest = IsolationForest.fit(values, rows, width, { seed: 1 });
    const { feature, value, left, roots } = forest.arrays;
    const backwards = Float32Array.from(left);
    backwards[backwards.findIndex((l) => l !== -1)] = 0;
    assert.throws(() => IsolationForest.fromArrays({ feature, value, left: backwards, roots }, width, 256), /points outside the forest/);
    const wide = Float32Array.from(feature);
    wide[0] = width;
    assert.throws(() => IsolationForest.fromArrays({ feature: wide, value, left, roots }, width, 256), /feature 4/);
  });
});

describe('calibration', () => {
  const reference = calibrate(normals(2000, 'reference'));

  test('p-values of fresh normal draws are uniform: the fpr cut raises about that share of false alarms', () => {
    const fresh = normals(20_000, 'fresh');
    for (const rate of [0.01, 0.05]) {
      const cut = scoreAtPValue(reference, rate);
      const alarms = fresh.filter((s) => s > cut).length / fresh.length;
      assert.ok(alarms > rate * 0.6 && alarms < rate * 1.4, `fpr ${rate}: measured ${alarms}`);
      const p = pValues(reference, fresh);
      assert.ok(Math.abs(p.filter((v) => v <= rate).length / p.length - rate) < rate * 0.4);
    }
  });

  test('beyond the reference the tail is extrapolated: p keeps falling, and severities follow it', () => {
    const [atTop, beyond, far] = pValues(reference, [reference.scores.at(-1)!, 5, 9]);
    assert.equal(atTop, 2 / 2001); // the top score itself counts
    assert.ok(beyond < atTop && far < beyond && far > 0, `${atTop} ${beyond} ${far}`);
    assert.equal(severityOfPValue(0.01), 'low');
    assert.equal(severityOfPValue(far), far < 1e-6 ? 'critical' : 'high');
    assert.equal(scoreAtPValue(reference, 1e-5) > reference.scores.at(-1)!, true);
  });

  test('keeps at most 10,000 reference scores, standing for all rows', () => {
    const big = calibrate(normals(50_000, 'big'));
    assert.equal(big.scores.length, 10_000);
    assert.equal(big.rows, 50_000);
  });
});

describe('label-free thresholds', () => {
  const errors = Array.from({ length: 101 }, (_, i) => i);
  test('mad, iqr and fpr as documented', () => {
    assert.equal(estimateThreshold(errors, { method: 'iqr' }).value, 75 + 1.5 * 50);
    assert.ok(Math.abs(estimateThreshold(errors, { method: 'mad', k: 2 }).value - (50 + 2 * 1.4826 * 25)) < 1e-9);
    // 101 reference scores, 1% false alarms: p(s) ≤ 0.01 ⟺ s above the largest score but one.
    assert.equal(estimateThreshold(errors, { method: 'fpr', value: 0.02 }).value, 99);
    assert.throws(() => estimateThreshold(errors, { method: 'fpr', value: 0.7 }));
  });
});

describe('KS drift test', () => {
  test('false alarms at the stated rate when nothing changed, and a shift is found', () => {
    let alarms = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) if (ksTwoSample(normals(200, `w${t}`), normals(1000, `r${t}`)).pValue < 0.05) alarms++;
    assert.ok(alarms / trials > 0.02 && alarms / trials < 0.08, `two-sided false-alarm rate ${alarms / trials}`);
    const shifted = ksTwoSample(normals(500, 'up', 0.5), normals(2000, 'base'), 'greater');
    assert.ok(shifted.pValue < 1e-6, `p ${shifted.pValue}`);
    assert.ok(ksTwoSample(normals(500, 'down', -0.5), normals(2000, 'base'), 'greater').pValue > 0.5, 'scores falling is no alarm');
  });
});

describe('detectors in the autoencoder', () => {
  let train: Table, heldOut: Table, isAnomaly: boolean[];
  before(async () => {
    const table = await readTable(projectPath('data/breast_cancer.csv'), { idColumn: 'id', labelColumn: 'label' });
    const benign = table.labels!.flatMap((l, i) => (l === 'benign' ? [i] : []));
    const order = permutation(benign.length, seededRandom('bc'));
    const trainRows = Array.from(order.subarray(0, 250), (k) => benign[k]);
    const held = new Set(trainRows);
    train = selectRows(table, trainRows);
    heldOut = selectRows(table, table.labels!.flatMap((_, i) => (held.has(i) ? [] : [i])));
    isAnomaly = heldOut.labels!.map((l) => l !== 'benign');
  });

  for (const detector of ['iforest', 'vae', 'ensemble'] as const) {
    test(`${detector}: ranks malignant above benign, calibrated, and saved and loaded with its parts`, async () => {
      // The VAE trains six times (cross-fitted calibration) on the slow cpu backend of the tests: fewer epochs.
      const model = await Autoencoder.fit(train, { epochs: detector === 'vae' ? 10 : 40, detector, seed: 1 }, { threshold: { method: 'fpr', value: 0.05 } });
      const { scores, errors } = model.score(heldOut);
      assert.notDeepEqual(scores, errors);
      assert.ok(auroc(isAnomaly, scores) > 0.9, `AUROC ${auroc(isAnomaly, scores)}`);
      const p = model.pValues(scores)!;
      assert.ok(p.every((v) => v > 0 && v <= 1));
      const loaded = Autoencoder.fromArtifact(model.toArtifact());
      assert.deepEqual(loaded.score(heldOut).scores, scores);
      assert.deepEqual(loaded.pValues(scores), p);
      assert.equal(loaded.config.detector, detector);
      assert.equal(loaded.threshold!.value, model.threshold!.value);
      model.dispose();
      loaded.dispose();
    });
  }

  test('attribution names the feature that was pushed out of range', async () => {
    const model = await Autoencoder.fit(train, { epochs: 40, detector: 'ae', seed: 1 });
    const row = Float32Array.from(train.values.subarray(0, train.width));
    const j = train.features.indexOf('mean_smoothness');
    row[j] *= 4;
    const [top] = model.attribute({ values: row, rows: 1, width: train.width }, 3);
    assert.equal(top[0].feature, 'mean_smoothness');
    assert.ok(top[0].contribution > 0);
    model.dispose();
  });
});
