// The dashboard's `/metrics` on a real redis-server: strict Prometheus text, read from Redis, whose counters move when
// a run completes, a job fails, records are scored and alerts appended; stream gauges; worker heartbeats.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import { QUEUES, RESULTS, RUN_STAGES } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { Heartbeat, startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { AlertStore, severityOf, type Alert } from '../../shared/store/alerts.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { SourceStore, STREAM_GROUP } from '../../shared/store/sources.js';
import { STAGE_BUCKETS } from '../../shared/store/telemetry.js';
import { createDashboardMetrics, type DashboardMetrics } from '../../services/dashboard/metrics.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startPipeline } from '../helpers/pipeline.js';
import { openConnections, useRedis } from '../helpers/redis.js';
import { parseExposition, value, type Exposition } from '../helpers/prometheus.js';
import { startService, type ServiceProcess } from '../helpers/services.js';

const fixture = useRedis();
let digits: Table;
let wine: Table;
const services: ServiceProcess[] = [];

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});
after(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

/** Sum of the samples `name` whose labels include `labels`. */
function total(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

function names(e: Exposition): Set<string> {
  return new Set(e.samples.map((s) => s.name));
}

async function scrape(metrics: DashboardMetrics): Promise<Exposition> {
  return parseExposition(await metrics.render());
}

/** The dashboard metrics on this test's prefix over the shared connection, closed when the test ends. */
async function dashboard(t: TestContext, keys: Keyspace): Promise<DashboardMetrics> {
  const metrics = await createDashboardMetrics({ redis: fixture.redis(), keys });
  t.after(() => metrics.close());
  return metrics;
}

function alert(record: string, extra: Partial<Alert> = {}): Alert {
  const score = extra.score ?? 0.5;
  return {
    source: 'sensors', record, score, threshold: 0.1, severity: severityOf(score, 0.1), model: 'ae', version: 1,
    features: [{ feature: 'temp', error: 0.4 }], at: '2026-11-27T04:00:00.000Z', kind: 'anomaly', ...extra,
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('an empty Redis', () => {
  test('the scrape parses; every queue reports 0 completed and failed; nothing else is invented; close() opens nothing it leaves open', async () => {
    const opened = openConnections();
    const metrics = await createDashboardMetrics({ redis: fixture.redis(), keys: keyspace(fixture.prefix()) });
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    const e = await scrape(metrics);
    for (const queue of QUEUES) {
      assert.equal(value(e, 'latentflow_jobs_completed_total', { queue }), 0, queue);
      assert.equal(value(e, 'latentflow_jobs_failed_total', { queue }), 0, queue);
      assert.equal(value(e, 'latentflow_queue_jobs', { queue, state: 'waiting' }), 0, queue);
    }
    assert.equal(e.types.get('latentflow_jobs_completed_total'), 'counter');
    assert.equal(e.types.get('latentflow_stage_duration_seconds'), 'histogram');
    assert.equal(e.types.get('latentflow_model_version'), 'gauge');
    for (const name of ['latentflow_stage_duration_seconds_count', 'latentflow_records_scored_total', 'latentflow_alerts_total', 'latentflow_stream_lag',
      'latentflow_model_version', 'latentflow_worker_up', 'latentflow_tfjs_tensors']) {
      assert.ok(!names(e).has(name), `no ${name} samples yet`);
    }
    assert.ok(value(e, 'latentflow_dashboard_process_resident_memory_bytes')! > 0, 'process metrics of the dashboard');
    assert.ok(names(e).has('latentflow_dashboard_nodejs_eventloop_lag_seconds'));
    await metrics.close();
    assert.deepEqual(openConnections(), opened);
  });

  test('the parser rejects what Prometheus would', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{q="a\\"b"} 1\n';
    assert.equal(parseExposition(ok).samples[0].labels.q, 'a"b');
    for (const bad of [
      'a_total 1\n', // no TYPE
      '# TYPE a_total counter\na_total{q="x} 1\n',
      '# TYPE a_total counter\na_total{q="x"} one\n',
      '# TYPE a_total counter\na_total 1\na_total 2\n',
      '# TYPE a counter\na 1\n',
      '# TYPE g gauge\n# TYPE h gauge\ng 1\nh 1\ng{x="1"} 2\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n',
    ]) assert.throws(() => parseExposition(bad), Error, bad);
  });
});

describe('counters move with the pipeline', () => {
  test('a digits run: completed jobs, stage durations, records scored, alerts per source and severity, model versions; a failing job; a retried detect adds no alerts', async (t) => {
    const { keys, connection, datasets, models, alerts, queue } = startPipeline(t, fixture);
    const flows = makeFlowProducer(connection, keys);
    t.after(() => flows.close());
    const metrics = await dashboard(t, keys);
    const initial = await scrape(metrics);

    await datasets.save('digits', digits);
    const { run } = await submitRun(flows, keys, { run: 'digits-m', model: 'digits-ae', dataset: 'digits', options: { codeSize: 10, epochs: 5, seed: 0 } });
    const done = await settled(queue('run'), run, 120_000);
    assert.equal(done.state, 'completed', done.job.failedReason);
    const summary = RESULTS.run.parse(done.job.returnvalue);
    // The duration is recorded on the worker's 'completed' event, just after the job's state changes.
    await until('the run stage duration recorded', async () => (value(await scrape(metrics), 'latentflow_stage_duration_seconds_count', { queue: 'run' }) ?? 0) >= 1, 5000);

    const e = await scrape(metrics);
    for (const q of RUN_STAGES) {
      assert.equal(value(e, 'latentflow_jobs_completed_total', { queue: q }), value(initial, 'latentflow_jobs_completed_total', { queue: q })! + 1, `${q} completed`);
      assert.equal(value(e, 'latentflow_stage_duration_seconds_count', { queue: q }), 1, `${q} duration observed`);
      assert.equal(value(e, 'latentflow_stage_duration_seconds_bucket', { queue: q, le: '+Inf' }), 1);
      assert.equal(value(e, 'latentflow_queue_jobs', { queue: q, state: 'completed' }), 1);
    }
    const trainSeconds = value(e, 'latentflow_stage_duration_seconds_sum', { queue: 'train' })!;
    const trainJob = await queue('train').getJob(run);
    assert.ok(Math.abs(trainSeconds - (trainJob!.finishedOn! - trainJob!.processedOn!) / 1000) < 1e-6, `train took ${trainSeconds} s`);
    const smallest = STAGE_BUCKETS.find((b) => trainSeconds <= b);
    if (smallest !== undefined) assert.equal(value(e, 'latentflow_stage_duration_seconds_bucket', { queue: 'train', le: String(smallest) }), 1);
    assert.equal(value(e, 'latentflow_stage_duration_seconds_bucket', { queue: 'train', le: String(STAGE_BUCKETS[0]) }), trainSeconds <= STAGE_BUCKETS[0] ? 1 : 0);

    assert.equal(value(e, 'latentflow_records_scored_total', { source: 'digits' }), 1797);
    assert.ok(summary.anomalies!.alerts > 0, 'the run alerted');
    assert.equal(total(e, 'latentflow_alerts_total', { source: 'digits', kind: 'anomaly' }), summary.anomalies!.alerts);
    const stored = await alerts.read();
    for (const severity of ['low', 'medium', 'high', 'critical']) {
      const n = stored.filter((a) => a.alert.severity === severity).length;
      assert.equal(value(e, 'latentflow_alerts_total', { source: 'digits', severity, kind: 'anomaly' }), n === 0 ? undefined : n, severity);
    }
    assert.equal(value(e, 'latentflow_model_version', { model: 'digits-ae', alias: 'latest' }), 1);
    assert.equal(value(e, 'latentflow_model_version', { model: 'digits-ae', alias: 'production' }), undefined);
    assert.equal(value(e, 'latentflow_jobs_failed_total', { queue: 'train' }), 0);

    await models.promote('digits-ae', 1);
    const bad = await queue('train').add('train', { model: 'digits-ae', dataset: 'nowhere' });
    assert.equal((await settled(queue('train'), bad.id!)).state, 'failed');
    // A detect job on the same model, version and dataset again: its alerts are duplicates, not counted again.
    const again = await queue('detect').add('detect', { model: 'digits-ae', version: 1, dataset: 'digits' });
    assert.equal((await settled(queue('detect'), again.id!)).state, 'completed');

    const later = await scrape(metrics);
    assert.equal(value(later, 'latentflow_model_version', { model: 'digits-ae', alias: 'production' }), 1);
    assert.equal(value(later, 'latentflow_jobs_failed_total', { queue: 'train' }), 1);
    assert.equal(value(later, 'latentflow_queue_jobs', { queue: 'train', state: 'failed' }), 1);
    assert.equal(value(later, 'latentflow_jobs_completed_total', { queue: 'detect' }), 2);
    assert.equal(total(later, 'latentflow_alerts_total', { source: 'digits' }), summary.anomalies!.alerts);
    assert.equal(value(later, 'latentflow_records_scored_total', { source: 'digits' }), 1797);
  });

  test('alerts: only appended ones count, per source, severity and kind (not cooled-down, not duplicates under once)', async (t) => {
    const keys = keyspace(fixture.prefix());
    const publisher = new AlertPublisher({ alerts: new AlertStore(fixture.redis(), keys), redis: fixture.redis(), keys, cooldownMs: 60_000 });
    const metrics = await dashboard(t, keys);
    const first = await publisher.publish([alert('s1', { score: 0.12 }), alert('s1', { score: 5 }), alert('s2', { score: 5, source: 'line-2', kind: 'drift' })]);
    assert.deepEqual([first.published, first.suppressed], [2, 1]);
    const once = { once: 'ae@1:sensors' };
    assert.equal((await publisher.publish([alert('s3', { score: 0.5 })], once)).published, 1);
    assert.equal((await publisher.publish([alert('s3', { score: 0.5 })], once)).published, 0);
    const e = await scrape(metrics);
    assert.equal(value(e, 'latentflow_alerts_total', { source: 'sensors', severity: 'low', kind: 'anomaly' }), 1);
    assert.equal(value(e, 'latentflow_alerts_total', { source: 'sensors', severity: 'high', kind: 'anomaly' }), 1);
    assert.equal(value(e, 'latentflow_alerts_total', { source: 'sensors', severity: 'critical', kind: 'anomaly' }), undefined, 'the cooled-down one');
    assert.equal(value(e, 'latentflow_alerts_total', { source: 'line-2', severity: 'critical', kind: 'drift' }), 1);
    assert.equal(total(e, 'latentflow_alerts_total'), 3);
  });
});

describe('streams', () => {
  test('length, lag, pending, consumers and dead letters per source; a source without a stream reads 0', async (t) => {
    const keys = keyspace(fixture.prefix());
    const redis = fixture.redis();
    const sources = new SourceStore(redis, keys);
    await sources.add('plant', { model: 'wine' });
    await sources.add('idle', { model: 'wine' });
    const metrics = await dashboard(t, keys);
    const input = keys.stream.input('plant');
    for (let i = 0; i < 5; i++) await redis.xadd(input, '*', 'id', `r${i}`, 'values', '1,2,3');

    let e = await scrape(metrics);
    assert.deepEqual(['length', 'lag', 'pending', 'consumers', 'dead_letters'].map((m) => value(e, `latentflow_stream_${m}`, { source: 'plant' })), [5, 5, 0, 0, 0], 'no group yet: all of it is lag');
    assert.deepEqual(['length', 'lag', 'pending'].map((m) => value(e, `latentflow_stream_${m}`, { source: 'idle' })), [0, 0, 0]);

    await redis.call('XGROUP', ['CREATE', input, STREAM_GROUP, '0']);
    await redis.call('XREADGROUP', ['GROUP', STREAM_GROUP, 'c1', 'COUNT', '2', 'STREAMS', input, '>']);
    await redis.xadd(keys.stream.dlq('plant'), '*', 'reason', 'test', 'entry', '0-1');
    e = await scrape(metrics);
    assert.deepEqual(['length', 'lag', 'pending', 'consumers', 'dead_letters'].map((m) => value(e, `latentflow_stream_${m}`, { source: 'plant' })), [5, 3, 2, 1, 1]);

    await sources.remove('idle');
    e = await scrape(metrics);
    assert.equal(value(e, 'latentflow_stream_length', { source: 'idle' }), undefined, 'a removed source disappears');
  });
});

describe('workers', () => {
  test('a started heartbeat appears with its backend and tensors; a stale one disappears and is deleted; a stopped one at once', async (t) => {
    const keys = keyspace(fixture.prefix());
    const redis = fixture.redis();
    const metrics = await dashboard(t, keys);
    const live = startHeartbeat(redis, keys, { service: 'encoder', intervalMs: 200, instance: 'host-a:1' });
    t.after(() => live.stop());
    const ghost = new Heartbeat(redis, keys, { service: 'trainer', intervalMs: 100, instance: 'host-b:2', probe: () => ({ backend: 'cpu', tensors: 7 }) });
    await ghost.beat();
    await until('the first beat', async () => (await redis.hlen(keys.telemetry.workers())) === 2, 5000);

    let e = await scrape(metrics);
    assert.equal(value(e, 'latentflow_worker_up', { service: 'encoder', instance: 'host-a:1' }), 1);
    assert.ok(value(e, 'latentflow_tfjs_tensors', { service: 'encoder', instance: 'host-a:1', backend: 'wasm' })! >= 0, 'this process runs wasm');
    assert.ok(value(e, 'latentflow_worker_resident_memory_bytes', { service: 'encoder', instance: 'host-a:1' })! > 1e6);
    assert.equal(value(e, 'latentflow_tfjs_tensors', { service: 'trainer', instance: 'host-b:2', backend: 'cpu' }), 7);

    await sleep(500); // over 3 of the trainer's intervals without a beat; the encoder beat twice meanwhile
    e = await scrape(metrics);
    assert.equal(value(e, 'latentflow_worker_up', { service: 'encoder', instance: 'host-a:1' }), 1, 'still beating');
    assert.equal(value(e, 'latentflow_worker_up', { service: 'trainer', instance: 'host-b:2' }), undefined, 'stale');
    assert.equal(await redis.hexists(keys.telemetry.workers(), 'trainer@host-b:2'), 0, 'the stale entry is deleted');
    assert.equal(await redis.zscore(keys.telemetry.workersSeen(), 'trainer@host-b:2'), null);

    await live.stop();
    e = await scrape(metrics);
    assert.ok(!names(e).has('latentflow_worker_up'), 'a stopped heartbeat leaves at once');
  });

  test('an encoder process: its heartbeat, stream records scored and alerted, and gone after SIGTERM', async (t) => {
    const keys = keyspace(fixture.prefix());
    const redis = fixture.redis();
    const model = await Autoencoder.fit(wine, { codeSize: 4, epochs: 20, seed: 1 });
    t.after(() => model.dispose());
    model.threshold = { method: { method: 'quantile', q: 0.99 }, value: Math.max(...model.score(wine).scores) * 2, rows: wine.rows };
    const registry = new ModelRegistry(redis, keys);
    await registry.register('wine', model, { dataset: 'wine' });
    await registry.promote('wine', 1);
    await new SourceStore(redis, keys).add('plant', { model: 'wine' });
    const metrics = await dashboard(t, keys);
    const encoder = await startService('encoder', {
      REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: keys.prefix, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1e12',
    });
    services.push(encoder);

    let e = await scrape(metrics);
    await until('the encoder\'s first heartbeat', async () => {
      e = await scrape(metrics);
      return names(e).has('latentflow_worker_up');
    }, 10_000);
    const up = e.samples.filter((s) => s.name === 'latentflow_worker_up' && s.labels.service === 'encoder');
    assert.equal(up.length, 1, 'one encoder heartbeat');
    assert.equal(up[0].labels.instance.split(':').at(-1), String(encoder.child.pid));
    assert.equal(e.samples.find((s) => s.name === 'latentflow_tfjs_tensors' && s.labels.service === 'encoder')?.labels.backend, 'wasm');

    const anomalous = new Set([7, 30, 51]);
    const p = redis.pipeline();
    for (let i = 0; i < 60; i++) {
      const r = i % wine.rows;
      const values = Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width), (v) => v * (anomalous.has(i) ? 20 : 1));
      p.xadd(keys.stream.input('plant'), '*', 'id', `r${i}`, 'values', values.join(','));
    }
    await p.exec();
    await until('60 records scored', async () => {
      e = await scrape(metrics);
      return value(e, 'latentflow_records_scored_total', { source: 'plant' }) === 60 && value(e, 'latentflow_stream_pending', { source: 'plant' }) === 0;
    });
    assert.equal(total(e, 'latentflow_alerts_total', { source: 'plant', kind: 'anomaly' }), 3);
    assert.equal(value(e, 'latentflow_stream_lag', { source: 'plant' }), 0);
    assert.equal(value(e, 'latentflow_stream_consumers', { source: 'plant' }), 1);

    assert.equal(await encoder.stop(), 0);
    e = await scrape(metrics);
    assert.ok(!e.samples.some((s) => s.name === 'latentflow_worker_up' && s.labels.service === 'encoder'), 'the stopped encoder left');
  });
});
