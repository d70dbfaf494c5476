/** Reading parts of a stored dataset the way the stages need them: labels by id, chosen rows, the model's columns. */
import { InputError } from '../contracts/errors.js';
import { selectRows, type Table } from '../data/table.js';
import type { DatasetStore } from '../store/datasets.js';

/** Label of every record by id; undefined when the dataset has no labels. */
export async function labelsById(datasets: Pick<DatasetStore, 'meta' | 'chunks'>, name: string): Promise<Map<string, string> | undefined> {
  if (!(await datasets.meta(name)).hasLabels) return undefined;
  const labels = new Map<string, string>();
  for await (const { table } of datasets.chunks(name)) table.ids.forEach((id, i) => labels.set(id, table.labels![i]));
  return labels;
}

/** The rows whose id is in `ids`, in dataset order. */
export async function rowsWithIds(datasets: Pick<DatasetStore, 'chunks'>, name: string, ids: ReadonlySet<string>): Promise<Table | undefined> {
  const parts: Table[] = [];
  for await (const { table } of datasets.chunks(name)) {
    const picked = table.ids.flatMap((id, i) => (ids.has(id) ? [i] : []));
    if (picked.length > 0) parts.push(selectRows(table, picked));
  }
  return parts.length > 0 ? concatRows(parts) : undefined;
}

/** Rows `start` to `end` (exclusive) as a table sharing the values buffer. */
export function sliceRows(table: Table, start: number, end: number): Table {
  return {
    ...table,
    values: table.values.subarray(start * table.width, end * table.width),
    rows: end - start,
    ids: table.ids.slice(start, end),
    labels: table.labels?.slice(start, end),
  };
}

/**
 * Maps a dataset's columns onto a model's features by name: returns a function giving each table in the model's
 * column order (the table itself when the orders already agree). InputError names a feature the dataset lacks.
 */
export function featureAligner(datasetFeatures: readonly string[], modelFeatures: readonly string[], dataset: string): (table: Table) => Table {
  if (datasetFeatures.length === modelFeatures.length && datasetFeatures.every((f, j) => f === modelFeatures[j])) return (t) => t;
  const position = new Map(datasetFeatures.map((f, j) => [f, j]));
  const columns = modelFeatures.map((f) => {
    const j = position.get(f);
    if (j === undefined) throw new InputError(`the dataset lacks feature "${f}" that the model was trained on`, { source: `dataset ${dataset}` });
    return j;
  });
  return (table) => {
    const values = new Float32Array(table.rows * columns.length);
    for (let i = 0; i < table.rows; i++) {
      for (let j = 0; j < columns.length; j++) values[i * columns.length + j] = table.values[i * table.width + columns[j]];
    }
    return { ...table, values, width: columns.length, features: [...modelFeatures] };
  };
}

function concatRows(parts: Table[]): Table {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const values = new Float32Array(rows * parts[0].width);
  let at = 0;
  for (const p of parts) {
    values.set(p.values, at);
    at += p.values.length;
  }
  return {
    ...parts[0],
    values,
    rows,
    ids: parts.flatMap((p) => p.ids),
    labels: parts[0].labels ? parts.flatMap((p) => p.labels!) : undefined,
  };
}
