/** The input shape the ML core accepts, and the checks every entry point applies to it. */
import { InputError } from '../contracts/errors.js';

/** Row-major Float32 values. A `Table` from shared/data satisfies this. */
export interface Matrix {
  values: Float32Array;
  rows: number;
  width: number;
  /** Names of the columns, for messages. */
  features?: string[];
  /** Row ids, for messages. */
  ids?: string[];
  /** Where the rows came from, for messages. */
  source?: string;
}

/** Rejects a wrong width, a values/rows mismatch, and any NaN or ±Infinity, naming the row, id, column and value. */
export function checkMatrix(data: Matrix, expectedWidth?: number): void {
  const source = data.source;
  if (expectedWidth !== undefined && data.width !== expectedWidth) {
    throw new InputError(`rows have ${data.width} features but the model expects ${expectedWidth}`, { source });
  }
  if (data.values.length !== data.rows * data.width) {
    throw new InputError(`${data.values.length} values do not make ${data.rows} rows of ${data.width}`, { source });
  }
  for (let k = 0; k < data.values.length; k++) {
    const v = data.values[k];
    if (!Number.isFinite(v)) {
      const row = Math.floor(k / data.width);
      const j = k % data.width;
      const id = data.ids?.[row];
      throw new InputError(`not a finite number${id !== undefined ? ` (record id ${id})` : ''}`, {
        source, row, column: data.features?.[j] ?? j + 1, value: v,
      });
    }
  }
}
