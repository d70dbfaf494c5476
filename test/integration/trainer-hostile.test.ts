// Trainer processes against hostile train jobs, on the plain wasm backend (where such jobs used to break the runtime
// for every later job): oversized jobs fail at once naming the limit and the next job trains on the same process; a
// train job that does break the runtime breaks only its training thread's, fails with the reason, and the same
// process trains the next job. A job that breaks the encoder's or downstream's own runtime fails with the reason, and
// the process exits 1 with its heartbeat gone, so that a supervisor starts a fresh one. Plus the fatal path of
// onShutdown with a close that never ends.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import type { PayloadInput } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import type { Ratings } from '../../shared/data/ratings.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { AutoRec } from '../../shared/ml/autorec.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { SourceStore, STREAM_GROUP } from '../../shared/store/sources.js';
import { closeRedis } from '../../shared/store/redis.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';
import { startService, type ServiceProcess } from '../helpers/services.js';

const fixture = useRedis();
let wine: Table;
const running: ServiceProcess[] = [];

before(async () => {
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});
after(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** 3 rows × `width` features: what importing a 3-row, 1M-column CSV stored before the file limits. */
function wideTable(width: number): Table {
  const values = new Float32Array(3 * width).map((_, i) => (i % 17) / 17);
  return { values, rows: 3, width, features: Array.from({ length: width }, (_, j) => `f${j + 1}`), ids: ['a', 'b', 'c'], source: 'wide' };
}

async function setUp(datasets: Record<string, Table>) {
  const keys = keyspace(fixture.prefix());
  for (const [name, table] of Object.entries(datasets)) await new DatasetStore(fixture.redis(), keys).save(name, table);
  const connection = trackedRedis(fixture.url(), { bullmq: true });
  const queue = makeQueue('train', connection, keys);
  // Plain wasm (no native addon): the runtime whose heap these jobs used to exhaust.
  const env = { REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: keys.prefix, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_NATIVE_BLAS: 'off', LATENTFLOW_JOB_LOCK_MS: '5000' };
  const close = async () => {
    await queue.close();
    await closeRedis(connection);
  };
  return { keys, queue, env, close };
}

const small = { codeSize: 4, epochs: 5 };

// Timeouts: on a trainer without these defences the jobs below never settle (1e9 epochs) or the process never exits.
test('oversized train jobs fail at once, naming the field, value and limit; the next job trains on the same process', { timeout: 180_000 }, async () => {
  const s = await setUp({ wine, wide: wideTable(1_000_000) });
  try {
    const trainer = await startService('trainer', s.env);
    running.push(trainer);
    const bad: [PayloadInput<'train'>, RegExp][] = [
      [{ model: 'a', dataset: 'wine', options: { encoder: [3_000_000, 2] } }, /options\.encoder\.0.*3,000,000 units: a layer may have at most 65,536/],
      [{ model: 'b', dataset: 'wine', options: { epochs: 1e9 } }, /options\.epochs.*1,000,000,000 epochs: the limit is 100,000/],
      [{ model: 'c', dataset: 'wide' }, /the input has 1,000,000 features.*the network 1000000-256-128-32-128-256-1000000 has 513,074,528 parameters; the limit is 20,000,000/],
      [{ model: 'd', dataset: 'wine', options: { encoder: [65_536, 2], batchSize: 4096 } }, /batchSize.*the limit is 33,554,432: use a batchSize of at most 255/],
    ];
    const ids: string[] = [];
    for (const [payload] of bad) ids.push((await s.queue.add('train', payload)).id!);
    const good = await s.queue.add('train', { model: 'ok', dataset: 'wine', options: small });
    for (const [i, [, reason]] of bad.entries()) {
      const { job, state } = await settled(s.queue, ids[i]);
      assert.equal(state, 'failed', `job ${i} ${state}`);
      assert.equal(job.attemptsMade, 1, 'failed on its first attempt, not retried');
      assert.match(job.failedReason, reason);
    }
    const done = await settled(s.queue, good.id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.equal(done.job.returnvalue.epochs, 5);
    assert.equal(done.job.processedBy, `train@${hostname()}:${trainer.child.pid}`, 'the same process took the normal job');
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await s.close();
  }
});

test('a train job that breaks the wasm runtime fails with the reason, not retried; only its training thread is discarded: the same process trains the next job', { timeout: 180_000 }, async () => {
  const s = await setUp({ wine });
  try {
    // A 64 MiB wasm heap (a process-wide V8 flag: training threads have it too): a job well within the limits
    // exhausts it, as a too-large job exhausts the usual 4 GiB.
    const trainer = await startService('trainer', s.env, { nodeArgs: ['--wasm-max-mem-pages=1024'] });
    running.push(trainer);
    const breaking = await s.queue.add('train', { model: 'big', dataset: 'wine', options: { encoder: [65_536, 2], epochs: 1 } });
    const next = await s.queue.add('train', { model: 'ok', dataset: 'wine', options: small });

    const failed = await settled(s.queue, breaking.id!);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.job.attemptsMade, 1, 'not retried');
    assert.match(failed.job.failedReason, /TensorFlow\.js runtime of a worker thread of process \d+ broke during this job \(RuntimeError: (memory access out of bounds|Aborted)/);
    const done = await settled(s.queue, next.id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.equal(done.job.processedBy, `train@${hostname()}:${trainer.child.pid}`, 'the same process trained the next job');
    assert.equal(trainer.child.exitCode, null, trainer.log());
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await s.close();
  }
});

test('an encode job that breaks the encoder\'s runtime fails with the reason and the process exits 1; a recommend job that breaks its ranking thread\'s fails with the reason, and the downstream process stays up', { timeout: 180_000 }, async () => {
  const s = await setUp({ wine });
  const connection = trackedRedis(fixture.url(), { bullmq: true });
  const encode = makeQueue('encode', connection, s.keys);
  const recommend = makeQueue('recommend', connection, s.keys);
  try {
    // Models whose work the 64 MiB heaps below cannot hold: an autoencoder with a 65,536-unit layer, an AutoRec over 15,000 users.
    await initBackend('wasm', () => {});
    const wide = await Autoencoder.fit(wine, { encoder: [65_536, 2], epochs: 1 });
    // 500 hidden units (the defaults are smaller now), one network, no validation part: the model this test was sized for.
    const recommender = await AutoRec.fit(manyUsers(15_000, 50), { epochs: 1, hidden: 500, ranking: 'rating', validation: 0 });
    const models = new ModelRegistry(fixture.redis(), s.keys);
    try {
      await models.register('wide', wide, { dataset: 'wine' });
      await models.registerAutoRec('films', recommender, { dataset: 'ratings' });
    } finally {
      wide.dispose();
      recommender.dispose();
    }
    const small = { nodeArgs: ['--wasm-max-mem-pages=1024'] };
    // 48 MiB for the downstream: the recommender's 60 MB of weights do not fit (at 64 MiB its matmul fails inside XNNPACK,
    // which tfjs logs and works around, and the job completes).
    const smaller = { nodeArgs: ['--wasm-max-mem-pages=768'] };
    const [encoder, downstream] = await Promise.all([startService('encoder', s.env, small), startService('downstream', s.env, smaller)]);
    running.push(encoder, downstream);
    const [encoding, recommending] = [await encode.add('encode', { model: 'wide', dataset: 'wine' }), await recommend.add('recommend', { model: 'films' })];
    assert.equal(await encoder.exited, 1, encoder.log());
    const encodeFailed = await settled(encode, encoding.id!);
    assert.equal(encodeFailed.state, 'failed');
    assert.match(encodeFailed.job.failedReason, /TensorFlow\.js runtime of process \d+ broke during this job \(RuntimeError/);
    const recommendFailed = await settled(recommend, recommending.id!);
    assert.equal(recommendFailed.state, 'failed');
    assert.equal(recommendFailed.job.attemptsMade, 1, 'not retried');
    assert.match(recommendFailed.job.failedReason, /TensorFlow\.js runtime of a worker thread of process \d+ broke during this job \(RuntimeError/);
    await sleep(500);
    assert.equal(downstream.child.exitCode, null, downstream.log());
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await Promise.all([encode.close(), recommend.close()]);
    await closeRedis(connection);
    await s.close();
  }
});

test('a stream batch that breaks the runtime: the encoder exits 1 and the batch stays pending for another encoder', { timeout: 180_000 }, async () => {
  const s = await setUp({});
  try {
    await initBackend('wasm', () => {});
    const wide = await Autoencoder.fit(wine, { encoder: [65_536, 2], epochs: 1 });
    const models = new ModelRegistry(fixture.redis(), s.keys);
    try {
      const { version } = await models.register('wide', wide, { dataset: 'wine' });
      await models.promote('wide', version);
    } finally {
      wide.dispose();
    }
    await new SourceStore(fixture.redis(), s.keys).add('plant', { model: 'wide' });
    const input = s.keys.stream.input('plant');
    for (let r = 0; r < wine.rows; r++) {
      await fixture.redis().xadd(input, '*', 'id', wine.ids[r], 'values', Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width)).join(','));
    }
    const encoder = await startService('encoder', s.env, { nodeArgs: ['--wasm-max-mem-pages=1024'] });
    running.push(encoder);
    assert.equal(await encoder.exited, 1, encoder.log());
    assert.match(encoder.log(), /source plant: the TensorFlow\.js runtime broke while scoring/);
    const [pending] = (await fixture.redis().xpending(input, STREAM_GROUP)) as [number];
    assert.ok(pending > 0, 'the batch is not acknowledged: another encoder takes it over');
    assert.equal(await fixture.redis().xlen(s.keys.stream.dlq('plant')), 0, 'nor dead-lettered');
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await s.close();
  }
});

/** `users` users who each rated one of `items` items. */
function manyUsers(users: number, items: number): Ratings {
  return {
    users: Array.from({ length: users }, (_, u) => `u${u}`),
    items: Array.from({ length: items }, (_, i) => `i${i}`),
    entries: { user: Int32Array.from({ length: users }, (_, u) => u), item: Int32Array.from({ length: users }, (_, u) => u % items), rating: Float32Array.from({ length: users }, (_, u) => 1 + (u % 5)) },
    min: 1, max: 5,
  };
}

test('onShutdown fatal: closes and exits 1; exits 1 at the deadline when closing never ends; a signal meanwhile exits at once', async () => {
  const exits: number[] = [];
  const stopped: string[] = [];
  const heartbeat = { stop: () => Promise.resolve(void stopped.push('heartbeat')) };
  const closed = onShutdown(() => Promise.resolve(void stopped.push('close')), { signals: ['SIGUSR2'], exit: (code) => exits.push(code), heartbeat });
  try {
    closed.fatal(new Error('RuntimeError: unreachable'));
    closed.fatal(new Error('a second job failed the same way'));
    await sleep(10);
    assert.deepEqual([stopped, exits], [['heartbeat', 'close'], [1]]);
  } finally {
    closed();
  }
  exits.length = 0;
  const hung = onShutdown(() => new Promise<void>(() => {}), { signals: ['SIGUSR2'], exit: (code) => exits.push(code), fatalDeadlineMs: 50 });
  try {
    hung.fatal(new Error('RuntimeError: memory access out of bounds'));
    await sleep(100);
    assert.deepEqual(exits, [1], 'exited at the deadline');
    process.emit('SIGUSR2', 'SIGUSR2');
    assert.deepEqual(exits, [1, 1], 'a signal during a fatal shutdown exits at once');
  } finally {
    hung();
  }
});
