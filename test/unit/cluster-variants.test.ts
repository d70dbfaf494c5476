import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCodes, type ClusterCodesOptions } from '../../shared/analytics/cluster-codes.js';
import { evaluateClusterings } from '../../shared/analytics/cluster-evaluation.js';
import { umapEmbedding } from '../../shared/analytics/manifold.js';
import { clusteringAccuracy } from '../../shared/analytics/metrics.js';
import { nearestNeighbours } from '../../shared/analytics/neighbours.js';
import { seededRandom } from '../../shared/analytics/random.js';
import { InputError, LatentflowError } from '../../shared/contracts/errors.js';
import { clusterCodesInThread } from '../../shared/pipeline/offload.js';
import { readTable } from '../../shared/data/read-table.js';
import { projectPath } from '../helpers/cli.js';

interface Fixture { values: Float32Array; rows: number; width: number; labels: string[] }

/** `perBlob` rows around each of `blobs` centres in `width`-D, centres 12 apart per axis, sd 1; seeded. */
function blobs(blobs: number, perBlob: number, width: number, seed = 1): Fixture {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: blobs }, () => Array.from({ length: width }, () => 12 * Math.floor(random() * 4)));
  const values = new Float32Array(blobs * perBlob * width);
  const labels: string[] = [];
  centres.forEach((c, b) => {
    for (let i = 0; i < perBlob; i++) {
      const row = b * perBlob + i;
      for (let j = 0; j < width; j++) values[row * width + j] = c[j] + gauss();
      labels.push(`blob${b}`);
    }
  });
  return { values, rows: blobs * perBlob, width, labels };
}

test('exact neighbours: each row first in its own list, nearest first, the same as a full sort', async () => {
  const f = blobs(3, 20, 4);
  const { indices, distances } = await nearestNeighbours({ values: f.values, rows: f.rows, width: f.width }, 5);
  for (let i = 0; i < f.rows; i++) {
    assert.equal(indices[i][0], i);
    assert.equal(distances[i][0], 0);
    const all = Array.from({ length: f.rows }, (_, r) => {
      let s = 0;
      for (let j = 0; j < f.width; j++) s += (f.values[i * f.width + j] - f.values[r * f.width + j]) ** 2;
      return Math.sqrt(s);
    }).sort((a, b) => a - b);
    distances[i].forEach((d, j) => assert.ok(Math.abs(d - all[j]) < 1e-9, `row ${i}, rank ${j}`));
  }
  await assert.rejects(nearestNeighbours({ values: f.values, rows: f.rows, width: f.width }, 0), (e: unknown) => e instanceof InputError && /field "k"/.test(e.message));
});

test('cosine neighbours: the same as a full sort of 1 − cos, blind to each row\'s length, zero rows at distance 1', async () => {
  const f = blobs(3, 20, 4);
  const scaled = Float32Array.from(f.values, (v, i) => v * (1 + Math.floor(i / f.width) % 7));
  const cos = (x: Float32Array, i: number, r: number) => {
    let dot = 0, ni = 0, nr = 0;
    for (let j = 0; j < f.width; j++) {
      dot += x[i * f.width + j] * x[r * f.width + j];
      ni += x[i * f.width + j] ** 2;
      nr += x[r * f.width + j] ** 2;
    }
    return 1 - dot / Math.sqrt(ni * nr);
  };
  const plain = await nearestNeighbours({ values: f.values, rows: f.rows, width: f.width }, 6, 'cosine');
  const lengths = await nearestNeighbours({ values: scaled, rows: f.rows, width: f.width }, 6, 'cosine');
  for (let i = 0; i < f.rows; i++) {
    assert.equal(plain.indices[i][0], i);
    const all = Array.from({ length: f.rows }, (_, r) => cos(f.values, i, r)).sort((a, b) => a - b);
    plain.distances[i].forEach((d, j) => assert.ok(Math.abs(d - Math.max(0, all[j])) < 1e-9, `row ${i}, rank ${j}: ${d} vs ${all[j]}`));
    assert.deepEqual(lengths.indices[i], plain.indices[i], `row ${i}: scaling rows changes no neighbour`);
  }
  const withZero = Float32Array.from([0, 0, 1, 0, 2, 0, 0, 1]);
  const z = await nearestNeighbours({ values: withZero, rows: 4, width: 2 }, 4, 'cosine');
  assert.deepEqual(z.indices[0], [0, 1, 2, 3], 'a zero row is at 0 from itself, 1 from the others (ties by index)');
  assert.deepEqual(z.distances[0], [0, 1, 1, 1]);
  assert.deepEqual(z.indices[1].slice(0, 2).sort(), [1, 2], 'parallel rows are at distance 0');
  await assert.rejects(nearestNeighbours({ values: f.values, rows: f.rows, width: f.width }, 3, 'manhattan' as 'cosine'),
    (e: unknown) => e instanceof InputError && /field "metric"/.test(e.message) && /manhattan/.test(e.message));
});

test('UMAP + k-means recovers four separated blobs; the embedding has k columns; same seed, same result', async () => {
  const f = blobs(4, 60, 8);
  const options: ClusterCodesOptions = { manifold: 'umap', k: 4, seed: 3, umap: { nEpochs: 100 } };
  const r = await clusterCodes(f.values, f.rows, f.width, options);
  assert.equal(clusteringAccuracy(f.labels, r.assignments), 1);
  assert.deepEqual([r.space, r.manifold, r.method, r.k], ['umap', 'umap', 'kmeans', 4]);
  assert.deepEqual([r.embedding!.rows, r.embedding!.width], [240, 4], 'N2D: as many UMAP dimensions as clusters');
  assert.ok(r.embedding!.values.every(Number.isFinite));
  assert.equal(r.centroids[0].length, 4, 'centroids live in the embedding');
  assert.ok(r.silhouette > 0.5, `silhouette ${r.silhouette}`);
  const again = await clusterCodes(f.values, f.rows, f.width, options);
  assert.deepEqual(again.assignments, r.assignments);
  assert.deepEqual(again.embedding!.values, r.embedding!.values, 'the embedding is determined by the seed');
  const other = await umapEmbedding({ values: f.values, rows: f.rows, width: f.width }, { nComponents: 4, seed: 4, nEpochs: 100 });
  assert.notDeepEqual(other.values, r.embedding!.values, 'another seed, another layout');
});

test('k by silhouette finds the true k on blobs, on the codes and in the UMAP embedding', async () => {
  const f = blobs(5, 40, 6, 5);
  for (const manifold of ['none', 'umap'] as const) {
    const r = await clusterCodes(f.values, f.rows, f.width, { manifold, seed: 0, kMax: 8, umap: { nEpochs: 100 } });
    assert.equal(r.k, 5, `${manifold}: ${JSON.stringify(r.kScores)}`);
    assert.deepEqual(r.kScores!.map((s) => s.k), [2, 3, 4, 5, 6, 7, 8]);
    assert.equal(clusteringAccuracy(f.labels, r.assignments), 1, manifold);
    assert.equal(r.space, manifold === 'umap' ? 'umap' : 'codes');
  }
});

test('digits (first 600 rows, pixels / 16, 100 UMAP epochs): UMAP + k-means beats k-means on the pixels', async () => {
  const digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  const rows = 600;
  const values = Float32Array.from(digits.values.subarray(0, rows * digits.width), (v) => v / 16);
  const labels = digits.labels!.slice(0, rows);
  const [plain, umap] = await evaluateClusterings(values, rows, digits.width, labels, { k: 10, seed: 0, umap: { nEpochs: 100 } });
  assert.ok(umap.nmi > plain.nmi + 0.05 && umap.nmi > 0.8, `NMI: k-means ${plain.nmi}, UMAP + k-means ${umap.nmi}`);
  assert.ok(umap.acc > 0.8, `UMAP + k-means ACC ${umap.acc}`);
});

test('bad options are InputErrors naming the field and value', async () => {
  const f = blobs(2, 15, 3);
  const run = (options: ClusterCodesOptions, values = f.values, rows = f.rows) => clusterCodes(values, rows, f.width, options);
  const named = (field: string, value?: string) => (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.match(e.message, new RegExp(`field "${field}"`));
    if (value !== undefined) assert.match(e.message, new RegExp(`value "${value}"`));
    return true;
  };
  await assert.rejects(run({ manifold: 'tsne' as 'umap' }), named('manifold', 'tsne'));
  await assert.rejects(run({ method: 'gmm' as 'kmeans' }), named('method', 'gmm'));
  await assert.rejects(run({ k: 1 }), named('k', '1'));
  await assert.rejects(run({ k: 30 }), named('k', '30'));
  await assert.rejects(run({ seed: -1 }), named('seed', '-1'));
  await assert.rejects(run({ manifold: 'umap', umap: { nNeighbors: 30 } }), named('nNeighbors', '30'));
  await assert.rejects(run({ manifold: 'umap', umap: { minDist: -0.1 } }), named('minDist', '-0.1'));
  await assert.rejects(run({ manifold: 'umap', umap: { nComponents: 0 } }), named('nComponents', '0'));
  await assert.rejects(run({ manifold: 'umap', umap: { metric: 'l1' as 'cosine' } }), named('metric', 'l1'));
  await assert.rejects(run({}, f.values.subarray(3)), named('data'));
  await assert.rejects(run({}, f.values.subarray(0, 6), 2), named('rows', '2'));
  await assert.rejects(evaluateClusterings(f.values, f.rows, f.width, ['a']), named('labels'));
  await assert.rejects(evaluateClusterings(f.values, f.rows, f.width, f.labels, { variants: [] }), named('variants'));
});

test('clustering in a worker thread (the cluster stage) gives the same result; an input error keeps its message and fails without retries', async () => {
  const random = seededRandom('offload');
  const rows = 300;
  const codes = Float32Array.from({ length: rows * 4 }, (_, i) => (Math.floor(i / 4) % 3) * 5 + random());
  const options: ClusterCodesOptions = { k: 3, seed: 0, manifold: 'umap', umap: { nEpochs: 50 } };
  const [inline, threaded] = await Promise.all([clusterCodes(codes, rows, 4, options), clusterCodesInThread(codes, rows, 4, options)]);
  assert.deepEqual(threaded.assignments, inline.assignments);
  assert.equal(threaded.silhouette, inline.silhouette);
  await assert.rejects(clusterCodesInThread(codes.subarray(0, 8), 2, 4), (e: unknown) =>
    e instanceof LatentflowError && !e.retryable && /clustering needs at least 3 rows, got 2/.test(e.message));
  const aborted = new AbortController();
  aborted.abort(new Error('stop'));
  await assert.rejects(clusterCodesInThread(codes, rows, 4, options, aborted.signal), /stop/);
});
