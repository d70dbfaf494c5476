// AutoRec through the queues on a real redis-server: a ratings dataset in Redis, a train job of kind autorec, and a
// recommend job storing each user's top-N unseen items; plus the errors a user meets when kinds are mixed up.
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { RESULTS, type QueueName } from '../../shared/contracts/queues.js';
import type { Ratings } from '../../shared/data/ratings.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitAutoRecRun } from '../../shared/pipeline/flow.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { RecommendationStore } from '../../shared/store/recommendations.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createRecommendProcessor } from '../../services/downstream/recommend.processor.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import { settled } from '../helpers/jobs.js';
import { syntheticRatings } from '../helpers/ratings.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
// Small and every epoch run; the rest (biases as baseline, a presence network for the ranking) as by default.
const OPTIONS = { hidden: 32, lambda: 7, learningRate: 0.003, epochs: 30, seed: 0, validation: 0 };
/** An implicit model has only the presence network, sized by its own options. */
const IMPLICIT_OPTIONS = { presenceHidden: 32, presenceLambda: 7, learningRate: 0.003, epochs: 30, seed: 0, validation: 0, implicit: true };
let ratings: Ratings;

before(async () => {
  await initBackend('wasm', () => {});
  ratings = syntheticRatings({ users: 300, items: 120, observed: 0.1, seed: 4 });
});

function startWorkers(t: TestContext) {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'autorec' });
  const models = new ModelRegistry(connection, keys);
  const store = new RatingsStore(connection, keys);
  const recommendations = new RecommendationStore(connection, keys);
  const workers = [
    makeWorker('train', createTrainProcessor({ datasets: new DatasetStore(connection, keys), ratings: store, models, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
    makeWorker('recommend', createRecommendProcessor({ models, recommendations, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
  ];
  const queues = new Map<QueueName, PipelineQueue<QueueName>>();
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([...queues.values()].map((q) => q.close()));
    await closeRedis(connection);
  });
  return {
    keys, connection, models, store, recommendations,
    queue<Q extends QueueName>(q: Q): PipelineQueue<Q> {
      if (!queues.has(q)) queues.set(q, makeQueue(q, connection, keys) as unknown as PipelineQueue<QueueName>);
      return queues.get(q) as unknown as PipelineQueue<Q>;
    },
  };
}

/** Item ids each user rated. */
function ratedBy(r: Ratings): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (let e = 0; e < r.entries.rating.length; e++) {
    const user = r.users[r.entries.user[e]];
    if (!out.has(user)) out.set(user, new Set());
    out.get(user)!.add(r.items[r.entries.item[e]]);
  }
  return out;
}

describe('AutoRec through the queues', () => {
  test('ratings datasets round-trip through Redis, and a missing one is named', async (t) => {
    const p = startWorkers(t);
    const meta = await p.store.save('synthetic', ratings, 'synthetic helper');
    assert.deepEqual([meta.ratings, meta.users, meta.items], [ratings.entries.rating.length, 300, 120]);
    const back = await p.store.load('synthetic');
    assert.deepEqual(back, ratings);
    await assert.rejects(p.store.load('nope'), /ratings dataset "nope" does not exist \(ratings datasets: synthetic\)/);
  });

  test('train (kind autorec) then recommend: every user gets N unseen items, best score first, as the model ranks them', async (t) => {
    const p = startWorkers(t);
    await p.store.save('synthetic', ratings, 'synthetic helper');
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const { run } = await submitAutoRecRun(flows, p.keys, { run: 'rec-1', model: 'rec', dataset: 'synthetic', options: OPTIONS, n: 5 });

    const { job, state } = await settled(p.queue('recommend'), run, 120_000);
    assert.equal(state, 'completed', `${job.failedReason} ${JSON.stringify(job.stacktrace)}`);
    const result = RESULTS.recommend.parse(job.returnvalue);
    assert.deepEqual([result.model, result.version, result.n, result.users], ['rec', 1, 5, 300]);
    const train = RESULTS.train.parse((await settled(p.queue('train'), run)).job.returnvalue);
    assert.equal(train.kind, 'autorec');
    // The predicting (rating) network's epochs, as `autorec evaluate` reports them, not the sum over both networks.
    assert.equal(train.epochs, OPTIONS.epochs);

    const meta = await p.models.meta('rec', 1);
    assert.equal(meta.kind, 'autorec');
    assert.deepEqual(meta.autorec, { variant: 'item', users: 300, items: 120, ratings: ratings.entries.rating.length, min: ratings.min, max: ratings.max });
    const status = await p.recommendations.status('rec', 1);
    assert.deepEqual([status?.state, status?.users, status?.total, status?.n], ['complete', 300, 300, 5]);

    const { model } = await p.models.loadAutoRec('rec', 1);
    t.after(() => model.dispose());
    const rated = ratedBy(ratings);
    for (const user of ['u0', 'u7', 'u150', 'u299']) {
      const stored = await p.recommendations.top('rec', 1, user);
      assert.ok(stored, `no list stored for ${user}`);
      assert.equal(stored.length, 5);
      assert.equal(new Set(stored.map((r) => r.item)).size, 5);
      for (const { item } of stored) assert.ok(!rated.get(user)?.has(item), `${user} already rated ${item}`);
      for (let k = 1; k < stored.length; k++) assert.ok(stored[k - 1].score >= stored[k].score, JSON.stringify(stored));
      // The same list the model gives for that user alone, and each rating is the model's prediction.
      assert.deepEqual(stored.map((r) => r.item), model.recommend(user, 5).map((r) => r.item));
      for (const r of stored) assert.ok(r.rating !== undefined && Math.abs(model.predict(user, r.item) - r.rating) < 1e-5, JSON.stringify(r));
    }
  });

  test('implicit feedback through the same stages: N unseen items per user, best score first, no ratings', async (t) => {
    const p = startWorkers(t);
    await p.store.save('synthetic', ratings, 'synthetic helper');
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const { run } = await submitAutoRecRun(flows, p.keys, { run: 'rec-implicit', model: 'clicks', dataset: 'synthetic', options: IMPLICIT_OPTIONS, n: 4 });
    const { job, state } = await settled(p.queue('recommend'), run, 120_000);
    assert.equal(state, 'completed', `${job.failedReason} ${JSON.stringify(job.stacktrace)}`);
    assert.equal(RESULTS.recommend.parse(job.returnvalue).users, 300);
    const { model } = await p.models.loadAutoRec('clicks', 1);
    t.after(() => model.dispose());
    assert.equal(model.config.implicit, true);
    const rated = ratedBy(ratings);
    for (const user of ['u0', 'u42', 'u299']) {
      const stored = (await p.recommendations.top('clicks', 1, user))!;
      assert.equal(stored.length, 4);
      for (const { item } of stored) assert.ok(!rated.get(user)?.has(item), `${user} already has ${item}`);
      for (let k = 1; k < stored.length; k++) assert.ok(stored[k - 1].score >= stored[k].score, JSON.stringify(stored));
      assert.ok(stored.every((r) => r.rating === undefined), 'an implicit model predicts no ratings');
      assert.deepEqual(stored, model.recommend(user, 4).map(({ item, score }) => ({ item, score })));
    }
  });

  test('a recommend job for listed users, one of them unknown, under an alias', async (t) => {
    const p = startWorkers(t);
    await p.store.save('synthetic', ratings, 'synthetic helper');
    const train = await p.queue('train').add('train', { kind: 'autorec', model: 'rec', dataset: 'synthetic', options: { ...OPTIONS, epochs: 5 }, promoteIfBetter: true });
    const trained = await settled(p.queue('train'), train.id!, 60_000);
    assert.equal(trained.state, 'completed', `${trained.job.failedReason} ${JSON.stringify(trained.job.stacktrace)}`);
    assert.equal(RESULTS.train.parse(trained.job.returnvalue).promoted, true);

    const job = await p.queue('recommend').add('recommend', { model: 'rec', version: 'production', n: 3, users: ['u1', 'stranger'] });
    const { state, job: done } = await settled(p.queue('recommend'), job.id!);
    assert.equal(state, 'completed', done.failedReason);
    assert.equal(RESULTS.recommend.parse(done.returnvalue).users, 2);
    assert.equal((await p.recommendations.top('rec', 1, 'u1'))?.length, 3);
    assert.equal(await p.recommendations.top('rec', 1, 'u2'), undefined);
    // An unknown user gets the fallback ranking.
    const stranger = (await p.recommendations.top('rec', 1, 'stranger'))!;
    const { model } = await p.models.loadAutoRec('rec', 1);
    t.after(() => model.dispose());
    assert.deepEqual(stranger, model.recommend('stranger', 3));
  });

  test('kinds are not mixed up: bad options, an autoencoder job on a recommender, a ratings name that is a table', async (t) => {
    const p = startWorkers(t);
    await p.store.save('synthetic', ratings, 'synthetic helper');
    const bad = await p.queue('train').add('train', { kind: 'autorec', model: 'rec', dataset: 'synthetic', options: { hidden: 0 } } as never);
    const failed = await settled(p.queue('train'), bad.id!);
    assert.equal(failed.state, 'failed');
    assert.match(failed.job.failedReason, /field "options\.hidden"/);
    assert.equal(failed.job.attemptsMade, 1, 'bad input is not retried');

    const missing = await p.queue('train').add('train', { kind: 'autorec', model: 'rec', dataset: 'nope' });
    assert.match((await settled(p.queue('train'), missing.id!)).job.failedReason, /ratings dataset "nope" does not exist/);

    const ok = await p.queue('train').add('train', { kind: 'autorec', model: 'rec', dataset: 'synthetic', options: { ...OPTIONS, epochs: 2 } });
    assert.equal((await settled(p.queue('train'), ok.id!, 60_000)).state, 'completed');
    await assert.rejects(p.models.load('rec', 1), /rec@1 is an AutoRec recommender, not an autoencoder/);
    const recommendOnTable = await p.queue('recommend').add('recommend', { model: 'nothing' });
    assert.match((await settled(p.queue('recommend'), recommendOnTable.id!)).job.failedReason, /model "nothing" does not exist/);
    // An autoencoder version may not join the recommender's series.
    await new DatasetStore(p.connection, p.keys).save('table', { values: Float32Array.from({ length: 40 }, (_, i) => i % 7), rows: 10, width: 4, features: ['a', 'b', 'c', 'd'], ids: Array.from({ length: 10 }, (_, i) => String(i)), source: 'test' });
    const mixed = await p.queue('train').add('train', { model: 'rec', dataset: 'table', options: { epochs: 1, codeSize: 2 } });
    assert.match((await settled(p.queue('train'), mixed.id!, 60_000)).job.failedReason, /model "rec" holds autorec versions; a autoencoder needs another model name/);
  });
});
