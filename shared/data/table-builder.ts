/**
 * Accumulates a {@link Table} row by row into a Float32Array that doubles its capacity as it fills, so a large file
 * never becomes one big array of strings or numbers. Every reader builds its table here, so every reader gets the
 * table limits (FILE_LIMITS: features, values per table, bytes of an id or label).
 */
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';
import type { Table } from './table.js';

const count = (n: number) => n.toLocaleString('en-US');

export class TableBuilder {
  /** Backing store; valid up to `rows × width`. Re-read after every {@link addRow} (it may be replaced). */
  values: Float32Array;
  rows = 0;
  readonly width: number;
  private readonly maxValues: number;
  private readonly maxRows: number;
  private readonly ids: string[] = [];
  private readonly labels: string[] | undefined;
  /** id → 1-based line of its first occurrence; only when ids come from the file. */
  private readonly seen: Map<string, number> | undefined;
  private readonly idColumn: string | undefined;
  private readonly labelColumn: string | undefined;

  /**
   * @param options.idColumn the name of the id column or field, when ids come from the file; otherwise each row's id
   *   is its 0-based row number.
   * @param options.labelColumn the name of the label column or field, when every row carries a label.
   * @param options.maxValues most values (rows × features) of the table. Default FILE_LIMITS.values.
   * An empty feature list, or more than FILE_LIMITS.features, is an {@link InputError}.
   */
  constructor(
    readonly source: string,
    readonly features: string[],
    options: { idColumn?: string; labelColumn?: string; maxValues?: number },
  ) {
    if (features.length === 0) throw new InputError('no feature columns (every column is the id or the label)', { source });
    if (features.length > FILE_LIMITS.features) {
      throw new InputError(`${count(features.length)} feature columns, more than the limit of ${count(FILE_LIMITS.features)}`, { source });
    }
    this.width = features.length;
    this.maxValues = options.maxValues ?? FILE_LIMITS.values;
    this.maxRows = Math.floor(this.maxValues / this.width);
    this.values = new Float32Array(this.width * Math.min(1024, this.maxRows));
    this.labels = options.labelColumn !== undefined ? [] : undefined;
    this.idColumn = options.idColumn;
    this.labelColumn = options.labelColumn;
    this.seen = options.idColumn !== undefined ? new Map() : undefined;
  }

  /**
   * Starts a row found on 1-based `line` and returns the offset in {@link values} where its `width` features go.
   * `id` is required when the builder has an id column (a repeated id is an {@link InputError} naming both lines);
   * `label` is required when it keeps labels. An id or label longer than FILE_LIMITS.idBytes, and a row beyond
   * FILE_LIMITS.values values in all, are InputErrors naming the line.
   */
  addRow(line: number, id?: string, label?: string): number {
    const where = (column?: string, value?: string) => ({ source: this.source, line, row: this.rows, column, value });
    if (this.rows === this.maxRows) {
      throw new InputError(`more than ${count(this.maxRows)} rows of ${count(this.width)} features: the limit is ${count(this.maxValues)} values per table`, where());
    }
    if (this.seen !== undefined) {
      if (tooLong(id!)) throw new InputError(`id ${TOO_LONG}`, where(this.idColumn, id));
      const first = this.seen.get(id!);
      if (first !== undefined) throw new InputError(`duplicate id (first seen on line ${first})`, where(this.idColumn, id));
      this.seen.set(id!, line);
      this.ids.push(id!);
    } else {
      this.ids.push(String(this.rows));
    }
    if (this.labels !== undefined) {
      if (tooLong(label!)) throw new InputError(`label ${TOO_LONG}`, where(this.labelColumn, label));
      this.labels.push(label!);
    }
    const offset = this.rows * this.width;
    if (offset + this.width > this.values.length) {
      const grown = new Float32Array(Math.min(this.values.length * 2, this.maxRows * this.width));
      grown.set(this.values);
      this.values = grown;
    }
    this.rows++;
    return offset;
  }

  /** The finished table; `values` is trimmed to `rows × width`. An empty table is an {@link InputError}. */
  finish(): Table {
    if (this.rows === 0) throw new InputError('no data rows', { source: this.source });
    return {
      values: this.values.slice(0, this.rows * this.width),
      rows: this.rows,
      width: this.width,
      features: this.features,
      ids: this.ids,
      ...(this.labels !== undefined ? { labels: this.labels } : {}),
      source: this.source,
    };
  }
}

const TOO_LONG = `longer than ${FILE_LIMITS.idBytes} bytes, the limit for an id or label`;

/** Whether an id or label is longer than FILE_LIMITS.idBytes in UTF-8 (at most 3 bytes per UTF-16 unit). */
export function tooLong(text: string): boolean {
  return text.length > FILE_LIMITS.idBytes / 3 && Buffer.byteLength(text) > FILE_LIMITS.idBytes;
}
