/** Reading a data file into a named dataset in Redis: shared by `dataset import`, `run <file>` and `demo`. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../shared/contracts/errors.js';
import { NAME_PATTERN } from '../shared/contracts/keys.js';
import type { ReadTableOptions } from '../shared/data/read-table.js';
import type { Table } from '../shared/data/table.js';
import { realPathWithin } from '../shared/data/within.js';
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
 * The file to read. With `fromDataDir`, a relative path is taken under the data directory (LATENTFLOW_DATA_DIR),
 * resolved once to its real path, and anything outside the directory (`..`, an absolute path elsewhere, a symbolic
 * link out) is refused; read the path returned, which is the one checked. Tables read with `readTable` get the same
 * check, for an IDX labels file too, through its `within` option (see {@link dataDirOptions}).
 */
export async function resolveDataFile(file: string, dataDir: string, fromDataDir: boolean): Promise<string> {
  return fromDataDir ? realPathWithin(dataDir, file) : file;
}

/** The `readTable` options that confine a read to the data directory when `fromDataDir`. */
export function dataDirOptions(dataDir: string, fromDataDir: boolean): Pick<ReadTableOptions, 'within'> {
  return fromDataDir ? { within: dataDir } : {};
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
