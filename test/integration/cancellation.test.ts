// Cancellation on a real redis-server with real workers: `cancelJobs` (what `latentflow jobs cancel` and the dashboard's
// button call) stops a running training within a second without registering a version, fails the rest of its run,
// stops an encode between batches without completing its embeddings, and fails a job cancelled before it was taken.
import assert from 'node:assert/strict';
import { before, test, type TestContext } from 'node:test';
import { QUEUES } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { loadNativeBlas } from '../../shared/ml/native-blas.js';
import { cancelJobs } from '../../shared/pipeline/cancellation.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
let digits: Table;

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
});

/** The in-process pipeline with digits stored, and every queue for cancelJobs. */
async function pipelineWithDigits(t: TestContext) {
  const p = startPipeline(t, fixture);
  await p.datasets.save('digits', digits);
  return { ...p, queues: QUEUES.map((q) => p.queue(q)) };
}

/** Trains version 1 of model `digits` (3 epochs) and, with `encode`, stores its codes. */
async function trainDigits(p: Pipeline, encode = false): Promise<void> {
  const train = p.queue('train');
  const trained = await train.add('train', { model: 'digits', dataset: 'digits', options: { codeSize: 8, epochs: 3, seed: 0 } });
  assert.equal((await settled(train, trained.id!)).state, 'completed');
  if (!encode) return;
  const encoded = await p.queue('encode').add('encode', { model: 'digits', dataset: 'digits' });
  assert.equal((await settled(p.queue('encode'), encoded.id!)).state, 'completed');
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('cancelling a run stops its training within a second, registers no version, and fails the later stages', async (t) => {
  const p = await pipelineWithDigits(t);
  const flows = makeFlowProducer(p.connection, p.keys);
  t.after(() => flows.close());
  // Long enough to be still training when cancelled, on either engine.
  const epochs = typeof loadNativeBlas()?.denseStep === 'function' ? 5000 : 500;
  await submitRun(flows, p.keys, { run: 'long', model: 'digits', dataset: 'digits', options: { codeSize: 8, epochs, seed: 0 }, stages: [] });
  const train = p.queue('train');
  await until('two epochs', async () => ((await train.getJob('long'))?.progress as { epoch?: number } | undefined)?.epoch !== undefined && ((await train.getJob('long'))!.progress as { epoch: number }).epoch >= 2);

  const asked = Date.now();
  const jobs = await cancelJobs(p.connection, p.keys, p.queues, 'long');
  const job = (await settled(train, 'long')).job;
  const tookMs = job.finishedOn! - asked;
  t.diagnostic(`the training stopped ${tookMs} ms after the request, at epoch ${(job.progress as { epoch: number }).epoch} of ${epochs}`);
  assert.ok(tookMs < 1000, `stopped after ${tookMs} ms`);
  assert.match(job.failedReason, /^cancelled: job long was cancelled/);
  assert.equal(job.attemptsMade, 1, 'a cancelled job is not retried');
  assert.deepEqual(jobs?.slice(0, 2).map((j) => [j.queue, j.before, j.after]), [['train', 'active', 'failed'], ['encode', 'waiting-children', 'failed']]);
  // The run job fails too: with its failed child, or, when BullMQ has moved it on to be processed, as cancelled.
  const run = await settled(p.queue('run'), 'long');
  assert.equal(run.state, 'failed');
  assert.match(run.job.failedReason, /^cancelled|^child .*encode:long failed$/);
  assert.deepEqual((await p.models.list()).flatMap((m) => m.versions), [], 'no version registered');
  assert.equal(await cancelJobs(p.connection, p.keys, p.queues, 'long'), undefined, 'nothing unfinished is left to cancel');
  await assert.rejects(cancelJobs(p.connection, p.keys, p.queues, 'x'.repeat(257)), /field "id": a job id is at most 256 characters, got 257/);
});

test('a cancelled encode stops between batches and leaves its embeddings incomplete; a job cancelled before it is taken fails when taken', async (t) => {
  const p = await pipelineWithDigits(t);
  await trainDigits(p);

  const encode = p.queue('encode');
  // One record per batch: about two thousand Redis round trips, seconds of work.
  await encode.add('encode', { model: 'digits', dataset: 'digits', batchSize: 1 }, { jobId: 'slow' });
  await until('a hundred records', async () => (((await encode.getJob('slow'))?.progress as { records?: number } | undefined)?.records ?? 0) >= 100);
  const asked = Date.now();
  await cancelJobs(p.connection, p.keys, p.queues, 'slow');
  const job = (await settled(encode, 'slow')).job;
  const records = (job.progress as { records: number }).records;
  t.diagnostic(`the encode stopped ${job.finishedOn! - asked} ms after the request, after ${records} of ${digits.rows} records`);
  assert.ok(job.finishedOn! - asked < 1000);
  assert.match(job.failedReason, /^cancelled/);
  assert.ok(records < digits.rows);
  assert.equal((await p.embeddings.status({ model: 'digits', version: 1, dataset: 'digits' })).state, 'writing', 'never marked complete');

  // Cancelled while waiting behind a paused queue: it fails as soon as a worker takes it, untouched.
  await encode.pause();
  await encode.add('encode', { model: 'digits', dataset: 'digits' }, { jobId: 'queued' });
  assert.deepEqual(await cancelJobs(p.connection, p.keys, p.queues, 'queued', 0), [{ queue: 'encode', before: 'waiting', after: 'waiting' }]);
  await encode.resume();
  const queued = await settled(encode, 'queued');
  assert.equal(queued.state, 'failed');
  assert.match(queued.job.failedReason, /^cancelled/);
  assert.equal(queued.job.progress, 0, 'it never started');
});

test('a cancelled cluster job stops its UMAP thread within a second and stores no clustering', async (t) => {
  const p = await pipelineWithDigits(t);
  await trainDigits(p, true);

  const cluster = p.queue('cluster');
  await cluster.add('cluster', { model: 'digits', dataset: 'digits', manifold: 'umap', metric: 'euclidean' }, { jobId: 'umap' });
  await until('the cluster job to run', async () => (await cluster.getJobState('umap')) === 'active');
  await new Promise((r) => setTimeout(r, 500)); // into the neighbour search or the UMAP epochs
  const asked = Date.now();
  await cancelJobs(p.connection, p.keys, p.queues, 'umap');
  const job = (await settled(cluster, 'umap')).job;
  t.diagnostic(`the cluster job stopped ${job.finishedOn! - asked} ms after the request`);
  assert.ok(job.finishedOn! - asked < 1000);
  assert.match(job.failedReason, /^cancelled/);
  assert.equal(job.attemptsMade, 1, 'stopped in its first attempt (its thread terminated), not retried');
  assert.equal(await p.embeddings.readResult({ model: 'digits', version: 1, dataset: 'digits' }, 'cluster'), undefined, 'no clustering stored');
});
