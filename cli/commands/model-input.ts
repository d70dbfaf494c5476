/** Loading a saved model and reading a file into the model's feature order. */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../../shared/contracts/errors.js';
import { MODEL_FILE_LIMITS } from '../../shared/contracts/limits.js';
import { formatOf, readTable, type ReadTableOptions } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { startRuntime } from '../runtime.js';

async function loadModel(path: string): Promise<Autoencoder> {
  let bytes: Buffer;
  try {
    const { size } = await stat(path);
    if (size > MODEL_FILE_LIMITS.fileBytes) throw new InputError(`is ${size} bytes, more than a model file may be (${MODEL_FILE_LIMITS.fileBytes})`, { source: path });
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read the model file: ${(error as Error).message}`, { source: path }, { cause: error });
  }
  return Autoencoder.fromArtifact(bytes, path);
}

/** Reads `file` taking the model's features by name (CSV, NDJSON) so column order and extra columns do not matter. */
async function readForModel(model: Autoencoder, file: string, options: ReadTableOptions): Promise<Table> {
  const byName = formatOf(file) !== 'idx' && options.header !== false;
  return readTable(file, byName ? { ...options, columns: model.features } : options);
}

/** Starts the runtime, loads the model, reads `file` in its feature order, runs `use`, and disposes the model. */
export async function withModelInput(modelPath: string, file: string, options: ReadTableOptions, use: (model: Autoencoder, table: Table) => Promise<void>): Promise<void> {
  await startRuntime(true);
  const model = await loadModel(modelPath);
  try {
    await use(model, await readForModel(model, file, options));
  } finally {
    model.dispose();
  }
}
