// Worker mechanics on a real redis-server: retry semantics of makeWorker, lock renewal during a training longer than
// the lock, a service entry point run as a script and stopped by SIGTERM, and the model cache.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { before, describe, test, type TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config.js';
import { InputError } from '../../shared/contracts/errors.js';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import type { QueueName } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import type { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { applyQueueLimits, makeQueue, makeWorker, type PipelineProcessor, type PipelineQueue, type PipelineWorkerOptions } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { loadNativeBlas } from '../../shared/ml/native-blas.js';
import type { ModelVersionMeta } from '../../shared/store/models.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createTrainProcessor, type TrainProgress } from '../../services/trainer/train.processor.js';
import { projectPath } from '../helpers/cli.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';
import { settled } from '../helpers/jobs.js';

const fixture = useRedis();
let digits: Table;
let wine: Table;

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

interface Harness {
  keys: Keyspace;
  connection: Redis;
  logs: string[];
  queue<Q extends QueueName>(q: Q): PipelineQueue<Q>;
  worker<Q extends QueueName>(q: Q, processor: PipelineProcessor<Q>, options?: Partial<PipelineWorkerOptions>): ReturnType<typeof makeWorker<Q>>;
}

function harness(t: TestContext): Harness {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'worker-test' });
  const logs: string[] = [];
  const log = createLogger('test', 'debug', (line) => logs.push(line));
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close();
    await closeRedis(connection);
  });
  return {
    keys, connection, logs,
    queue(q) {
      const queue = makeQueue(q, connection, keys);
      closers.push(() => queue.close());
      return queue;
    },
    worker(q, processor, options = {}) {
      const worker = makeWorker(q, processor, connection, keys, { concurrency: 1, log, ...options });
      closers.push(() => worker.close());
      return worker;
    },
  };
}

const clusterResult = { model: 'm', version: 1, dataset: 'd', k: 2, inertia: 1, silhouette: 0.5 };
/** Lock of the long-training test: the training lasts several locks. */
const LOCK_MS = 1000;

describe('makeWorker', () => {
  test('a transient error is retried with backoff; an InputError fails at once with its message; the worker lives on', async (t) => {
    const h = harness(t);
    const calls = new Map<string, number>();
    h.worker('cluster', (job) => {
      const n = (calls.get(job.id!) ?? 0) + 1;
      calls.set(job.id!, n);
      const { mode } = job.data as { mode: string };
      if (mode === 'flaky' && n === 1) return Promise.reject(new Error('connection reset'));
      if (mode === 'bad') return Promise.reject(new InputError('must be at least 2', { field: 'k', value: 1 }));
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a processor may reject with anything
      if (mode === 'odd') return Promise.reject('a string, not an Error');
      return Promise.resolve(clusterResult);
    });
    const queue = h.queue('cluster');
    const add = (mode: string) => queue.add('cluster', { mode } as never, { jobId: mode, backoff: { type: 'fixed', delay: 200 } });
    await Promise.all(['flaky', 'bad', 'odd', 'fine'].map(add));

    const flaky = await settled(queue, 'flaky');
    assert.equal(flaky.state, 'completed');
    assert.equal(calls.get('flaky'), 2);
    assert.deepEqual(flaky.job.returnvalue, clusterResult);

    const bad = await settled(queue, 'bad');
    assert.equal(bad.state, 'failed');
    assert.equal(bad.job.failedReason, 'field "k", value "1": must be at least 2');
    assert.equal(calls.get('bad'), 1, 'never retried');

    const odd = await settled(queue, 'odd');
    assert.equal(odd.state, 'failed');
    assert.equal(calls.get('odd'), 3, 'retried to the last attempt');
    assert.equal((await settled(queue, 'fine')).state, 'completed');

    assert.ok(h.logs.some((l) => / warn \[test\] cluster job flaky failed \(attempt 1\/3, will retry\): connection reset/.test(l)), h.logs.join('\n'));
    assert.ok(h.logs.some((l) => / error \[test\] cluster job bad failed \(attempt 1\/3, final\)/.test(l)), h.logs.join('\n'));
  });

  test('LATENTFLOW_LOG_FORMAT=json: one object per line; lines written during a job carry its queue, job id and run id, redacted', async (t) => {
    const h = harness(t);
    const lines: string[] = [];
    const log = createLogger('downstream', 'info', (line) => lines.push(line), 'json');
    h.worker('cluster', (job) => {
      log.info(`clustering for ${(job.data as { mode: string }).mode} at redis://user:hunter2@cache:6379`);
      return Promise.reject(new InputError('must be at least 2', { field: 'k', value: 1 }));
    }, { log });
    const queue = h.queue('cluster');
    await queue.add('cluster', { mode: 'run' } as never, { jobId: 'nightly-7' });
    const numbered = await queue.add('cluster', { mode: 'single' } as never);
    assert.equal((await settled(queue, 'nightly-7')).state, 'failed');
    assert.equal((await settled(queue, numbered.id!)).state, 'failed');
    log.info('idle');

    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const o of objects) assert.ok(typeof o.time === 'string' && o.service === 'downstream' && typeof o.msg === 'string', JSON.stringify(o));
    assert.ok(!lines.join('\n').includes('hunter2'), lines.join('\n'));
    const during = objects.find((o) => o.msg === 'clustering for run at redis://user:***@cache:6379');
    assert.deepEqual({ ...during, time: undefined }, { time: undefined, level: 'info', service: 'downstream', msg: during?.msg, queue: 'cluster', jobId: 'nightly-7', runId: 'nightly-7' });
    const single = objects.find((o) => typeof o.msg === 'string' && o.msg.startsWith('clustering for single'));
    assert.equal(single?.jobId, numbered.id);
    assert.equal(single?.runId, undefined, 'a job BullMQ numbered belongs to no run');
    const failed = objects.find((o) => o.level === 'error' && o.msg === 'cluster job nightly-7 failed (attempt 1/3, final): field "k", value "1": must be at least 2');
    assert.ok(failed, lines.join('\n'));
    assert.equal(objects.find((o) => o.msg === 'idle')?.jobId, undefined, 'no job context outside a job');
  });

  test('queue limits from the configuration: a global concurrency across workers, then a rate limit, each removed when unset', async (t) => {
    const h = harness(t);
    const config = loadConfig({ LATENTFLOW_QUEUE_CONCURRENCY: 'cluster=1' });
    assert.equal(await applyQueueLimits(['cluster', 'detect'], h.connection, h.keys, config.queueLimits), 'cluster at most 1 at once');
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const slow: PipelineProcessor<'cluster'> = async () => {
      starts.push(Date.now());
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 100));
      running--;
      return clusterResult;
    };
    h.worker('cluster', slow, { concurrency: 3 });
    h.worker('cluster', slow, { concurrency: 3 });
    const queue = h.queue('cluster');
    const addSix = (tag: string) => Promise.all([1, 2, 3, 4, 5, 6].map((i) => queue.add('cluster', {} as never, { jobId: `${tag}${i}` })));
    await addSix('c');
    for (let i = 1; i <= 6; i++) assert.equal((await settled(queue, `c${i}`)).state, 'completed');
    assert.equal(most, 1, 'two workers of concurrency 3 ran one job at a time');

    const rated = loadConfig({ LATENTFLOW_QUEUE_RATE_LIMIT: 'cluster=2/1000' });
    assert.equal(await applyQueueLimits(['cluster'], h.connection, h.keys, rated.queueLimits), 'cluster at most 2 per 1000 ms');
    assert.equal(await queue.getGlobalConcurrency(), null, 'the concurrency cap left out is removed');
    starts.length = 0;
    most = 0;
    await addSix('r');
    for (let i = 1; i <= 6; i++) assert.equal((await settled(queue, `r${i}`)).state, 'completed');
    assert.ok(most >= 2, `jobs ran side by side again (at most ${most})`);
    starts.sort((a, b) => a - b);
    // Two starts per second at most: any three consecutive starts span a window of 1 s (timer slack allowed).
    for (let i = 2; i < starts.length; i++) assert.ok(starts[i] - starts[i - 2] >= 950, `starts ${starts.map((s) => s - starts[0]).join(', ')} ms`);
    assert.equal(await applyQueueLimits(['cluster'], h.connection, h.keys, {}), '');
    assert.equal(await queue.getGlobalRateLimit(), null);
  });

  test('a training longer than the lock keeps its lock: it completes once, never stalls, and reports progress', async (t) => {
    const h = harness(t);
    const datasets = new DatasetStore(h.connection, h.keys);
    await datasets.save('digits', digits);
    const models = new ModelRegistry(h.connection, h.keys);
    const worker = h.worker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(h.connection, h.keys), models, backend: 'wasm' }), { lockDuration: LOCK_MS, stalledInterval: LOCK_MS / 2 });
    const stalled: string[] = [];
    const progress: TrainProgress[] = [];
    worker.on('stalled', (id) => stalled.push(id));
    worker.on('lockRenewalFailed', (ids) => stalled.push(...ids));
    worker.on('progress', (_job, p) => progress.push(p as TrainProgress));
    let renewals = 0;
    worker.on('locksRenewed', ({ jobIds }) => (renewals += jobIds.length));

    const train = h.queue('train');
    // The fused native engine trains digits ~10× faster than tfjs: enough epochs for several lock periods either way.
    const epochs = typeof loadNativeBlas()?.denseStep === 'function' ? 800 : 100;
    const job = await train.add('train', { model: 'long', dataset: 'digits', options: { codeSize: 10, epochs, seed: 0 } });
    const done = await settled(train, job.id!, 60_000);
    assert.equal(done.state, 'completed', done.job.failedReason);
    t.diagnostic(`training took ${done.job.returnvalue.seconds.toFixed(1)} s with a ${LOCK_MS / 1000} s lock`);
    assert.ok(done.job.returnvalue.seconds > (3 * LOCK_MS) / 1000, `trained for ${done.job.returnvalue.seconds} s`);
    assert.equal(done.job.attemptsStarted, 1);
    assert.equal(done.job.stalledCounter, 0);
    assert.deepEqual(stalled, []);
    assert.ok(renewals >= 3, `the lock was renewed ${renewals} times during training`);
    assert.deepEqual((await models.list()).map((m) => m.versions.length), [1]);
    assert.equal(progress.length, epochs);
    assert.deepEqual(Object.keys(progress[0]).sort(), ['epoch', 'epochs', 'etaSeconds', 'loss', 'valLoss']);
    assert.deepEqual([progress.at(-1)!.epoch, progress.at(-1)!.epochs, progress.at(-1)!.etaSeconds], [epochs, epochs, 0]);
  });
});

describe('a service run as a script', () => {
  test('SIGTERM lets the active job finish, then the trainer exits 0', async (t) => {
    const h = harness(t);
    await new DatasetStore(h.connection, h.keys).save('wine', wine);
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/trainer/main.ts'], {
      cwd: projectPath('.'),
      env: { ...process.env, REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: fixture.prefix(), LATENTFLOW_BACKEND: 'wasm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    for (let i = 0; i < 400 && !stderr.includes('ready: queue train'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /ready: queue train, concurrency 1/);

    const train = h.queue('train');
    const job = await train.add('train', { model: 'wine-ae', dataset: 'wine', options: { epochs: 400 } });
    for (let i = 0; i < 400 && (await train.getJobState(job.id!)) !== 'active'; i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing active jobs/);
    const done = await settled(train, job.id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.equal(done.job.returnvalue.epochs, 400);
  });

  test('onShutdown: the first signal closes and exits 0, a second one exits 1 at once', async () => {
    const exits: number[] = [];
    let release!: () => void;
    const closing = new Promise<void>((resolve) => (release = resolve));
    let closed = 0;
    const detach = onShutdown(async () => {
      closed++;
      await closing;
    }, { signals: ['SIGUSR2'], exit: (code) => exits.push(code) });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      assert.deepEqual(exits, [1]);
      release();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual([closed, ...exits], [1, 1, 0]);
    } finally {
      detach();
    }
  });

  test('onShutdown: a signal while Redis is unreachable closes with a deadline, since active jobs cannot finish anyway', async () => {
    const exits: number[] = [];
    const connection = { status: 'reconnecting' };
    const detach = onShutdown(() => new Promise<void>(() => {}), { signals: ['SIGUSR2'], exit: (code) => exits.push(code), connection, fatalDeadlineMs: 50 });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      assert.deepEqual(exits, [], 'closing has begun');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(exits, [1], 'exited at the deadline although close never ended');
    } finally {
      detach();
    }
  });
});

describe('ModelCache', () => {
  test('keeps recently used models, disposes the least recently used idle ones, never one in use', async () => {
    const disposed: string[] = [];
    const loads: string[] = [];
    const registry = {
      load: (name: string, version: number | string) => {
        loads.push(`${name}@${version}`);
        const model = { dispose: () => disposed.push(`${name}@${version}`) } as unknown as Autoencoder;
        return Promise.resolve({ meta: { model: name, version } as ModelVersionMeta, model });
      },
    };
    const cache = new ModelCache(registry, 2);
    let inUse!: () => void;
    const held = cache.use('a', 1, () => new Promise<void>((r) => (inUse = r)));
    await cache.use('b', 1, () => {});
    await cache.use('c', 1, () => {});
    assert.deepEqual(disposed, ['b@1'], 'b is the least recently used idle model; a is in use');
    await Promise.all([cache.use('c', 1, () => {}), cache.use('c', 1, () => {})]);
    assert.deepEqual(loads, ['a@1', 'b@1', 'c@1'], 'loaded once while cached');
    inUse();
    await held;
    cache.clear();
    assert.deepEqual(disposed.sort(), ['a@1', 'b@1', 'c@1']);
    assert.equal(cache.size, 0);
  });
});
