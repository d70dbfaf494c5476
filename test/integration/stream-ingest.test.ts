// Real-time scoring from Redis Streams: records XADDed as any client would, consumed by a real encoder process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { keyspace, streamDataset, type Keyspace } from '../../shared/contracts/keys.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { SourceStore, STREAM_GROUP } from '../../shared/store/sources.js';
import { projectPath, runCli } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';
import { startService, type ServiceProcess } from '../helpers/services.js';

const fixture = useRedis();
let wine: Table;
let v1: Autoencoder;
let v2: Autoencoder;
const running: ServiceProcess[] = [];

/** A threshold well above every normal row's anomaly score, so only the injected anomalies alert. */
function fitThreshold(model: Autoencoder): void {
  const { scores } = model.score(wine);
  model.threshold = { method: { method: 'quantile', q: 0.99 }, value: Math.max(...scores) * 2, rows: wine.rows };
}

before(async () => {
  await initBackend('wasm', () => {});
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
  v1 = await Autoencoder.fit(wine, { codeSize: 4, epochs: 20, seed: 1 });
  v2 = await Autoencoder.fit(wine, { codeSize: 4, epochs: 20, seed: 2 });
  fitThreshold(v1);
  fitThreshold(v2);
});
after(async () => {
  v1.dispose();
  v2.dispose();
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

interface Setup { redis: Redis; keys: Keyspace; env: Record<string, string>; input: string }

async function setUp(extraEnv: Record<string, string> = {}, addSource = true): Promise<Setup> {
  const redis = fixture.redis();
  const keys = keyspace(fixture.prefix());
  const registry = new ModelRegistry(redis, keys);
  await registry.register('wine', v1, { dataset: 'wine' });
  await registry.register('wine', v2, { dataset: 'wine' });
  await registry.promote('wine', 1);
  if (addSource) await new SourceStore(redis, keys).add('plant', { model: 'wine' });
  const env = {
    REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: fixture.prefix(), LATENTFLOW_BACKEND: 'wasm',
    LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1e12', ...extraEnv,
  };
  return { redis, keys, env, input: keys.stream.input('plant') };
}

/** Row `i % rows` of wine, ×`factor`. */
function row(i: number, factor = 1): number[] {
  const r = i % wine.rows;
  return Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width), (v) => v * factor);
}

/** The entry's fields in one of the three wire formats (rotating): JSON `values`, CSV `values`, named fields. */
function fields(id: string, values: number[], format: number): string[] {
  if (format % 3 === 0) return ['id', id, 'values', JSON.stringify(values)];
  if (format % 3 === 1) return ['id', id, 'values', values.join(','), 'ts', String(Date.now())];
  return ['id', id, ...wine.features.map((f, j) => [f, String(values[j])]).reverse().flat()];
}

async function groupInfo(redis: Redis, key: string): Promise<{ pending: number; lag: number; read: number }> {
  const groups = (await redis.call('XINFO', ['GROUPS', key])) as unknown[][];
  const flat = groups.find((g) => g[1] === STREAM_GROUP) ?? [];
  const f: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
  return { pending: Number(f.pending ?? -1), lag: Number(f.lag ?? -1), read: Number(f['entries-read'] ?? 0) };
}

async function drained(redis: Redis, key: string, total: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let info = await groupInfo(redis, key).catch(() => ({ pending: -1, lag: -1, read: 0 }));
  while (!(info.read >= total && info.pending === 0 && info.lag === 0)) {
    if (Date.now() > deadline) throw new Error(`stream not drained within ${timeoutMs} ms: ${JSON.stringify(info)}`);
    await sleep(50);
    info = await groupInfo(redis, key).catch(() => ({ pending: -1, lag: -1, read: 0 }));
  }
}

async function pendingCount(redis: Redis, key: string): Promise<number> {
  return Number(((await redis.call('XPENDING', [key, STREAM_GROUP])) as unknown[])[0]);
}

test('1,000 records XADDed (10 anomalous, 5 malformed): all acknowledged, 10 alerts, 5 dead letters, `alerts tail` prints the 10', async () => {
  const s = await setUp({}, false);
  const added = await runCli(['source', 'add', 'plant', '--model', 'wine', '--max-len', '50000'], s.env);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, new RegExp(`XADD ${s.input} MAXLEN ~ 50000`));
  running.push(await startService('encoder', s.env));

  const anomalous = new Set(Array.from({ length: 10 }, (_, k) => 37 + k * 97));
  const width = wine.width;
  const malformed: [number, string[], RegExp][] = [
    [100, ['values', row(1).join(',')], /missing field "id"/],
    [200, ['id', 'bad-width', 'values', row(2).slice(1).join(',')], new RegExp(`has ${width - 1} numbers, the model expects ${width}`)],
    [300, ['id', 'bad-number', 'values', ['abc', ...row(3).slice(1)].join(',')], /item 1 \(.+\): value "abc" is not a decimal number/],
    [400, ['id', 'bad-nan', 'values', JSON.stringify(row(4)).replace(/^\[[^,]+/, '["NaN"')], /value "NaN" is not a finite number/],
    [500, ['id', 'bad-field', ...wine.features.slice(1).flatMap((f, j) => [f, String(row(5)[j + 1])])], new RegExp(`missing feature field "${wine.features[0]}"`)],
  ];
  const bad = new Map(malformed.map(([i, f, reason]) => [i, { f, reason }]));
  const p = s.redis.pipeline();
  for (let i = 0; i < 1000; i++) {
    const wrong = bad.get(i);
    p.xadd(s.input, 'MAXLEN', '~', '50000', '*', ...(wrong ? wrong.f : fields(`r${i}`, row(i, anomalous.has(i) ? 20 : 1), i)));
  }
  await p.exec();
  await drained(s.redis, s.input, 1000);

  assert.equal(await pendingCount(s.redis, s.input), 0);
  assert.equal(await s.redis.hlen(s.keys.embeddings.codes('wine', 1, streamDataset('plant'))), 995);
  assert.equal(await s.redis.zcard(s.keys.embeddings.errors('wine', 1, streamDataset('plant'))), 995);

  const alerts = await new AlertStore(s.redis, s.keys).read();
  assert.equal(alerts.length, 10, JSON.stringify(alerts.map((a) => a.alert.record)));
  assert.deepEqual(new Set(alerts.map((a) => a.alert.record)), new Set([...anomalous].map((i) => `r${i}`)));
  for (const { alert } of alerts) {
    assert.equal(alert.source, 'plant');
    assert.equal(alert.model, 'wine');
    assert.equal(alert.version, 1);
    assert.ok(alert.score > alert.threshold);
    assert.equal(alert.features.length, 3);
    assert.ok(['low', 'medium', 'high', 'critical'].includes(alert.severity));
    // Calibrated: the p-value says how rare the score is on normal data, and the attribution names features.
    assert.ok(alert.pValue !== undefined && alert.pValue > 0 && alert.pValue < 0.05, `p-value ${alert.pValue}`);
    assert.ok(alert.attribution!.length > 0 && alert.attribution!.every((a) => wine.features.includes(a.feature) && a.contribution > 0));
  }

  const dlq = (await s.redis.xrange(s.keys.stream.dlq('plant'), '-', '+')) as [string, string[]][];
  assert.equal(dlq.length, 5);
  const inputIds = ((await s.redis.xrange(s.input, '-', '+')) as [string, string[]][]).map(([id]) => id);
  for (const [k, [i, original, reason]] of malformed.entries()) {
    const flat = dlq[k][1];
    const f = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, j) => [flat[2 * j], flat[2 * j + 1]]));
    assert.match(f.reason, reason);
    assert.equal(f.entry, inputIds[i], 'the dead letter names the original entry id');
    assert.deepEqual(flat.slice(4), original, 'the original fields follow reason and entry');
  }

  const tail = await runCli(['alerts', 'tail', '--count', '50'], s.env);
  assert.equal(tail.code, 0, tail.stderr);
  const lines = tail.stdout.trim().split('\n');
  assert.equal(lines.length, 10, tail.stdout);
  for (const line of lines) assert.match(line, /plant\/wine@1 {2}record r\d+/);

  const list = await runCli(['source', 'list', '--json'], s.env);
  assert.equal(list.code, 0, list.stderr);
  const [listed] = JSON.parse(list.stdout) as { source: string; model: string; length: number; dlq: number; maxLen: number; groups: { name: string; pending: number; lag: number }[] }[];
  assert.deepEqual({ source: listed.source, model: listed.model, length: listed.length, dlq: listed.dlq, maxLen: listed.maxLen }, { source: 'plant', model: 'wine', length: 1000, dlq: 5, maxLen: 50000 });
  assert.deepEqual(listed.groups.map((g) => [g.name, g.pending, g.lag]), [[STREAM_GROUP, 0, 0]]);

  assert.equal(await running[0].stop(), 0, 'graceful stop exits 0');
  running.splice(0);
});

test('an encoder killed with SIGKILL while entries are pending: after a restart every entry is scored exactly once', async () => {
  const s = await setUp({ LATENTFLOW_STREAM_COUNT: '25', LATENTFLOW_STREAM_CLAIM_MS: '500' });
  const first = await startService('encoder', s.env);
  running.push(first);
  const total = 3000;
  const anomalous = new Set(Array.from({ length: 30 }, (_, k) => 11 + k * 100));
  const p = s.redis.pipeline();
  for (let i = 0; i < total; i++) p.xadd(s.input, '*', ...fields(`r${i}`, row(i, anomalous.has(i) ? 20 : 1), i));
  await p.exec();
  // Freeze the consumer (SIGSTOP) and look: kill it only while it holds unacknowledged entries, else let it go on.
  for (let i = 0; i < 5000; i++) {
    const info = await groupInfo(s.redis, s.input);
    if (info.read >= 300) {
      first.child.kill('SIGSTOP');
      if ((await groupInfo(s.redis, s.input)).pending > 0) break;
      first.child.kill('SIGCONT');
    }
    await sleep(2);
  }
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  running.splice(0);
  const atKill = await groupInfo(s.redis, s.input);
  assert.ok(atKill.pending > 0, `entries were pending when the consumer died: ${JSON.stringify(atKill)}`);
  assert.ok(atKill.read < total, `the consumer died before reading everything: ${JSON.stringify(atKill)}`);

  const second = await startService('encoder', s.env);
  running.push(second);
  await drained(s.redis, s.input, total);
  assert.equal(await pendingCount(s.redis, s.input), 0);
  assert.equal(await s.redis.hlen(s.keys.embeddings.codes('wine', 1, streamDataset('plant'))), total);
  const alerts = await new AlertStore(s.redis, s.keys).read();
  assert.equal(alerts.length, anomalous.size, 'no duplicate alerts');
  assert.deepEqual(new Set(alerts.map((a) => a.alert.record)), new Set([...anomalous].map((i) => `r${i}`)));
  assert.match(second.log(), /took over \d+ entries/);
  await second.stop();
  running.splice(0);
});

test('promotion while records stream in: every record scored once, under version 1 or 2, the later ones under 2', async () => {
  // A long periodic check: the switch must come from the promotion's notification on the model-events channel.
  const s = await setUp({ LATENTFLOW_STREAM_REFRESH_MS: '60000', LATENTFLOW_STREAM_BLOCK_MS: '100' });
  running.push(await startService('encoder', s.env));
  const total = 1500;
  const promoteAt = 500;
  let promotedAt = 0;
  let settledIndex = total;
  for (let i = 0; i < total; i++) {
    await s.redis.xadd(s.input, '*', ...fields(`r${i}`, row(i), i));
    if (i === promoteAt) {
      await new ModelRegistry(s.redis, s.keys).promote('wine', 2);
      promotedAt = Date.now();
    }
    if (promotedAt > 0 && settledIndex === total && Date.now() - promotedAt > 1000) settledIndex = i;
    if (i % 2 === 0) await sleep(5);
  }
  assert.ok(settledIndex < total - 50, `records kept arriving for over a second after the promotion (settled at ${settledIndex})`);
  await drained(s.redis, s.input, total);

  const d = streamDataset('plant');
  const p = s.redis.pipeline();
  for (let i = 0; i < total; i++) p.hexists(s.keys.embeddings.codes('wine', 1, d), `r${i}`).hexists(s.keys.embeddings.codes('wine', 2, d), `r${i}`);
  const replies = ((await p.exec()) ?? []).map(([, r]) => r as number);
  const version = Array.from({ length: total }, (_, i) => {
    const [in1, in2] = [replies[2 * i], replies[2 * i + 1]];
    assert.ok(in1 + in2 === 1, `record r${i} has codes under ${in1 + in2} versions`);
    return in1 === 1 ? 1 : 2;
  });
  const first2 = version.indexOf(2);
  assert.ok(first2 > 0, 'records before the promotion were scored with version 1');
  assert.ok(version.slice(first2).every((v) => v === 2), 'once switched, every later record is scored with version 2');
  assert.ok(first2 <= settledIndex, `version 2 took over by record ${settledIndex} (first at ${first2})`);
  assert.equal(await s.redis.hlen(s.keys.embeddings.codes('wine', 1, d)) + await s.redis.hlen(s.keys.embeddings.codes('wine', 2, d)), total);
  await running[0].stop();
  running.splice(0);
});

test('`source add` and `source remove` take effect in a running encoder without a restart', async () => {
  const s = await setUp({ LATENTFLOW_STREAM_REFRESH_MS: '200', LATENTFLOW_STREAM_BLOCK_MS: '100' }, false);
  const encoder = await startService('encoder', s.env);
  running.push(encoder);
  const sources = new SourceStore(s.redis, s.keys);
  await sources.add('plant', { model: 'wine' });
  for (let i = 0; i < 20; i++) await s.redis.xadd(s.input, '*', ...fields(`r${i}`, row(i), i));
  await drained(s.redis, s.input, 20, 15_000);
  assert.equal(await s.redis.hlen(s.keys.embeddings.codes('wine', 1, streamDataset('plant'))), 20);

  assert.equal(await sources.remove('plant'), true);
  for (let i = 0; i < 100 && !encoder.log().includes('source plant: removed'); i++) await sleep(50);
  assert.match(encoder.log(), /source plant: removed/);
  await s.redis.xadd(s.input, '*', ...fields('late', row(0), 0));
  await sleep(500);
  assert.equal((await groupInfo(s.redis, s.input)).lag, 1, 'a removed source is no longer read');
  assert.equal((await sources.stats('plant')).length, 21, 'its stream is kept');
  await encoder.stop();
  running.splice(0);
});

test('LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN=100: of 250 records scored, codes and errors keep exactly the newest 100; a record sent again is kept as the newest', async () => {
  const s = await setUp({ LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN: '100', LATENTFLOW_STREAM_COUNT: '32', LATENTFLOW_STREAM_BLOCK_MS: '100' });
  const encoder = await startService('encoder', s.env);
  running.push(encoder);
  const d = streamDataset('plant');
  const k = { codes: s.keys.embeddings.codes('wine', 1, d), errors: s.keys.embeddings.errors('wine', 1, d), written: s.keys.embeddings.written('wine', 1, d) };
  const stored = async () => {
    const [codes, errors, written] = await Promise.all([s.redis.hkeys(k.codes), s.redis.zrange(k.errors, '0', '-1'), s.redis.zrange(k.written, '0', '-1')]);
    assert.deepEqual(errors.sort(), codes.sort(), 'errors hold the ids of the codes');
    assert.deepEqual(written.sort(), codes.sort(), 'written holds the ids of the codes');
    return codes;
  };
  // Ids of one length (r100…r349), so that ties within a batch, broken by id, also follow the order sent.
  const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r${from + i}`).sort();
  for (let i = 100; i < 350; i++) await s.redis.xadd(s.input, '*', ...fields(`r${i}`, row(i), i));
  await drained(s.redis, s.input, 250);
  assert.deepEqual(await stored(), ids(250, 350));

  await s.redis.xadd(s.input, '*', ...fields('r250', row(250), 0));
  await drained(s.redis, s.input, 251);
  await s.redis.xadd(s.input, '*', ...fields('r350', row(350), 0));
  await drained(s.redis, s.input, 252);
  assert.deepEqual(await stored(), [...ids(252, 351), 'r250'].sort(), 'r250, sent again, outlives r251');
  await encoder.stop();
  running.splice(0);
});
