/**
 * Embeddings: the latent code and reconstruction error of every record of one dataset under one model version, and
 * what the downstream stages derive from them (cluster assignments, predictions, results).
 *
 * Layout (keys from {@link Keyspace}, all of one target in one Redis Cluster slot): `embeddings.codes` hash record id
 * → little-endian Float32 code; `embeddings.errors` sorted set of record ids by error; `embeddings.meta` hash of
 * plain strings `state` (writing | complete), `records`, `codeSize`, `meanError`, `updatedAt` (how many are written
 * is HLEN of the codes, never stored twice);
 * `embeddings.clusters` and `embeddings.predictions` hashes record id → value; `embeddings.results` hash stage → JSON.
 *
 * Every write is idempotent per record id, so an encode job that is retried simply writes the same ids again.
 *
 * Retention (stream embeddings only, writeBatch `maxLen`): `embeddings.written` scores every record id by the Redis
 * server's time (ms) of its last write, a later batch always above an earlier one (ties within one batch: by id). Each
 * batch is written with the trim in one MULTI, so codes, errors and `written` always hold the same ids: the newest
 * `maxLen` (records beyond it, oldest first, dropped; a record written again counts as new). Dataset embeddings
 * (no `maxLen`) have no `written` set and keep every record.
 */
import { InputError, LatentflowError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from './redis.js';
import { copyLittleEndian, toLittleEndian } from './binary.js';
import { compareIds, execOrThrow, FIELDS_PER_COMMAND, slices } from './util.js';

/**
 * Records dropped per write beyond the batch's own count, so a lowered `maxLen` is reached over the next few batches
 * instead of in one long script.
 */
const TRIM_EXTRA = 1000;

/**
 * KEYS written, codes, errors; ARGV maxLen, most to drop, ids just written. Scores the ids with the server's time in
 * ms (above the newest score, so batches keep their order), then drops the oldest beyond maxLen from all three keys.
 */
const TRACK_AND_TRIM = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
if newest and now <= tonumber(newest) then now = tonumber(newest) + 0.001 end
local score = string.format('%.17g', now)
local args = {}
for i = 3, #ARGV do
  args[#args + 1] = score
  args[#args + 1] = ARGV[i]
end
if #args > 0 then redis.call('ZADD', KEYS[1], unpack(args)) end
local excess = math.min(redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1]), tonumber(ARGV[2]))
local dropped = 0
while excess > dropped do
  local old = redis.call('ZRANGE', KEYS[1], 0, math.min(excess - dropped, 1000) - 1)
  if #old == 0 then break end
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
  redis.call('ZREM', KEYS[1], unpack(old))
  dropped = dropped + #old
end
return dropped
`;

/** Whose embeddings: a dataset under a model version (a number, already resolved). */
export interface EmbeddingTarget {
  model: string;
  version: number;
  dataset: string;
}

export interface EmbeddingStatus {
  /** `missing` before `begin`, `writing` until `complete`, then `complete`. */
  state: 'missing' | 'writing' | 'complete';
  /** Records expected (0 when missing). */
  records: number;
  /** Codes stored so far. */
  written: number;
  /** 0 when missing. */
  codeSize: number;
  /** Mean reconstruction error, once complete. */
  meanError?: number;
  /** ISO time of the last state change or batch. */
  updatedAt?: string;
}

export type AssignmentKind = 'clusters' | 'predictions';

export class EmbeddingStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /**
   * Marks the set as being written for `records` records of `codeSize` values. Codes already written are kept (a
   * retried job overwrites the same ids) unless `fresh` is set or the code size changed; the derived clusters,
   * predictions and results are always removed, since they no longer match the codes.
   */
  async begin(t: EmbeddingTarget, records: number, codeSize: number, options: { fresh?: boolean } = {}): Promise<void> {
    if (!Number.isInteger(records) || records < 0) throw new InputError('must be a non-negative integer', { field: 'records', value: records });
    if (!Number.isInteger(codeSize) || codeSize < 1) throw new InputError('must be a positive integer', { field: 'codeSize', value: codeSize });
    const k = this.k(t);
    const previous = await this.redis.hget(k.meta, 'codeSize');
    const m = this.redis.multi();
    if (options.fresh === true || (previous !== null && Number(previous) !== codeSize)) m.del(k.codes, k.errors, k.written);
    m.del(k.clusters, k.predictions, k.results);
    m.hdel(k.meta, 'meanError');
    m.hset(k.meta, { state: 'writing', records: String(records), codeSize: String(codeSize), updatedAt: new Date().toISOString() });
    await execOrThrow(m);
  }

  /**
   * Writes the codes (`ids.length × codeSize`, row-major) and errors of a batch of records, in one MULTI, at most
   * 1000 fields per command. Idempotent per record id. Needs `begin` first (its code size is checked). With `maxLen`
   * (stream embeddings), keeps only the newest `maxLen` records written (see the retention note above).
   */
  async writeBatch(t: EmbeddingTarget, ids: string[], codes: Float32Array, errors: Float32Array, options: { maxLen?: number } = {}): Promise<void> {
    const k = this.k(t);
    const { maxLen } = options;
    if (maxLen !== undefined && !(Number.isInteger(maxLen) && maxLen >= 1)) throw new InputError('must be a positive integer', { field: 'maxLen', value: maxLen });
    const stored = await this.redis.hget(k.meta, 'codeSize');
    if (stored === null) throw new LatentflowError(`embeddings of ${describe(t)}: writeBatch before begin`, false);
    const q = Number(stored);
    if (codes.length !== ids.length * q || errors.length !== ids.length) {
      throw new InputError(`a batch of ${ids.length} ids needs ${ids.length * q} code values (code size ${q}) and ${ids.length} errors, got ${codes.length} and ${errors.length}`, { source: describe(t) });
    }
    const bad = errors.findIndex((e) => Number.isNaN(e));
    if (bad >= 0) throw new InputError('reconstruction error is NaN', { source: describe(t), row: bad, value: ids[bad] });
    const m = this.redis.multi();
    for (let first = 0; first < ids.length; first += FIELDS_PER_COMMAND) {
      const last = Math.min(ids.length, first + FIELDS_PER_COMMAND);
      const fields: (string | Buffer)[] = [];
      const scored: string[] = [];
      for (let i = first; i < last; i++) {
        fields.push(ids[i], toLittleEndian(codes.subarray(i * q, (i + 1) * q)));
        scored.push(scoreText(errors[i]), ids[i]);
      }
      m.hset(k.codes, ...fields);
      m.zadd(k.errors, ...scored);
      if (maxLen !== undefined) m.eval(TRACK_AND_TRIM, 3, k.written, k.codes, k.errors, maxLen, last - first + TRIM_EXTRA, ...ids.slice(first, last));
    }
    m.hset(k.meta, 'updatedAt', new Date().toISOString());
    await execOrThrow(m);
  }

  /**
   * Makes codes stored without retention (stream embeddings written before it existed) the oldest records of the
   * `written` set, so the trim drops them first; returns how many were adopted. Cheap when there are none (HLEN and
   * ZCARD); otherwise one HSCAN of the codes, safe to run again or alongside writes.
   */
  async trackUntracked(t: EmbeddingTarget): Promise<number> {
    const k = this.k(t);
    const m = this.redis.multi();
    m.hlen(k.codes).zcard(k.written);
    const [codes, written] = (await execOrThrow(m)) as [number, number];
    if (codes <= written) return 0;
    let adopted = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(k.codes, cursor, 'COUNT', FIELDS_PER_COMMAND);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) adopted += await this.redis.zadd(k.written, 'NX', ...ids.flatMap((id) => ['0', id]));
    } while (cursor !== '0');
    return adopted;
  }

  /**
   * Marks the set complete with its mean error. Throws unless exactly `records` codes and errors are stored: fewer
   * is retryable (a batch is missing); more is not (ids from an earlier import: begin again with `fresh`).
   */
  async complete(t: EmbeddingTarget, summary: { meanError: number }): Promise<void> {
    const k = this.k(t);
    const m = this.redis.multi();
    m.hget(k.meta, 'records').hlen(k.codes).zcard(k.errors);
    const [recordsText, codes, errors] = (await execOrThrow(m)) as [string | null, number, number];
    if (recordsText === null) throw new LatentflowError(`embeddings of ${describe(t)}: complete before begin`, false);
    const records = Number(recordsText);
    if (codes !== records || errors !== records) {
      const message = `embeddings of ${describe(t)} are incomplete: ${codes} codes and ${errors} errors stored for ${records} records`;
      if (codes > records || errors > records) throw new LatentflowError(`${message} (stale ids from an earlier run: encode again from scratch)`, false);
      throw new LatentflowError(message, true);
    }
    await this.redis.hset(k.meta, { state: 'complete', meanError: String(summary.meanError), updatedAt: new Date().toISOString() });
  }

  async status(t: EmbeddingTarget): Promise<EmbeddingStatus> {
    const k = this.k(t);
    const m = this.redis.multi();
    m.hgetall(k.meta).hlen(k.codes);
    const [meta, written] = (await execOrThrow(m)) as [Record<string, string>, number];
    if (meta.state === undefined) return { state: 'missing', records: 0, written, codeSize: 0 };
    return {
      state: meta.state === 'complete' ? 'complete' : 'writing',
      records: Number(meta.records),
      written,
      codeSize: Number(meta.codeSize),
      ...(meta.meanError !== undefined ? { meanError: Number(meta.meanError) } : {}),
      ...(meta.updatedAt !== undefined ? { updatedAt: meta.updatedAt } : {}),
    };
  }

  /**
   * Codes (`ids.length × codeSize`) and errors of the given ids, in their order; without ids, of every stored id in
   * natural order ("2" before "10"). Empty (codeSize 0) when nothing is stored for the target; an InputError naming
   * the first id without a code when only some are missing.
   */
  async read(t: EmbeddingTarget, ids?: string[]): Promise<{ ids: string[]; codes: Float32Array; errors: Float32Array; codeSize: number }> {
    const k = this.k(t);
    const m = this.redis.multi();
    m.hget(k.meta, 'codeSize').hlen(k.codes);
    const [codeSizeText, stored] = (await execOrThrow(m)) as [string | null, number];
    if (stored === 0) return { ids: [], codes: new Float32Array(0), errors: new Float32Array(0), codeSize: 0 };
    const order = ids ?? (await this.redis.hkeys(k.codes)).sort(compareIds);
    let q = codeSizeText === null ? undefined : Number(codeSizeText);
    let codes = new Float32Array(q === undefined ? 0 : order.length * q);
    const errors = new Float32Array(order.length);
    let offset = 0;
    for (const slice of slices(order, FIELDS_PER_COMMAND)) {
      const p = this.redis.pipeline();
      p.hmgetBuffer(k.codes, ...slice);
      p.zmscore(k.errors, ...slice);
      const [buffers, scores] = (await execOrThrow(p)) as [(Buffer | null)[], (string | null)[]];
      for (let i = 0; i < slice.length; i++) {
        const bytes = buffers[i];
        const score = scores[i];
        if (bytes === null || score === null) {
          const missing = order.length - stored > 0 ? ` (${stored} of ${order.length} records have one)` : '';
          throw new InputError(`no ${bytes === null ? 'code' : 'error'} for record "${slice[i]}"${missing}`, { source: `embeddings of ${describe(t)}` });
        }
        if (q === undefined) {
          q = bytes.length / 4;
          codes = new Float32Array(order.length * q);
        }
        if (bytes.length !== q * 4) throw new LatentflowError(`embeddings of ${describe(t)}: code of record "${slice[i]}" has ${bytes.length / 4} values, expected ${q}`, false);
        copyLittleEndian(bytes, codes, (offset + i) * q);
        errors[offset + i] = parseScore(score);
      }
      offset += slice.length;
    }
    return { ids: order, codes, errors, codeSize: q ?? 0 };
  }

  /** The `n` records with the highest reconstruction error, highest first. */
  async top(t: EmbeddingTarget, n: number): Promise<{ id: string; error: number }[]> {
    if (n <= 0) return [];
    const flat = await this.redis.zrevrange(this.k(t).errors, 0, n - 1, 'WITHSCORES');
    const out: { id: string; error: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i], error: parseScore(flat[i + 1]) });
    return out;
  }

  /** Replaces the cluster assignments or predictions atomically (written to a temporary key, then renamed). */
  async writeAssignments(t: EmbeddingTarget, kind: AssignmentKind, values: Map<string, string | number>): Promise<void> {
    const key = this.k(t)[kind];
    const temp = `${key}:tmp`;
    const m = this.redis.multi();
    m.del(temp);
    const entries = [...values];
    for (const slice of slices(entries, FIELDS_PER_COMMAND)) m.hset(temp, ...slice.flatMap(([id, v]) => [id, String(v)]));
    if (entries.length > 0) m.rename(temp, key);
    else m.del(key);
    await execOrThrow(m);
  }

  /** Cluster assignments or predictions by record id (values as stored text); empty when none. */
  async readAssignments(t: EmbeddingTarget, kind: AssignmentKind): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.k(t)[kind])));
  }

  /** Stores a downstream stage's result (centroids, SVM model, metrics) as JSON. */
  async writeResult(t: EmbeddingTarget, stage: string, value: unknown): Promise<void> {
    await this.redis.hset(this.k(t).results, stage, JSON.stringify(value));
  }

  async readResult<T>(t: EmbeddingTarget, stage: string): Promise<T | undefined> {
    const json = await this.redis.hget(this.k(t).results, stage);
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  /** Removes everything stored for the target (codes, errors, write times, meta, assignments, results). */
  async clear(t: EmbeddingTarget): Promise<void> {
    const k = this.k(t);
    await this.redis.del(k.codes, k.errors, k.written, k.meta, k.clusters, k.predictions, k.results);
  }

  private k(t: EmbeddingTarget) {
    const e = this.keys.embeddings;
    return {
      codes: e.codes(t.model, t.version, t.dataset),
      errors: e.errors(t.model, t.version, t.dataset),
      meta: e.meta(t.model, t.version, t.dataset),
      clusters: e.clusters(t.model, t.version, t.dataset),
      predictions: e.predictions(t.model, t.version, t.dataset),
      results: e.results(t.model, t.version, t.dataset),
      written: e.written(t.model, t.version, t.dataset),
    };
  }
}

function describe(t: EmbeddingTarget): string {
  return `${t.model}@${t.version} on dataset ${t.dataset}`;
}

/** A sorted-set score as Redis parses it (`inf` for an infinite error). */
function scoreText(e: number): string {
  return e === Infinity ? 'inf' : e === -Infinity ? '-inf' : String(e);
}

/** A sorted-set score as Redis prints it (`inf`, `-inf` or a decimal). */
function parseScore(text: string): number {
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return Number(text);
}
