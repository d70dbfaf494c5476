// EmbeddingStore on a real redis-server: idempotent batches, completion, reading in order, ranking, assignments,
// and the retention of stream embeddings (the newest `maxLen` records kept).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LatentflowError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { EmbeddingStore, type EmbeddingTarget } from '../../shared/store/embeddings.js';
import { rejectsInput } from '../helpers/assertions.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const store = () => new EmbeddingStore(fixture.redis(), keyspace(fixture.prefix()));
const target: EmbeddingTarget = { model: 'digits', version: 1, dataset: 'digits' };
const Q = 3;

/** Records `from`…`to - 1`: id `r<i>`, code [i, i + 0.5, -i], error i / 100 (record 2500 is the worst). */
function batch(from: number, to: number) {
  const ids = Array.from({ length: to - from }, (_, k) => `r${from + k}`);
  const codes = new Float32Array(ids.length * Q);
  const errors = new Float32Array(ids.length);
  ids.forEach((_, k) => {
    const i = from + k;
    codes.set([i, i + 0.5, -i], k * Q);
    errors[k] = i / 100;
  });
  return { ids, codes, errors };
}

async function rejectsWith(promise: Promise<unknown>, text: string, retryable: boolean): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LatentflowError, String(err));
    assert.ok(err.message.includes(text), err.message);
    assert.equal(err.retryable, retryable);
    return true;
  });
}

describe('EmbeddingStore', () => {
  test('batches written twice (a retried job) leave exactly one entry per id; complete only when all are in', async () => {
    const embeddings = store();
    assert.deepEqual(await embeddings.status(target), { state: 'missing', records: 0, written: 0, codeSize: 0 });
    const records = 2501; // more than one 1000-field command per batch
    await embeddings.begin(target, records, Q);
    const first = batch(0, 1500);
    await embeddings.writeBatch(target, first.ids, first.codes, first.errors);
    await rejectsWith(embeddings.complete(target, { meanError: 0 }), '1500 codes and 1500 errors stored for 2501 records', true);
    // The job fails and is retried: begin again, write everything again.
    await embeddings.begin(target, records, Q);
    assert.equal((await embeddings.status(target)).written, 1500);
    await embeddings.writeBatch(target, first.ids, first.codes, first.errors);
    const second = batch(1500, records);
    await embeddings.writeBatch(target, second.ids, second.codes, second.errors);
    const k = keyspace(fixture.prefix()).embeddings;
    assert.equal(await fixture.redis().hlen(k.codes('digits', 1, 'digits')), records);
    assert.equal(await fixture.redis().zcard(k.errors('digits', 1, 'digits')), records);
    const writing = await embeddings.status(target);
    assert.equal(writing.state, 'writing');
    assert.equal(writing.written, records);
    await embeddings.complete(target, { meanError: 12.5 });
    const done = await embeddings.status(target);
    assert.equal(done.state, 'complete');
    assert.equal(done.meanError, 12.5);
    assert.equal(done.codeSize, Q);
    assert.equal(done.records, records);
    assert.ok(done.updatedAt);

    const all = await embeddings.read(target);
    assert.equal(all.ids.length, records);
    assert.deepEqual(all.ids.slice(0, 3), ['r0', 'r1', 'r2']);
    assert.equal(all.ids[10], 'r10', 'natural order');
    assert.deepEqual(Array.from(all.codes.subarray(10 * Q, 11 * Q)), [10, 10.5, -10]);
    assert.equal(all.errors[10], Math.fround(10 / 100));
    const some = await embeddings.read(target, ['r2500', 'r7']);
    assert.deepEqual(Array.from(some.codes), [2500, 2500.5, -2500, 7, 7.5, -7]);
    assert.deepEqual(Array.from(some.errors), [Math.fround(25), Math.fround(0.07)]);
    await rejectsInput(embeddings.read(target, ['r1', 'ghost']), 'no code for record "ghost"');

    assert.deepEqual((await embeddings.top(target, 3)).map((t) => t.id), ['r2500', 'r2499', 'r2498']);
    assert.equal((await embeddings.top(target, 1))[0].error, 25);
  });

  test('stale ids from an earlier run: complete refuses for good; begin fresh clears them', async () => {
    const embeddings = store();
    await embeddings.begin(target, 5, Q);
    const b = batch(0, 5);
    await embeddings.writeBatch(target, b.ids, b.codes, b.errors);
    await embeddings.complete(target, { meanError: 0.02 });
    await embeddings.begin(target, 4, Q);
    const four = batch(0, 4);
    await embeddings.writeBatch(target, four.ids, four.codes, four.errors);
    await rejectsWith(embeddings.complete(target, { meanError: 0 }), 'stale ids', false);
    await embeddings.begin(target, 4, Q, { fresh: true });
    assert.equal((await embeddings.status(target)).written, 0);
    await embeddings.writeBatch(target, four.ids, four.codes, four.errors);
    await embeddings.complete(target, { meanError: 0.015 });
    assert.equal((await embeddings.status(target)).state, 'complete');
  });

  test('writeBatch checks shapes and needs begin; read of nothing is empty', async () => {
    const embeddings = store();
    assert.deepEqual(await embeddings.read(target, ['a']), { ids: [], codes: new Float32Array(0), errors: new Float32Array(0), codeSize: 0 });
    await rejectsWith(embeddings.writeBatch(target, ['a'], new Float32Array(3), new Float32Array(1)), 'before begin', false);
    await embeddings.begin(target, 2, Q);
    await rejectsInput(embeddings.writeBatch(target, ['a', 'b'], new Float32Array(3), new Float32Array(2)), 'needs 6 code values (code size 3)');
    await rejectsInput(embeddings.writeBatch(target, ['a'], new Float32Array(3), Float32Array.of(NaN)), 'NaN');
    await embeddings.writeBatch(target, ['inf'], new Float32Array(3), Float32Array.of(Infinity));
    assert.deepEqual(await embeddings.top(target, 5), [{ id: 'inf', error: Infinity }]);
  });

  test('assignments are replaced whole; results round trip as JSON; begin drops derived data', async () => {
    const embeddings = store();
    await embeddings.begin(target, 3, Q);
    await embeddings.writeAssignments(target, 'clusters', new Map<string, number>([['a', 0], ['b', 1], ['c', 1]]));
    await embeddings.writeAssignments(target, 'clusters', new Map<string, number>([['a', 2], ['b', 2]]));
    assert.deepEqual(await embeddings.readAssignments(target, 'clusters'), new Map([['a', '2'], ['b', '2']]));
    const many = new Map(Array.from({ length: 2500 }, (_, i) => [`r${i}`, `label${i % 3}`] as [string, string]));
    await embeddings.writeAssignments(target, 'predictions', many);
    assert.equal((await embeddings.readAssignments(target, 'predictions')).size, 2500);
    assert.equal(await embeddings.readResult(target, 'cluster'), undefined);
    await embeddings.writeResult(target, 'cluster', { k: 3, centroids: [[1, 2], [3, 4]] });
    assert.deepEqual(await embeddings.readResult<{ k: number }>(target, 'cluster'), { k: 3, centroids: [[1, 2], [3, 4]] });
    await embeddings.begin(target, 3, Q);
    assert.equal((await embeddings.readAssignments(target, 'clusters')).size, 0);
    assert.equal(await embeddings.readResult(target, 'cluster'), undefined);
    await embeddings.writeAssignments(target, 'clusters', new Map());
    await embeddings.clear(target);
    assert.deepEqual(await fixture.redis().keys(`${fixture.prefix()}:*`), []);
  });

  describe('retention (stream embeddings, writeBatch maxLen)', () => {
    const stream: EmbeddingTarget = { model: 'digits', version: 1, dataset: 'stream.plant' };
    const keysOf = (t: EmbeddingTarget) => {
      const e = keyspace(fixture.prefix()).embeddings;
      return { codes: e.codes(t.model, t.version, t.dataset), errors: e.errors(t.model, t.version, t.dataset), written: e.written(t.model, t.version, t.dataset) };
    };
    /** The ids in codes, errors and written, each sorted; asserts the three agree. */
    async function stored(t: EmbeddingTarget): Promise<string[]> {
      const k = keysOf(t);
      const redis = fixture.redis();
      const [codes, errors, written] = await Promise.all([redis.hkeys(k.codes), redis.zrange(k.errors, '0', '-1'), redis.zrange(k.written, '0', '-1')]);
      assert.deepEqual(errors.sort(), codes.sort(), 'errors hold the ids of the codes');
      assert.deepEqual(written.sort(), codes.sort(), 'written holds the ids of the codes');
      return codes;
    }
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `r${from + k}`).sort();

    test('250 records written in batches with maxLen 100 leave exactly the newest 100; an id written again counts as newest', async () => {
      const embeddings = store();
      await embeddings.begin(stream, 0, Q);
      for (let from = 100; from < 350; from += 25) {
        const b = batch(from, from + 25);
        await embeddings.writeBatch(stream, b.ids, b.codes, b.errors, { maxLen: 100 });
        assert.equal((await stored(stream)).length, Math.min(100, from + 25 - 100), `after records up to r${from + 24}`);
      }
      assert.deepEqual(await stored(stream), ids(250, 350), 'the oldest 150 are dropped from codes, errors and written');
      const newest = Number(await fixture.redis().zscore(keysOf(stream).written, 'r349'));
      assert.ok(Math.abs(newest - Date.now()) < 60_000, 'scored in ms of the server clock');
      assert.deepEqual((await embeddings.top(stream, 1)).map((t) => t.id), ['r349']);
      assert.equal((await embeddings.status(stream)).written, 100);

      // r250 (the oldest kept) and r120 (already dropped) arrive again: both are stored as the newest.
      const again = batch(250, 251);
      await embeddings.writeBatch(stream, again.ids, again.codes, again.errors, { maxLen: 100 });
      const back = batch(120, 121);
      await embeddings.writeBatch(stream, back.ids, back.codes, back.errors, { maxLen: 100 });
      assert.deepEqual(await stored(stream), [...ids(252, 350), 'r120', 'r250'].sort(), 'r251 and r252 are now the oldest, dropped');
      const read = await embeddings.read(stream, ['r120']);
      assert.deepEqual(Array.from(read.codes), [120, 120.5, -120]);
      const more = batch(350, 352);
      await embeddings.writeBatch(stream, more.ids, more.codes, more.errors, { maxLen: 100 });
      assert.deepEqual(await stored(stream), [...ids(254, 352), 'r120', 'r250'].sort());
    });

    test('batches written within the same millisecond keep their order: the later one is newer, whatever its ids', async () => {
      const embeddings = store();
      await embeddings.begin(stream, 0, Q);
      // Ten MULTIs sent back to back (descending ids, so id order would pick the wrong ones): the last four written stay.
      const batches = Array.from({ length: 10 }, (_, k) => batch(325 - 25 * k, 350 - 25 * k));
      await Promise.all(batches.map((b) => embeddings.writeBatch(stream, b.ids, b.codes, b.errors, { maxLen: 100 })));
      assert.deepEqual(await stored(stream), ids(100, 200));
    });

    test('a lowered maxLen is reached over the next writes, each dropping at most its batch plus 1000', async () => {
      const embeddings = store();
      await embeddings.begin(stream, 0, Q);
      const b = batch(0, 3000);
      await embeddings.writeBatch(stream, b.ids, b.codes, b.errors, { maxLen: 3000 });
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const one = batch(5000 + i, 5001 + i);
        await embeddings.writeBatch(stream, one.ids, one.codes, one.errors, { maxLen: 100 });
        counts.push((await stored(stream)).length);
      }
      assert.deepEqual(counts, [2000, 1000, 100]);
      assert.ok((await stored(stream)).includes('r5002'), 'the newest record is kept');
    });

    test('dataset embeddings keep every record and have no written set; begin fresh and clear remove it', async () => {
      const embeddings = store();
      await embeddings.begin(target, 300, Q);
      const b = batch(0, 300);
      await embeddings.writeBatch(target, b.ids, b.codes, b.errors);
      assert.equal((await embeddings.status(target)).written, 300);
      assert.equal(await fixture.redis().exists(keysOf(target).written), 0);

      await embeddings.begin(stream, 0, Q);
      await embeddings.writeBatch(stream, b.ids.slice(0, 5), b.codes.subarray(0, 5 * Q), b.errors.subarray(0, 5), { maxLen: 100 });
      await embeddings.begin(stream, 0, Q, { fresh: true });
      assert.equal(await fixture.redis().exists(keysOf(stream).written), 0, 'begin fresh');
      await embeddings.writeBatch(stream, b.ids.slice(0, 5), b.codes.subarray(0, 5 * Q), b.errors.subarray(0, 5), { maxLen: 100 });
      await embeddings.clear(stream);
      assert.equal(await fixture.redis().exists(keysOf(stream).written), 0, 'clear');
      await rejectsInput(embeddings.writeBatch(stream, ['a'], new Float32Array(3), new Float32Array(1), { maxLen: 0 }), 'maxLen');
    });

    test('records stored before retention existed are adopted as the oldest and dropped first', async () => {
      const embeddings = store();
      await embeddings.begin(stream, 0, Q);
      const legacy = batch(0, 1200);
      await embeddings.writeBatch(stream, legacy.ids, legacy.codes, legacy.errors);
      assert.equal(await embeddings.trackUntracked(stream), 1200);
      assert.equal(await embeddings.trackUntracked(stream), 0, 'nothing left to adopt');
      const fresh = [batch(9000, 9005), batch(9005, 9010)];
      for (const b of fresh) await embeddings.writeBatch(stream, b.ids, b.codes, b.errors, { maxLen: 100 });
      const kept = await stored(stream);
      assert.equal(kept.length, 100, 'the first write dropped 1005 records, the second the other 105');
      for (const id of fresh.flatMap((b) => b.ids)) assert.ok(kept.includes(id), `${id} (new) is kept`);
    });
  });
});
