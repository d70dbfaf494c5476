// Expected values were computed once with python3 + scikit-learn 1.2.1 (Debian python3-sklearn) and scipy's
// linear_sum_assignment, from the same fixtures, e.g.
//   /usr/bin/python3 -c 'from sklearn import metrics as M; print(M.f1_score(yt, yp, average="macro"))'
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../shared/contracts/errors.js';
import {
  accuracy,
  ari,
  auprc,
  auroc,
  clusteringAccuracy,
  confusionMatrix,
  macroF1,
  matchClusters,
  mse,
  nmi,
  rmse,
  silhouetteScore,
} from '../../shared/analytics/metrics.js';

const close = (actual: number, expected: number, tol = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

const yt = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'a', 'b', 'c'];
const yp = ['a', 'c', 'c', 'a', 'b', 'b', 'b', 'a', 'b', 'a'];

test('accuracy, macro-F1 and confusion matrix match scikit-learn', () => {
  close(accuracy(yt, yp), 0.6); // accuracy_score
  close(macroF1(yt, yp), 0.5738095238095239); // f1_score(average='macro')
  // A predicted label absent from the truth ('d') counts as a class with F1 = 0.
  close(macroF1(yt, ['a', 'd', 'c', 'a', 'b', 'b', 'b', 'a', 'b', 'd']), 0.48214285714285715);
  assert.deepEqual(confusionMatrix(yt, yp), {
    labels: ['a', 'b', 'c'],
    matrix: [
      [3, 1, 0],
      [0, 2, 1],
      [1, 1, 1],
    ],
  }); // confusion_matrix
  const reordered = confusionMatrix(yt, yp, ['c', 'b', 'a']);
  assert.deepEqual(reordered.matrix[0], [1, 1, 1]);
  assert.throws(() => accuracy(yt, yp.slice(1)), InputError);
  assert.throws(() => confusionMatrix(yt, yp, ['a', 'b']), InputError);
});

test('NMI, ARI and Hungarian clustering accuracy match scikit-learn (rectangular: 4 clusters, 3 classes)', () => {
  const lt = ['x', 'x', 'x', 'y', 'y', 'y', 'z', 'z', 'z', 'z', 'x', 'y'];
  const lp = [1, 1, 0, 0, 2, 2, 2, 3, 3, 3, 1, 0];
  close(nmi(lt, lp), 0.6280760724651602); // normalized_mutual_info_score
  close(ari(lt, lp), 0.40310077519379844); // adjusted_rand_score
  close(clusteringAccuracy(lt, lp), 0.6666666666666666); // contingency + linear_sum_assignment
  const { mapping } = matchClusters(lt, lp);
  assert.equal(mapping.size, 3);
  assert.equal(mapping.get(1), 'x');

  // numpy RandomState(0).randint(0, 4, 30), then .randint(0, 3, 30): near-random agreement, negative ARI.
  const a = [0, 3, 1, 0, 3, 3, 3, 3, 1, 3, 1, 2, 0, 3, 2, 0, 0, 0, 2, 1, 2, 3, 3, 2, 0, 1, 1, 1, 1, 0];
  const b = [1, 0, 0, 1, 2, 0, 2, 0, 1, 1, 2, 0, 1, 1, 1, 0, 2, 0, 2, 2, 0, 2, 0, 0, 0, 1, 1, 2, 0, 0];
  close(nmi(a, b), 0.04178645352056504);
  close(ari(a, b), -0.04843725703623076);
  close(clusteringAccuracy(a, b), 0.3333333333333333);

  // Identical partitions up to renaming.
  assert.equal(nmi(['p', 'p', 'q'], [7, 7, 3]), 1);
  assert.equal(ari(['p', 'p', 'q'], [7, 7, 3]), 1);
  assert.equal(clusteringAccuracy(['p', 'p', 'q'], [7, 7, 3]), 1);
});

test('silhouette matches scikit-learn, including a singleton cluster, and samples when asked', () => {
  const x = [[0, 0], [0, 1], [1, 0], [5, 5], [5, 6], [6, 5], [10, 0], [2, 2]];
  close(silhouetteScore(x, [0, 0, 0, 1, 1, 1, 2, 0]), 0.661553902831715); // silhouette_score
  close(silhouetteScore(x, [0, 0, 0, 1, 1, 1, 2, 2]), 0.501407540474585);
  const dense = { values: Float32Array.from(x.flat()), rows: 8, width: 2 };
  close(silhouetteScore(dense, [0, 0, 0, 1, 1, 1, 2, 0]), 0.661553902831715);
  assert.throws(() => silhouetteScore(x, [0, 0, 0, 0, 0, 0, 0, 0]), InputError);
  const sampled = silhouetteScore(x, [0, 0, 0, 1, 1, 1, 2, 0], { sampleSize: 6, seed: 1 });
  assert.equal(sampled, silhouetteScore(x, [0, 0, 0, 1, 1, 1, 2, 0], { sampleSize: 6, seed: 1 }));
});

test('AUROC and average precision match scikit-learn with tied scores', () => {
  const y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0];
  const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.8, 0.2, 0.5, 0.35, 0.9];
  close(auroc(y, s), 0.64); // roc_auc_score
  close(auprc(y, s), 0.6666666666666666); // average_precision_score
  const y2 = [true, false, true, false, false, false, true, false, false, false, false, true];
  const s2 = [3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0, 5];
  close(auroc(y2, s2), 0.796875);
  close(auprc(y2, s2), 0.6527777777777778);
  assert.equal(auroc([0, 1], [0.2, 0.2]), 0.5);
  assert.throws(() => auroc([1, 1], [0.1, 0.2]), InputError);
  assert.throws(() => auroc([0, 2], [0.1, 0.2]), InputError);
});

test('MSE and RMSE average over every cell of matrices or vectors', () => {
  close(mse([[1, 2], [3, 4]], [[1.5, 2], [2, 5]]), 0.5625); // mean_squared_error
  close(rmse([[1, 2], [3, 4]], [[1.5, 2], [2, 5]]), 0.75);
  close(mse({ values: Float32Array.of(1, 2, 3, 4), rows: 2, width: 2 }, [[1.5, 2], [2, 5]]), 0.5625);
  close(mse([1, 2, 3], [1, 2, 5]), 4 / 3);
  assert.throws(() => mse([[1, 2]], [[1, 2, 3]]), InputError);
  assert.throws(() => mse([[1, NaN]], [[1, 2]]), /row 0, column 2/);
});
