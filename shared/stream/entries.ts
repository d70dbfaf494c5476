/**
 * The wire format of a source stream entry, parsed without I/O. An entry is a flat list of string fields (what any
 * Redis client's XADD writes):
 * - `id`: the record id (required, non-empty; the idempotency key of every result: codes, errors and alerts are
 *   keyed by it, so it must be unique per record, e.g. `sensor-17:1700000000123`);
 * - either `values`: the model's features in training order, as a JSON array of numbers (`[1.5, 2, 3e-2]`) or
 *   comma-separated numbers (`1.5,2,3e-2`);
 * - or one field per feature named as in the model's schema (any order).
 * Every other field (e.g. `ts`) is ignored. Numbers must be finite in Float32 (no NaN, Infinity, empty cells, |x| ≥ 3.4e38);
 * inside a JSON array, numeric strings (`"1.5"`) are accepted too.
 */

/** A well-formed record. */
export interface StreamRecord {
  id: string;
  values: Float32Array;
}

export type ParsedEntry = { ok: true; record: StreamRecord } | { ok: false; reason: string };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Field name → value of a flat `[name, value, name, value, ...]` list (the first occurrence of a name wins). */
export function fieldMap(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) if (!fields.has(flat[i])) fields.set(flat[i], flat[i + 1]);
  return fields;
}

/** Parses one entry's fields against the model's feature names; a reason naming the field and value otherwise. */
export function parseEntry(flat: readonly string[], features: readonly string[]): ParsedEntry {
  const fields = fieldMap(flat);
  const id = fields.get('id');
  if (id === undefined) return fail('missing field "id"');
  if (id.trim() === '') return fail('field "id" is empty');
  const width = features.length;
  const values = new Float32Array(width);
  const text = fields.get('values');
  if (text !== undefined) {
    const items = splitValues(text);
    if (typeof items === 'string') return fail(items);
    if (items.length !== width) return fail(`field "values" has ${items.length} numbers, the model expects ${width} (${features.join(',')})`);
    for (let j = 0; j < width; j++) {
      const v = toNumber(items[j]);
      if (typeof v === 'string') return fail(`field "values" item ${j + 1} (${features[j]}): ${v}`);
      values[j] = v;
    }
    return { ok: true, record: { id, values } };
  }
  for (let j = 0; j < width; j++) {
    const cell = fields.get(features[j]);
    if (cell === undefined) return fail(`missing feature field "${features[j]}" (send every feature by name, or a "values" field with ${width} numbers)`);
    const v = toNumber(cell);
    if (typeof v === 'string') return fail(`field "${features[j]}": ${v}`);
    values[j] = v;
  }
  return { ok: true, record: { id, values } };
}

function fail(reason: string): ParsedEntry {
  return { ok: false, reason };
}

/** JSON array items, or comma-separated cells; a reason when the JSON is malformed or not an array. */
function splitValues(text: string): unknown[] | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (!Array.isArray(parsed)) return `field "values" is not a JSON array: ${quote(text)}`;
      return parsed as unknown[];
    } catch {
      return `field "values" is not valid JSON: ${quote(text)}`;
    }
  }
  if (trimmed === '') return 'field "values" is empty';
  return trimmed.split(',');
}

/** A finite number from a JSON number or a decimal string; otherwise why not. */
function toNumber(item: unknown): number | string {
  if (typeof item === 'number') return Number.isFinite(Math.fround(item)) ? item : `value ${quote(String(item))} is not a finite number`;
  if (typeof item !== 'string') return `value ${quote(JSON.stringify(item) ?? String(item))} is not a number`;
  const cell = item.trim();
  if (/^[+-]?(nan|inf|infinity)$/i.test(cell)) return `value ${quote(item)} is not a finite number`;
  if (!NUMBER.test(cell)) return `value ${quote(item)} is not a number`;
  const v = Number(cell);
  return Number.isFinite(Math.fround(v)) ? v : `value ${quote(item)} is not a finite number (beyond the Float32 range)`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
