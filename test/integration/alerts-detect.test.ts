// The detect stage publishing through an AlertPublisher: alerts on the stream, one webhook job `{alertId}` per alert
// (job id = alert id), and a retried detect job adding neither alerts nor webhook jobs.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeQueue, makeWorker } from '../../shared/pipeline/queues.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createDetectProcessor } from '../../services/downstream/detect.processor.js';
import { createEncodeProcessor } from '../../services/encoder/encode.processor.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import { projectPath } from '../helpers/cli.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';
import { settled } from '../helpers/jobs.js';

const fixture = useRedis();
let wine: Table;

before(async () => {
  await initBackend('wasm', () => {});
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

test('detect publishes through the AlertPublisher: stream, webhook jobs keyed by alert id, once per scope', async (t) => {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'detect-test' });
  const datasets = new DatasetStore(connection, keys);
  const models = new ModelRegistry(connection, keys);
  const embeddings = new EmbeddingStore(connection, keys);
  const store = new AlertStore(connection, keys);
  const cache = new ModelCache(models);
  const webhook = makeQueue('webhook', connection, keys);
  const alerts = new AlertPublisher({ alerts: store, redis: connection, keys, cooldownMs: 60_000, webhooks: { queue: webhook } });
  const queues = { train: makeQueue('train', connection, keys), encode: makeQueue('encode', connection, keys), detect: makeQueue('detect', connection, keys) };
  const workers = [
    makeWorker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(connection, keys), models, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
    makeWorker('encode', createEncodeProcessor({ datasets, models, embeddings, cache }), connection, keys, { concurrency: 1 }),
    makeWorker('detect', createDetectProcessor({ datasets, models, embeddings, alerts, cache }), connection, keys, { concurrency: 1 }),
  ];
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([webhook, ...Object.values(queues)].map((q) => q.close()));
    cache.clear();
    await closeRedis(connection);
  });

  await datasets.save('wine', wine);
  const trained = await settled(queues.train, (await queues.train.add('train', { model: 'wine-ae', dataset: 'wine', options: { epochs: 20, seed: 0, detector: 'ae' } })).id!);
  assert.equal(trained.state, 'completed', trained.job.failedReason);
  const encoded = await settled(queues.encode, (await queues.encode.add('encode', { model: 'wine-ae', version: 1, dataset: 'wine' })).id!);
  assert.equal(encoded.state, 'completed', encoded.job.failedReason);
  // Detector ae: the stored scores are reconstruction errors, so a threshold above their mean alerts on a few rows.
  const threshold = encoded.job.returnvalue.meanError * 1.5;

  const detect = async () => {
    const done = await settled(queues.detect, (await queues.detect.add('detect', { model: 'wine-ae', version: 1, dataset: 'wine', threshold })).id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    return done.job.returnvalue;
  };
  const first = await detect();
  assert.ok(first.alerts > 0 && first.alerts < 178, `${first.alerts} alerts`);
  const stream = await store.read();
  assert.equal(stream.length, first.alerts);
  const jobs = await webhook.getJobs(['waiting', 'delayed', 'active']);
  assert.deepEqual(jobs.map((j) => j.id).sort(), stream.map((e) => e.id).sort());
  const sample = jobs[0];
  assert.equal(sample.opts.attempts, 5);
  assert.deepEqual(sample.opts.backoff, { type: 'exponential', delay: 1000 });
  assert.ok(jobs.every((j) => JSON.stringify(j.data) === JSON.stringify({ alertId: j.id })), 'a job names its alert only (no URL, no body)');

  // The same detect again (a retry, or a re-run): no new alert, no new webhook job.
  const again = await detect();
  assert.equal(again.alerts, first.alerts);
  assert.equal((await store.read()).length, first.alerts);
  assert.equal((await webhook.getJobs(['waiting', 'delayed', 'active'])).length, first.alerts);

  // Another detector through the same jobs: an isolation forest, its threshold set for 5% false alarms. The encode
  // job stores its scores, the detect job alerts on them with p-values and attributions.
  const forest = await settled(queues.train, (await queues.train.add('train', {
    model: 'wine-if', dataset: 'wine', options: { epochs: 5, seed: 0, detector: 'iforest' }, threshold: { method: 'fpr', value: 0.05 },
  })).id!);
  assert.equal(forest.state, 'completed', forest.job.failedReason);
  assert.equal((await settled(queues.encode, (await queues.encode.add('encode', { model: 'wine-if', version: 1, dataset: 'wine' })).id!)).state, 'completed');
  const flagged = await settled(queues.detect, (await queues.detect.add('detect', { model: 'wine-if', version: 1, dataset: 'wine' })).id!);
  assert.equal(flagged.state, 'completed', flagged.job.failedReason);
  const forestAlerts = (await store.read()).map((e) => e.alert).filter((a) => a.model === 'wine-if');
  const raised = flagged.job.returnvalue.alerts;
  assert.ok(raised > 0 && raised < 36, `${raised} of 178 training rows alerted at fpr 0.05`);
  // Records the first model alerted on are still cooling down (60 s per record): only the others reach the stream.
  assert.ok(forestAlerts.length > 0 && forestAlerts.length <= raised);
  for (const a of forestAlerts) {
    assert.ok(a.score > a.threshold && a.score < 1, `an isolation-forest score in (threshold, 1): ${a.score}`);
    assert.ok(a.pValue! <= 0.05, `p ${a.pValue}`);
    assert.ok(a.attribution!.length > 0);
  }
});
