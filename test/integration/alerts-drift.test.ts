// DriftMonitor on a real redis-server: a rolling mean per source compared with the model's baseline raises one
// `drift` alert per episode, also with several consumers updating one source at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { seededRandom } from '../../shared/analytics/random.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { DriftMonitor } from '../../shared/pipeline/drift-monitor.js';
import { AlertStore, type Alert } from '../../shared/store/alerts.js';
import { closeRedis } from '../../shared/store/redis.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const baseline = { mean: 0.05 };
const options = { window: 100, factor: 2 };

function batches(level: number, count: number, size: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => level * (0.7 + 0.6 * random())));
}

async function observeAll(monitor: DriftMonitor, source: string, list: Float32Array[], version = 1) {
  const alerts: Alert[] = [];
  for (const errors of list) {
    const alert = await monitor.observe(source, 'ae', version, errors, baseline);
    if (alert) alerts.push(alert);
  }
  return alerts;
}

describe('DriftMonitor', () => {
  test('errors at the baseline: no alert; at 3× the baseline: exactly one drift alert, published like any other', async () => {
    const keys = keyspace(fixture.prefix());
    const monitor = new DriftMonitor(fixture.redis(), keys, options);
    assert.deepEqual(await observeAll(monitor, 'sensors', batches(0.05, 50, 20, 1)), []);
    const calm = await monitor.state('sensors');
    assert.equal(calm?.count, 1000);
    assert.equal(calm?.drifting, false);
    assert.ok(Math.abs((calm?.mean ?? Number.NaN) / 0.05 - 1) < 0.2, `mean ${calm?.mean}`);

    const drifted = await observeAll(monitor, 'sensors', batches(0.15, 50, 20, 2));
    assert.equal(drifted.length, 1);
    const [alert] = drifted;
    assert.equal(alert.kind, 'drift');
    assert.equal(alert.record, 'drift');
    assert.equal(alert.source, 'sensors');
    assert.equal(alert.threshold, 0.1);
    assert.ok(alert.score > 0.1 && alert.score < 0.15, `score ${alert.score}`);
    assert.deepEqual([alert.model, alert.version, alert.features], ['ae', 1, []]);

    const stored = await fixture.redis().hgetall(keys.stream.drift('sensors'));
    assert.deepEqual([stored.count, stored.drifting, stored.model, stored.version, stored.baseline, stored.threshold], ['2000', '1', 'ae', '1', '0.05', '0.1']);

    const publisher = new AlertPublisher({ alerts: new AlertStore(fixture.redis(), keys), redis: fixture.redis(), keys, cooldownMs: 60_000 });
    assert.equal((await publisher.publish(drifted)).published, 1);
    const [entry] = await new AlertStore(fixture.redis(), keys).read();
    assert.equal(entry.alert.kind, 'drift');

    // Back to normal, then drifting again: a second episode, a second alert.
    assert.deepEqual(await observeAll(monitor, 'sensors', batches(0.05, 50, 20, 3)), []);
    assert.equal((await monitor.state('sensors'))?.drifting, false);
    assert.equal((await observeAll(monitor, 'sensors', batches(0.15, 50, 20, 4))).length, 1);
  });

  test('several consumers of one source: no update is lost and exactly one of them raises the alert', async () => {
    const keys = keyspace(fixture.prefix());
    const connections = [0, 1, 2].map(() => trackedRedis(fixture.url(), { name: 'drift-consumer' }));
    try {
      const monitors = connections.map((c) => new DriftMonitor(c, keys, options));
      await observeAll(monitors[0], 'line', batches(0.05, 10, 20, 5));
      const results = await Promise.all(monitors.map((m, i) => observeAll(m, 'line', batches(0.2, 30, 10, 10 + i))));
      assert.equal(results.flat().length, 1);
      assert.equal((await monitors[0].state('line'))?.count, 200 + 3 * 300);
    } finally {
      await Promise.all(connections.map((c) => closeRedis(c)));
    }
  });

  test('a new model version restarts the state', async () => {
    const keys = keyspace(fixture.prefix());
    const monitor = new DriftMonitor(fixture.redis(), keys, options);
    assert.equal((await observeAll(monitor, 's', batches(0.2, 20, 20, 6))).length, 1);
    assert.deepEqual(await observeAll(monitor, 's', batches(0.05, 5, 20, 7), 2), []);
    const state = await monitor.state('s');
    assert.deepEqual([state?.version, state?.count, state?.drifting], [2, 100, false]);
  });
});

describe('DriftMonitor.test (KS on anomaly scores)', () => {
  const normal = (random: () => number, shift = 0) => shift + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const reference = (() => {
    const random = seededRandom(99);
    return Float32Array.from({ length: 2000 }, () => normal(random)).sort();
  })();

  test('windows of normal scores: false alarms near alpha; shifted scores: an alert with its p-value; several consumers share the windows', async () => {
    const keys = keyspace(fixture.prefix());
    const monitor = new DriftMonitor(fixture.redis(), keys, { window: 200, factor: 2, alpha: 0.05 });
    const random = seededRandom(7);
    let alarms = 0;
    // 100 windows of 200 normal scores, in batches of 50 from two "consumers" (two monitors on one Redis).
    const other = new DriftMonitor(fixture.redis(), keys, { window: 200, factor: 2, alpha: 0.05 });
    for (let b = 0; b < 400; b++) {
      const batch = Float32Array.from({ length: 50 }, () => normal(random));
      alarms += (await (b % 2 === 0 ? monitor : other).test('meters', 'ae', 1, batch, reference)).length;
    }
    assert.ok(alarms <= 12, `${alarms} false alarms in 100 windows at alpha 0.05`);
    assert.equal(await fixture.redis().llen(keys.stream.driftWindow('meters')), 1, 'every full window was taken (the version tag stays)');

    const shifted = Float32Array.from({ length: 200 }, () => normal(random, 0.6));
    const [alert] = await monitor.test('meters', 'ae', 1, shifted, reference);
    assert.equal(alert.kind, 'drift');
    assert.equal(alert.record, 'drift-test');
    assert.ok(alert.pValue! < 1e-6 && alert.score > alert.threshold, `p ${alert.pValue}, D ${alert.score} vs ${alert.threshold}`);
    assert.deepEqual(await monitor.test('meters', 'ae', 1, shifted, undefined), [], 'no reference (uncalibrated model): no test');
  });

  test('a new model version starts a new window', async () => {
    const keys = keyspace(fixture.prefix());
    const monitor = new DriftMonitor(fixture.redis(), keys, { window: 100, factor: 2 });
    await monitor.test('s', 'ae', 1, new Float32Array(60).fill(5), reference);
    assert.deepEqual(await monitor.test('s', 'ae', 2, new Float32Array(60).fill(5), reference), [], 'the 60 scores of version 1 are not mixed in');
    assert.equal((await monitor.test('s', 'ae', 2, new Float32Array(40).fill(5), reference)).length, 1);
  });
});
