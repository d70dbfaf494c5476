/**
 * A numeric table as the readers produce it and the ML core consumes it: row-major Float32 values with the
 * identity (id) and, when known, the label of every row.
 */
export interface Table {
  /** Row-major values, `rows × width`. */
  values: Float32Array;
  rows: number;
  width: number;
  /** One name per column of `values`. */
  features: string[];
  /** One id per row (the id column's text, or the 0-based row number when there is no id column). */
  ids: string[];
  /** One label per row when a label column was named. */
  labels?: string[];
  /** Where the table came from (file path), for messages. */
  source: string;
}

/** Row `i` of a table as a subarray view (no copy). */
export function rowOf(table: Pick<Table, 'values' | 'width'>, i: number): Float32Array {
  return table.values.subarray(i * table.width, (i + 1) * table.width);
}

/** A new table holding the given rows, in the given order. */
export function selectRows(table: Table, indices: ArrayLike<number>): Table {
  const values = new Float32Array(indices.length * table.width);
  const ids: string[] = [];
  const labels: string[] | undefined = table.labels ? [] : undefined;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    values.set(rowOf(table, i), k * table.width);
    ids.push(table.ids[i]);
    labels?.push(table.labels![i]);
  }
  return { ...table, values, rows: indices.length, ids, labels };
}
