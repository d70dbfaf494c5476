/** `latentflow dataset import|list|show|delete`: named datasets stored in Redis for the pipeline. */
import { Command } from 'commander';
import { DatasetStore, type DatasetMeta } from '../../shared/store/datasets.js';
import { withConnection } from '../connection.js';
import { checkName, dataDirOptions, datasetNameOf, resolveDataFile, saveDataset } from '../dataset-import.js';
import { formatTable, printRows } from '../output.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { positiveInteger } from '../arg-parsers.js';
import { readTable } from '../../shared/data/read-table.js';
import { readRatings } from '../../shared/data/ratings.js';
import { RatingsStore, type RatingsMeta } from '../../shared/store/ratings.js';

function labelSummary(meta: DatasetMeta): string {
  if (!meta.hasLabels) return '-';
  const set = meta.labelSet ?? [];
  return set.length <= 6 ? set.join(' ') : `${set.length} labels`;
}

export function describeDataset(meta: DatasetMeta): [string, string | number][] {
  return [
    ['name', meta.name],
    ['rows × features', `${meta.rows} × ${meta.width}`],
    ['features', meta.features.length <= 12 ? meta.features.join(', ') : `${meta.features.slice(0, 12).join(', ')}, … (${meta.features.length})`],
    ['labels', labelSummary(meta)],
    ['chunks', `${meta.chunks} × ${meta.chunkRows} rows`],
    ['source', meta.source],
    ['imported', meta.importedAt],
    ['fingerprint', meta.fingerprint],
  ];
}

export function describeRatings(meta: RatingsMeta): [string, string | number][] {
  return [
    ['name', meta.name], ['kind', 'ratings'], ['ratings', meta.ratings], ['users × items', `${meta.users} × ${meta.items}`],
    ['rating range', `${meta.min} … ${meta.max}`], ['source', meta.source], ['imported', meta.importedAt],
  ];
}

/** A meta record and its table rows, for `show` of either kind. */
function describedBy<M>(meta: M, describe: (m: M) => [string, string | number][]): [M, [string, string | number][]] {
  return [meta, describe(meta)];
}

const RATINGS_FLAG = ['--ratings', 'a ratings dataset (user, item, rating triples for AutoRec) instead of a table'] as const;

function importCommand(): Command {
  const command = new Command('import')
    .description('read a data file (CSV, NDJSON, IDX; gzip allowed) and store it in Redis as a named dataset; with --ratings, a ratings file (user,item,rating[,timestamp] CSV/TSV, MovieLens u.data or ratings.dat)')
    .argument('<file>', 'data file')
    .option(...RATINGS_FLAG)
    .option('--name <name>', 'dataset name (default: the file name without extensions)')
    .option('--from-data-dir', 'resolve <file> under the data directory (LATENTFLOW_DATA_DIR) and refuse paths outside it')
    .option('--chunk-rows <n>', 'rows per stored chunk (default: the store\'s)', positiveInteger)
    .option('--json', 'print the dataset metadata as JSON');
  withTableFlags(command);
  return command.action(async (file: string, opts: Record<string, unknown>) => {
    const name = checkName(typeof opts.name === 'string' ? opts.name : datasetNameOf(file), 'dataset');
    await withConnection(async (connection) => {
      const { dataDir } = connection.config;
      const fromDataDir = opts.fromDataDir === true;
      if (opts.ratings === true) {
        const ratings = await readRatings(await resolveDataFile(file, dataDir, fromDataDir));
        const meta = await new RatingsStore(connection.redis, connection.keys).save(name, ratings, file);
        console.log(opts.json === true ? JSON.stringify(meta, null, 2) : formatTable(describeRatings(meta)));
        return;
      }
      const table = await readTable(file, { ...tableOptionsFrom(opts), ...dataDirOptions(dataDir, fromDataDir) });
      const meta = await saveDataset(connection, name, table, opts.chunkRows as number | undefined);
      console.log(opts.json === true ? JSON.stringify(meta, null, 2) : formatTable(describeDataset(meta)));
    });
  });
}

function listCommand(): Command {
  return new Command('list')
    .description('list the stored datasets')
    .option(...RATINGS_FLAG)
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean; ratings?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        if (opts.ratings === true) {
          const all = await new RatingsStore(redis, keys).list();
          if (opts.json === true) return console.log(JSON.stringify(all, null, 2));
          if (all.length === 0) return console.log('no ratings datasets (import one: latentflow dataset import <file> --ratings --name N)');
          return printRows(['name', 'ratings', 'users', 'items', 'imported', 'source'], all.map((m) => [m.name, m.ratings, m.users, m.items, m.importedAt, m.source]));
        }
        const all = (await new DatasetStore(redis, keys).list()).sort((a, b) => a.name.localeCompare(b.name));
        if (opts.json === true) return console.log(JSON.stringify(all, null, 2));
        if (all.length === 0) return console.log('no datasets (import one: latentflow dataset import <file> --name N)');
        printRows(['name', 'rows', 'features', 'labels', 'imported', 'source'],
          all.map((m) => [m.name, m.rows, m.width, labelSummary(m), m.importedAt, m.source]));
      });
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('show one dataset\'s metadata')
    .argument('<name>', 'dataset name')
    .option(...RATINGS_FLAG)
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { json?: boolean; ratings?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        const [meta, rows] = opts.ratings === true
          ? describedBy(await new RatingsStore(redis, keys).meta(name), describeRatings)
          : describedBy(await new DatasetStore(redis, keys).meta(name), describeDataset);
        console.log(opts.json === true ? JSON.stringify(meta, null, 2) : formatTable(rows));
      });
    });
}

function deleteCommand(): Command {
  return new Command('delete')
    .description('delete a dataset (its rows, ids, labels and metadata; models and embeddings stay)')
    .argument('<name>', 'dataset name')
    .option(...RATINGS_FLAG)
    .action(async (name: string, opts: { ratings?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        const store = opts.ratings === true ? new RatingsStore(redis, keys) : new DatasetStore(redis, keys);
        await store.meta(name); // a missing dataset is an error naming the known ones
        await store.delete(name);
        console.log(`deleted ${opts.ratings === true ? 'ratings dataset' : 'dataset'} ${name}`);
      });
    });
}

export function datasetCommand(): Command {
  return new Command('dataset')
    .description('datasets stored in Redis: import, list, show, delete')
    .addCommand(importCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(deleteCommand());
}
