// Per-source ingestion rate limits on a real redis-server: two encoders' stream consumers (in this process, as two
// consumers of the group) share one source's limit; a source without a limit of its own takes the default; a source
// without any limit is not held back by a flooded neighbour.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import { InputError } from '../../shared/contracts/errors.js';
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
import { projectPath, runCli } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const COUNT = 64;
let wine: Table;
let model: Autoencoder;

before(async () => {
  await initBackend('wasm', () => {});
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
  model = await Autoencoder.fit(wine, { codeSize: 4, epochs: 5, seed: 1 });
});
after(() => model.dispose());

async function setUp(): Promise<{ redis: Redis; keys: Keyspace; sources: SourceStore; start(consumer: string, defaultLimit?: number): Promise<StreamIngest> }> {
  const redis = fixture.redis();
  const keys = keyspace(fixture.prefix());
  const models = new ModelRegistry(redis, keys);
  await models.register('wine', model, { dataset: 'wine' });
  await models.promote('wine', 1);
  const log: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
  const alerts = new AlertStore(redis, keys);
  const start = async (consumer: string, defaultLimit?: number) => {
    const ingest = new StreamIngest({
      redis, keys, versions: new ProductionVersions(models, 60_000), cache: new ModelCache(models), embeddings: new EmbeddingStore(redis, keys),
      publish: (a, once) => alerts.publish(a, once === undefined ? {} : { once }), log, consumer,
      options: { count: COUNT, blockMs: 100, claimMs: 60_000, refreshMs: 60_000, embeddingsMaxLen: 100_000, ...(defaultLimit !== undefined ? { rateLimit: defaultLimit } : {}) },
    });
    await ingest.start();
    return ingest;
  };
  return { redis, keys, sources: new SourceStore(redis, keys), start };
}

async function fill(redis: Redis, key: string, n: number, tag: string): Promise<void> {
  const p = redis.pipeline();
  for (let i = 0; i < n; i++) {
    const r = i % wine.rows;
    p.xadd(key, '*', 'id', `${tag}${i}`, 'values', Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width)).join(','));
  }
  await p.exec();
}

/** Entries of the source acknowledged by the group: read and no longer pending. */
async function acknowledged(redis: Redis, key: string): Promise<number> {
  const groups = (await redis.call('XINFO', ['GROUPS', key]).catch(() => [])) as unknown[][];
  const flat = groups.find((g) => g[1] === STREAM_GROUP) ?? [];
  const f: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
  return Number(f['entries-read'] ?? 0) - Number(f.pending ?? 0);
}

test('a flooded source limited to 100 records/s is consumed at that rate by two encoders together; an unlimited source beside it is drained at once', async () => {
  const s = await setUp();
  await s.sources.add('flood', { model: 'wine', rateLimit: 100 });
  await s.sources.add('plant', { model: 'wine' });
  await fill(s.redis, s.keys.stream.input('flood'), 2000, 'f');
  await fill(s.redis, s.keys.stream.input('plant'), 500, 'p');
  const started = Date.now();
  const encoders = await Promise.all([s.start('a'), s.start('b')]);
  try {
    const deadline = Date.now() + 30_000;
    while ((await acknowledged(s.redis, s.keys.stream.input('plant'))) < 500) {
      assert.ok(Date.now() < deadline, 'the unlimited source was not drained within 30 s');
      await sleep(20);
    }
    const plantDone = (Date.now() - started) / 1000;
    await sleep(Math.max(0, 2500 - (Date.now() - started)));
    const elapsed = (Date.now() - started) / 1000;
    const flood = await acknowledged(s.redis, s.keys.stream.input('flood'));
    // The bucket starts full with one batch (64) and refills at 100/s, shared by both encoders.
    assert.ok(flood <= COUNT + 100 * elapsed, `flood: ${flood} records in ${elapsed.toFixed(2)} s, over 64 + 100/s`);
    assert.ok(flood >= 100, `flood: only ${flood} records in ${elapsed.toFixed(2)} s`);
    assert.ok(plantDone < elapsed, `plant took ${plantDone} s, no faster than the limited flood's ${elapsed} s`);
  } finally {
    await Promise.all(encoders.map((e) => e.stop()));
  }
});

test('the default limit (LATENTFLOW_SOURCE_RATE_LIMIT) holds sources without their own; a source\'s own limit overrides it', async () => {
  const s = await setUp();
  await s.sources.add('plain', { model: 'wine' });
  await s.sources.add('own', { model: 'wine', rateLimit: 400 });
  await fill(s.redis, s.keys.stream.input('plain'), 1000, 'p');
  await fill(s.redis, s.keys.stream.input('own'), 1000, 'o');
  const started = Date.now();
  const encoder = await s.start('a', 50);
  try {
    await sleep(2000);
    const elapsed = (Date.now() - started) / 1000;
    const [plain, own] = await Promise.all([acknowledged(s.redis, s.keys.stream.input('plain')), acknowledged(s.redis, s.keys.stream.input('own'))]);
    assert.ok(plain <= 50 + 50 * elapsed, `plain: ${plain} records in ${elapsed.toFixed(2)} s, over the default 50/s`);
    assert.ok(own <= COUNT + 400 * elapsed, `own: ${own} records in ${elapsed.toFixed(2)} s, over its 400/s`);
    assert.ok(own > 50 + 50 * elapsed, `own: ${own} records in ${elapsed.toFixed(2)} s: held to the default instead of its own limit`);
  } finally {
    await encoder.stop();
  }
});

test('a rate limit must be a positive integer: the store and the CLI name the field and value; `source list` shows the limit', async () => {
  const s = await setUp();
  for (const rateLimit of [0, -5, 1.5, Number.NaN]) {
    await assert.rejects(s.sources.add('x', { model: 'wine', rateLimit }), (e: unknown) => e instanceof InputError && /rateLimit/.test(e.message) && e.message.includes(String(rateLimit)));
  }
  const env = { REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: fixture.prefix() };
  const refused = await runCli(['source', 'add', 'x', '--model', 'wine', '--rate-limit', '0'], env);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--rate-limit.*0/);
  const added = await runCli(['source', 'add', 'x', '--model', 'wine', '--rate-limit', '250'], env);
  assert.equal(added.code, 0, added.stderr);
  assert.equal((await s.sources.get('x'))?.rateLimit, 250);
  const listed = await runCli(['source', 'list', '--json'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal((JSON.parse(listed.stdout) as { source: string; rateLimit?: number }[]).find((r) => r.source === 'x')?.rateLimit, 250);
});
