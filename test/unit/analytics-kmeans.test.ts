import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../shared/contracts/errors.js';
import { chooseK, fitKMeans, predictNearest } from '../../shared/analytics/kmeans.js';
import { clusteringAccuracy } from '../../shared/analytics/metrics.js';
import { seededRandom } from '../../shared/analytics/random.js';

/** Three well-separated gaussian blobs in 4-D (sd 1, centers ≥ 10 apart), 120 rows each, seeded. */
function blobs(seed: number, perBlob = 120): { x: number[][]; y: string[] } {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centers = [[0, 0, 0, 0], [10, 10, 0, 5], [-10, 8, 6, -4]];
  const x: number[][] = [];
  const y: string[] = [];
  centers.forEach((c, b) => {
    for (let i = 0; i < perBlob; i++) {
      x.push(c.map((m) => m + gauss()));
      y.push(`blob${b}`);
    }
  });
  return { x, y };
}

test('k-means recovers three separated blobs exactly, and assignments agree with predictNearest', () => {
  const { x, y } = blobs(1);
  const r = fitKMeans(x, { k: 3, seed: 0 });
  assert.equal(clusteringAccuracy(y, r.assignments), 1);
  assert.equal(r.centroids.length, 3);
  assert.deepEqual(predictNearest(r.centroids, x), r.assignments);
  const dense = { values: Float32Array.from(x.flat()), rows: x.length, width: 4 };
  assert.deepEqual(predictNearest(r.centroids, dense), r.assignments);
  assert.ok(r.iterations >= 1 && r.inertia > 0);
  assert.deepEqual(fitKMeans(x, { k: 3, seed: 0 }), r, 'same seed, same result');
});

test('restarts never give a higher inertia than the first run alone', () => {
  const { x } = blobs(2);
  for (const k of [2, 3, 5, 8]) {
    for (const seed of [0, 1, 2]) {
      const one = fitKMeans(x, { k, seed, restarts: 1 });
      const many = fitKMeans(x, { k, seed, restarts: 10 });
      assert.ok(many.inertia <= one.inertia, `k=${k} seed=${seed}: ${many.inertia} > ${one.inertia}`);
    }
  }
});

test('chooseK finds 3 clusters by silhouette, also when scoring a sample', () => {
  const { x } = blobs(3);
  const r = chooseK(x, { kMin: 2, kMax: 6, seed: 0, restarts: 3 });
  assert.equal(r.k, 3);
  assert.deepEqual(r.scores.map((s) => s.k), [2, 3, 4, 5, 6]);
  assert.ok(r.scores[1].silhouette > 0.7, JSON.stringify(r.scores));
  assert.equal(chooseK(x, { kMax: 6, restarts: 3, sampleSize: 100 }).k, 3);
});

test('k-means rejects bad options with InputError', () => {
  const { x } = blobs(4);
  assert.throws(() => fitKMeans(x, { k: 0 }), InputError);
  assert.throws(() => fitKMeans(x.slice(0, 2), { k: 3 }), InputError);
  assert.throws(() => fitKMeans(x, { k: 2, restarts: 0 }), InputError);
  assert.throws(() => fitKMeans([[1, 2], [3]], { k: 1 }), InputError);
  assert.throws(() => predictNearest([[0, 0]], x), InputError);
});

test('on many rows the restarts run on a sample and the best is refined on all rows: same clusters, inertia within 1%', () => {
  const { x, y } = blobs(3, 1500);
  const sampled = fitKMeans(x, { k: 3, seed: 0, sampleSize: 500 });
  const full = fitKMeans(x, { k: 3, seed: 0, sampleSize: 0 });
  assert.equal(sampled.assignments.length, 4500);
  assert.equal(clusteringAccuracy(y, sampled.assignments), 1);
  assert.ok(sampled.inertia <= full.inertia * 1.01, `${sampled.inertia} vs ${full.inertia}`);
  assert.deepEqual(predictNearest(sampled.centroids, x), sampled.assignments);
  assert.throws(() => fitKMeans(x, { k: 3, sampleSize: -1 }), /sampleSize/);
});
