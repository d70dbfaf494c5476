/**
 * Named datasets in Redis: a table imported once, read by any worker on any host. Rows are stored in chunks so that
 * no single value is large and a reader can stream them; the meta hash is written last, so a dataset is visible only
 * once every chunk is in place.
 *
 * Layout (keys from {@link Keyspace}): `dataset.chunk(name, i)` little-endian Float32 rows of chunk i;
 * `dataset.ids(name, i)` and `dataset.labels(name, i)` JSON arrays of its ids and labels; `dataset.meta(name)` a hash
 * whose fields are the {@link DatasetMeta} fields, each JSON-encoded; `dataset.index()` the set of names.
 */
import { createHash } from 'node:crypto';
import { InputError, LatentflowError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from './redis.js';
import { checkMatrix } from '../ml/matrix.js';
import type { Table } from '../data/table.js';
import { copyLittleEndian, toLittleEndian } from './binary.js';
import { checkName, compareIds, execOrThrow, fromJsonFields, toJsonFields } from './util.js';

/** What is known about a stored dataset without reading its rows. */
export interface DatasetMeta {
  name: string;
  rows: number;
  width: number;
  features: string[];
  hasLabels: boolean;
  /** Distinct labels, in natural order ("2" before "10"); empty without labels. */
  labelSet: string[];
  /** Rows per chunk (the last chunk may hold fewer). */
  chunkRows: number;
  chunks: number;
  /** Where the table was imported from (its `source`, e.g. a file path). */
  source: string;
  /** ISO time of the import. */
  importedAt: string;
  /** sha256 over width, feature names and values: equal to `dataFingerprint` of the same table (shared/ml). */
  fingerprint: string;
}

export interface SaveDatasetOptions {
  /** Rows per chunk. Default 4096, fewer for very wide rows so that one chunk stays ≤ 32 MiB. */
  chunkRows?: number;
}

const DEFAULT_CHUNK_ROWS = 4096;
const MAX_DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;
/** Chunk indices probed per round trip when removing chunks beyond the new count. */
const PROBE = 64;

export class DatasetStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /**
   * Stores a table as chunks of `chunkRows` binary Float32 rows (little-endian bytes), with ids and labels as JSON per
   * chunk. The meta is deleted first and written last, so a reader never sees a half-written dataset (during a
   * re-import the name is briefly missing rather than mixed). Re-importing a name overwrites it and removes chunks
   * beyond the new count. Rejects a bad name (InputError naming field "name"), an empty table, ids or labels that do
   * not match the row count, and non-finite values.
   */
  async save(name: string, table: Table, options: SaveDatasetOptions = {}): Promise<DatasetMeta> {
    checkName(name, 'dataset');
    checkTable(table);
    const chunkRows = options.chunkRows ?? Math.max(1, Math.min(DEFAULT_CHUNK_ROWS, Math.floor(MAX_DEFAULT_CHUNK_BYTES / (4 * table.width))));
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InputError('must be a positive integer', { field: 'chunkRows', value: chunkRows });
    const k = this.keys.dataset;
    const chunks = Math.ceil(table.rows / chunkRows);

    await this.redis.del(k.meta(name));
    await this.redis.sadd(k.index(), name);
    const hash = createHash('sha256');
    hash.update(`${table.width}\n${table.features.join(',')}\n`);
    for (let i = 0; i < chunks; i++) {
      const start = i * chunkRows;
      const end = Math.min(table.rows, start + chunkRows);
      const bytes = toLittleEndian(table.values.subarray(start * table.width, end * table.width));
      hash.update(bytes);
      const p = this.redis.pipeline();
      p.set(k.chunk(name, i), bytes);
      p.set(k.ids(name, i), JSON.stringify(table.ids.slice(start, end)));
      if (table.labels) p.set(k.labels(name, i), JSON.stringify(table.labels.slice(start, end)));
      else p.del(k.labels(name, i));
      await execOrThrow(p);
    }
    await this.removeChunksFrom(name, chunks);

    const meta: DatasetMeta = {
      name, rows: table.rows, width: table.width, features: table.features, hasLabels: table.labels !== undefined,
      labelSet: table.labels ? [...new Set(table.labels)].sort(compareIds) : [], chunkRows, chunks,
      source: table.source, importedAt: new Date().toISOString(), fingerprint: hash.digest('hex'),
    };
    await this.redis.hset(k.meta(name), toJsonFields(meta));
    return meta;
  }

  /** The dataset's meta; InputError `dataset "x" does not exist (datasets: a, b)` when missing. */
  async meta(name: string): Promise<DatasetMeta> {
    const fields = await this.redis.hgetall(this.keys.dataset.meta(name));
    if (Object.keys(fields).length === 0) {
      const names = (await this.list()).map((m) => m.name);
      throw new InputError(`dataset "${name}" does not exist (${names.length > 0 ? `datasets: ${names.join(', ')}` : 'no datasets yet: import one with `latentflow dataset import`'})`);
    }
    return fromJsonFields<DatasetMeta>(fields);
  }

  /** The whole table (its `source` is `dataset:<name>`). */
  async load(name: string): Promise<Table> {
    const meta = await this.meta(name);
    const values = new Float32Array(meta.rows * meta.width);
    const ids: string[] = [];
    const labels: string[] | undefined = meta.hasLabels ? [] : undefined;
    for await (const { start, table } of this.chunksOf(meta)) {
      values.set(table.values, start * meta.width);
      for (const id of table.ids) ids.push(id);
      if (labels) for (const label of table.labels!) labels.push(label);
    }
    return { values, rows: meta.rows, width: meta.width, features: meta.features, ids, labels, source: `dataset:${name}` };
  }

  /** The rows one chunk at a time, in order; `start` is the index of the chunk's first row in the dataset. */
  async *chunks(name: string): AsyncGenerator<{ index: number; start: number; table: Table }> {
    yield* this.chunksOf(await this.meta(name));
  }

  /** Every complete dataset, by name. */
  async list(): Promise<DatasetMeta[]> {
    const names = (await this.redis.smembers(this.keys.dataset.index())).sort(compareIds);
    if (names.length === 0) return [];
    // One command per dataset, not one pipeline: each dataset's keys live in their own cluster slot.
    const replies = await Promise.all(names.map((name) => this.redis.hgetall(this.keys.dataset.meta(name))));
    return replies.filter((f) => Object.keys(f).length > 0).map((f) => fromJsonFields<DatasetMeta>(f));
  }

  /** Removes a dataset (meta first, so it disappears at once). False when there was none. */
  async delete(name: string): Promise<boolean> {
    const k = this.keys.dataset;
    const existed = (await this.redis.del(k.meta(name))) > 0;
    await this.removeChunksFrom(name, 0);
    await this.redis.srem(k.index(), name);
    return existed;
  }

  private async *chunksOf(meta: DatasetMeta): AsyncGenerator<{ index: number; start: number; table: Table }> {
    const k = this.keys.dataset;
    for (let index = 0; index < meta.chunks; index++) {
      const start = index * meta.chunkRows;
      const rows = Math.min(meta.chunkRows, meta.rows - start);
      const p = this.redis.pipeline();
      p.getBuffer(k.chunk(meta.name, index));
      p.get(k.ids(meta.name, index));
      if (meta.hasLabels) p.get(k.labels(meta.name, index));
      const [bytes, idsJson, labelsJson] = (await execOrThrow(p)) as [Buffer | null, string | null, string | null | undefined];
      const ids = idsJson ? (JSON.parse(idsJson) as string[]) : [];
      const labels = labelsJson ? (JSON.parse(labelsJson) as string[]) : undefined;
      if (bytes?.length !== rows * meta.width * 4 || ids.length !== rows || (meta.hasLabels && labels?.length !== rows)) {
        // Deleted or re-imported while being read: another attempt reads the new version.
        throw new LatentflowError(`dataset "${meta.name}" changed while being read (chunk ${index}); try again`, true);
      }
      const values = new Float32Array(rows * meta.width);
      copyLittleEndian(bytes, values, 0);
      yield { index, start, table: { values, rows, width: meta.width, features: meta.features, ids, labels, source: `dataset:${meta.name}` } };
    }
  }

  /** Deletes chunks `from`, `from + 1`, … for as long as any exist (so leftovers of an interrupted import go too). */
  private async removeChunksFrom(name: string, from: number): Promise<void> {
    const k = this.keys.dataset;
    for (let first = from; ; first += PROBE) {
      const p = this.redis.pipeline();
      for (let i = first; i < first + PROBE; i++) p.del(k.chunk(name, i), k.ids(name, i), k.labels(name, i));
      const removed = (await execOrThrow(p)) as number[];
      if (removed.every((n) => n === 0)) return;
    }
  }
}

function checkTable(table: Table): void {
  const source = table.source;
  if (table.rows < 1) throw new InputError('a dataset needs at least one row', { source });
  if (table.features.length !== table.width) throw new InputError(`${table.features.length} feature names for ${table.width} columns`, { source });
  if (table.ids.length !== table.rows) throw new InputError(`${table.ids.length} ids for ${table.rows} rows`, { source });
  if (table.labels && table.labels.length !== table.rows) throw new InputError(`${table.labels.length} labels for ${table.rows} rows`, { source });
  checkMatrix(table);
}
