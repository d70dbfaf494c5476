// Size caps of stream entries (shared/contracts/limits.ts), checked before parsing, and the bounded dead-letter copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxEntryBytes, maxStreamFields, maxValuesBytes, STREAM_LIMITS } from '../../shared/contracts/limits.js';
import { cutUtf8, deadLetterCopy, parseEntry } from '../../shared/stream/entries.js';

const features = Array.from({ length: 64 }, (_, j) => `f${j}`);
const row = features.map((_, j) => (j / 7).toFixed(3));

function reason(flat: string[]): string {
  const parsed = parseEntry(flat, features);
  assert.ok(!parsed.ok, 'expected a refused entry');
  return parsed.reason;
}

function accepted(flat: string[]): number[] {
  const parsed = parseEntry(flat, features);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return [...parsed.record.values];
}

test('a 150,000-digit `values` item is refused at once by the size cap, naming the field, its size and the limit', { timeout: 5000 }, () => {
  assert.equal(maxValuesBytes(64), 2816);
  // The old backtracking number pattern blocked the event loop for ~44 s on this item.
  const values = [...row.slice(1), `${'1'.repeat(150_000)}x`].join(',');
  assert.equal(reason(['id', 'r', 'values', values]), `field "values" is ${values.length} bytes, the limit for this model's 64 features is 2816 bytes`);
  const tenMb = 'x'.repeat(10 << 20);
  assert.equal(reason(['id', 'r', 'values', tenMb]), 'field "values" is 10485760 bytes, the limit for this model\'s 64 features is 2816 bytes');
});

test('per-field caps: id, each number (named, comma-separated or in a JSON array), in bytes of UTF-8', () => {
  assert.equal(reason(['id', 'x'.repeat(10 << 20), 'values', row.join(',')]), 'field "id" is 10485760 bytes, the limit is 512 bytes');
  assert.equal(reason(['id', 'é'.repeat(257), 'values', row.join(',')]), 'field "id" is 514 bytes, the limit is 512 bytes');
  assert.equal(accepted(['id', 'é'.repeat(256), 'values', row.join(',')]).length, 64);

  const long = `0.${'1'.repeat(STREAM_LIMITS.numberBytes - 1)}`;
  const cells = [...row];
  cells[5] = long;
  assert.equal(reason(['id', 'r', 'values', cells.join(',')]), 'field "values" item 6 (f5) is 65 bytes, the limit for one number is 64 bytes');
  assert.equal(reason(['id', 'r', 'values', `[${cells.join(',')}]`]), 'field "values" item 6 (f5) is 65 bytes, the limit for one number is 64 bytes');
  assert.equal(reason(['id', 'r', 'values', JSON.stringify(cells)]), 'field "values" item 6 (f5) is 65 bytes, the limit for one number is 64 bytes');
  cells[5] = long.slice(0, -1);
  assert.equal(accepted(['id', 'r', 'values', `[${cells.join(',')}]`])[5], Math.fround(Number(long.slice(0, -1))));

  const named = features.flatMap((f, j) => [f, row[j]]);
  named[11] = '1'.repeat(100_000);
  assert.equal(reason(['id', 'r', ...named]), 'field "f5" is 100000 bytes, the limit for one number is 64 bytes');
});

test('per-entry caps: fields and total bytes (extra fields count too)', () => {
  assert.equal(maxStreamFields(64), 128);
  const extra = (n: number) => Array.from({ length: n }, (_, i) => [`x${i}`, '1']).flat();
  assert.equal(accepted(['id', 'r', 'values', row.join(','), ...extra(126)]).length, 64);
  assert.equal(reason(['id', 'r', 'values', row.join(','), ...extra(127)]), 'the entry has 129 fields, the limit for this model\'s 64 features is 128');
  assert.equal(reason(Array.from({ length: 2_000_000 }, (_, i) => String(i))), 'the entry has 1000000 fields, the limit for this model\'s 64 features is 128');

  const limit = maxEntryBytes(64);
  const big = 'y'.repeat(limit);
  assert.equal(reason(['id', 'r', 'values', row.join(','), 'ts', big]),
    `the entry is ${limit + 2 + 1 + 6 + Buffer.byteLength(row.join(',')) + 2} bytes, the limit for this model's 64 features is ${limit} bytes (its largest field, "ts", is ${limit + 2} bytes)`);
});

test('dead-letter copies: small entries whole; large ones cut to 32 fields of 256 bytes with a `truncated` note', () => {
  const small = ['id', 'r', 'values', '1,2', 'ts', '17'];
  assert.deepEqual(deadLetterCopy('5-0', 'field "values" has 2 numbers', small), ['reason', 'field "values" has 2 numbers', 'entry', '5-0', ...small]);

  const fields = Array.from({ length: 2_000_000 }, (_, i) => `v${i}`);
  const copy = deadLetterCopy('6-0', 'the entry has 1000000 fields', fields);
  let bytes = 0;
  for (const f of fields) bytes += Buffer.byteLength(f);
  assert.deepEqual(copy.slice(0, 6), ['reason', 'the entry has 1000000 fields', 'entry', '6-0', 'truncated', `1000000 fields, ${bytes} bytes; kept 32 fields of at most 256 bytes`]);
  assert.deepEqual(copy.slice(6), fields.slice(0, 64));

  const huge = deadLetterCopy('7-0', 'r'.repeat(5000), ['id', 'r', 'values', '€'.repeat(10 << 20)]);
  assert.deepEqual(huge.slice(0, 6), ['reason', 'r'.repeat(512), 'entry', '7-0', 'truncated', `2 fields, ${3 * (10 << 20) + 9} bytes; kept 2 fields of at most 256 bytes`]);
  assert.deepEqual(huge.slice(6, 9), ['id', 'r', 'values']);
  assert.equal(huge[9], '€'.repeat(85), 'cut on a character boundary: 85 × 3 bytes');
});

test('cutUtf8 never splits a character', () => {
  assert.equal(cutUtf8('abc', 2), 'ab');
  assert.equal(cutUtf8('aé', 2), 'a');
  assert.equal(cutUtf8('a😀b', 4), 'a');
  assert.equal(cutUtf8('a😀b', 5), 'a😀');
  assert.equal(cutUtf8('short', 256), 'short');
});
