/** The input shape the ML core accepts, and the checks every entry point applies to it. */
import { InputError } from '../contracts/errors.js';
import { loadNativeBlas } from './native-blas.js';

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
  const k = firstNonFinite(data.values);
  if (k < 0) return;
  const row = Math.floor(k / data.width);
  const j = k % data.width;
  const id = data.ids?.[row];
  throw new InputError(`not a finite number${id !== undefined ? ` (record id ${id})` : ''}`, {
    source, row, column: data.features?.[j] ?? j + 1, value: data.values[k],
  });
}

/** The first NaN or ±Infinity's index, or −1: in the native addon when it is built (a tenth of the time of the loop). */
function firstNonFinite(values: Float32Array): number {
  const native = loadNativeBlas();
  if (native?.firstNonFinite !== undefined) return native.firstNonFinite(values, 0, values.length);
  for (let k = 0; k < values.length; k++) if (!Number.isFinite(values[k])) return k;
  return -1;
}
