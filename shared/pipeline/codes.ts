/** Stored codes as the analytics functions take them, with the labels of the same records. */
import { InputError } from '../contracts/errors.js';
import type { DenseMatrix } from '../analytics/matrix.js';
import type { DatasetStore } from '../store/datasets.js';
import type { EmbeddingStore } from '../store/embeddings.js';
import { labelsById } from './rows.js';
import type { Target } from './target.js';

export interface StoredCodes {
  ids: string[];
  /** rows × codeSize, in the order of `ids`. */
  codes: DenseMatrix;
  errors: Float32Array;
}

/** The complete embedding set of `t`; InputError when it is missing or unfinished. */
export async function readCodes(embeddings: Pick<EmbeddingStore, 'status' | 'read'>, t: Target): Promise<StoredCodes> {
  const status = await embeddings.status(t);
  if (status.state !== 'complete') {
    throw new InputError(`no complete embeddings of model "${t.model}" version ${t.version} on dataset "${t.dataset}": run an encode job first`, { field: 'version' });
  }
  const { ids, codes, errors, codeSize } = await embeddings.read(t);
  return { ids, codes: { values: codes, rows: ids.length, width: codeSize }, errors };
}

/** The label of every id (in order), or undefined when the dataset has no labels. */
export async function labelsFor(datasets: Pick<DatasetStore, 'meta' | 'chunks'>, dataset: string, ids: readonly string[]): Promise<string[] | undefined> {
  const byId = await labelsById(datasets, dataset);
  if (!byId) return undefined;
  return ids.map((id) => {
    const label = byId.get(id);
    if (label === undefined) throw new InputError(`record "${id}" has embeddings but is not in dataset "${dataset}" (re-imported since?): encode again`);
    return label;
  });
}

/** The given rows of a dense matrix, copied. */
export function pickRows(m: DenseMatrix, rows: readonly number[]): DenseMatrix {
  const values = new Float32Array(rows.length * m.width);
  rows.forEach((r, k) => values.set(m.values.subarray(r * m.width, (r + 1) * m.width), k * m.width));
  return { values, rows: rows.length, width: m.width };
}
