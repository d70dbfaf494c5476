import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCsv } from '../../shared/data/csv.js';
import { rejectsInput } from '../helpers/assertions.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-data-csv-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` (gzip-compressed when `gzip`) to a new file in the temp dir and returns its path. */
async function fixture(name: string, text: string, gzip = false): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, gzip ? gzipSync(text) : text);
  return path;
}

test('reads the shipped digits.csv.gz: 1797 × 64, ten labels', async () => {
  const t = await readCsv('data/digits.csv.gz', { idColumn: 'id', labelColumn: 'label' });
  assert.equal(t.rows, 1797);
  assert.equal(t.width, 64);
  assert.equal(t.values.length, 1797 * 64);
  assert.deepEqual(t.features.slice(0, 2), ['px0', 'px1']);
  assert.ok(!t.features.includes('id') && !t.features.includes('label'));
  assert.equal(new Set(t.labels).size, 10);
  assert.deepEqual(t.ids.slice(0, 3), ['0', '1', '2']);
  assert.deepEqual(Array.from(t.values.subarray(0, 8)), [0, 0, 5, 13, 9, 1, 0, 0]);
  assert.equal(t.labels?.[1], '1');
  assert.equal(t.source, 'data/digits.csv.gz');
});

test('reads the shipped breast_cancer.csv: 569 × 30, 357 benign / 212 malignant', async () => {
  const t = await readCsv('data/breast_cancer.csv', { idColumn: 'id', labelColumn: 'label' });
  assert.equal(t.rows, 569);
  assert.equal(t.width, 30);
  assert.equal(t.features[0], 'mean_radius');
  const counts = new Map<string, number>();
  for (const l of t.labels!) counts.set(l, (counts.get(l) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(counts), { malignant: 212, benign: 357 });
  assert.ok(Math.abs(t.values[0] - 17.99) < 1e-5);
  assert.ok(Math.abs(t.values[1] - 10.38) < 1e-5);
});

test('without id and label columns: ids are row numbers, every column is a feature, no labels', async () => {
  const t = await readCsv(await fixture('plain.csv', 'a,b\n1,2\n3,4\n'));
  assert.deepEqual(t.ids, ['0', '1']);
  assert.deepEqual(t.features, ['a', 'b']);
  assert.equal(t.labels, undefined);
  assert.deepEqual(Array.from(t.values), [1, 2, 3, 4]);
});

test('detects ; and tab delimiters from the header; an explicit delimiter wins', async () => {
  const semi = await readCsv(await fixture('semi.csv', 'id;x;y\na;1.5;2\nb;3;-4e2\n'), { idColumn: 'id' });
  assert.deepEqual(semi.features, ['x', 'y']);
  assert.deepEqual(Array.from(semi.values), [1.5, 2, 3, -400]);
  const tab = await readCsv(await fixture('tab.tsv', 'x\ty\tlabel\n1\t2\tcat\n'), { labelColumn: 'label' });
  assert.deepEqual(tab.labels, ['cat']);
  assert.deepEqual(Array.from(tab.values), [1, 2]);
  const quotedCommas = await readCsv(await fixture('quoted.csv', '"a,b";c;d\n1;2;3\n'));
  assert.deepEqual(quotedCommas.features, ['a,b', 'c', 'd']);
  const explicit = await readCsv(await fixture('pipe.csv', 'x|y\n1|2\n'), { delimiter: '|' });
  assert.deepEqual(explicit.features, ['x', 'y']);
});

test('without a header: columns c1..cN, id and label by 1-based number', async () => {
  const path = await fixture('nohead.csv', 'r1,0.5,0.25,yes\nr2,1,2,no\n');
  const t = await readCsv(path, { header: false, idColumn: '1', labelColumn: '4' });
  assert.deepEqual(t.features, ['c2', 'c3']);
  assert.deepEqual(t.ids, ['r1', 'r2']);
  assert.deepEqual(t.labels, ['yes', 'no']);
  assert.deepEqual(Array.from(t.values), [0.5, 0.25, 1, 2]);
  const byName = await readCsv(path, { header: false, idColumn: 'c1', labelColumn: 'c4' });
  assert.deepEqual(byName.ids, ['r1', 'r2']);
});

test('columns restricts the features to those listed, in that order', async () => {
  const t = await readCsv(await fixture('cols.csv', 'id,a,b,c,label\nx,1,2,3,L\n'), { idColumn: 'id', labelColumn: 'label', columns: ['c', 'a'] });
  assert.deepEqual(t.features, ['c', 'a']);
  assert.deepEqual(Array.from(t.values), [3, 1]);
  await rejectsInput(readCsv(await fixture('cols2.csv', 'id,a,label\nx,1,L\n'), { idColumn: 'id', labelColumn: 'label', columns: ['label'] }), 'label', 'cannot also be a feature');
  await rejectsInput(readCsv(await fixture('cols3.csv', 'a,b\n1,2\n'), { columns: ['zz'] }), 'field "columns"', 'value "zz"', 'available columns: a, b');
});

test('reads gzip by .gz suffix and by magic bytes', async () => {
  const text = 'id,v,label\np,1,A\nq,2,B\n';
  const bySuffix = await readCsv(await fixture('z.csv.gz', text, true), { idColumn: 'id', labelColumn: 'label' });
  const byMagic = await readCsv(await fixture('z-magic.csv', text, true), { idColumn: 'id', labelColumn: 'label' });
  for (const t of [bySuffix, byMagic]) {
    assert.deepEqual(t.ids, ['p', 'q']);
    assert.deepEqual(Array.from(t.values), [1, 2]);
  }
  await rejectsInput(readCsv(await fixture('bad.csv.gz', 'not gzip at all\n')), 'bad.csv.gz', 'gzip');
});

test('skips blank lines, handles CRLF, a BOM and quoted line breaks while keeping physical line numbers', async () => {
  const text = '\ufeffid,note,v\r\n\r\na,"two\r\nlines",1\r\nb,x,2\r\n\r\nc,y,oops\r\n';
  const path = await fixture('crlf.csv', text);
  const err = await rejectsInput(readCsv(path, { idColumn: 'id', columns: ['v'] }), 'crlf.csv', 'line 7', 'row 2', 'column "v"', 'value "oops"');
  assert.equal(err.where.line, 7);
  assert.equal(err.where.row, 2);
  const ok = await readCsv(await fixture('crlf-ok.csv', text.replace('oops', '3')), { idColumn: 'id', columns: ['v'] });
  assert.deepEqual(ok.ids, ['a', 'b', 'c']);
  assert.deepEqual(Array.from(ok.values), [1, 2, 3]);
});

for (const [cell, problem] of [
  ['abc', 'not a decimal number'],
  ['0x10', 'not a decimal number'],
  ['0b11', 'not a decimal number'],
  ['0o7', 'not a decimal number'],
  ['1_000', 'not a decimal number'],
  ['1e', 'not a decimal number'],
  ['--1', 'not a decimal number'],
  ['NaN', 'not a finite number'],
  ['Infinity', 'not a finite number'],
  ['-Infinity', 'not a finite number'],
  ['1e309', 'beyond the Float32 range'],
  ['1e999', 'beyond the Float32 range'],
  ['3.5e38', 'beyond the Float32 range'],
  ['-3.5e38', 'beyond the Float32 range'],
  ['', 'empty, expected a number'],
  ['  ', 'empty, expected a number'],
] as const) {
  test(`a feature cell ${JSON.stringify(cell)} is an error naming file, line, row, column and value`, async () => {
    const path = await fixture(`cell-${encodeURIComponent(cell.trim()) || 'empty'}-${cell.length}.csv`, `id,x,y\nr0,1,2\nr1,3,${cell}\n`);
    const err = await rejectsInput(readCsv(path, { idColumn: 'id' }), `${path}, line 3, row 1, column "y", value ${JSON.stringify(cell)}: ${problem}`);
    assert.deepEqual({ ...err.where }, { source: path, line: 3, row: 1, column: 'y', value: cell });
  });
}

test('decimal numbers in every spelling are read, and Float32 extremes are kept', async () => {
  const path = await fixture('decimals.csv', 'x\n12\n-1.5\n.5\n2.\n+3E+2\n3e-2\n 7 \n3.4e38\n-3.4e38\n1e-50\n');
  const t = await readCsv(path);
  assert.deepEqual(Array.from(t.values), [12, -1.5, 0.5, 2, 300, Math.fround(0.03), 7, Math.fround(3.4e38), Math.fround(-3.4e38), 0]);
});

test('a row with the wrong number of cells names the line, expected and found counts', async () => {
  const path = await fixture('ragged.csv', 'a,b,c\n1,2,3\n4,5\n');
  const err = await rejectsInput(readCsv(path), path, 'line 3', 'expected 3 cells, found 2');
  assert.equal(err.where.line, 3);
  await rejectsInput(readCsv(await fixture('ragged2.csv', 'a,b\n1,2,\n')), 'line 2', 'expected 2 cells, found 3');
});

test('an unknown id or label column lists the available columns', async () => {
  const path = await fixture('cols-unknown.csv', 'id,a,b,label\nx,1,2,y\n');
  await rejectsInput(readCsv(path, { idColumn: 'ident' }), path, 'field "idColumn"', 'value "ident"', 'available columns: id, a, b, label');
  await rejectsInput(readCsv(path, { labelColumn: 'class' }), 'field "labelColumn"', 'value "class"', 'available columns: id, a, b, label');
  await rejectsInput(readCsv(path, { labelColumn: '9' }), 'value "9"', 'available columns');
  await rejectsInput(readCsv(path, { idColumn: 'id', labelColumn: 'id' }), 'must differ');
});

test('an empty file, a blank file and a header-only file are clear errors', async () => {
  await rejectsInput(readCsv(await fixture('empty.csv', '')), 'empty.csv', 'empty file');
  await rejectsInput(readCsv(await fixture('blank.csv', '\n\n  \n')), 'blank.csv', 'empty file');
  await rejectsInput(readCsv(await fixture('head.csv', 'a,b,c\n')), 'head.csv', 'no data rows');
  await rejectsInput(readCsv(await fixture('head.csv.gz', 'a,b\n', true)), 'no data rows');
  await rejectsInput(readCsv(await fixture('only-id.csv', 'id,label\n1,2\n'), { idColumn: 'id', labelColumn: 'label' }), 'no feature columns');
});

test('duplicate ids name both lines', async () => {
  const path = await fixture('dup.csv', 'id,v\na,1\nb,2\na,3\n');
  const err = await rejectsInput(readCsv(path, { idColumn: 'id' }), path, 'line 4', 'first seen on line 2', 'column "id"', 'value "a"', 'duplicate id');
  assert.equal(err.where.row, 2);
});

test('empty ids and labels, duplicate header names, a missing file and bad quoting are input errors', async () => {
  await rejectsInput(readCsv(await fixture('noid.csv', 'id,v\n,1\n'), { idColumn: 'id' }), 'line 2', 'column "id"', 'empty id');
  await rejectsInput(readCsv(await fixture('nolabel.csv', 'v,label\n1, \n'), { labelColumn: 'label' }), 'line 2', 'column "label"', 'empty label');
  await rejectsInput(readCsv(await fixture('duphead.csv', 'a,b,a\n1,2,3\n')), 'line 1', 'column "a"', 'duplicate column name');
  await rejectsInput(readCsv(join(dir, 'missing.csv')), 'missing.csv', 'file not found');
  const quote = await rejectsInput(readCsv(await fixture('quote.csv', 'a,b\n1,"2\n')), 'quote.csv');
  assert.ok(quote.cause !== undefined);
});

test('streams a generated 200k-row file into a Float32Array', { timeout: 120_000 }, async () => {
  const rows = 200_000;
  const plainPath = join(dir, 'big.csv');
  const out = createWriteStream(plainPath);
  out.write('id,a,b,c,d,e,f,g,h,label\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += `${i},${i * 0.5},${(i % 97) / 8},1.25,-3,${i % 13},0.001,42,7e-3,${i % 3}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  const t = await readCsv(plainPath, { idColumn: 'id', labelColumn: 'label' });
  assert.equal(t.rows, rows);
  assert.equal(t.width, 8);
  assert.equal(t.values.length, rows * 8);
  assert.equal(t.ids[rows - 1], String(rows - 1));
  assert.equal(t.labels![rows - 1], String((rows - 1) % 3));
  assert.equal(t.values[(rows - 1) * 8], (rows - 1) * 0.5);
  assert.equal(t.values[5 * 8 + 1], 5 / 8);
  const path = join(dir, 'big.csv.gz');
  await writeFile(path, gzipSync(await readFile(plainPath)));
  const gz = await readCsv(path, { idColumn: 'id', labelColumn: 'label' });
  assert.equal(gz.rows, rows);
  assert.deepEqual(gz.values.subarray(-8), t.values.subarray(-8));
});
