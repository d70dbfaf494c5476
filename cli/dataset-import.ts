/** Reading a data file into a named dataset in Redis: shared by `dataset import`, `run <file>` and `demo`. */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../shared/contracts/errors.js';
import { NAME_PATTERN } from '../shared/contracts/keys.js';
import type { Table } from '../shared/data/table.js';
import { DatasetStore, type DatasetMeta } from '../shared/store/datasets.js';
import type { Connection } from './connection.js';

/** `data/wine.csv.gz` → `wine`: the base name without any extensions. */
export function datasetNameOf(file: string): string {
  const base = path.basename(file);
  const stem = base.split('.')[0];
  return stem === '' ? base : stem;
}

export function checkName(name: string, what: 'dataset' | 'model'): string {
  if (!NAME_PATTERN.test(name)) {
    throw new InputError(`${what} names use letters, digits, ".", "_" and "-" (up to 128), starting with a letter or digit`, { field: `--${what === 'dataset' ? 'name' : 'model'}`, value: name });
  }
  return name;
}

/**
 * The file to read. With `fromDataDir`, a relative path is taken under the data directory (LATENTFLOW_DATA_DIR) and
 * anything that resolves outside it (`..`, an absolute path elsewhere, a symbolic link out) is refused.
 */
export async function resolveDataFile(file: string, dataDir: string, fromDataDir: boolean): Promise<string> {
  if (!fromDataDir) return file;
  const inside = (root: string, p: string) => {
    const rel = path.relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const resolved = path.resolve(dataDir, file);
  const refuse = () => new InputError(`resolves outside the data directory ${dataDir} (LATENTFLOW_DATA_DIR); --from-data-dir reads only files inside it`, { source: file });
  if (!inside(dataDir, resolved)) throw refuse();
  let real: string;
  try {
    real = await realpath(resolved);
  } catch (error) {
    throw new InputError(`no such file in the data directory ${dataDir}`, { source: file }, { cause: error });
  }
  if (!inside(await realpath(dataDir), real)) throw refuse();
  return resolved;
}

/** True when `file` names an existing regular file. */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function saveDataset(connection: Connection, name: string, table: Table, chunkRows?: number): Promise<DatasetMeta> {
  const store = new DatasetStore(connection.redis, connection.keys);
  return store.save(checkName(name, 'dataset'), table, chunkRows === undefined ? {} : { chunkRows });
}
