import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readNdjson } from '../../shared/data/ndjson.js';
import { rejectsInput } from '../helpers/assertions.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-data-ndjson-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
/** Writes the lines (gzip-compressed when `gzip`) to a new file in the temp dir and returns its path. */
async function fixture(lines: string[], gzip = false, ext = '.ndjson'): Promise<string> {
  const path = join(dir, `f${counter++}${ext}${gzip ? '.gz' : ''}`);
  const text = lines.join('\n') + '\n';
  await writeFile(path, gzip ? gzipSync(text) : text);
  return path;
}

test('named fields: features from the first record in key order, id and label excluded', async () => {
  const path = await fixture([
    '{"id":"u1","b":1,"a":2.5,"label":"cat"}',
    '',
    '{"a":-1,"b":3e2,"label":7,"id":42,"extra":"ignored"}',
  ]);
  const t = await readNdjson(path, { idColumn: 'id', labelColumn: 'label' });
  assert.deepEqual(t.features, ['b', 'a']);
  assert.deepEqual(t.ids, ['u1', '42']);
  assert.deepEqual(t.labels, ['cat', '7']);
  assert.deepEqual(Array.from(t.values), [1, 2.5, 300, -1]);
  assert.equal(t.rows, 2);
  const restricted = await readNdjson(path, { idColumn: 'id', columns: ['a'] });
  assert.deepEqual(restricted.features, ['a']);
  assert.deepEqual(Array.from(restricted.values), [2.5, -1]);
});

test('a values array: features v0..vN-1, ids default to row numbers, columns picks by v-name', async () => {
  const path = await fixture(['{"values":[1,2,3],"label":"a"}', '{"values":[4,5,6],"label":"b"}']);
  const t = await readNdjson(path, { labelColumn: 'label' });
  assert.deepEqual(t.features, ['v0', 'v1', 'v2']);
  assert.deepEqual(t.ids, ['0', '1']);
  assert.deepEqual(Array.from(t.values), [1, 2, 3, 4, 5, 6]);
  const picked = await readNdjson(path, { columns: ['v2', 'v0'] });
  assert.deepEqual(Array.from(picked.values), [3, 1, 6, 4]);
});

test('reads gzip-compressed .jsonl.gz', async () => {
  const t = await readNdjson(await fixture(['{"x":1}', '{"x":2}'], true, '.jsonl'));
  assert.deepEqual(Array.from(t.values), [1, 2]);
});

test('a bad feature value names file, line, row, field and value', async () => {
  const path = await fixture(['{"id":"a","x":1,"y":2}', '', '{"id":"b","x":"3","y":2}']);
  const err = await rejectsInput(readNdjson(path, { idColumn: 'id' }), path, 'line 3', 'row 1', 'field "x"', 'value "3"', 'found a string');
  assert.deepEqual({ ...err.where }, { source: path, line: 3, row: 1, field: 'x', value: '3' });
  await rejectsInput(readNdjson(await fixture(['{"x":1}', '{"x":null}'])), 'line 2', 'field "x"', 'value "null"', 'found null');
  await rejectsInput(readNdjson(await fixture(['{"x":1}', '{"x":1e999}'])), 'line 2', 'field "x"', 'value "Infinity"', 'beyond the Float32 range');
  await rejectsInput(readNdjson(await fixture(['{"x":1}', '{"x":-3.5e38}'])), 'line 2', 'field "x"', 'value "-3.5e+38"', 'beyond the Float32 range');
  await rejectsInput(readNdjson(await fixture(['{"values":[1,2]}', '{"values":[1,4e38]}'])), 'line 2', 'field "values[1]"', 'beyond the Float32 range');
  await rejectsInput(readNdjson(await fixture(['{"x":1,"y":1}', '{"y":2}'])), 'line 2', 'row 1', 'field "x"', 'missing field');
  await rejectsInput(readNdjson(await fixture(['{"x":1,"name":"n"}'])), 'line 1', 'field "name"', 'value "n"');
});

test('values arrays: wrong length or a bad element name the line and position', async () => {
  await rejectsInput(readNdjson(await fixture(['{"values":[1,2]}', '{"values":[1,2,3]}'])), 'line 2', 'field "values"', 'expected 2 values, found 3');
  await rejectsInput(readNdjson(await fixture(['{"values":[1,2]}', '{"values":[1,"NaN"]}'])), 'line 2', 'field "values[1]"', 'value "NaN"');
  await rejectsInput(readNdjson(await fixture(['{"values":[1,2]}', '{"values":{"a":1}}'])), 'line 2', 'field "values"', 'found an object');
});

test('invalid JSON and non-object lines name the line', async () => {
  await rejectsInput(readNdjson(await fixture(['{"x":1}', '{"x":2', '{"x":3}'])), 'line 2', 'row 1', 'not valid JSON');
  await rejectsInput(readNdjson(await fixture(['[1,2]'])), 'line 1', 'expected a JSON object');
});

test('ids and labels: unknown field lists the available ones; missing, empty and duplicate ids are errors', async () => {
  const path = await fixture(['{"id":"a","x":1,"label":"p"}', '{"id":"b","x":2,"label":"q"}']);
  await rejectsInput(readNdjson(path, { labelColumn: 'class' }), 'field "labelColumn"', 'value "class"', 'available fields: id, x, label');
  await rejectsInput(readNdjson(await fixture(['{"id":"a","x":1}', '{"x":2}']), { idColumn: 'id' }), 'line 2', 'field "id"', 'missing field');
  await rejectsInput(readNdjson(await fixture(['{"id":"a","x":1}', '{"id":"","x":2}']), { idColumn: 'id' }), 'line 2', 'field "id"', 'non-empty string');
  const dup = await rejectsInput(readNdjson(await fixture(['{"id":7,"x":1}', '{"id":8,"x":1}', '{"id":7,"x":1}']), { idColumn: 'id' }), 'line 3', 'first seen on line 1', 'value "7"');
  assert.equal(dup.where.column, 'id');
});

test('an empty or blank file is a clear error; a file of only id and label has no features', async () => {
  await rejectsInput(readNdjson(await fixture([''])), 'empty file');
  await rejectsInput(readNdjson(await fixture(['{"id":1,"label":2}']), { idColumn: 'id', labelColumn: 'label' }), 'no feature columns');
  await rejectsInput(readNdjson(join(dir, 'nope.ndjson')), 'nope.ndjson', 'file not found');
});
