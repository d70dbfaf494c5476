import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../shared/contracts/errors.js';
import { fitPca } from '../../shared/analytics/pca.js';
import { seededRandom } from '../../shared/analytics/random.js';
import { kFold, shuffledIndices, stratifiedSplit } from '../../shared/analytics/split.js';
import { readWine } from '../helpers/assertions.js';

const counts = (labels: string[], rows: number[]) => {
  const c: Record<string, number> = {};
  for (const i of rows) c[labels[i]] = (c[labels[i]] ?? 0) + 1;
  return c;
};

test('shuffledIndices is a seeded permutation', () => {
  const p = shuffledIndices(50, 3);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(shuffledIndices(50, 3), p);
  assert.notDeepEqual(shuffledIndices(50, 4), p);
});

test('stratifiedSplit gives scikit-learn\'s per-class test counts on wine and covers every row once', () => {
  const { y } = readWine();
  const { train, test: held } = stratifiedSplit(y, 0.3, 0);
  // train_test_split(…, test_size=0.3, stratify=y) in scikit-learn 1.2.1: 124 / 54 rows, test 18 / 21 / 15.
  assert.equal(train.length, 124);
  assert.deepEqual(counts(y, held), { class_0: 18, class_1: 21, class_2: 15 });
  assert.deepEqual([...train, ...held].sort((a, b) => a - b), Array.from({ length: y.length }, (_, i) => i));
  assert.deepEqual(stratifiedSplit(y, 0.3, 0), { train, test: held });
  assert.notDeepEqual(stratifiedSplit(y, 0.3, 1).test, held);
});

test('stratifiedSplit puts every class of ≥2 members in both parts and a singleton in train', () => {
  const labels = ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'c'];
  const { train, test: held } = stratifiedSplit(labels, 0.1, 0);
  assert.ok(held.some((i) => labels[i] === 'b') && train.some((i) => labels[i] === 'b'));
  assert.ok(train.includes(12) && !held.includes(12));
  assert.throws(() => stratifiedSplit(labels, 1), InputError);
});

test('kFold partitions rows into balanced, stratified folds', () => {
  const { y } = readWine();
  const folds = kFold(y, 5, 0);
  const seen = folds.flatMap((f) => f.test).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: y.length }, (_, i) => i));
  for (const f of folds) {
    assert.ok(f.test.length === 35 || f.test.length === 36);
    assert.equal(f.train.length + f.test.length, y.length);
    const c = counts(y, f.test);
    assert.ok(c.class_0 >= 11 && c.class_0 <= 12 && c.class_1 >= 14 && c.class_1 <= 15 && c.class_2 >= 9 && c.class_2 <= 10, JSON.stringify(c));
  }
  assert.throws(() => kFold(y, 1), InputError);
});

test('PCA reconstructs low-rank data almost exactly and matches scikit-learn on wine', () => {
  const random = seededRandom(7);
  const rank = 3, width = 12;
  const basis = Array.from({ length: rank }, () => Array.from({ length: width }, () => random() * 4 - 2));
  const rows = Array.from({ length: 300 }, () => {
    const z = Array.from({ length: rank }, () => random() * 10 - 5);
    return Array.from({ length: width }, (_, j) => 3 + z.reduce((s, zc, c) => s + zc * basis[c][j], 0));
  });
  const pca = fitPca(rows.slice(0, 200), rank);
  const heldOut = rows.slice(200);
  assert.ok(pca.reconstructionMse(heldOut) < 1e-18, `mse ${pca.reconstructionMse(heldOut)}`);
  const z = pca.transform(heldOut);
  assert.equal(z.length, 100);
  assert.equal(z[0].length, rank);
  const back = pca.inverseTransform(z);
  assert.ok(Math.abs(back[5][7] - heldOut[5][7]) < 1e-9);
  assert.ok(fitPca(rows.slice(0, 200), 2).reconstructionMse(heldOut) > 1e-3);

  // sklearn.decomposition.PCA(3).fit(Z) on standardized wine: explained_variance_ratio_ and the mean squared
  // error of inverse_transform(transform(Z)).
  const { z: wine } = readWine();
  const w = fitPca(wine, 3);
  [0.3619884809992633, 0.1920749025700898, 0.11123630536249934].forEach((e, i) => assert.ok(Math.abs(w.explainedVarianceRatio[i] - e) < 1e-9));
  assert.ok(Math.abs(w.reconstructionMse(wine) - 0.3347003110681475) < 1e-9);
  assert.throws(() => fitPca(wine, 14), InputError);
  assert.throws(() => w.transform([[1, 2]]), InputError);
});
