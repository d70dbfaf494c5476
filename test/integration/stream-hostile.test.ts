// Hostile stream entries on a real redis-server, consumed by the encoder's stream path in this process: an entry of
// 1,000,000 fields, a 10 MB `values`, a 10 MB `id`, values that overflow the model, and a dead-letter stream that
// refuses writes for a while. Each bad entry ends in the DLQ (cut to a bounded copy) and is acknowledged; the good
// entries around it are scored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { keyspace, streamDataset, type Keyspace } from '../../shared/contracts/keys.js';
import { maxStreamFields, maxValuesBytes } from '../../shared/contracts/limits.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import type { Logger } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { SourceStore, STREAM_GROUP } from '../../shared/store/sources.js';
import { StreamIngest } from '../../shared/stream/ingest.js';
import { ProductionVersions } from '../../shared/stream/versions.js';
import { projectPath } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
let wine: Table;
let model: Autoencoder;
const TEN_MB = 10 << 20;

before(async () => {
  await initBackend('wasm', () => {});
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
  model = await Autoencoder.fit(wine, { codeSize: 4, epochs: 10, seed: 1 });
  const { scores } = model.score(wine);
  model.threshold = { method: { method: 'quantile', q: 0.99 }, value: Math.max(...scores) * 2, rows: wine.rows };
});
after(() => model.dispose());

interface Setup { redis: Redis; keys: Keyspace; input: string; dlq: string; warnings: string[]; start(): Promise<StreamIngest> }

async function setUp(): Promise<Setup> {
  const redis = fixture.redis();
  const keys = keyspace(fixture.prefix());
  const models = new ModelRegistry(redis, keys);
  await models.register('wine', model, { dataset: 'wine' });
  await models.promote('wine', 1);
  await new SourceStore(redis, keys).add('plant', { model: 'wine' });
  const warnings: string[] = [];
  const log: Logger = { error: (m) => warnings.push(m), warn: (m) => warnings.push(m), info: () => {}, debug: () => {} };
  const alerts = new AlertStore(redis, keys);
  const start = async () => {
    const ingest = new StreamIngest({
      redis, keys, versions: new ProductionVersions(models, 60_000), cache: new ModelCache(models), embeddings: new EmbeddingStore(redis, keys),
      publish: (a, once) => alerts.publish(a, once === undefined ? {} : { once }), log, consumer: 'test',
      options: { count: 64, blockMs: 100, claimMs: 60_000, refreshMs: 60_000, embeddingsMaxLen: 100_000 },
    });
    await ingest.start();
    return ingest;
  };
  return { redis, keys, input: keys.stream.input('plant'), dlq: keys.stream.dlq('plant'), warnings, start };
}

/** Row `i % rows` of wine as a comma-separated `values` field, ×`factor`. */
function values(i: number, factor = 1): string {
  const r = i % wine.rows;
  return Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width), (v) => v * factor).join(',');
}

/** XADDs good records `g<from>`…`g<to - 1>`. */
async function addGood(s: Setup, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await s.redis.xadd(s.input, '*', 'id', `g${i}`, 'values', values(i));
}

async function pending(s: Setup): Promise<number> {
  return Number(((await s.redis.call('XPENDING', [s.input, STREAM_GROUP])) as unknown[])[0]);
}

/** Waits until every entry was delivered and acknowledged. */
/** Runs the consumers until every entry of the stream is acknowledged, then stops them. */
async function consumeAll(s: Setup): Promise<void> {
  const ingest = await s.start();
  try {
    await drained(s);
  } finally {
    await ingest.stop();
  }
}

async function drained(s: Setup, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const groups = (await s.redis.call('XINFO', ['GROUPS', s.input]).catch(() => [])) as unknown[][];
    const flat = groups.find((g) => g[1] === STREAM_GROUP) ?? [];
    const f: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
    if (Number(f.pending ?? -1) === 0 && Number(f.lag ?? -1) === 0) return;
    if (Date.now() > deadline) throw new Error(`stream not drained within ${timeoutMs} ms: ${JSON.stringify(f)}`);
    await sleep(50);
  }
}

/** The dead letters as field maps (first occurrence wins), with the flat list. */
async function deadLetters(s: Setup): Promise<{ f: Record<string, string>; flat: string[] }[]> {
  const entries = (await s.redis.xrange(s.dlq, '-', '+')) as [string, string[]][];
  return entries.map(([, flat]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] ??= flat[i + 1];
    return { f, flat };
  });
}

async function scoredIds(s: Setup): Promise<string[]> {
  return (await s.redis.hkeys(s.keys.embeddings.codes('wine', 1, streamDataset('plant')))).sort();
}

const goodIds = (n: number) => Array.from({ length: n }, (_, i) => `g${i}`).sort();

test('an entry of 1,000,000 fields: dead-lettered as 32 fields with a `truncated` note, acknowledged; the good entries around it scored', { timeout: 120_000 }, async () => {
  const s = await setUp();
  await addGood(s, 0, 10);
  // One XADD of 2,000,002 arguments, passed as one array (spread into a call, that many arguments overflow the stack).
  const flat: string[] = [];
  for (let i = 0; i < 1_000_000; i++) flat.push(`field${i}`, String(i));
  const huge = String(await s.redis.call('XADD', [s.input, '*', 'id', 'huge'].concat(flat)));
  await addGood(s, 10, 20);
  await consumeAll(s);
  assert.equal(await pending(s), 0);
  assert.deepEqual(await scoredIds(s), goodIds(20));
  const [dead, ...others] = await deadLetters(s);
  assert.equal(others.length, 0);
  assert.equal(dead.f.reason, `the entry has 1000001 fields, the limit for this model's 13 features is ${maxStreamFields(13)}`);
  assert.equal(dead.f.entry, huge);
  let bytes = 6;
  for (const text of flat) bytes += Buffer.byteLength(text);
  assert.equal(dead.f.truncated, `1000001 fields, ${bytes} bytes; kept 32 fields of at most 256 bytes`);
  assert.deepEqual(dead.flat.slice(6), ['id', 'huge', ...flat.slice(0, 62)]);
  assert.ok(s.warnings.some((w) => w.includes('1 malformed entries dead-lettered')), s.warnings.join('\n'));
});

test('a 10 MB `values` and a 10 MB `id`: dead-lettered cut to 256 bytes per field; the id reaches no codes, errors or alerts', { timeout: 120_000 }, async () => {
  const s = await setUp();
  await addGood(s, 0, 10);
  const bigValues = await s.redis.xadd(s.input, '*', 'id', 'big-values', 'values', `${values(0)},${'1'.repeat(TEN_MB)}`);
  const bigId = 'anomalous-'.repeat(TEN_MB / 10);
  // Its values are anomalous: scored, it would raise an alert keyed by the 10 MB id.
  const row = Float32Array.from(values(1, 50).split(','), Number);
  assert.ok(model.score({ values: row, rows: 1, width: 13, ids: ['x'], features: wine.features, source: 'test' }).errors[0] > model.threshold!.value);
  const idEntry = await s.redis.xadd(s.input, '*', 'id', bigId, 'values', values(1, 50));
  await addGood(s, 10, 20);
  await consumeAll(s);
  assert.equal(await pending(s), 0);
  assert.deepEqual(await scoredIds(s), goodIds(20));
  assert.equal(await s.redis.zcard(s.keys.embeddings.errors('wine', 1, streamDataset('plant'))), 20);
  assert.deepEqual(await new AlertStore(s.redis, s.keys).read(), [], 'no alert (scored, the long id would have raised one)');

  const dead = await deadLetters(s);
  assert.equal(dead.length, 2);
  const valuesBytes = values(0).length + 1 + TEN_MB;
  assert.deepEqual(dead[0].f, {
    reason: `field "values" is ${valuesBytes} bytes, the limit for this model's 13 features is ${maxValuesBytes(13)} bytes`,
    entry: bigValues!, truncated: `2 fields, ${valuesBytes + 2 + 6 + 10} bytes; kept 2 fields of at most 256 bytes`,
    id: 'big-values', values: `${values(0)},${'1'.repeat(255 - values(0).length)}`,
  });
  assert.deepEqual(dead[1].f, {
    reason: `field "id" is ${TEN_MB} bytes, the limit is 512 bytes`,
    entry: idEntry!, truncated: `2 fields, ${TEN_MB + values(1, 50).length + 8} bytes; kept 2 fields of at most 256 bytes`,
    id: bigId.slice(0, 256), values: values(1, 50),
  });
  assert.ok(Buffer.byteLength(dead.flatMap((d) => d.flat).join('')) < 4096, 'the dead letters hold a bounded copy');
});

test('values that overflow the model (a NaN error) are dead-lettered instead of holding the batch forever', { timeout: 60_000 }, async () => {
  const s = await setUp();
  await addGood(s, 0, 5);
  const overflow = await s.redis.xadd(s.input, '*', 'id', 'overflow', 'values', Array.from({ length: 13 }, (_, j) => (j % 2 ? '3e38' : '-3e38')).join(','));
  await addGood(s, 5, 10);
  await consumeAll(s);
  assert.deepEqual(await scoredIds(s), goodIds(10));
  const [dead] = await deadLetters(s);
  assert.equal(dead.f.entry, overflow);
  assert.match(dead.f.reason, /reconstruction error is NaN: its layers overflow on these values \(largest magnitude 3\.0\d*e\+38\)/);
  assert.equal(dead.f.id, 'overflow');
});

test('a dead-letter stream that refuses writes (a Redis fault, not the entry\'s): the good entries go on, the bad one waits and is retried', { timeout: 60_000 }, async () => {
  const s = await setUp();
  await s.redis.set(s.dlq, 'not a stream');
  await addGood(s, 0, 5);
  const bad = await s.redis.xadd(s.input, '*', 'id', 'bad', 'values', '1,2');
  await addGood(s, 5, 10);
  const ingest = await s.start();
  try {
    const deadline = Date.now() + 20_000;
    while ((await scoredIds(s)).length < 10 || !s.warnings.some((w) => w.includes('WRONGTYPE'))) {
      assert.ok(Date.now() < deadline, `good entries scored while the DLQ refuses writes: ${s.warnings.join('\n')}`);
      await sleep(50);
    }
    assert.equal(await pending(s), 1, 'only the bad entry is pending');
    assert.equal(await s.redis.type(s.dlq), 'string', 'nothing was written around the fault');
    await s.redis.del(s.dlq);
    await drained(s);
  } finally {
    await ingest.stop();
  }
  const [dead, ...others] = await deadLetters(s);
  assert.equal(others.length, 0, 'dead-lettered once');
  assert.deepEqual(dead.flat, ['reason', 'field "values" has 2 numbers, the model expects 13 (' + wine.features.join(',') + ')', 'entry', bad!, 'id', 'bad', 'values', '1,2']);
  assert.deepEqual(await scoredIds(s), goodIds(10));
});
