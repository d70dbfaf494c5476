/** One entry point for reading any supported dataset file into a {@link Table}, choosing the reader by file name. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../contracts/errors.js';
import { readCsv, type CsvOptions } from './csv.js';
import { readIdxTable, type IdxTableOptions } from './idx.js';
import { readNdjson, type NdjsonOptions } from './ndjson.js';
import type { Table } from './table.js';
import { realPathWithin } from './within.js';

export const TABLE_FORMATS = ['csv', 'ndjson', 'idx'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/**
 * Options of {@link readTable}: those of every reader. An option that does not apply to the file's format (say a
 * delimiter for an NDJSON file, or an id column for IDX) is an {@link InputError} rather than silently ignored;
 * `header: true` (the default) is accepted everywhere.
 */
export interface ReadTableOptions extends CsvOptions, NdjsonOptions, IdxTableOptions {
  /** The file's format. Default: from its name (see {@link formatOf}). */
  format?: TableFormat;
  /**
   * IDX only: the labels file. Default: the file next to the images whose name has `labels-idx1-ubyte` in place of
   * `images-idx3-ubyte`, when it exists (so `t10k-images-idx3-ubyte.gz` pairs with `t10k-labels-idx1-ubyte.gz`).
   */
  labelsFile?: string;
  /**
   * Read only files inside this directory (LATENTFLOW_DATA_DIR for `--from-data-dir`): the file, and for IDX its
   * labels file (given or found next to it), are each resolved once to their real path, which must lie inside the
   * directory's real path and is the path read. Relative paths are taken under the directory. Default: no limit.
   */
  within?: string;
}

const OPTIONS_OF: Record<TableFormat, readonly (keyof ReadTableOptions)[]> = {
  csv: ['idColumn', 'labelColumn', 'columns', 'delimiter', 'header'],
  ndjson: ['idColumn', 'labelColumn', 'columns'],
  idx: ['scale', 'labelsFile'],
};

/**
 * The format a file name implies, ignoring a `.gz` suffix and case: `.csv` `.tsv` `.txt` → csv; `.ndjson` `.jsonl`
 * → ndjson; `-idx3-ubyte` (any `idxN-type`, `-` or `.` before it) or `.idx` → idx. `undefined` when none matches.
 */
export function formatOf(path: string): TableFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (/\.(csv|tsv|txt)$/.test(name)) return 'csv';
  if (/\.(ndjson|jsonl)$/.test(name)) return 'ndjson';
  if (/[-.]idx\d+(-[a-z]+)?$/.test(name) || name.endsWith('.idx')) return 'idx';
  return undefined;
}

/** Reads a CSV, NDJSON or IDX file (each possibly gzip-compressed) with the reader its format calls for. */
export async function readTable(path: string, options: ReadTableOptions = {}): Promise<Table> {
  // Confinement first: a path outside the data directory is refused before anything else is said about it.
  const confine = (file: string) => (options.within === undefined ? file : realPathWithin(options.within, file));
  const source = await confine(path);
  const format = options.format ?? formatOf(path);
  if (format === undefined) {
    throw new InputError('unknown file type: expected .csv .tsv .txt .ndjson .jsonl or *-idx3-ubyte (each optionally .gz), or give the format', { source: path });
  }
  if (!TABLE_FORMATS.includes(format)) {
    throw new InputError(`unknown format; expected one of ${TABLE_FORMATS.join(', ')}`, { source: path, field: 'format', value: format });
  }
  for (const key of Object.keys(options) as (keyof ReadTableOptions)[]) {
    const applies = key === 'format' || key === 'within' || OPTIONS_OF[format].includes(key) || (key === 'header' && options.header === true);
    if (!applies && options[key] !== undefined) throw new InputError(`option does not apply to ${format} files`, { source: path, field: key });
  }
  if (format === 'csv') return readCsv(source, options);
  if (format === 'ndjson') return readNdjson(source, options);
  const labels = options.labelsFile ?? (await siblingLabels(options.within === undefined ? path : resolve(options.within, path)));
  return readIdxTable(source, labels === undefined ? undefined : await confine(labels), options);
}

async function siblingLabels(imagesPath: string): Promise<string | undefined> {
  const candidate = imagesPath.replace(/images([-.])idx3([-.])ubyte(\.gz)?$/i, 'labels$1idx1$2ubyte$3');
  if (candidate === imagesPath) return undefined;
  try {
    return (await stat(candidate)).isFile() ? candidate : undefined;
  } catch {
    return undefined;
  }
}
