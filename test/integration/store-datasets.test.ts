// DatasetStore on a real redis-server: chunked round trip of the shipped digits data, overwrite, visibility, errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { readTable } from '../../shared/data/read-table.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { dataFingerprint } from '../../shared/ml/autoencoder.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { rejectsInput } from '../helpers/assertions.js';
import { projectPath } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const store = () => new DatasetStore(fixture.redis(), keyspace(fixture.prefix()));
const digits = () => readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });

function small(rows: number, labels = true): Table {
  const width = 3;
  const values = Float32Array.from({ length: rows * width }, (_, k) => k / 7);
  return {
    values, rows, width, features: ['a', 'b', 'c'], ids: Array.from({ length: rows }, (_, i) => `r${i}`),
    labels: labels ? Array.from({ length: rows }, (_, i) => String(i % 3)) : undefined, source: 'small',
  };
}

describe('DatasetStore', () => {
  test('digits round trip in 4 chunks of 500: identical values, ids, labels; meta describes it', async () => {
    const table = await digits();
    const datasets = store();
    const meta = await datasets.save('digits', table, { chunkRows: 500 });
    assert.equal(meta.rows, 1797);
    assert.equal(meta.width, 64);
    assert.equal(meta.chunks, 4);
    assert.equal(meta.chunkRows, 500);
    assert.equal(meta.hasLabels, true);
    assert.deepEqual(meta.labelSet, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(meta.fingerprint, dataFingerprint(table), 'fingerprint equals shared/ml dataFingerprint');
    assert.deepEqual(await datasets.meta('digits'), meta);

    const loaded = await datasets.load('digits');
    assert.deepEqual(loaded.values, table.values);
    assert.deepEqual(loaded.ids, table.ids);
    assert.deepEqual(loaded.labels, table.labels);
    assert.deepEqual(loaded.features, table.features);
    assert.equal(loaded.source, 'dataset:digits');

    const seen: { index: number; start: number; rows: number }[] = [];
    for await (const { index, start, table: chunk } of datasets.chunks('digits')) {
      seen.push({ index, start, rows: chunk.rows });
      assert.deepEqual(chunk.values, table.values.subarray(start * 64, (start + chunk.rows) * 64));
    }
    assert.deepEqual(seen, [
      { index: 0, start: 0, rows: 500 }, { index: 1, start: 500, rows: 500 },
      { index: 2, start: 1000, rows: 500 }, { index: 3, start: 1500, rows: 297 },
    ]);
    // Binary layout readable by any client: little-endian float32.
    const raw = await fixture.redis().getBuffer(keyspace(fixture.prefix()).dataset.chunk('digits', 1));
    assert.equal(raw?.readFloatLE(4), table.values[500 * 64 + 1]);
  });

  test('re-import with fewer rows overwrites and removes the extra chunks', async () => {
    const table = await digits();
    const datasets = store();
    const k = keyspace(fixture.prefix()).dataset;
    await datasets.save('digits', table, { chunkRows: 500 });
    const smaller = selectRows(table, Array.from({ length: 600 }, (_, i) => 1796 - i));
    const meta = await datasets.save('digits', { ...smaller, labels: undefined }, { chunkRows: 500 });
    assert.equal(meta.chunks, 2);
    assert.equal(meta.hasLabels, false);
    assert.deepEqual(meta.labelSet, []);
    const loaded = await datasets.load('digits');
    assert.deepEqual(loaded.values, smaller.values);
    assert.deepEqual(loaded.ids, smaller.ids);
    assert.equal(loaded.labels, undefined);
    const r = fixture.redis();
    assert.equal(await r.exists(k.chunk('digits', 2), k.chunk('digits', 3), k.ids('digits', 3), k.labels('digits', 0), k.labels('digits', 1)), 0);
    assert.equal((await datasets.list()).length, 1);
  });

  test('a dataset whose meta is not written yet does not exist, and is not listed', async () => {
    const datasets = store();
    await datasets.save('done', small(5));
    const k = keyspace(fixture.prefix()).dataset;
    // What an interrupted import leaves: chunks, ids, an index entry, no meta.
    await fixture.redis().set(k.chunk('half', 0), Buffer.alloc(12));
    await fixture.redis().set(k.ids('half', 0), '["x"]');
    await fixture.redis().sadd(k.index(), 'half');
    await rejectsInput(datasets.meta('half'), 'dataset "half" does not exist (datasets: done)');
    await rejectsInput(datasets.load('half'), 'does not exist');
    assert.deepEqual((await datasets.list()).map((m) => m.name), ['done']);
    // Importing it for real replaces the leftovers.
    const meta = await datasets.save('half', small(2), { chunkRows: 1 });
    assert.equal(meta.chunks, 2);
    assert.deepEqual((await datasets.load('half')).ids, ['r0', 'r1']);
  });

  test('save writes the meta after every chunk', async () => {
    const datasets = store();
    const k = keyspace(fixture.prefix()).dataset;
    const r = fixture.redis();
    // Watch from a second connection while saving: the meta must appear only after the last chunk exists.
    const saving = datasets.save('big', small(20_000), { chunkRows: 1000 });
    let sawMetaEarly = false;
    let sawPartial = false;
    while (!(await Promise.race([saving.then(() => true), new Promise<false>((res) => setImmediate(() => res(false)))]))) {
      const [meta, first, last] = await Promise.all([r.exists(k.meta('big')), r.exists(k.chunk('big', 0)), r.exists(k.chunk('big', 19))]);
      if (meta === 1 && last === 0) sawMetaEarly = true;
      if (first === 1 && last === 0) {
        sawPartial = true;
        await rejectsInput(datasets.meta('big'), 'does not exist');
      }
    }
    await saving;
    assert.equal(sawMetaEarly, false);
    assert.ok(sawPartial, 'the poll saw the import half-way');
    assert.equal((await datasets.meta('big')).chunks, 20);
  });

  test('missing datasets, bad names and bad tables are input errors', async () => {
    const datasets = store();
    await rejectsInput(datasets.meta('nope'), 'dataset "nope" does not exist (no datasets yet');
    await datasets.save('a', small(3));
    await datasets.save('b', small(3, false));
    await rejectsInput(datasets.meta('nope'), 'dataset "nope" does not exist (datasets: a, b)');
    const bad = await rejectsInput(datasets.save('bad:name', small(3)), 'field "name"', 'value "bad:name"', 'dataset names use letters');
    assert.equal(bad.where.field, 'name');
    await rejectsInput(datasets.save('x', { ...small(3), ids: ['1'] }), '1 ids for 3 rows');
    await rejectsInput(datasets.save('x', { ...small(3), values: Float32Array.from([NaN, 0, 0, 0, 0, 0, 0, 0, 0]) }), 'not a finite number');
    await rejectsInput(datasets.save('x', small(0)), 'at least one row');
  });

  test('list and delete', async () => {
    const datasets = store();
    await datasets.save('b', small(3));
    await datasets.save('a', small(4), { chunkRows: 2 });
    assert.deepEqual((await datasets.list()).map((m) => [m.name, m.rows]), [['a', 4], ['b', 3]]);
    assert.equal(await datasets.delete('a'), true);
    assert.equal(await datasets.delete('a'), false);
    assert.deepEqual((await datasets.list()).map((m) => m.name), ['b']);
    const keys = await fixture.redis().keys(`${fixture.prefix()}:{ds:a}*`);
    assert.deepEqual(keys, []);
  });
});
