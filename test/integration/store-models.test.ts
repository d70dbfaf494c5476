// ModelRegistry on a real redis-server: versions, references, weights round trip, aliases, deletion, rollback, events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { keyspace } from '../../shared/contracts/keys.js';
import { toJobError } from '../../shared/pipeline/queues.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { ModelRegistry, type ModelEvent } from '../../shared/store/models.js';
import { closeRedis } from '../../shared/store/redis.js';
import { rejectsInput } from '../helpers/assertions.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

const fixture = useRedis();
const registry = () => new ModelRegistry(fixture.redis(), keyspace(fixture.prefix()));
const data = lowRankMatrix(64, 8, 2, 0.01, 3);
let model: Autoencoder;

before(async () => {
  await initBackend('cpu', () => undefined); // the pure-JS backend: no wasm start-up for a tiny model
  model = await Autoencoder.fit(data, { encoder: [6, 3], epochs: 2, batchSize: 16, seed: 1 });
});
after(() => model.dispose());

describe('ModelRegistry', () => {
  test('register twice → versions 1 and 2, with metadata and no weights in the listing', async () => {
    const models = registry();
    const v1 = await models.register('wine', model, { dataset: 'wine' });
    const v2 = await models.register('wine', model, { dataset: 'wine', normal: 'ok' });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.equal(v1.model, 'wine');
    assert.equal(v1.inputWidth, 8);
    assert.equal(v1.codeSize, 3);
    assert.equal(v1.epochs, 2);
    assert.equal(v1.threshold, model.threshold?.value);
    assert.equal(v1.fingerprint, model.fingerprint);
    assert.equal(v1.bytes, model.toArtifact().length);
    assert.equal(v1.normal, undefined);
    assert.equal(v2.normal, 'ok');
    assert.deepEqual(v1.features, data.features);
    const listed = await models.list();
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0].versions, [v1, v2]);
    assert.deepEqual(listed[0].aliases, {});
    assert.deepEqual(await models.meta('wine', 2), v2);
  });

  test('register with an idempotency key registers once: a retried train job gets the same version', async () => {
    const models = registry();
    const first = await models.register('digits', model, { dataset: 'digits', key: 'train:run-1' });
    const retry = await models.register('digits', model, { dataset: 'digits', key: 'train:run-1' });
    const other = await models.register('digits', model, { dataset: 'digits', key: 'train:run-2' });
    assert.deepEqual([first.version, retry.version, other.version], [1, 1, 2]);
    assert.deepEqual(await models.registeredBy('digits', 'train:run-1'), first);
    assert.equal(await models.registeredBy('digits', 'train:run-3'), undefined);
  });

  test('resolve: numbers, digit strings, latest, aliases; missing ones are input errors naming model and ref', async () => {
    const models = registry();
    await rejectsInput(models.resolve('wine', 'latest'), 'model "wine" does not exist (no models yet)');
    await models.register('wine', model, { dataset: 'wine' });
    await models.register('wine', model, { dataset: 'wine' });
    await models.register('other', model, { dataset: 'x' });
    assert.equal(await models.resolve('wine', 1), 1);
    assert.equal(await models.resolve('wine', '2'), 2);
    assert.equal(await models.resolve('wine', 'latest'), 2);
    await rejectsInput(models.resolve('wine', 3), 'model "wine" has no version 3 (versions: 1, 2)');
    await rejectsInput(models.resolve('wine', 'production'), 'model "wine" has no alias "production" (versions: 1, 2)', 'models promote wine');
    await rejectsInput(models.resolve('nope', 1), 'model "nope" does not exist (asked for version 1) (models: other, wine)');
    assert.equal(await models.promote('wine', 1), 1);
    assert.equal(await models.resolve('wine', 'production'), 1);
    assert.equal(await models.promote('wine', 'latest', 'staging'), 2);
    assert.equal(await models.resolve('wine', 'staging'), 2);
    await rejectsInput(models.resolve('wine', 'canary'), 'has no alias "canary"', 'aliases: production→1, staging→2');
    await rejectsInput(models.promote('wine', 7), 'has no version 7');
    await rejectsInput(models.promote('wine', 1, 'latest'), 'field "alias"');
    await rejectsInput(models.register('bad name', model, { dataset: 'x' }), 'field "name"');
    assert.deepEqual((await models.list()).map((m) => [m.name, m.aliases]), [['other', {}], ['wine', { production: 1, staging: 2 }]]);
  });

  test('load gives a model with identical codes', async () => {
    const models = registry();
    await models.register('wine', model, { dataset: 'wine' });
    await models.promote('wine', 1);
    const { meta, model: loaded } = await models.load('wine', 'production');
    try {
      assert.equal(meta.version, 1);
      assert.deepEqual(loaded.encode(data), model.encode(data));
      assert.deepEqual(loaded.threshold, model.threshold);
      assert.deepEqual(loaded.features, model.features);
    } finally {
      loaded.dispose();
    }
    await rejectsInput(models.load('wine', 2), 'has no version 2');
  });

  test('a corrupted artifact in Redis fails the load (and so the job) non-retryably, naming the version', async () => {
    const models = registry();
    await models.register('wine', model, { dataset: 'wine' });
    const key = keyspace(fixture.prefix()).model.artifact('wine', 1);
    const bytes = (await fixture.redis().getBuffer(key))!;
    const flipped = bytes[bytes.length - 40] ^ 0x01;
    await fixture.redis().setrange(key, bytes.length - 40, Buffer.from([flipped]));
    const err = await rejectsInput(models.load('wine', 1), 'model wine@1', 'model file is corrupt or was modified (checksum mismatch)');
    const jobError = toJobError(err);
    assert.ok(jobError instanceof UnrecoverableError, 'a worker fails the job without retrying');
    assert.match(jobError.message, /model wine@1: model file is corrupt or was modified \(checksum mismatch\)/);
    await fixture.redis().set(key, bytes.subarray(0, 100));
    await rejectsInput(models.load('wine', 1), 'model wine@1', 'truncated');
  });

  test('delete one version (with its aliases), then the whole model; numbers are never reused', async () => {
    const models = registry();
    const k = keyspace(fixture.prefix()).model;
    for (let i = 0; i < 3; i++) await models.register('m', model, { dataset: 'd' });
    await models.promote('m', 2);
    await models.promote('m', 3, 'staging');
    assert.equal(await models.delete('m', 2), 1);
    assert.equal(await models.delete('m', 2), 0);
    assert.equal(await fixture.redis().exists(k.artifact('m', 2)), 0);
    const [entry] = await models.list();
    assert.deepEqual(entry.versions.map((v) => v.version), [1, 3]);
    assert.deepEqual(entry.aliases, { staging: 3 });
    await rejectsInput(models.resolve('m', 'production'), 'has no alias "production"');
    assert.equal(await models.delete('m'), 2);
    assert.deepEqual(await models.list(), []);
    assert.equal(await models.delete('m'), 0);
    await rejectsInput(models.resolve('m', 'latest'), 'model "m" does not exist');
    assert.deepEqual(await fixture.redis().keys(`${fixture.prefix()}:{model:m}:*`), [k.counter('m')]);
    assert.equal((await models.register('m', model, { dataset: 'd' })).version, 4);
  });

  test('promote 1, 2, 3 → rollback → 2 → rollback → 1 → rollback fails; a subscriber receives every event', async (t) => {
    const models = registry();
    const keys = keyspace(fixture.prefix());
    const subscriber = trackedRedis(fixture.url(), { name: 'model events' });
    t.after(() => closeRedis(subscriber));
    const events: ModelEvent[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.modelEvents()) events.push(JSON.parse(message) as ModelEvent);
    });
    await subscriber.subscribe(keys.modelEvents());

    for (let i = 0; i < 3; i++) await models.register('m', model, { dataset: 'd' });
    await rejectsInput(models.rollback('m'), 'model "m" has no earlier version of alias "production" to roll back to', 'has no alias "production"');
    for (const v of [1, 2, 3]) assert.equal(await models.promote('m', v), v);
    await models.promote('m', 3); // the same version again: nothing new to roll back to
    assert.deepEqual(await fixture.redis().lrange(keys.model.aliasHistory('m', 'production'), 0, -1), ['2', '1']);
    assert.deepEqual(await models.rollback('m'), { from: 3, to: 2 });
    assert.equal(await models.resolve('m', 'production'), 2);
    assert.deepEqual(await models.rollback('m'), { from: 2, to: 1 });
    assert.equal(await models.resolve('m', 'production'), 1);
    await rejectsInput(models.rollback('m'), 'no earlier version of alias "production"', '"production" is version 1');
    assert.equal(await models.resolve('m', 'production'), 1);
    await rejectsInput(models.rollback('nope'), 'model "nope" does not exist');
    await rejectsInput(models.rollback('m', 'latest'), 'field "alias"');

    for (let i = 0; i < 100 && events.length < 6; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, [
      { event: 'promote', model: 'm', alias: 'production', version: 1, previous: null },
      { event: 'promote', model: 'm', alias: 'production', version: 2, previous: 1 },
      { event: 'promote', model: 'm', alias: 'production', version: 3, previous: 2 },
      { event: 'promote', model: 'm', alias: 'production', version: 3, previous: 3 },
      { event: 'rollback', model: 'm', alias: 'production', version: 2, previous: 3 },
      { event: 'rollback', model: 'm', alias: 'production', version: 1, previous: 2 },
    ]);
  });

  test('rollback skips deleted versions; per-alias histories; at most 20 kept; deleting the model clears them', async () => {
    const models = registry();
    const k = keyspace(fixture.prefix()).model;
    for (let i = 0; i < 4; i++) await models.register('m', model, { dataset: 'd' });
    for (const v of [1, 2, 3]) await models.promote('m', v);
    await models.promote('m', 4, 'staging');
    await models.promote('m', 1, 'staging');
    await models.delete('m', 2);
    assert.deepEqual(await models.rollback('m'), { from: 3, to: 1 });
    assert.deepEqual(await models.rollback('m', 'staging'), { from: 1, to: 4 });
    // After deleting the production version, rollback brings back the one before it.
    await models.promote('m', 3);
    await models.delete('m', 3);
    await rejectsInput(models.resolve('m', 'production'), 'has no alias "production"');
    assert.deepEqual(await models.rollback('m'), { from: null, to: 1 });
    for (let i = 0; i < 30; i++) await models.promote('m', i % 2 === 0 ? 4 : 1);
    assert.equal(await fixture.redis().llen(k.aliasHistory('m', 'production')), 20);
    await models.delete('m');
    assert.deepEqual(await fixture.redis().keys(`${fixture.prefix()}:{model:m}:alias-history:*`), []);
  });

  test('register records the validation loss of the kept weights', async () => {
    const meta = await registry().register('m', model, { dataset: 'd' });
    const kept = model.history.epochs[model.history.bestEpoch - 1];
    assert.equal(typeof meta.valLoss, 'number');
    assert.equal(meta.valLoss, kept.valLoss);
  });
});
