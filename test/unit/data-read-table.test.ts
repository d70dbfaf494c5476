import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../../shared/contracts/errors.js';
import { encodeIdx } from '../../shared/data/idx.js';
import { formatOf, readTable } from '../../shared/data/read-table.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-data-table-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, content: string | Uint8Array, gzip = false): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, gzip ? gzipSync(content) : content);
  return path;
}

async function rejectsInput(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
    for (const part of parts) assert.ok(err.message.includes(part), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

test('formatOf maps file names to formats, ignoring .gz and case', () => {
  const cases: [string, string | undefined][] = [
    ['a.csv', 'csv'],
    ['a.CSV.GZ', 'csv'],
    ['a.tsv', 'csv'],
    ['dir.v2/a.txt', 'csv'],
    ['a.ndjson', 'ndjson'],
    ['a.jsonl.gz', 'ndjson'],
    ['train-images-idx3-ubyte.gz', 'idx'],
    ['t10k-labels-idx1-ubyte', 'idx'],
    ['train-images.idx3-ubyte', 'idx'],
    ['a.json', undefined],
    ['a.parquet', undefined],
  ];
  for (const [name, format] of cases) assert.equal(formatOf(name), format, name);
});

test('readTable dispatches CSV (gz, tsv), NDJSON and IDX to their readers', async () => {
  const csv = await readTable('data/digits.csv.gz', { idColumn: 'id', labelColumn: 'label' });
  assert.deepEqual([csv.rows, csv.width, new Set(csv.labels).size], [1797, 64, 10]);
  const tsv = await readTable(await fixture('t.tsv', 'a\tb\n1\t2\n'));
  assert.deepEqual(Array.from(tsv.values), [1, 2]);
  const nd = await readTable(await fixture('n.jsonl.gz', '{"id":"x","v":3}\n', true), { idColumn: 'id' });
  assert.deepEqual(nd.ids, ['x']);
  const images = await fixture('set-images-idx3-ubyte.gz', encodeIdx({ dims: [2, 1, 2], data: Uint8Array.from([0, 255, 255, 0]) }), true);
  const plain = await readTable(images);
  assert.equal(plain.labels, undefined);
  assert.deepEqual(Array.from(plain.values), [0, 1, 1, 0]);
  await fixture('set-labels-idx1-ubyte.gz', encodeIdx({ dims: [2], data: Uint8Array.from([3, 4]) }), true);
  const paired = await readTable(images);
  assert.deepEqual(paired.labels, ['3', '4']);
  const other = await fixture('other-idx1-ubyte', encodeIdx({ dims: [2], data: Uint8Array.from([5, 6]) }));
  const explicit = await readTable(images, { labelsFile: other, scale: 1 });
  assert.deepEqual(explicit.labels, ['5', '6']);
  assert.deepEqual(Array.from(explicit.values), [0, 255, 255, 0]);
});

test('format overrides the file name; unknown names and options that do not apply are input errors', async () => {
  const data = await fixture('data.dat', 'x;y\n1;2\n');
  await rejectsInput(readTable(data), 'data.dat', 'unknown file type');
  const t = await readTable(data, { format: 'csv' });
  assert.deepEqual(t.features, ['x', 'y']);
  await rejectsInput(readTable(data, { format: 'xml' as 'csv' }), 'field "format"', 'value "xml"');
  const nd = await fixture('o.ndjson', '{"v":1}\n');
  await rejectsInput(readTable(nd, { delimiter: ';' }), 'field "delimiter"', 'does not apply to ndjson');
  assert.equal((await readTable(nd, { header: true })).rows, 1);
  await rejectsInput(readTable(await fixture('x-images-idx3-ubyte', encodeIdx({ dims: [1, 1], data: Uint8Array.from([1]) })), { labelColumn: 'label' }), 'field "labelColumn"', 'does not apply to idx');
});
