// The cluster job's manifold step on a real redis-server: train → encode → cluster on 600 digits, with and without
// UMAP; the UMAP job keeps the event loop turning (its lock renews), stores code-space centroids, and a method or
// metric that does not exist fails at once, naming the field; the metric reaches UMAP and is stored; a run request's
// manifold and metric reach its cluster job.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { before, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { RESULTS } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { makeQueue, makeWorker } from '../../shared/pipeline/queues.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createClusterProcessor } from '../../services/downstream/cluster.processor.js';
import { createEncodeProcessor } from '../../services/encoder/encode.processor.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const ROWS = 600;
/** The cluster worker's lock: it is renewed every half of it, which needs the event loop. */
const LOCK_MS = 6000;
let digits: Table;

before(async () => {
  await initBackend('wasm', () => {});
  const all = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  digits = selectRows(all, Array.from({ length: ROWS }, (_, i) => i));
});

test('cluster jobs with manifold none and umap (cosine, euclidean) on digit codes; a bad method or metric fails at once', async (t) => {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'cluster-variants-test' });
  const datasets = new DatasetStore(connection, keys);
  const models = new ModelRegistry(connection, keys);
  const embeddings = new EmbeddingStore(connection, keys);
  const cache = new ModelCache(models);
  const queues = { train: makeQueue('train', connection, keys), encode: makeQueue('encode', connection, keys), cluster: makeQueue('cluster', connection, keys) };
  const workers = [
    makeWorker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(connection, keys), models, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
    makeWorker('encode', createEncodeProcessor({ datasets, models, embeddings, cache }), connection, keys, { concurrency: 1 }),
    makeWorker('cluster', createClusterProcessor({ datasets, models, embeddings }), connection, keys, { concurrency: 1, lockDuration: LOCK_MS }),
  ];
  const stalled: string[] = [];
  workers[2].on('stalled', (id) => stalled.push(id));
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(Object.values(queues).map((q) => q.close()));
    cache.clear();
    await closeRedis(connection);
  });

  await datasets.save('digits', digits);
  const trained = await settled(queues.train, (await queues.train.add('train', { model: 'd', dataset: 'digits', options: { codeSize: 10, epochs: 30, seed: 0 } })).id!);
  assert.equal(trained.state, 'completed', trained.job.failedReason);
  const encoded = await settled(queues.encode, (await queues.encode.add('encode', { model: 'd', version: 1, dataset: 'digits' })).id!);
  assert.equal(encoded.state, 'completed', encoded.job.failedReason);
  const target = { model: 'd', version: 1, dataset: 'digits' };

  const cluster = async (manifold: 'none' | 'umap', metric?: 'euclidean') => {
    const done = await settled(queues.cluster, (await queues.cluster.add('cluster', { ...target, manifold, seed: 0, ...(metric ? { metric } : {}) })).id!, 60_000);
    assert.equal(done.state, 'completed', done.job.failedReason);
    return { result: RESULTS.cluster.parse(done.job.returnvalue), stored: await embeddings.readResult<{ centroids: number[][]; umap?: { nComponents: number; nNeighbors: number; minDist: number; metric: string; centroids: number[][] } }>(target, 'cluster') };
  };
  const plain = await cluster('none');
  assert.deepEqual([plain.result.k, plain.result.manifold, plain.result.method], [10, 'none', 'kmeans']);
  assert.equal(plain.stored!.centroids[0].length, 10);
  assert.equal(plain.stored!.umap, undefined);

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = Date.now();
  const umap = await cluster('umap');
  delay.disable();
  const maxDelayMs = delay.max / 1e6;
  t.diagnostic(`umap cluster job ${((Date.now() - started) / 1000).toFixed(1)} s, longest event-loop stall ${maxDelayMs.toFixed(0)} ms; ` +
    `NMI none ${plain.result.nmi!.toFixed(3)}, umap ${umap.result.nmi!.toFixed(3)}; silhouette none ${plain.result.silhouette.toFixed(3)}, umap ${umap.result.silhouette.toFixed(3)}`);
  assert.deepEqual([umap.result.k, umap.result.manifold, umap.result.method], [10, 'umap', 'kmeans']);
  assert.ok(umap.result.nmi! > 0.7, `NMI ${umap.result.nmi}`);
  assert.ok(maxDelayMs < LOCK_MS / 2, `the event loop stalled ${maxDelayMs} ms, more than the lock renewal interval`);
  assert.deepEqual(stalled, []);
  const clusters = await embeddings.readAssignments(target, 'clusters');
  assert.deepEqual([...clusters.keys()].sort(), [...digits.ids].sort());
  assert.equal(new Set(clusters.values()).size, 10);
  const stored = umap.stored!;
  assert.equal(stored.centroids.length, 10);
  assert.equal(stored.centroids[0].length, 10, 'code-space member means (code size 10)');
  assert.deepEqual([stored.umap!.nComponents, stored.umap!.nNeighbors, stored.umap!.minDist, stored.umap!.metric, stored.umap!.centroids.length], [10, 20, 0, 'cosine', 10]);

  const euclidean = await cluster('umap', 'euclidean');
  assert.equal(euclidean.stored!.umap!.metric, 'euclidean');
  assert.ok(euclidean.result.nmi! > 0.7, `NMI ${euclidean.result.nmi}`);
  assert.notDeepEqual(await embeddings.readAssignments(target, 'clusters'), clusters, 'another metric, another neighbour graph');

  for (const [field, value] of [['method', 'gmm'], ['metric', 'manhattan']]) {
    const bad = await settled(queues.cluster, (await queues.cluster.add('cluster', { ...target, manifold: 'umap', [field]: value } as never)).id!);
    assert.equal(bad.state, 'failed');
    assert.match(bad.job.failedReason, new RegExp(`field "${field}"`));
    assert.equal(bad.job.attemptsMade, 1, 'bad input is not retried');
  }
});

test('a run with --manifold umap --umap-metric euclidean submits a cluster job carrying both', async (t) => {
  const keys = keyspace(`${fixture.prefix()}:no-workers`);
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'cluster-variants-flow-test' });
  const flows = makeFlowProducer(connection, keys);
  const queue = makeQueue('cluster', connection, keys);
  t.after(async () => {
    await flows.close();
    await queue.close();
    await closeRedis(connection);
  });
  const { run } = await submitRun(flows, keys, { run: 'r1', model: 'm', dataset: 'digits', manifold: 'umap', umapMetric: 'euclidean' });
  const job = await queue.getJob(run);
  assert.deepEqual([job!.data.manifold, job!.data.metric], ['umap', 'euclidean']);
});
