/**
 * CSV reader: streams a (possibly gzip-compressed) delimited text file into a {@link Table}. Every feature cell must
 * be a decimal number finite in Float32 (./number.ts); any problem is an {@link InputError} naming the file, the
 * 1-based line, the row, the column and the value.
 */
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';
import { featureColumns, resolveColumn } from './columns.js';
import { detectDelimiter } from './delimiter.js';
import { linesOf } from './lines.js';
import { parseDecimal } from './number.js';
import { describeBytes, openByteStream, streamFailure } from './source.js';
import type { Table } from './table.js';
import { TableBuilder } from './table-builder.js';

export interface CsvOptions {
  /** Column holding each row's id: a name, or a 1-based column number. Default: none; ids are the 0-based row numbers. */
  idColumn?: string;
  /** Column holding each row's label: a name, or a 1-based column number. Default: none; the table has no labels. */
  labelColumn?: string;
  /** Field delimiter. Default: detected from the first line among `,` `;` and tab (`,` when none occurs). */
  delimiter?: string;
  /**
   * Whether the first line names the columns. Default `true`. Without a header, columns are named `c1`…`cN`. Empty
   * header cells are named the same way (`c3` for the third column).
   */
  header?: boolean;
  /** Feature columns to keep, in this order (names or 1-based numbers). Default: every column but the id and label. */
  columns?: string[];
}

interface Layout {
  names: string[];
  idIndex: number;
  labelIndex: number;
  featureIndex: number[];
  builder: TableBuilder;
}

/**
 * Reads a CSV file (gzip when named `*.gz` or starting with the gzip magic bytes). Blank lines are skipped; quoted
 * fields follow RFC 4180. Errors: unknown id/label/feature columns (the message lists the available ones), a row
 * with the wrong number of cells, a feature cell that is empty, not a decimal number or beyond the Float32 range, an
 * empty id or label, a repeated id, a file with no data rows, a record longer than FILE_LIMITS.lineBytes, and the
 * table limits of {@link TableBuilder}.
 */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<Table> {
  const delimiter = options.delimiter ?? detectDelimiter(await firstLine(path));
  if (delimiter.length === 0) throw new InputError('delimiter must not be empty', { source: path, field: 'delimiter' });
  const parser = parse({ delimiter, bom: true, relax_column_count: true, max_record_size: FILE_LIMITS.lineBytes });
  pipeline(await openByteStream(path), parser, () => {});
  const header = options.header ?? true;
  let layout: Layout | undefined;
  let nextLine = 1;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const line = nextLine;
      nextLine += 1 + embeddedNewlines(record);
      if (record.length === 1 && record[0].trim() === '') continue;
      if (layout === undefined) {
        layout = makeLayout(path, header ? record : record.map((_, j) => `c${j + 1}`), line, options);
        if (header) continue;
      }
      addRecord(path, layout, record, line);
    }
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? err.lines : undefined;
      const problem = err.code === 'CSV_MAX_RECORD_SIZE' ? `record longer than ${describeBytes(FILE_LIMITS.lineBytes)}, the limit for one record` : err.message;
      throw new InputError(problem, { source: path, line }, { cause: err });
    }
    throw streamFailure(path, err);
  }
  if (layout === undefined) throw new InputError('empty file', { source: path });
  if (layout.builder.rows === 0) throw new InputError('no data rows (only a header)', { source: path });
  return layout.builder.finish();
}

function makeLayout(path: string, header: string[], line: number, options: CsvOptions): Layout {
  const names = header.map((name, j) => name.trim() || `c${j + 1}`);
  const firstIndex = new Map<string, number>();
  names.forEach((name, j) => {
    if (firstIndex.has(name)) throw new InputError(`duplicate column name (also column ${firstIndex.get(name)! + 1})`, { source: path, line, column: name });
    firstIndex.set(name, j);
  });
  const idIndex = options.idColumn === undefined ? -1 : resolveColumn(names, options.idColumn, 'idColumn', path);
  const labelIndex = options.labelColumn === undefined ? -1 : resolveColumn(names, options.labelColumn, 'labelColumn', path);
  if (idIndex !== -1 && idIndex === labelIndex) throw new InputError('the id and label columns must differ', { source: path, column: names[idIndex] });
  const featureIndex = featureColumns(names, new Set([idIndex, labelIndex]), options.columns, path);
  const builder = new TableBuilder(path, featureIndex.map((j) => names[j]), {
    ...(idIndex !== -1 ? { idColumn: names[idIndex] } : {}),
    ...(labelIndex !== -1 ? { labelColumn: names[labelIndex] } : {}),
  });
  return { names, idIndex, labelIndex, featureIndex, builder };
}

function addRecord(path: string, layout: Layout, record: string[], line: number): void {
  const { names, idIndex, labelIndex, featureIndex, builder } = layout;
  const row = builder.rows;
  if (record.length !== names.length) {
    throw new InputError(`expected ${names.length} cells, found ${record.length}`, { source: path, line, row });
  }
  const id = idIndex === -1 ? undefined : requireText(path, record[idIndex], names[idIndex], line, row, 'id');
  const label = labelIndex === -1 ? undefined : requireText(path, record[labelIndex], names[labelIndex], line, row, 'label');
  const offset = builder.addRow(line, id, label);
  const values = builder.values;
  for (let k = 0; k < featureIndex.length; k++) {
    const cell = record[featureIndex[k]];
    const v = parseDecimal(cell);
    if (typeof v === 'string') throw new InputError(v, { source: path, line, row, column: names[featureIndex[k]], value: cell });
    values[offset + k] = v;
  }
}

/** Line breaks inside quoted cells: a record spans `1 + embeddedNewlines` physical lines. */
function embeddedNewlines(record: string[]): number {
  let n = 0;
  for (const cell of record) {
    for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) n++;
  }
  return n;
}

function requireText(path: string, cell: string, column: string, line: number, row: number, what: string): string {
  const text = cell.trim();
  if (text === '') throw new InputError(`empty ${what}`, { source: path, line, row, column, value: cell });
  return text;
}

/** The first non-blank line, for delimiter detection. */
async function firstLine(path: string): Promise<string> {
  try {
    for await (const { text } of linesOf(await openByteStream(path), path)) if (text.trim() !== '') return text;
  } catch (err) {
    throw streamFailure(path, err);
  }
  throw new InputError('empty file', { source: path });
}
