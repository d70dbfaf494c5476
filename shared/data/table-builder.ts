/**
 * Accumulates a {@link Table} row by row into a Float32Array that doubles its capacity as it fills, so a large file
 * never becomes one big array of strings or numbers.
 */
import { InputError } from '../contracts/errors.js';
import type { Table } from './table.js';

export class TableBuilder {
  /** Backing store; valid up to `rows × width`. Re-read after every {@link addRow} (it may be replaced). */
  values: Float32Array;
  rows = 0;
  readonly width: number;
  private readonly ids: string[] = [];
  private readonly labels: string[] | undefined;
  /** id → 1-based line of its first occurrence; only when ids come from the file. */
  private readonly seen: Map<string, number> | undefined;
  private readonly idColumn: string | undefined;

  /**
   * @param options.labels whether every row carries a label.
   * @param options.idColumn the name of the id column or field, when ids come from the file; otherwise each row's id
   *   is its 0-based row number.
   * An empty feature list is an {@link InputError}.
   */
  constructor(
    readonly source: string,
    readonly features: string[],
    options: { labels: boolean; idColumn?: string },
  ) {
    if (features.length === 0) throw new InputError('no feature columns (every column is the id or the label)', { source });
    this.width = features.length;
    this.values = new Float32Array(this.width * 1024);
    this.labels = options.labels ? [] : undefined;
    this.idColumn = options.idColumn;
    this.seen = options.idColumn !== undefined ? new Map() : undefined;
  }

  /**
   * Starts a row found on 1-based `line` and returns the offset in {@link values} where its `width` features go.
   * `id` is required when the builder has an id column (a repeated id is an {@link InputError} naming both lines);
   * `label` is required when it keeps labels.
   */
  addRow(line: number, id?: string, label?: string): number {
    if (this.seen !== undefined) {
      const first = this.seen.get(id!);
      if (first !== undefined) {
        throw new InputError(`duplicate id (first seen on line ${first})`, { source: this.source, line, row: this.rows, column: this.idColumn, value: id });
      }
      this.seen.set(id!, line);
      this.ids.push(id!);
    } else {
      this.ids.push(String(this.rows));
    }
    this.labels?.push(label!);
    const offset = this.rows * this.width;
    if (offset + this.width > this.values.length) {
      const grown = new Float32Array(this.values.length * 2);
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
