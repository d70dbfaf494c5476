// The stream wire format: an `id` and `values` (JSON or comma-separated) or one field per feature.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDecimal } from '../../shared/data/number.js';
import { fieldMap, parseEntry, type ParsedEntry } from '../../shared/stream/entries.js';

const features = ['a', 'b', 'c'];

function values(parsed: ParsedEntry): number[] {
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return [...parsed.record.values];
}

function reason(parsed: ParsedEntry): string {
  assert.ok(!parsed.ok, 'expected a malformed entry');
  return parsed.reason;
}

test('values as a JSON array, as comma-separated numbers, or as named fields in any order', () => {
  assert.deepEqual(values(parseEntry(['id', 'r1', 'values', '[1, 2.5, -3e-1]'], features)), [1, 2.5, Math.fround(-0.3)]);
  assert.deepEqual(values(parseEntry(['id', 'r1', 'values', ' 1, 2.5 ,-0.3 '], features)), [1, 2.5, Math.fround(-0.3)]);
  const named = parseEntry(['c', '3', 'ts', '1700000000000', 'id', 'r2', 'a', '1', 'b', '.5', 'extra', 'x'], features);
  assert.deepEqual(values(named), [1, 0.5, 3]);
  assert.ok(named.ok && named.record.id === 'r2');
});

test('`values` wins over named fields; extra fields are ignored', () => {
  assert.deepEqual(values(parseEntry(['id', 'r', 'values', '7,8,9', 'a', 'x'], features)), [7, 8, 9]);
  assert.deepEqual(values(parseEntry(['id', 'r', 'values', '[7,"8",9]'], features)), [7, 8, 9], 'numeric strings in a JSON array are accepted');
});

test('malformed entries: the reason names the field and the value', () => {
  assert.match(reason(parseEntry(['values', '1,2,3'], features)), /missing field "id"/);
  assert.match(reason(parseEntry(['id', ' ', 'values', '1,2,3'], features)), /field "id" is empty/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,2'], features)), /field "values" has 2 numbers, the model expects 3/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1,2,3,4]'], features)), /has 4 numbers, the model expects 3/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,abc,3'], features)), /field "values" item 2 \(b\): value "abc" is not a decimal number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,,3'], features)), /item 2 \(b\): value "" is empty, expected a number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,2,NaN'], features)), /item 3 \(c\): value "NaN" is not a finite number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,2,-Infinity'], features)), /value "-Infinity" is not a finite number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,2,1e999'], features)), /value "1e999" is beyond the Float32 range/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1,"x",3]'], features)), /item 2 \(b\): value "x" is not a decimal number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '1,2,1e39'], features)), /value "1e39" is beyond the Float32 range/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1,{"v":2},3]'], features)), /item 2 \(b\): value "{\\"v\\":2}" is not a number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1,null,3]'], features)), /item 2 \(b\): value "null" is not a number/);
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1,2'], features)), /field "values" is not valid JSON: "\[1,2"/);
  assert.match(reason(parseEntry(['id', 'r', 'values', ''], features)), /field "values" is empty/);
  assert.match(reason(parseEntry(['id', 'r', 'a', '1', 'c', '3'], features)), /missing feature field "b"/);
  assert.match(reason(parseEntry(['id', 'r', 'a', '1', 'b', '0x10', 'c', '3'], features)), /field "b": value "0x10" is not a decimal number/);
  assert.match(reason(parseEntry(['id', 'r', 'a', '1', 'b', 'nan', 'c', '3'], features)), /field "b": value "nan" is not a finite number/);
});

test('numbers are decimal only: hex, binary, octal, Infinity and overflow are refused with the reason', () => {
  for (const [text, value] of [['1e-3', 0.001], ['.5', 0.5], ['-2.', -2], ['+3E+2', 300], [' 7 ', 7], ['-0', -0], ['00012.50', 12.5], ['1e-400', 0]] as const) {
    assert.equal(parseDecimal(text), value, text);
  }
  for (const text of ['0x10', '0X1f', '0b101', '-0o17']) assert.equal(parseDecimal(text), 'not a decimal number', text);
  for (const text of ['Infinity', '-inf', 'NaN']) assert.equal(parseDecimal(text), 'not a finite number', text);
  assert.equal(parseDecimal('1e400'), 'beyond the Float32 range');
  assert.equal(parseDecimal('3.5e38'), 'beyond the Float32 range');
  assert.equal(parseDecimal(' '), 'empty, expected a number');
  for (const text of ['.', '-', '+.', 'e5', '1e', '1e+', '1.2.3', '1 2', '1_000', '--1', '1e5.5', '١٢']) assert.equal(parseDecimal(text), 'not a decimal number', text);
  assert.match(reason(parseEntry(['id', 'r', 'a', '1', 'b', '0b11', 'c', '3'], features)), /field "b": value "0b11" is not a decimal number/);
  assert.deepEqual(values(parseEntry(['id', 'r', 'values', '[1e-3, 0.5, "-2."]'], features)), [0.001, 0.5, -2].map(Math.fround));
  assert.match(reason(parseEntry(['id', 'r', 'values', '[1, 1e400, 3]'], features)), /item 2 \(b\): value "1e400" is beyond the Float32 range/);
});

test('the number grammar is linear: pathological digit runs are judged at once', { timeout: 10_000 }, () => {
  // The old backtracking pattern took seconds on 40,000 characters and grew with the square of the length.
  const digits = '1'.repeat(2_000_000);
  assert.equal(parseDecimal(`${digits}x`), 'not a decimal number');
  assert.equal(parseDecimal(`${digits}.${digits}e${digits}x`), 'not a decimal number');
  assert.equal(parseDecimal(`0.${'0'.repeat(2_000_000)}1`), 0, 'a long decimal within the grammar is a number');
  // Within the 64-byte cap of one number: a 63-character near miss, and a long run of leading zeros.
  const features64 = ['a'];
  assert.match(reason(parseEntry(['id', 'r', 'values', `${'9'.repeat(62)}x`], features64)), /item 1 \(a\): value "9{60}…" is not a decimal number/);
  assert.match(reason(parseEntry(['id', 'r', 'a', `${'9'.repeat(62)}.`], features64)), /field "a": value "9{60}…" is beyond the Float32 range/);
  assert.deepEqual(values(parseEntry(['id', 'r', 'a', `${'0'.repeat(62)}7`], features64)), [7], 'a long digit run in a named field');
});

test('fieldMap keeps the first occurrence of a repeated field', () => {
  assert.deepEqual([...fieldMap(['id', '1', 'id', '2', 'x'])], [['id', '1']]);
});
