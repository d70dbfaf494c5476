/**
 * The wire format of a source stream entry, parsed without I/O. An entry is a flat list of string fields (what any
 * Redis client's XADD writes):
 * - `id`: the record id (required, non-empty, at most STREAM_LIMITS.idBytes; the idempotency key of every result:
 *   codes, errors and alerts are keyed by it, so it must be unique per record, e.g. `sensor-17:1700000000123`);
 * - either `values`: the model's features in training order, as a JSON array of numbers (`[1.5, 2, 3e-2]`) or
 *   comma-separated numbers (`1.5,2,3e-2`);
 * - or one field per feature named as in the model's schema (any order).
 * Every other field (e.g. `ts`) is ignored. Numbers are decimal (`12`, `-1.5`, `.5`, `2.`, `+3E+2`; no hex, binary or
 * octal) and finite in Float32 (no NaN, Infinity, empty cells, |x| ≥ 3.4e38); inside a JSON array, numeric strings
 * (`"1.5"`) are accepted too.
 *
 * Sizes are checked before anything is parsed (shared/contracts/limits.ts): fields per entry, bytes of the `id`, of
 * `values`, of each number and of the whole entry; a reason names the field, its size and the limit.
 */
import { maxEntryBytes, maxStreamFields, maxValuesBytes, STREAM_LIMITS } from '../contracts/limits.js';
import { parseDecimal } from '../data/number.js';

/** A well-formed record. */
export interface StreamRecord {
  id: string;
  values: Float32Array;
}

export type ParsedEntry = { ok: true; record: StreamRecord } | { ok: false; reason: string };

/** Field name → value of a flat `[name, value, name, value, ...]` list (the first occurrence of a name wins). */
export function fieldMap(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) if (!fields.has(flat[i])) fields.set(flat[i], flat[i + 1]);
  return fields;
}

/** Parses one entry's fields against the model's feature names; a reason naming the field and value otherwise. */
export function parseEntry(flat: readonly string[], features: readonly string[]): ParsedEntry {
  const width = features.length;
  const count = Math.ceil(flat.length / 2);
  if (count > maxStreamFields(width)) return fail(`the entry has ${count} fields, the limit for this model's ${width} features is ${maxStreamFields(width)}`);
  const fields = fieldMap(flat);
  const refused = checkSizes(flat, fields, features);
  if (refused !== undefined) return fail(refused);
  const id = fields.get('id')!;
  const values = new Float32Array(width);
  const text = fields.get('values');
  if (text !== undefined) {
    const items = splitValues(text);
    if (typeof items === 'string') return fail(items);
    if (items.length !== width) return fail(`field "values" has ${items.length} numbers, the model expects ${width} (${features.join(',')})`);
    for (let j = 0; j < width; j++) {
      const item = items[j];
      const size = typeof item === 'string' ? byteLength(item) : 0;
      if (size > STREAM_LIMITS.numberBytes) return fail(`field "values" item ${j + 1} (${features[j]}) is ${size} bytes, the limit for one number is ${STREAM_LIMITS.numberBytes} bytes`);
      const v = toNumber(item);
      if (typeof v === 'string') return fail(`field "values" item ${j + 1} (${features[j]}): ${v}`);
      values[j] = v;
    }
    return { ok: true, record: { id, values } };
  }
  for (let j = 0; j < width; j++) {
    const v = toNumber(fields.get(features[j])!);
    if (typeof v === 'string') return fail(`field "${features[j]}": ${v}`);
    values[j] = v;
  }
  return { ok: true, record: { id, values } };
}

/**
 * Why the entry is refused before any number is parsed: a missing or empty id, a missing feature field, a field
 * beyond its byte limit, or too many bytes in all; undefined when all is present and within the limits.
 */
function checkSizes(flat: readonly string[], fields: Map<string, string>, features: readonly string[]): string | undefined {
  const width = features.length;
  const model = `this model's ${width} features`;
  const id = fields.get('id');
  if (id === undefined) return 'missing field "id"';
  const idSize = byteLength(id);
  if (idSize > STREAM_LIMITS.idBytes) return `field "id" is ${idSize} bytes, the limit is ${STREAM_LIMITS.idBytes} bytes`;
  if (id.trim() === '') return 'field "id" is empty';
  const text = fields.get('values');
  if (text !== undefined) {
    const size = byteLength(text);
    if (size > maxValuesBytes(width)) return `field "values" is ${size} bytes, the limit for ${model} is ${maxValuesBytes(width)} bytes`;
  } else {
    for (const name of features) {
      const cell = fields.get(name);
      if (cell === undefined) return `missing feature field "${name}" (send every feature by name, or a "values" field with ${width} numbers)`;
      const size = byteLength(cell);
      if (size > STREAM_LIMITS.numberBytes) return `field "${name}" is ${size} bytes, the limit for one number is ${STREAM_LIMITS.numberBytes} bytes`;
    }
  }
  let total = 0;
  let largest = { name: '', bytes: -1 };
  for (let i = 0; i < flat.length; i += 2) {
    const bytes = byteLength(flat[i]) + byteLength(flat[i + 1] ?? '');
    total += bytes;
    if (bytes > largest.bytes) largest = { name: flat[i], bytes };
  }
  if (total > maxEntryBytes(width)) {
    return `the entry is ${total} bytes, the limit for ${model} is ${maxEntryBytes(width)} bytes (its largest field, ${quote(largest.name)}, is ${largest.bytes} bytes)`;
  }
  return undefined;
}

function fail(reason: string): ParsedEntry {
  return { ok: false, reason };
}

/**
 * JSON array items (each number item as its source text, so its size can be checked like a comma-separated cell),
 * or comma-separated cells; a reason when the JSON is malformed or not an array.
 */
function splitValues(text: string): unknown[] | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return `field "values" is not valid JSON: ${quote(text)}`;
    }
    if (!Array.isArray(parsed)) return `field "values" is not a JSON array: ${quote(text)}`;
    const sources = jsonItems(trimmed);
    return parsed.map((item: unknown, j) => (typeof item === 'number' ? sources[j] : item));
  }
  if (trimmed === '') return 'field "values" is empty';
  return trimmed.split(',');
}

/** The source text of each top-level item of a valid JSON array (one pass; strings and nested values skipped). */
function jsonItems(json: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth === 1) start = i + 1;
    } else if (c === ']' || c === '}') {
      if (--depth === 0) items.push(json.slice(start, i).trim());
    } else if (c === ',' && depth === 1) {
      items.push(json.slice(start, i).trim());
      start = i + 1;
    }
  }
  return items;
}

/** A finite number from a JSON number or a decimal string; otherwise why not. */
function toNumber(item: unknown): number | string {
  if (typeof item === 'number') return Number.isFinite(Math.fround(item)) ? item : `value ${quote(String(item))} is not a finite number`;
  if (typeof item !== 'string') return `value ${quote(JSON.stringify(item) ?? String(item))} is not a number`;
  return decimal(item);
}

/** A decimal number in the Float32 range (shared/data/number.ts, as data files are read), or why not, quoting it. */
function decimal(text: string): number | string {
  const v = parseDecimal(text);
  return typeof v === 'number' ? v : `value ${quote(text)} is ${v}`;
}

/**
 * The copy of a malformed entry for the dead-letter stream: `reason` (cut to STREAM_LIMITS.reasonBytes), `entry` (its
 * stream id), then its fields. An entry of at most `deadLetterFields` fields of at most `deadLetterValueBytes` each
 * (names and values) is copied whole; a larger one gets a `truncated` field right after `entry` saying what was cut,
 * then its first `deadLetterFields` fields, each name and value cut to `deadLetterValueBytes` (on a UTF-8 boundary).
 */
export function deadLetterCopy(entry: string, reason: string, flat: readonly string[]): string[] {
  const { deadLetterFields, deadLetterValueBytes, reasonBytes } = STREAM_LIMITS;
  const head = ['reason', cutUtf8(reason, reasonBytes), 'entry', entry];
  const kept = flat.slice(0, 2 * deadLetterFields);
  const cut = kept.map((text) => cutUtf8(text, deadLetterValueBytes));
  if (kept.length === flat.length && cut.every((text, i) => text === kept[i])) return [...head, ...flat];
  let bytes = 0;
  for (const text of flat) bytes += byteLength(text);
  const truncated = `${Math.ceil(flat.length / 2)} fields, ${bytes} bytes; kept ${Math.ceil(cut.length / 2)} fields of at most ${deadLetterValueBytes} bytes`;
  return [...head, 'truncated', truncated, ...cut];
}

/** The longest prefix of `text` whose UTF-8 encoding has at most `maxBytes` bytes (never splitting a character). */
export function cutUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    const pair = c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return text.slice(0, i);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${cutUtf8(text, 60)}…` : text);
}
