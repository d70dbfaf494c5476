// The pipeline on a real redis-server: a whole run on digits through BullMQ workers built from the services'
// processor factories, and the failures a user meets (a malformed payload, a missing model version, a missing dataset).
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { RESULTS, RUN_STAGES } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { projectPath } from '../helpers/cli.js';
import { startPipeline as startPipelineOf } from '../helpers/pipeline.js';
import { useRedis } from '../helpers/redis.js';
import { settled } from '../helpers/jobs.js';

const fixture = useRedis();
let digits: Table;
let wine: Table;
/** Rows of digits whose first ten features are set to 48 (three times the largest pixel value). */
const CORRUPTED = [5, 700, 1500];
const CORRUPTED_FEATURES = 10;

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  for (const row of CORRUPTED) digits.values.fill(16 * 3, row * digits.width, row * digits.width + CORRUPTED_FEATURES);
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

const startPipeline = (t: TestContext) => startPipelineOf(t, fixture);

describe('a run through the queues', () => {
  test('digits: codes for every record, a cluster for every record, SVM ≥ 0.95, the corrupted rows alerted', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('digits', digits);
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const started = Date.now();
    const { run } = await submitRun(flows, p.keys, { run: 'digits-1', model: 'digits-ae', dataset: 'digits', options: { codeSize: 10, epochs: 40, seed: 0 } });

    const { job, state } = await settled(p.queue('run'), run, 120_000);
    assert.equal(state, 'completed', job.failedReason);
    const summary = RESULTS.run.parse(job.returnvalue);
    t.diagnostic(`run took ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);
    assert.deepEqual([summary.run, summary.model, summary.version, summary.dataset], [run, 'digits-ae', 1, 'digits']);
    assert.equal(summary.records, 1797);
    assert.equal(summary.embeddings, 1797);
    assert.equal(summary.clustering?.k, 10);
    assert.ok(summary.clustering.nmi! > 0.5, `NMI ${summary.clustering.nmi}`);
    assert.ok(summary.classification!.accuracy >= 0.95, `SVM accuracy ${summary.classification!.accuracy}`);

    const target = { model: 'digits-ae', version: 1, dataset: 'digits' };
    const codes = await p.embeddings.read(target);
    assert.equal(codes.ids.length, 1797);
    assert.equal(codes.codeSize, 10);
    const clusters = await p.embeddings.readAssignments(target, 'clusters');
    assert.deepEqual([...clusters.keys()].sort(), [...digits.ids].sort());
    assert.equal((await p.embeddings.readAssignments(target, 'predictions')).size, 1797);

    for (const q of RUN_STAGES) {
      const stage = await p.queue(q).getJob(run);
      assert.equal(await stage?.getState(), 'completed', `${q} job`);
      assert.ok(RESULTS[q].safeParse(stage?.returnvalue).success, `${q} result matches its schema`);
    }

    const alerts = (await p.alerts.read()).map((e) => e.alert);
    assert.equal(alerts.length, summary.anomalies!.alerts);
    const corruptedIds = CORRUPTED.map((row) => digits.ids[row]);
    const corruptedFeatures = new Set(digits.features.slice(0, CORRUPTED_FEATURES));
    for (const id of corruptedIds) {
      const alert = alerts.find((a) => a.record === id);
      assert.ok(alert, `record ${id} is alerted (alerts: ${alerts.map((a) => a.record).join(', ')})`);
      assert.equal(alert.model, 'digits-ae');
      assert.equal(alert.version, 1);
      assert.ok(alert.score > alert.threshold);
      assert.equal(alert.features.length, 3);
      assert.ok(alert.features.every((f) => corruptedFeatures.has(f.feature)), `top features ${JSON.stringify(alert.features)}`);
    }

    // A classify job capped at 300 training rows trains on a stratified sample of about that many.
    const capped = await p.queue('classify').add('classify', { model: 'digits-ae', version: 1, dataset: 'digits', maxTrain: 300 });
    const done = await settled(p.queue('classify'), capped.id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    const r = RESULTS.classify.parse(done.job.returnvalue);
    assert.ok(Math.abs(r.trained - 300) <= 10, `trained on ${r.trained}`);
    assert.equal(r.tested, 540);
    assert.ok(r.accuracy > 0.85, `accuracy ${r.accuracy} with 300 training rows`);
  });

  test('a run without the classify stage on a dataset without labels: k by silhouette, no classification', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('wine-unlabelled', { ...wine, labels: undefined });
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const { run } = await submitRun(flows, p.keys, { model: 'w', dataset: 'wine-unlabelled', options: { epochs: 20 }, stages: ['detect', 'cluster'] });
    const { job, state } = await settled(p.queue('run'), run);
    assert.equal(state, 'completed', job.failedReason);
    const summary = job.returnvalue;
    assert.deepEqual(Object.keys(summary).sort(), ['anomalies', 'clustering', 'dataset', 'embeddings', 'meanError', 'model', 'records', 'run', 'version']);
    assert.ok(summary.clustering!.k >= 2 && summary.clustering!.nmi === undefined);
    assert.equal(await p.queue('classify').getJobState(run), 'unknown');
  });

  test('a run on a dataset that does not exist fails every stage, and the run, with the reason', async (t) => {
    const p = startPipeline(t);
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const { run } = await submitRun(flows, p.keys, { model: 'm', dataset: 'nowhere' });
    const train = await settled(p.queue('train'), run);
    assert.equal(train.state, 'failed');
    assert.match(train.job.failedReason, /dataset "nowhere" does not exist/);
    assert.equal(train.job.attemptsMade, 1);
    const summary = await settled(p.queue('run'), run);
    assert.equal(summary.state, 'failed');
  });

  test('submitRun rejects a bad stage option before adding anything, naming the field', async (t) => {
    const p = startPipeline(t);
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    await assert.rejects(submitRun(flows, p.keys, { model: 'm', dataset: 'd', testFraction: 2 }), /field "testFraction"/);
    await assert.rejects(submitRun(flows, p.keys, { run: '12', model: 'm', dataset: 'd' }), /field "run"/);
    assert.equal(await p.queue('train').count(), 0);
  });
});

describe('failing jobs', () => {
  test('a malformed payload fails at once naming the field; the worker then completes the next good job', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('wine', wine);
    const train = p.queue('train');
    const bad = await train.add('train', { model: 'wine-ae', dataset: 'wine', options: { epochs: 'many' } } as never);
    const failed = await settled(train, bad.id!);
    assert.equal(failed.state, 'failed');
    assert.match(failed.job.failedReason, /field "options\.epochs"/);
    assert.equal(failed.job.attemptsMade, 1, 'not retried');

    const good = await train.add('train', { model: 'wine-ae', dataset: 'wine', options: { epochs: 5 } });
    const done = await settled(train, good.id!);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.equal(done.job.returnvalue.version, 1);
    assert.equal(done.job.returnvalue.epochs, 5);
  });

  test('a model version that does not exist fails at once with a message naming model, version and what exists', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('wine', wine);
    const trained = await p.queue('train').add('train', { model: 'wine-ae', dataset: 'wine', options: { epochs: 5 } });
    assert.equal((await settled(p.queue('train'), trained.id!)).state, 'completed');

    const encode = p.queue('encode');
    const missing = await encode.add('encode', { model: 'wine-ae', version: 7, dataset: 'wine' });
    const failed = await settled(encode, missing.id!);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.job.failedReason, 'model "wine-ae" has no version 7 (versions: 1)');
    assert.equal(failed.job.attemptsMade, 1, 'not retried');

    const production = await p.queue('detect').add('detect', { model: 'wine-ae', version: 'production', dataset: 'wine' });
    const noAlias = await settled(p.queue('detect'), production.id!);
    assert.match(noAlias.job.failedReason, /no alias "production".*promote/);

    const latest = await encode.add('encode', { model: 'wine-ae', dataset: 'wine' });
    const encoded = await settled(encode, latest.id!);
    assert.equal(encoded.state, 'completed', encoded.job.failedReason);
    assert.deepEqual([encoded.job.returnvalue.version, encoded.job.returnvalue.records], [1, 178]);
  });
});
