/**
 * Per-source ingestion rate limit: a token bucket in Redis (`keys.stream.rate(source)`) that every encoder draws from
 * before it reads a batch of the source, so the source is consumed at most `rate` records per second in all, however
 * many encoders share it. A producer that floods its source then only grows its own backlog (up to its MAXLEN) and
 * cannot take the encoders' time from the other sources.
 *
 * The bucket holds at most one batch (`min(rate, count)` records), so a flood that starts after a quiet spell gets
 * one batch ahead, not a second's worth. A throttled source is read in batches of at least a twentieth of a second's
 * records (`least`), not one record at a time. Tokens granted but not used (the read found fewer entries) are given
 * back with the next request.
 */
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from '../store/redis.js';

/** Idle buckets expire after this long (a full bucket is the same as none). */
const BUCKET_TTL_MS = 60_000;

// KEYS[1] bucket · ARGV rate/s, capacity, least, want, refund, ttl → {granted, wait ms (when granted is 0)}.
const TAKE = `
local rate, capacity, least = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local want, refund = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or capacity
local at = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + refund + math.max(0, now - at) * rate / 1000)
local granted = 0
if tokens >= least then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if granted > 0 then return {granted, 0} end
return {0, math.ceil((least - tokens) * 1000 / rate)}
`;

export interface Grant {
  /** Records that may be read now (0: none yet). */
  granted: number;
  /** With nothing granted, how long until a batch of the least size is available. */
  waitMs: number;
}

export class SourceRateLimit {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /**
   * Takes up to `want` records' worth of the source's bucket at `rate` records/s, after giving back `refund` unused
   * tokens of the previous grant; nothing is granted below a twentieth of a second's records (or `want`).
   */
  async take(source: string, rate: number, want: number, refund = 0): Promise<Grant> {
    const capacity = Math.max(1, Math.min(rate, want));
    const least = Math.max(1, Math.min(capacity, Math.ceil(rate / 20)));
    const [granted, waitMs] = (await this.redis.eval(
      TAKE, 1, this.keys.stream.rate(source), String(rate), String(capacity), String(least), String(want), String(refund), String(BUCKET_TTL_MS),
    )) as [number, number];
    return { granted: Number(granted), waitMs: Number(waitMs) };
  }
}
