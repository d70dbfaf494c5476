/**
 * NDJSON reader: one JSON object per line (gzip allowed) into a {@link Table}. Problems are {@link InputError}s
 * naming the file, the 1-based line, the row, the field and the value.
 */
import { InputError } from '../contracts/errors.js';
import { featureColumns, resolveColumn } from './columns.js';
import { linesOf } from './lines.js';
import { fitsFloat32 } from './number.js';
import { openByteStream, streamFailure } from './source.js';
import type { Table } from './table.js';
import { TableBuilder } from './table-builder.js';

export interface NdjsonOptions {
  /** Field holding each record's id (a string or a number). Default: none; ids are the 0-based row numbers. */
  idColumn?: string;
  /** Field holding each record's label (a string or a number). Default: none; the table has no labels. */
  labelColumn?: string;
  /**
   * Features to keep, in this order: field names, or `v0`, `v1`… for records carrying a `values` array. Default:
   * all of them.
   */
  columns?: string[];
}

type Json = Record<string, unknown>;

interface Layout {
  idField?: string;
  labelField?: string;
  /** Set when features come from a `values` array: the array's length. */
  valuesLength?: number;
  /** Fields (named mode) or array positions (values mode) of the features, in table order. */
  pick: (string | number)[];
  builder: TableBuilder;
}

/**
 * Reads an NDJSON file (gzip when named `*.gz` or starting with the gzip magic bytes); blank lines are skipped.
 * Features are either a `values` array of numbers (when the first record has one; names `v0`, `v1`…), or the
 * numeric fields of the first record other than the id and label, in that record's key order (JavaScript order:
 * integer-like keys first). Later records must carry every feature field (extra fields are ignored) as a JSON
 * number finite in Float32; `values` arrays must all have the first record's length. Lines longer than
 * FILE_LIMITS.lineBytes and the table limits of {@link TableBuilder} are errors naming the line.
 */
export async function readNdjson(path: string, options: NdjsonOptions = {}): Promise<Table> {
  let layout: Layout | undefined;
  try {
    for await (const { line, text } of linesOf(await openByteStream(path), path)) {
      if (text.trim() === '') continue;
      const record = parseRecord(path, text, line, layout?.builder.rows ?? 0);
      layout ??= makeLayout(path, record, options);
      addRecord(path, layout, record, line);
    }
  } catch (err) {
    throw streamFailure(path, err);
  }
  if (layout === undefined) throw new InputError('empty file (no records)', { source: path });
  return layout.builder.finish();
}

function parseRecord(path: string, text: string, line: number, row: number): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message})`, { source: path, line, row, value: text }, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError('expected a JSON object', { source: path, line, row, value: text });
  }
  return value as Json;
}

function makeLayout(path: string, first: Json, options: NdjsonOptions): Layout {
  const keys = Object.keys(first);
  const idField = options.idColumn === undefined ? undefined : keys[resolveColumn(keys, options.idColumn, 'idColumn', path, 'field')];
  const labelField = options.labelColumn === undefined ? undefined : keys[resolveColumn(keys, options.labelColumn, 'labelColumn', path, 'field')];
  const ownFields = new Set([idField, labelField]);
  const builderOptions = { ...(idField !== undefined ? { idColumn: idField } : {}), ...(labelField !== undefined ? { labelColumn: labelField } : {}) };
  if (Array.isArray(first.values) && !ownFields.has('values')) {
    const names = first.values.map((_, j) => `v${j}`);
    const pick = featureColumns(names, new Set(), options.columns, path, 'feature');
    const builder = new TableBuilder(path, pick.map((j) => names[j]), builderOptions);
    return { idField, labelField, valuesLength: names.length, pick, builder };
  }
  const excluded = new Set(keys.map((k, i) => (ownFields.has(k) ? i : -1)));
  const pick = featureColumns(keys, excluded, options.columns, path, 'field').map((i) => keys[i]);
  return { idField, labelField, pick, builder: new TableBuilder(path, pick, builderOptions) };
}

function addRecord(path: string, layout: Layout, record: Json, line: number): void {
  const { builder, pick } = layout;
  const row = builder.rows;
  const id = layout.idField === undefined ? undefined : requireText(path, record, layout.idField, line, row);
  const label = layout.labelField === undefined ? undefined : requireText(path, record, layout.labelField, line, row);
  let source: Json | unknown[] = record;
  let prefix = '';
  if (layout.valuesLength !== undefined) {
    const values = record.values;
    if (!Array.isArray(values)) {
      throw new InputError(`expected an array of numbers, found ${kindOf(values)}`, { source: path, line, row, field: 'values', ...(values !== undefined ? { value: describe(values) } : {}) });
    }
    if (values.length !== layout.valuesLength) {
      throw new InputError(`expected ${layout.valuesLength} values, found ${values.length}`, { source: path, line, row, field: 'values' });
    }
    source = values;
    prefix = 'values';
  }
  const offset = builder.addRow(line, id, label);
  const out = builder.values;
  for (let k = 0; k < pick.length; k++) {
    const key = pick[k];
    const v = (source as Record<string | number, unknown>)[key];
    if (typeof v !== 'number' || !fitsFloat32(v)) {
      const field = typeof key === 'number' ? `${prefix}[${key}]` : key;
      const problem = v === undefined ? 'missing field, expected a number' : typeof v === 'number' ? 'beyond the Float32 range' : `expected a number, found ${kindOf(v)}`;
      throw new InputError(problem, { source: path, line, row, field, ...(v !== undefined ? { value: describe(v) } : {}) });
    }
    out[offset + k] = v;
  }
}

function requireText(path: string, record: Json, field: string, line: number, row: number): string {
  const v = record[field];
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  const problem = v === undefined ? 'missing field' : `expected a non-empty string or a number, found ${kindOf(v)}`;
  throw new InputError(problem, { source: path, line, row, field, ...(v !== undefined ? { value: describe(v) } : {}) });
}

/** A JSON value for messages: strings as they are, anything else as it would appear in the file. */
function describe(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return 'a number too large to represent';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
