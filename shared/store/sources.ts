/**
 * Stream sources: named input streams (`keys.stream.input(source)`, `<prefix>:in:<source>`) that the encoder scores
 * with a model's `production` version. Configured in one hash (`keys.sources()`: source → JSON {@link SourceConfig}),
 * which encoders re-read every few seconds, so adding or removing a source needs no restart.
 *
 * Length policy: producers should cap the stream themselves with `XADD <prefix>:in:<source> MAXLEN ~ <maxLen> * ...`
 * (`~` lets Redis trim whole nodes cheaply, so the stream may hold somewhat more). Entries beyond the cap are lost
 * whether they were scored or not, so `maxLen` must exceed the largest backlog expected while encoders are down.
 * The encoder caps the source's dead-letter stream with the same `maxLen`.
 */
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from './redis.js';
import { checkName, compareIds } from './util.js';

/** The consumer group every encoder joins on every source stream. */
export const STREAM_GROUP = 'encoders';
/** Default `maxLen` of a source: the approximate cap (MAXLEN ~) producers should apply. */
export const DEFAULT_SOURCE_MAXLEN = 100_000;

export interface SourceConfig {
  /** The model whose `production` version scores the source. */
  model: string;
  /** Approximate length cap (MAXLEN ~) for producers and for the dead-letter stream. Default 100 000. */
  maxLen: number;
  /**
   * Records per second the encoders take from the source in all (stream/rate-limit.ts); beyond it the backlog waits
   * in the stream. Unset: LATENTFLOW_SOURCE_RATE_LIMIT applies (0 there: none).
   */
  rateLimit?: number;
  /** ISO time the source was added (or last changed). */
  createdAt: string;
}

export interface SourceInfo extends SourceConfig {
  source: string;
}

/** What `source list` shows per source. */
export interface SourceStats {
  /** XLEN of the input stream (0 when it does not exist yet). */
  length: number;
  /** Consumer groups on the input stream: entries delivered but not acknowledged, and entries not yet delivered. */
  groups: { name: string; consumers: number; pending: number; lag: number | null; entriesRead: number | null }[];
  /** XLEN of the dead-letter stream. */
  dlq: number;
}

export class SourceStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /** Adds or replaces a source. InputError naming the field for a bad name, model, maxLen or rateLimit. */
  async add(source: string, options: { model: string; maxLen?: number; rateLimit?: number }): Promise<SourceInfo> {
    checkSource(source);
    checkName(options.model, 'model', 'model');
    const maxLen = options.maxLen ?? DEFAULT_SOURCE_MAXLEN;
    if (!Number.isInteger(maxLen) || maxLen < 1) throw new InputError('must be a positive integer', { field: 'maxLen', value: maxLen });
    const { rateLimit } = options;
    if (rateLimit !== undefined && !isRateLimit(rateLimit)) throw new InputError('must be a positive integer (records per second)', { field: 'rateLimit', value: rateLimit });
    const config: SourceConfig = { model: options.model, maxLen, ...(rateLimit !== undefined ? { rateLimit } : {}), createdAt: new Date().toISOString() };
    await this.redis.hset(this.keys.sources(), source, JSON.stringify(config));
    return { source, ...config };
  }

  /** Every source, by name. */
  async list(): Promise<SourceInfo[]> {
    const all = await this.redis.hgetall(this.keys.sources());
    return Object.keys(all).sort(compareIds).flatMap((source) => {
      const config = parseConfig(all[source]);
      return config ? [{ source, ...config }] : [];
    });
  }

  async get(source: string): Promise<SourceInfo | undefined> {
    const json = await this.redis.hget(this.keys.sources(), source);
    const config = json === null ? undefined : parseConfig(json);
    return config ? { source, ...config } : undefined;
  }

  /**
   * Removes the source's configuration (encoders stop reading it within a few seconds); true when it existed. The
   * input and dead-letter streams are kept unless `purge` is set.
   */
  async remove(source: string, options: { purge?: boolean } = {}): Promise<boolean> {
    // Separate commands: the sources hash and the two streams live in different cluster slots.
    const removed = await this.redis.hdel(this.keys.sources(), source);
    if (options.purge === true) await Promise.all([this.redis.del(this.keys.stream.input(source)), this.redis.del(this.keys.stream.dlq(source))]);
    return removed === 1;
  }

  /** Lengths and consumer-group state of a source's streams. */
  async stats(source: string): Promise<SourceStats> {
    const input = this.keys.stream.input(source);
    const [length, dlq, exists] = await Promise.all([this.redis.xlen(input), this.redis.xlen(this.keys.stream.dlq(source)), this.redis.exists(input)]);
    const groups: SourceStats['groups'] = [];
    if (exists === 1) {
      const reply = (await this.redis.call('XINFO', ['GROUPS', input])) as unknown[];
      for (const g of reply) {
        const f = fieldsOf(g);
        groups.push({
          name: String(f.name), consumers: Number(f.consumers ?? 0), pending: Number(f.pending ?? 0),
          lag: f.lag === null || f.lag === undefined ? null : Number(f.lag),
          entriesRead: f['entries-read'] === null || f['entries-read'] === undefined ? null : Number(f['entries-read']),
        });
      }
    }
    return { length, groups, dlq };
  }
}

function isRateLimit(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/** Source names follow NAME_PATTERN (letters, digits, `.`, `_`, `-`). */
export function checkSource(source: string): void {
  checkName(source, 'source', 'source');
}

function parseConfig(json: string): SourceConfig | undefined {
  try {
    const c = JSON.parse(json) as Partial<SourceConfig>;
    if (typeof c.model !== 'string') return undefined;
    return {
      model: c.model, maxLen: Number.isInteger(c.maxLen) && c.maxLen! > 0 ? c.maxLen! : DEFAULT_SOURCE_MAXLEN,
      ...(isRateLimit(c.rateLimit) ? { rateLimit: c.rateLimit } : {}), createdAt: String(c.createdAt ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** A RESP2 flat array or a RESP3 map (ioredis gives either as a flat array or an object) → plain object. */
function fieldsOf(reply: unknown): Record<string, unknown> {
  if (Array.isArray(reply)) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
    return out;
  }
  return typeof reply === 'object' && reply !== null ? (reply as Record<string, unknown>) : {};
}
