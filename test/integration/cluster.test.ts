// latentflow on a 3-master Redis Cluster started by the test: the stores' multi-entity reads, the whole digits run
// through BullMQ workers built from the services' processor factories, and a source stream scored by the encoder's
// stream consumer, all through `createRedis(url, { cluster: true })` seeded with one node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import { keyspace, streamDataset } from '../../shared/contracts/keys.js';
import { RESULTS, RUN_STAGES, type QueueName } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { DriftMonitor } from '../../shared/pipeline/drift-monitor.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { silentLogger } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { SourceStore, STREAM_GROUP } from '../../shared/store/sources.js';
import { createClassifyProcessor } from '../../services/downstream/classify.processor.js';
import { createClusterProcessor } from '../../services/downstream/cluster.processor.js';
import { createDetectProcessor } from '../../services/downstream/detect.processor.js';
import { createRunProcessor } from '../../services/downstream/run.processor.js';
import { createEncodeProcessor } from '../../services/encoder/encode.processor.js';
import { startStreamConsumer } from '../../services/encoder/stream.consumer.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.js';

const CORRUPTED = [5, 700, 1500];
const CORRUPTED_FEATURES = 10;
const keys = keyspace('lf');

let local: LocalCluster;
let redis: Cluster;
let digits: Table;
let wine: Table;

before(async () => {
  const started = Date.now();
  local = await startRedisCluster();
  redis = createRedis(local.url, { cluster: true, bullmq: true, name: 'cluster-test' });
  await redis.ping();
  console.log(`# 3-master cluster on ports ${local.ports.join(', ')} ready in ${Date.now() - started} ms`);
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  for (const row of CORRUPTED) digits.values.fill(16 * 3, row * digits.width, row * digits.width + CORRUPTED_FEATURES);
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

after(async () => {
  if (redis) await closeRedis(redis);
  await local?.stop();
});

/** The `host:port` of the master serving `key`. */
async function nodeOf(key: string): Promise<string> {
  const slot = Number(await redis.call('CLUSTER', ['KEYSLOT', key]));
  return redis.slots[slot][0];
}

describe('on a 3-master Redis Cluster', () => {
  test('the client sees three masters; the alert script\'s keys share one slot', async () => {
    assert.equal(redis.nodes('master').length, 3);
    const slot = async (key: string) => Number(await redis.call('CLUSTER', ['KEYSLOT', key]));
    const alertsSlot = await slot(keys.alerts());
    assert.equal(await slot(keys.alertsSent('m@1:d')), alertsSlot, 'alerts stream and the add-once set');
    assert.equal(await slot(keys.alertCooldown('src', 'r1')), alertsSlot, 'alerts stream and a cool-down key');
    assert.equal(await slot(`${keys.bullPrefix}:train:wait`), await slot(`${keys.bullPrefix}:run:wait`), 'every BullMQ queue in one slot');
  });

  test('stores: lists across datasets and models, source stats and purge, model delete (SCAN on every master)', async () => {
    const datasets = new DatasetStore(redis, keys);
    const models = new ModelRegistry(redis, keys);
    const sources = new SourceStore(redis, keys);
    const names = ['wine-a', 'wine-b', 'wine-c', 'wine-d'];
    for (const name of names) await datasets.save(name, wine);
    assert.deepEqual((await datasets.list()).map((m) => m.name), names);
    assert.ok(new Set(await Promise.all(names.map((n) => nodeOf(keys.dataset.meta(n))))).size >= 2, 'datasets on at least two nodes');
    assert.equal((await datasets.load('wine-c')).rows, 178);

    const { Autoencoder } = await import('../../shared/ml/autoencoder.js');
    const model = await Autoencoder.fit(wine, { codeSize: 4, epochs: 2, seed: 1 });
    try {
      for (const name of ['m-a', 'm-b', 'm-c']) {
        await models.register(name, model, { dataset: 'wine-a' });
        await models.promote(name, 1);
      }
    } finally {
      model.dispose();
    }
    assert.deepEqual((await models.list()).map((m) => [m.name, m.aliases.production]), [['m-a', 1], ['m-b', 1], ['m-c', 1]]);
    assert.equal(await models.delete('m-b'), 1);
    assert.deepEqual((await models.list()).map((m) => m.name), ['m-a', 'm-c']);
    assert.equal(await redis.exists(keys.model.aliasHistory('m-b', 'production')), 0);

    await sources.add('s1', { model: 'm-a' });
    await redis.xadd(keys.stream.input('s1'), '*', 'id', 'x', 'values', '[1]');
    await redis.xadd(keys.stream.dlq('s1'), '*', 'reason', 'test');
    assert.deepEqual(await sources.stats('s1'), { length: 1, groups: [], dlq: 1 });
    assert.equal(await sources.remove('s1', { purge: true }), true);
    assert.equal(await redis.exists(keys.stream.input('s1')), 0);
    assert.equal(await redis.exists(keys.stream.dlq('s1')), 0);
    for (const name of names) await datasets.delete(name);
    assert.deepEqual(await datasets.list(), []);
  });

  test('digits: the full run through the queues, SVM ≥ 0.95, corrupted rows alerted; then a source stream scored', async (t) => {
    const datasets = new DatasetStore(redis, keys);
    const models = new ModelRegistry(redis, keys);
    const embeddings = new EmbeddingStore(redis, keys);
    const alerts = new AlertStore(redis, keys);
    const cache = new ModelCache(models);
    const options = { concurrency: 2 };
    const workers = [
      makeWorker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(redis, keys), models, backend: 'wasm' }), redis, keys, { concurrency: 1 }),
      makeWorker('encode', createEncodeProcessor({ datasets, models, embeddings, cache }), redis, keys, options),
      makeWorker('cluster', createClusterProcessor({ datasets, models, embeddings }), redis, keys, options),
      makeWorker('classify', createClassifyProcessor({ datasets, models, embeddings }), redis, keys, options),
      makeWorker('detect', createDetectProcessor({ datasets, models, embeddings, alerts, cache }), redis, keys, options),
      makeWorker('run', createRunProcessor({ embeddings }), redis, keys, options),
    ];
    const queues = new Map<QueueName, PipelineQueue<QueueName>>();
    const queue = <Q extends QueueName>(q: Q): PipelineQueue<Q> => {
      if (!queues.has(q)) queues.set(q, makeQueue(q, redis, keys) as unknown as PipelineQueue<QueueName>);
      return queues.get(q) as unknown as PipelineQueue<Q>;
    };
    const flows = makeFlowProducer(redis, keys);
    t.after(async () => {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await flows.close();
      cache.clear();
    });

    await datasets.save('digits', digits);
    await datasets.save('wine', wine);
    const started = Date.now();
    const { run } = await submitRun(flows, keys, { run: 'digits-1', model: 'digits-ae', dataset: 'digits', options: { codeSize: 10, epochs: 40, seed: 0 } });
    const { job, state } = await settled(queue('run'), run, 180_000);
    assert.equal(state, 'completed', job.failedReason);
    const summary = RESULTS.run.parse(job.returnvalue);
    t.diagnostic(`run on the cluster took ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);
    assert.equal(summary.records, 1797);
    assert.equal(summary.embeddings, 1797);
    assert.equal(summary.clustering?.k, 10);
    assert.ok(summary.classification!.accuracy >= 0.95, `SVM accuracy ${summary.classification!.accuracy}`);

    const target = { model: 'digits-ae', version: 1, dataset: 'digits' };
    const codes = await embeddings.read(target);
    assert.equal(codes.ids.length, 1797);
    assert.equal(codes.codeSize, 10);
    const clusters = await embeddings.readAssignments(target, 'clusters');
    assert.deepEqual([...clusters.keys()].sort(), [...digits.ids].sort());
    for (const q of RUN_STAGES) assert.equal(await queue(q).getJobState(run), 'completed', `${q} job`);

    const alerted = (await alerts.read()).map((e) => e.alert);
    assert.equal(alerted.length, summary.anomalies!.alerts);
    for (const row of CORRUPTED) assert.ok(alerted.some((a) => a.record === digits.ids[row]), `record ${digits.ids[row]} is alerted`);

    // The run's keys really are spread over the cluster.
    const placed = new Map<string, string>();
    for (const key of [keys.dataset.meta('digits'), keys.dataset.meta('wine'), keys.model.versions('digits-ae'),
      keys.embeddings.codes('digits-ae', 1, 'digits'), `${keys.bullPrefix}:run:meta`, keys.alerts()]) {
      placed.set(key, await nodeOf(key));
    }
    t.diagnostic(`placement: ${JSON.stringify(Object.fromEntries(placed))}`);
    assert.ok(new Set(placed.values()).size >= 2, 'keys on at least two nodes');
    const sizes = await Promise.all(redis.nodes('master').map((n) => n.dbsize()));
    assert.ok(sizes.filter((n) => n > 0).length >= 2, `keys per node ${sizes.join(', ')}`);

    // A source stream scored with the production version, through the encoder's stream consumer.
    await models.promote('digits-ae', 1);
    await new SourceStore(redis, keys).add('live', { model: 'digits-ae' });
    const publisher = new AlertPublisher({ alerts, redis, keys, cooldownMs: 60_000 });
    const streams = await startStreamConsumer({
      redis, keys, models, cache, embeddings, alerts: publisher, drift: new DriftMonitor(redis, keys, { window: 500, factor: 1e12 }), log: silentLogger,
    }, { count: 64, blockMs: 200, claimMs: 30_000, refreshMs: 500, embeddingsMaxLen: 100_000 });
    t.after(() => streams.stop());
    const rows = [...Array.from({ length: 20 }, (_, i) => 100 + i), CORRUPTED[0]];
    const input = keys.stream.input('live');
    for (const r of rows) {
      await redis.xadd(input, '*', 'id', `live-${r}`, 'values', Array.from(digits.values.subarray(r * digits.width, (r + 1) * digits.width)).join(','));
    }
    const liveTarget = { model: 'digits-ae', version: 1, dataset: streamDataset('live') };
    const deadline = Date.now() + 30_000;
    while ((await embeddings.status(liveTarget)).written < rows.length || Number(((await redis.call('XPENDING', [input, STREAM_GROUP])) as unknown[])[0]) > 0) {
      assert.ok(Date.now() < deadline, 'stream scored within 30 s');
      await sleep(100);
    }
    assert.equal((await embeddings.read(liveTarget)).ids.length, rows.length);
    const liveAlerts = (await alerts.read()).map((e) => e.alert).filter((a) => a.source === 'live');
    assert.ok(liveAlerts.some((a) => a.record === `live-${CORRUPTED[0]}`), 'the corrupted record is alerted from the stream');

    // The cool-down suppresses a repeat; `suppressed` finds it by SCAN over every master.
    const repeat = await publisher.publish([{ ...liveAlerts[0], at: new Date().toISOString() }]);
    assert.deepEqual([repeat.published, repeat.suppressed], [0, 1]);
    assert.deepEqual(await publisher.suppressed('live'), { [liveAlerts[0].record]: 1 });
  });
});
