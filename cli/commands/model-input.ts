/** Loading a saved model and reading a file into the model's feature order. */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../shared/contracts/errors.js';
import { formatOf, readTable, type ReadTableOptions } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';

export async function loadModel(path: string): Promise<Autoencoder> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`cannot read the model file: ${(error as Error).message}`, { source: path }, { cause: error });
  }
  return Autoencoder.fromArtifact(bytes, path);
}

/** Reads `file` taking the model's features by name (CSV, NDJSON) so column order and extra columns do not matter. */
export async function readForModel(model: Autoencoder, file: string, options: ReadTableOptions): Promise<Table> {
  const byName = formatOf(file) !== 'idx' && options.header !== false;
  return readTable(file, byName ? { ...options, columns: model.features } : options);
}
