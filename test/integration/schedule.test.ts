// Schedules and promotion on a real redis-server: job schedulers on the `schedule` queue, the trainer's schedule and
// train processors in this process (as the trainer service wires them), and promoteIfBetter.
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import { InputError } from '../../shared/contracts/errors.js';
import { PRIORITY, RESULTS, type QueueName } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { addSchedule, listSchedules, removeSchedule } from '../../shared/pipeline/schedules.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { syntheticRatings } from '../helpers/ratings.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createDetectProcessor } from '../../services/downstream/detect.processor.js';
import { createEncodeProcessor } from '../../services/encoder/encode.processor.js';
import { createScheduleProcessor } from '../../services/trainer/schedule.processor.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import { rejectsInput } from '../helpers/assertions.js';
import { projectPath } from '../helpers/cli.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
let wine: Table;

before(async () => {
  await initBackend('wasm', () => {});
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

interface Trainer {
  keys: Keyspace;
  models: ModelRegistry;
  datasets: DatasetStore;
  queue<Q extends QueueName>(q: Q): PipelineQueue<Q>;
}

/** The trainer's workers (train, schedule) in this process, and with `scoring` the encode and detect workers too. */
function startTrainer(t: TestContext, scoring = false): Trainer {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'trainer' });
  const datasets = new DatasetStore(connection, keys);
  const models = new ModelRegistry(connection, keys);
  const queues = new Map<QueueName, PipelineQueue<QueueName>>();
  const queue = <Q extends QueueName>(q: Q): PipelineQueue<Q> => {
    if (!queues.has(q)) queues.set(q, makeQueue(q, connection, keys) as unknown as PipelineQueue<QueueName>);
    return queues.get(q) as unknown as PipelineQueue<Q>;
  };
  const flows = makeFlowProducer(connection, keys);
  const cache = new ModelCache(models);
  const workers: { close(): Promise<void> }[] = [
    makeWorker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(connection, keys), models, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
    makeWorker('schedule', createScheduleProcessor({ train: queue('train'), flows, models, keys }), connection, keys, { concurrency: 1 }),
  ];
  if (scoring) {
    const embeddings = new EmbeddingStore(connection, keys);
    workers.push(
      makeWorker('encode', createEncodeProcessor({ datasets, models, embeddings, cache }), connection, keys, { concurrency: 1 }),
      makeWorker('detect', createDetectProcessor({ datasets, models, embeddings, alerts: new AlertStore(connection, keys), cache }), connection, keys, { concurrency: 1 }),
    );
  }
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await flows.close();
    await Promise.all([...queues.values()].map((q) => q.close()));
    cache.clear();
    await closeRedis(connection);
  });
  return { keys, models, datasets, queue };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function trained<Q extends 'train'>(queue: PipelineQueue<Q>, id: string) {
  const job = await until(`train job ${id}`, async () => {
    const state = await queue.getJobState(id);
    return state === 'completed' || state === 'failed' ? queue.getJob(id) : undefined;
  });
  assert.equal(job?.failedReason, undefined, job?.failedReason);
  return RESULTS.train.parse(job?.returnvalue);
}

describe('schedules', () => {
  test('a retrain schedule every 1 s fires, trains a new version with the options of the latest one, and stops when removed', async (t) => {
    const p = startTrainer(t);
    await p.datasets.save('wine', wine);
    const train = p.queue('train');
    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 5, codeSize: 4, seed: 1 } }, { jobId: 'first' });
    assert.equal((await trained(train, 'first')).version, 1);

    const schedules = p.queue('schedule');
    const added = await addSchedule(schedules, { name: 'wine-often', everyMs: 1000, kind: 'retrain', model: 'wine', dataset: 'wine' });
    assert.equal(added.everyMs, 1000);
    const listed = await listSchedules(schedules);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].name, 'wine-often');
    assert.equal(listed[0].everyMs, 1000);
    assert.ok(listed[0].next instanceof Date);
    assert.deepEqual(listed[0].payload, { schedule: 'wine-often', kind: 'retrain', model: 'wine', dataset: 'wine', promoteIfBetter: false });

    const v2 = await until('a version from the schedule', async () => (await p.models.list())[0]?.versions.find((v) => v.version >= 2));
    assert.equal(await removeSchedule(schedules, 'wine-often'), true);
    assert.equal(await removeSchedule(schedules, 'wine-often'), false);
    assert.deepEqual(await listSchedules(schedules), []);
    const config = v2.config as { epochs: number; codeSize: number; seed: number };
    assert.deepEqual([config.epochs, config.codeSize, config.seed, v2.codeSize], [5, 4, 1, 4]);

    // The schedule job's result names the train job it submitted; no firing is left behind.
    const done = await schedules.getJobs(['completed']);
    assert.ok(done.length >= 1);
    const result = RESULTS.schedule.parse(done.at(-1)!.returnvalue);
    assert.equal(result.kind, 'retrain');
    assert.match(result.submitted, /^wine-often\.\d+$/);
    assert.equal((await schedules.getJobs(['delayed', 'waiting'])).length, 0);
  });

  test('a retrain of an AutoRec model trains a recommender again, with its options, on its ratings dataset', async (t) => {
    const p = startTrainer(t);
    const keys = p.keys;
    const connection = trackedRedis(fixture.url(), { name: 'ratings' });
    t.after(() => closeRedis(connection));
    await new RatingsStore(connection, keys).save('films', syntheticRatings({ users: 60, items: 30, observed: 0.2, seed: 5 }), 'synthetic');
    const train = p.queue('train');
    const options = { hidden: 8, epochs: 2, lambda: 3, seed: 2 };
    await train.add('train', { kind: 'autorec', model: 'films', dataset: 'films', options }, { jobId: 'films-1' });
    assert.equal((await trained(train, 'films-1')).kind, 'autorec');

    const schedules = p.queue('schedule');
    await addSchedule(schedules, { name: 'films-often', everyMs: 1000, kind: 'retrain', model: 'films', dataset: 'films' });
    const v2 = await until('a recommender version from the schedule', async () => (await p.models.list())[0]?.versions.find((v) => v.version >= 2));
    await removeSchedule(schedules, 'films-often');
    assert.equal(v2.kind, 'autorec');
    assert.deepEqual(v2.config, { ...(await p.models.meta('films', 1)).config as object, ...options });
  });

  test('adding the same schedule twice leaves one (the second replaces the first); cron patterns give a next run', async (t) => {
    const p = startTrainer(t);
    const schedules = p.queue('schedule');
    await addSchedule(schedules, { name: 'nightly', cron: '0 3 * * *', kind: 'retrain', model: 'wine', dataset: 'wine' });
    await addSchedule(schedules, { name: 'nightly', cron: '30 2 * * *', kind: 'retrain', model: 'wine', dataset: 'wine', promoteIfBetter: true });
    await addSchedule(schedules, { name: 'hourly-score', everyMs: 3_600_000, kind: 'score', model: 'wine', dataset: 'wine' });
    const listed = await listSchedules(schedules);
    assert.deepEqual(listed.map((s) => s.name).sort(), ['hourly-score', 'nightly']);
    const nightly = listed.find((s) => s.name === 'nightly')!;
    assert.equal(nightly.cron, '30 2 * * *');
    assert.equal(nightly.payload.promoteIfBetter, true);
    const next = nightly.next!;
    assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 24 * 3600_000, next.toISOString());
    assert.deepEqual([next.getMinutes(), next.getHours()], [30, 2]);
    assert.equal((await schedules.getJobs(['delayed'])).filter((j) => j.data.schedule === 'nightly').length, 1);
  });

  test('invalid schedules are clear input errors', async (t) => {
    const schedules = startTrainer(t).queue('schedule');
    const base = { kind: 'retrain', model: 'wine', dataset: 'wine' } as const;
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', cron: '61 * * * *' }), 'invalid cron pattern "61 * * * *"', 'expected range 0-59', 'field "cron"');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', cron: 'every day' }), 'invalid cron pattern "every day"');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', cron: '' }), 'invalid cron pattern ""');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x' }), 'exactly one of a cron pattern and an interval');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', cron: '* * * * *', everyMs: 5000 }), 'exactly one');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', everyMs: 10 }), 'at least 1000', 'field "every"');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'a:b', everyMs: 5000 }), 'schedule names', 'field "name"');
    await rejectsInput(addSchedule(schedules, { ...base, name: 'x', everyMs: 5000, model: 'bad name' }), 'field "model"');
    assert.deepEqual(await listSchedules(schedules), []);
  });

  test('a score schedule encodes and detects the dataset with the production version', async (t) => {
    const p = startTrainer(t, true);
    await p.datasets.save('wine', wine);
    const train = p.queue('train');
    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 5, seed: 1 } }, { jobId: 'a' });
    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 5, seed: 2 } }, { jobId: 'b' });
    await trained(train, 'a');
    await trained(train, 'b');
    await p.models.promote('wine', 1);
    const schedules = p.queue('schedule');
    await addSchedule(schedules, { name: 'score-wine', everyMs: 60_000, kind: 'score', model: 'wine', dataset: 'wine' });
    const fired = await until('the schedule job', async () => (await schedules.getJobs(['completed']))[0]);
    await removeSchedule(schedules, 'score-wine');
    const { submitted } = RESULTS.schedule.parse(fired.returnvalue);
    const detect = p.queue('detect');
    const done = await until('the detect job', async () => {
      const state = await detect.getJobState(submitted);
      return state === 'completed' || state === 'failed' ? detect.getJob(submitted) : undefined;
    });
    assert.equal(done?.failedReason, undefined, done?.failedReason);
    const result = RESULTS.detect.parse(done?.returnvalue);
    assert.deepEqual([result.model, result.version, result.dataset], ['wine', 1, 'wine']);
  });
});

describe('the schedule processor', () => {
  test('a retrain firing while an earlier one of the same schedule is pending adds no second train job; a retried firing adds nothing', async (t) => {
    const keys = keyspace(fixture.prefix());
    const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'no workers' });
    const train = makeQueue('train', connection, keys);
    const flows = makeFlowProducer(connection, keys);
    t.after(async () => {
      await Promise.all([train.close(), flows.close()]);
      await closeRedis(connection);
    });
    const processor = createScheduleProcessor({ train, flows, models: new ModelRegistry(connection, keys), keys });
    const data = { schedule: 'nightly', kind: 'retrain', model: 'wine', dataset: 'wine', promoteIfBetter: true };
    const firing = (ms: number, payload: unknown = data) => ({ id: `repeat:nightly:${ms}`, data: payload, timestamp: ms }) as unknown as Parameters<typeof processor>[0];
    const first = await processor(firing(1000));
    assert.deepEqual(first, { schedule: 'nightly', kind: 'retrain', submitted: 'nightly.1000' });
    assert.equal((await processor(firing(1000))).submitted, 'nightly.1000');
    assert.equal((await processor(firing(2000))).submitted, 'nightly.1000');
    const waiting = await train.getJobs(['prioritized']);
    assert.deepEqual(waiting.map((j) => [j.id, j.data, j.priority]), [['nightly.1000', { model: 'wine', dataset: 'wine', promoteIfBetter: true }, PRIORITY.scheduled]]);
    await rejectsInput(processor(firing(3000, { ...data, kind: 'nope' })), 'field "kind"');
  });

  test('scheduled jobs queue behind interactive runs; --priority orders runs; equal priorities go in order of submission', async (t) => {
    const keys = keyspace(fixture.prefix());
    const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'priorities' });
    const train = makeQueue('train', connection, keys);
    const flows = makeFlowProducer(connection, keys);
    const taken: string[] = [];
    const workers: { close(): Promise<void> }[] = [];
    t.after(async () => {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([train.close(), flows.close()]);
      await closeRedis(connection);
    });
    const processor = createScheduleProcessor({ train, flows, models: new ModelRegistry(connection, keys), keys });
    const firing = { id: 'repeat:nightly:1000', data: { schedule: 'nightly', kind: 'retrain', model: 'wine', dataset: 'wine' }, timestamp: 1000 } as unknown as Parameters<typeof processor>[0];
    await processor(firing);
    const run = (id: string, priority?: number) => submitRun(flows, keys, { run: id, model: 'wine', dataset: 'wine', stages: [], priority });
    await run('first');
    await run('second');
    await run('urgent', PRIORITY.highest);
    await run('background', PRIORITY.lowest);
    await rejectsInput(run('bad', 0), 'field "priority"');
    assert.equal((await train.getJob('first'))?.priority, PRIORITY.run);
    workers.push(makeWorker('train', (job) => {
      taken.push(job.id!);
      return Promise.reject(new InputError('not trained in this test'));
    }, connection, keys, { concurrency: 1 }));
    await until('every train job', () => Promise.resolve(taken.length === 5 ? true : undefined));
    assert.deepEqual(taken, ['urgent', 'first', 'second', 'nightly.1000', 'background']);
  });
});

describe('promoteIfBetter', () => {
  test('the first version is promoted; a worse one is not; a better one is', async (t) => {
    const p = startTrainer(t);
    await p.datasets.save('wine', wine);
    const train = p.queue('train');
    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 20, seed: 1 }, promoteIfBetter: true }, { jobId: 'good' });
    const good = await trained(train, 'good');
    assert.equal(good.promoted, true);
    assert.equal(await p.models.resolve('wine', 'production'), good.version);

    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 1, learningRate: 1e-6, seed: 1 }, promoteIfBetter: true }, { jobId: 'worse' });
    const worse = await trained(train, 'worse');
    assert.equal(worse.promoted, false);
    assert.equal(await p.models.resolve('wine', 'production'), good.version);
    const [g, w] = [await p.models.meta('wine', good.version), await p.models.meta('wine', worse.version)];
    assert.ok(g.valLoss! < w.valLoss!, `${g.valLoss} < ${w.valLoss}`);

    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 60, seed: 1 }, promoteIfBetter: true }, { jobId: 'better' });
    const better = await trained(train, 'better');
    assert.equal(better.promoted, true);
    assert.equal(await p.models.resolve('wine', 'production'), better.version);
    // Without promoteIfBetter, nothing is promoted and the result says nothing about it.
    await train.add('train', { model: 'wine', dataset: 'wine', options: { epochs: 80, seed: 1 } }, { jobId: 'plain' });
    const plain = await trained(train, 'plain');
    assert.equal(plain.promoted, undefined);
    assert.equal(await p.models.resolve('wine', 'production'), better.version);
  });
});
