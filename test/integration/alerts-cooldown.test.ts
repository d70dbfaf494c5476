// Alert cool-down per entity, live alerts on pub/sub, and the publisher services build from their configuration, on a
// real redis-server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../shared/config.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { AlertPublisher, alertPublisherFor } from '../../shared/pipeline/alert-publisher.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { AlertStore, alertJson, severityOf, type Alert } from '../../shared/store/alerts.js';
import { closeRedis } from '../../shared/store/redis.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const WINDOW_MS = 300;

function setup(cooldownMs = WINDOW_MS) {
  const keys = keyspace(fixture.prefix());
  const alerts = new AlertStore(fixture.redis(), keys);
  return { keys, alerts, publisher: new AlertPublisher({ alerts, redis: fixture.redis(), keys, cooldownMs }) };
}

function alert(record: string, extra: Partial<Alert> = {}): Alert {
  const score = extra.score ?? 0.5;
  return {
    source: 'sensors', record, score, threshold: 0.1, severity: severityOf(score, 0.1), model: 'ae', version: 1,
    features: [{ feature: 'temp', error: 0.4 }], at: '2026-11-27T04:00:00.000Z', kind: 'anomaly', ...extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alert cool-down', () => {
  test('5 alerts of one record within the window: 1 published, 4 suppressed and reported; after the window another passes', async () => {
    const { alerts, publisher } = setup();
    const first = await publisher.publish([alert('s1', { score: 1 })]);
    assert.equal(first.published, 1);
    const more = await Promise.all([2, 3, 4, 5].map((s) => publisher.publish([alert('s1', { score: s })])));
    assert.deepEqual(more.map((r) => [r.published, r.suppressed]), [[0, 1], [0, 1], [0, 1], [0, 1]]);
    assert.deepEqual(await publisher.suppressed('sensors'), { s1: 4 });
    assert.deepEqual(await publisher.suppressed('other'), {});
    assert.deepEqual((await alerts.read()).map((e) => e.alert.score), [1]);

    // Another entity is not affected.
    assert.equal((await publisher.publish([alert('s2')])).published, 1);
    assert.deepEqual(await publisher.suppressed('sensors'), { s1: 4, s2: 0 });

    await sleep(WINDOW_MS + 100);
    assert.deepEqual(await publisher.suppressed('sensors'), {});
    const after = await publisher.publish([alert('s1', { score: 6 })]);
    assert.deepEqual([after.published, after.suppressed], [1, 0]);
    assert.deepEqual((await alerts.read()).map((e) => `${e.alert.record}:${e.alert.score}`), ['s1:1', 's2:0.5', 's1:6']);
  });

  test('one batch: the first alert of each entity passes; entityOf groups records; the TTL is the window', async () => {
    const { keys, publisher } = setup(60_000);
    const batch = ['a', 'b', 'a', 'c', 'b', 'a'].map((sensor, i) => alert(`${sensor}-${i}`, { score: i + 1 }));
    const result = await publisher.publish(batch, { entityOf: (a) => a.record.split('-')[0] });
    assert.deepEqual([result.published, result.suppressed, result.ids.length], [3, 3, 3]);
    assert.deepEqual(await publisher.suppressed('sensors'), { a: 2, b: 1, c: 0 });
    const ttl = await fixture.redis().pttl(keys.alertCooldown('sensors', 'a'));
    assert.ok(ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
  });

  test('a retried batch under `once` counts duplicates, not suppressions; cool-down 0 is off', async () => {
    const { publisher } = setup(60_000);
    const batch = [alert('r1'), alert('r1', { score: 2 }), alert('r2')];
    const options = { once: 'ae@1:stream.sensors', entityOf: () => 'sensor' };
    const first = await publisher.publish(batch, options);
    assert.deepEqual([first.published, first.suppressed], [1, 1], 'r1 passes, its repeat is a duplicate, r2 is suppressed');
    assert.deepEqual(await publisher.publish(batch, options), { published: 0, suppressed: 0, ids: [] });
    assert.deepEqual(await publisher.suppressed('sensors'), { sensor: 1 });

    const off = setup(0);
    const all = await off.publisher.publish([1, 2, 3, 4, 5].map(() => alert('same', { source: 'line-2' })));
    assert.deepEqual([all.published, all.suppressed], [5, 0]);
    assert.deepEqual(await off.publisher.suppressed('line-2'), {});
  });

  test('entity keys with glob characters are matched literally', async () => {
    const { publisher } = setup(60_000);
    await publisher.publish([alert('x*'), alert('x*'), alert('x?'), alert('[x]')]);
    assert.deepEqual(await publisher.suppressed('sensors'), { 'x*': 1, 'x?': 0, '[x]': 0 });
  });
});

describe('live alerts on pub/sub', () => {
  test('a subscriber receives every appended alert as JSON with its entry id, and nothing skipped', async () => {
    const { keys, alerts, publisher } = setup(60_000);
    const subscriber = fixture.redis().duplicate();
    try {
      const received: string[] = [];
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === keys.alertsChannel()) received.push(message);
      });
      await subscriber.subscribe(keys.alertsChannel());

      const ids = await alerts.publish([alert('1'), alert('2', { kind: 'drift', features: [] })], { once: 'scope' });
      assert.deepEqual(await alerts.publish([alert('1')], { once: 'scope' }), [], 'a duplicate is neither appended nor published');
      const viaPublisher = await publisher.publish([alert('3'), alert('3')]);
      assert.deepEqual([viaPublisher.published, viaPublisher.suppressed], [1, 1]);

      for (let i = 0; i < 100 && received.length < 3; i++) await sleep(10);
      await sleep(50);
      assert.equal(received.length, 3);
      assert.deepEqual(received, [alertJson(alert('1'), ids[0]), alertJson(alert('2', { kind: 'drift', features: [] }), ids[1]), alertJson(alert('3'), viaPublisher.ids[0])]);
      const parsed = JSON.parse(received[0]) as Record<string, unknown>;
      assert.deepEqual(parsed, { id: ids[0], ...alert('1') });
      assert.deepEqual(Object.keys(parsed), ['id', 'source', 'record', 'score', 'threshold', 'severity', 'model', 'version', 'features', 'at', 'kind']);
    } finally {
      await closeRedis(subscriber);
    }
  });
});

describe('the publisher of a service (alertPublisherFor)', () => {
  test('add-once marks last LATENTFLOW_ALERTS_DEDUP_MS; with a webhook URL each alert queues a job naming only its id', async (t) => {
    const keys = keyspace(fixture.prefix());
    const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'publisher-for' });
    const config = loadConfig({
      LATENTFLOW_ALERTS_DEDUP_MS: '120000', LATENTFLOW_ALERT_COOLDOWN_MS: '0',
      LATENTFLOW_WEBHOOK_URL: 'http://127.0.0.1:1/hook?token=t', LATENTFLOW_WEBHOOK_SECRET: 'a-secret-of-16-chars',
    });
    const { alerts: publisher, close } = alertPublisherFor(connection, keys, config);
    const queue = makeQueue('webhook', connection, keys);
    t.after(async () => {
      await close();
      await queue.close();
      await closeRedis(connection);
    });
    const { ids } = await publisher.publish([alert('1'), alert('2')], { once: 'ae@1:stream.sensors' });
    const ttl = await connection.pttl(keys.alertsSent('ae@1:stream.sensors'));
    assert.ok(ttl > 100_000 && ttl <= 120_000, `ttl ${ttl}`);
    const jobs = await queue.getJobs(['waiting']);
    assert.deepEqual(jobs.map((j) => [j.id, j.data]).sort(), ids.map((id) => [id, { alertId: id }]).sort());
  });
});
