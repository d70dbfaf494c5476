/**
 * Named ratings datasets in Redis, the training data of AutoRec models: (user, item, rating) triples imported once
 * and read by the trainer on any host.
 *
 * Layout (keys from {@link Keyspace}): `ratings.users(name)` and `ratings.items(name)` JSON arrays of the external
 * ids; `ratings.entries(name)` one binary string of little-endian Int32 user indices, then Int32 item indices, then
 * Float32 ratings (12 bytes per rating, so up to ~44 million ratings per dataset under Redis's 512 MB string limit);
 * `ratings.meta(name)` a hash of the {@link RatingsMeta} fields, each JSON-encoded, written last so that a ratings
 * dataset is visible only once complete; `ratings.index()` the set of names.
 */
import { InputError, LatentflowError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import type { Ratings } from '../data/ratings.js';
import { copyLittleEndian, toLittleEndian } from './binary.js';
import type { RedisClient } from './redis.js';
import { checkName, compareIds, execOrThrow, fromJsonFields, toJsonFields } from './util.js';

export interface RatingsMeta {
  name: string;
  ratings: number;
  users: number;
  items: number;
  min: number;
  max: number;
  /** Where it was imported from (e.g. a file path). */
  source: string;
  /** ISO time of the import. */
  importedAt: string;
}

/** Largest entries string Redis accepts (proto-max-bulk-len default). */
const MAX_BYTES = 512 * 1024 * 1024;

export class RatingsStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /** Stores `ratings` under `name` (overwriting). The meta is deleted first and written last. */
  async save(name: string, ratings: Ratings, source: string): Promise<RatingsMeta> {
    checkName(name, 'ratings');
    const n = ratings.entries.rating.length;
    if (n === 0) throw new InputError('a ratings dataset needs at least one rating', { source });
    if (n * 12 > MAX_BYTES) throw new InputError(`${n} ratings exceed what one dataset holds (${Math.floor(MAX_BYTES / 12)})`, { source });
    const k = this.keys.ratings;
    await this.redis.del(k.meta(name));
    await this.redis.sadd(k.index(), name);
    const { user, item, rating } = ratings.entries;
    const bytes = Buffer.concat([toLittleEndian(user), toLittleEndian(item), toLittleEndian(rating)]);
    const meta: RatingsMeta = {
      name, ratings: n, users: ratings.users.length, items: ratings.items.length, min: ratings.min, max: ratings.max,
      source, importedAt: new Date().toISOString(),
    };
    await execOrThrow(this.redis.pipeline()
      .set(k.users(name), JSON.stringify(ratings.users))
      .set(k.items(name), JSON.stringify(ratings.items))
      .set(k.entries(name), bytes));
    await this.redis.hset(k.meta(name), toJsonFields(meta));
    return meta;
  }

  /** The meta; InputError naming the known ratings datasets when missing. */
  async meta(name: string): Promise<RatingsMeta> {
    const fields = await this.redis.hgetall(this.keys.ratings.meta(name));
    if (Object.keys(fields).length === 0) {
      const names = (await this.list()).map((m) => m.name);
      const known = names.length > 0 ? `ratings datasets: ${names.join(', ')}` : 'no ratings datasets yet: import one with `latentflow dataset import <file> --ratings`';
      throw new InputError(`ratings dataset "${name}" does not exist (${known})`, { field: 'dataset', value: name });
    }
    return fromJsonFields<RatingsMeta>(fields);
  }

  async load(name: string): Promise<Ratings> {
    const meta = await this.meta(name);
    const k = this.keys.ratings;
    const [users, items, bytes] = (await execOrThrow(this.redis.pipeline().get(k.users(name)).get(k.items(name)).getBuffer(k.entries(name)))) as [string | null, string | null, Buffer | null];
    const n = meta.ratings;
    if (users === null || items === null || bytes?.length !== n * 12) {
      throw new LatentflowError(`ratings dataset "${name}" changed while being read; try again`, true);
    }
    const entries = { user: new Int32Array(n), item: new Int32Array(n), rating: new Float32Array(n) };
    copyLittleEndian(bytes.subarray(0, 4 * n), entries.user, 0);
    copyLittleEndian(bytes.subarray(4 * n, 8 * n), entries.item, 0);
    copyLittleEndian(bytes.subarray(8 * n), entries.rating, 0);
    return { users: JSON.parse(users) as string[], items: JSON.parse(items) as string[], entries, min: meta.min, max: meta.max };
  }

  /** Every complete ratings dataset, by name. */
  async list(): Promise<RatingsMeta[]> {
    const names = (await this.redis.smembers(this.keys.ratings.index())).sort(compareIds);
    const replies = await Promise.all(names.map((name) => this.redis.hgetall(this.keys.ratings.meta(name))));
    return replies.filter((f) => Object.keys(f).length > 0).map((f) => fromJsonFields<RatingsMeta>(f));
  }

  /** Removes a ratings dataset. False when there was none. */
  async delete(name: string): Promise<boolean> {
    const k = this.keys.ratings;
    const existed = (await this.redis.del(k.meta(name))) > 0;
    await this.redis.del(k.users(name), k.items(name), k.entries(name));
    await this.redis.srem(k.index(), name);
    return existed;
  }
}
