/**
 * Each user's top items under one AutoRec model version, written by `recommend` jobs and read by anyone.
 *
 * Layout (keys from {@link Keyspace}): `recommendations.top(model, version)` a hash user id → JSON array of
 * `[item, score, predicted rating]` triples, best score first, the rating `null` for implicit feedback (any Redis
 * client can `HGET` one user; lists written before scores existed are `[item, predicted rating]` pairs); `recommendations.meta(model,
 * version)` a hash with `n`, `users` (written so far), `total`, `state` (`writing` or `complete`) and `updatedAt`.
 * A retried job overwrites the same fields, so a partial first attempt leaves nothing stale behind.
 */
import type { Keyspace } from '../contracts/keys.js';
import type { Recommendation } from '../ml/autorec.js';
import type { RedisClient } from './redis.js';
import { execOrThrow, FIELDS_PER_COMMAND, slices } from './util.js';

export interface RecommendationStatus {
  n: number;
  users: number;
  total: number;
  state: 'writing' | 'complete';
  updatedAt: string;
}

export class RecommendationStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /** Starts (or restarts) writing `total` users' top `n`. */
  async begin(model: string, version: number, n: number, total: number): Promise<void> {
    await this.redis.hset(this.keys.recommendations.meta(model, version), { n: String(n), users: '0', total: String(total), state: 'writing', updatedAt: new Date().toISOString() });
  }

  /** Writes one batch of users' lists and the count written so far. */
  async write(model: string, version: number, batch: readonly { user: string; items: readonly Recommendation[] }[], written: number): Promise<void> {
    const k = this.keys.recommendations;
    const p = this.redis.pipeline();
    for (const part of slices(batch, FIELDS_PER_COMMAND)) {
      p.hset(k.top(model, version), Object.fromEntries(part.map(({ user, items }) => [user, JSON.stringify(items.map((r) => [r.item, r.score, r.rating ?? null]))])));
    }
    p.hset(k.meta(model, version), 'users', String(written), 'updatedAt', new Date().toISOString());
    await execOrThrow(p);
  }

  async complete(model: string, version: number): Promise<void> {
    await this.redis.hset(this.keys.recommendations.meta(model, version), 'state', 'complete', 'updatedAt', new Date().toISOString());
  }

  /** The status, undefined when no recommend job has written for this version. */
  async status(model: string, version: number): Promise<RecommendationStatus | undefined> {
    const f = await this.redis.hgetall(this.keys.recommendations.meta(model, version));
    if (Object.keys(f).length === 0) return undefined;
    return { n: Number(f.n), users: Number(f.users), total: Number(f.total), state: f.state === 'complete' ? 'complete' : 'writing', updatedAt: f.updatedAt };
  }

  /** One user's stored list, undefined when none is stored. */
  async top(model: string, version: number, user: string): Promise<Recommendation[] | undefined> {
    const json = await this.redis.hget(this.keys.recommendations.top(model, version), user);
    if (json === null) return undefined;
    return (JSON.parse(json) as [string, number, (number | null)?][]).map(([item, score, rating]) => (rating === undefined ? { item, score, rating: score }
      : rating === null ? { item, score } : { item, score, rating }));
  }
}
