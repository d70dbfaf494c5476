// AlertStore on a real redis-server: publish, read, follow, capping, add-once marks (their age, their number, the
// old set format), and entries written by other clients.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { AlertStore, DEFAULT_DEDUP_MS, severityOf, type Alert } from '../../shared/store/alerts.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const store = (maxLen?: number) => new AlertStore(fixture.redis(), keyspace(fixture.prefix()), maxLen);

function alert(record: string, score = 0.5): Alert {
  return {
    source: 'wine', record, score, threshold: 0.1, severity: severityOf(score, 0.1), model: 'wine', version: 2,
    features: [{ feature: 'proline', error: 0.3 }, { feature: 'ash', error: 0.1 }], at: '2024-05-01T10:00:00.000Z', kind: 'anomaly',
  };
}

describe('AlertStore', () => {
  test('severity bands of score / threshold', () => {
    assert.deepEqual([1, 1.49, 1.5, 2.99, 3, 9.99, 10, 50].map((s) => severityOf(s, 1)),
      ['low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
    assert.equal(severityOf(1, 0), 'critical');
  });

  test('publish 3, read them back (all, latest n, after an id), fields readable by any client', async () => {
    const alerts = store();
    const ids = await alerts.publish([alert('1'), alert('2', 0.2), alert('3', 5)]);
    assert.equal(ids.length, 3);
    const all = await alerts.read();
    assert.deepEqual(all.map((e) => e.id), ids);
    assert.deepEqual(all[0].alert, alert('1'));
    assert.deepEqual(all.map((e) => e.alert.severity), ['high', 'medium', 'critical']);
    assert.deepEqual((await alerts.read({ count: 2 })).map((e) => e.alert.record), ['2', '3']);
    assert.deepEqual((await alerts.read({ after: ids[0] })).map((e) => e.alert.record), ['2', '3']);
    assert.deepEqual((await alerts.read({ after: ids[0], count: 1 })).map((e) => e.alert.record), ['2']);
    assert.deepEqual(await alerts.read({ after: ids[2] }), []);
    const raw = (await fixture.redis().xrange(keyspace(fixture.prefix()).alerts(), ids[0], ids[0]))[0][1];
    assert.deepEqual(raw.slice(0, 6), ['source', 'wine', 'record', '1', 'score', '0.5']);
    assert.equal(raw[raw.indexOf('features') + 1], '[{"feature":"proline","error":0.3},{"feature":"ash","error":0.1}]');
    assert.deepEqual(await alerts.publish([]), []);
  });

  test('publish once per scope: a retried detect job never alerts a record twice', async () => {
    const alerts = store();
    const first = await alerts.publish([alert('1'), alert('2')], { once: 'wine@2:wine' });
    const retry = await alerts.publish([alert('1'), alert('2'), alert('3')], { once: 'wine@2:wine' });
    const otherScope = await alerts.publish([alert('1')], { once: 'wine@3:wine' });
    assert.equal(first.length, 2);
    assert.equal(retry.length, 1);
    assert.equal(otherScope.length, 1);
    assert.deepEqual((await alerts.read()).map((e) => e.alert.record), ['1', '2', '3', '1']);
  });

  test('add-once marks last the dedup period: a record alerts again once its mark is older; the key expires with them', async () => {
    const keys = keyspace(fixture.prefix());
    let now = 1_800_000_000_000;
    const dedupMs = 60_000;
    const alerts = new AlertStore(fixture.redis(), keys, 100, { dedupMs, now: () => now });
    assert.equal((await alerts.publish([alert('1'), alert('2')], { once: 'wine@2:wine' })).length, 2);
    now += dedupMs - 1;
    assert.equal((await alerts.publish([alert('1')], { once: 'wine@2:wine' })).length, 0, 'a retry within the period is a duplicate');
    now += 2;
    assert.equal((await alerts.publish([alert('1')], { once: 'wine@2:wine' })).length, 1, 'after the period the record alerts again');
    const sent = keys.alertsSent('wine@2:wine');
    assert.equal(await fixture.redis().type(sent), 'zset');
    assert.deepEqual(await fixture.redis().zrange(sent, '0', '-1', 'WITHSCORES'), ['1', String(now)], 'record 2\'s old mark was dropped');
    const ttl = await fixture.redis().pttl(sent);
    assert.ok(ttl > 0 && ttl <= dedupMs, `ttl ${ttl}`);
    assert.equal(DEFAULT_DEDUP_MS, 7 * 24 * 3_600_000);
  });

  test('each scope keeps at most maxLen marks, the oldest dropped first', async () => {
    const keys = keyspace(fixture.prefix());
    let now = 1_800_000_000_000;
    const alerts = new AlertStore(fixture.redis(), keys, 100, { now: () => now++ });
    for (let i = 0; i < 150; i++) assert.equal((await alerts.publish([alert(`r${i}`)], { once: 'scope' })).length, 1);
    assert.equal(await fixture.redis().zcard(keys.alertsSent('scope')), 100);
    const again = await alerts.publish(['r149', 'r50', 'r49', 'r0'].map((r) => alert(r)), { once: 'scope' });
    assert.deepEqual((await alerts.read({ count: again.length })).map((e) => e.alert.record), ['r49', 'r0'], 'r0 to r49 were dropped, r50 to r149 kept');
  });

  test('an add-once set left by an older version is converted (small) or replaced (beyond maxLen), never WRONGTYPE', async () => {
    const keys = keyspace(fixture.prefix());
    const redis = fixture.redis();
    const alerts = new AlertStore(redis, keys, 100);
    await redis.sadd(keys.alertsSent('old'), '1', '2');
    assert.deepEqual((await alerts.publish([alert('1'), alert('2'), alert('3')], { once: 'old' })).length, 1, 'the old marks still count');
    assert.equal(await redis.type(keys.alertsSent('old')), 'zset');
    assert.deepEqual((await redis.zrange(keys.alertsSent('old'), '0', '-1')).sort(), ['1', '2', '3']);
    assert.ok(await redis.pttl(keys.alertsSent('old')) > 0);

    await redis.sadd(keys.alertsSent('huge'), ...Array.from({ length: 500 }, (_, i) => String(i)));
    assert.equal((await alerts.publish([alert('1')], { once: 'huge' })).length, 1, 'a set too large to convert is replaced');
    assert.deepEqual(await redis.zrange(keys.alertsSent('huge'), '0', '-1'), ['1']);
  });

  test('an entry XADDed by another client with fewer fields still reads', async () => {
    await fixture.redis().xadd(keyspace(fixture.prefix()).alerts(), '*', 'record', '9', 'score', '4', 'threshold', '1');
    const [{ alert: a }] = await store().read();
    assert.equal(a.record, '9');
    assert.equal(a.severity, 'high');
    assert.deepEqual(a.features, []);
    assert.equal(a.kind, 'anomaly');
  });

  test('follow yields alerts published after it started, then ends on abort and closes its connection', async () => {
    const alerts = store();
    await alerts.publish([alert('old')]);
    const controller = new AbortController();
    const received: string[] = [];
    const following = (async () => {
      for await (const { alert: a } of alerts.follow({ signal: controller.signal })) {
        received.push(a.record);
        if (received.length === 2) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await alerts.publish([alert('new1')]);
    await new Promise((r) => setTimeout(r, 50));
    await alerts.publish([alert('new2')]);
    await following;
    assert.deepEqual(received, ['new1', 'new2']);

    // Aborting while XREAD blocks ends the loop promptly.
    const idle = new AbortController();
    const started = Date.now();
    const waiting = (async () => {
      for await (const entry of alerts.follow({ after: '$', signal: idle.signal })) assert.fail(`unexpected ${entry.id}`);
    })();
    setTimeout(() => idle.abort(), 50);
    await waiting;
    assert.ok(Date.now() - started < 2000);
  });

  test('follow from an id replays what came after it', async () => {
    const alerts = store();
    const [first] = await alerts.publish([alert('a'), alert('b')]);
    const controller = new AbortController();
    const received: string[] = [];
    for await (const { alert: a } of alerts.follow({ after: first, signal: controller.signal })) {
      received.push(a.record);
      break;
    }
    assert.deepEqual(received, ['b']);
  });

  test('MAXLEN ~ caps the stream', async () => {
    const alerts = store(100);
    for (let i = 0; i < 5; i++) await alerts.publish(Array.from({ length: 200 }, (_, k) => alert(`${i}-${k}`)));
    const length = await fixture.redis().xlen(keyspace(fixture.prefix()).alerts());
    // Approximate trimming removes whole stream nodes (100 entries each by default): between 100 and 200 remain.
    assert.ok(length >= 100 && length < 200 + 100, `length ${length}`);
    assert.ok(length < 1000);
    const latest = await alerts.read({ count: 1 });
    assert.equal(latest[0].alert.record, '4-199');
  });
});
