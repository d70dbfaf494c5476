/**
 * Anomaly alerts on a capped Redis Stream (`keys.alerts()`), readable by any Redis client: every field is a flat
 * string (`features` is a JSON array of `{feature, error}`), e.g. `XREAD BLOCK 0 STREAMS lf:alerts $` in redis-cli.
 */
import type { Redis } from 'ioredis';
import type { Keyspace } from '../contracts/keys.js';
import { closeRedis } from './redis.js';
import { execOrThrow } from './util.js';

/** One anomalous record. */
export interface Alert {
  /** The dataset or input stream the record came from. */
  source: string;
  /** The record id. */
  record: string;
  /** Its reconstruction error. */
  score: number;
  /** The threshold it exceeded. */
  threshold: number;
  severity: 'low' | 'medium' | 'high' | 'critical';
  model: string;
  version: number;
  /** The features with the largest reconstruction error, largest first. */
  features: { feature: string; error: number }[];
  /** ISO time of detection. */
  at: string;
  /** Default `anomaly`. */
  kind?: 'anomaly' | 'drift';
}

export interface AlertEntry {
  /** The stream entry id (`<ms>-<seq>`). */
  id: string;
  alert: Alert;
}

/**
 * Severity from the ratio score / threshold: below 1.5 `low`, below 3 `medium`, below 10 `high`, else `critical`
 * (also `critical` when the threshold is not positive).
 */
export function severityOf(score: number, threshold: number): Alert['severity'] {
  const ratio = threshold > 0 ? score / threshold : Infinity;
  if (ratio < 1.5) return 'low';
  if (ratio < 3) return 'medium';
  if (ratio < 10) return 'high';
  return 'critical';
}

/** XADD only if the record (ARGV[1]) is new to the scope's set; returns the entry id, or nil when skipped. */
const ADD_ONCE = `if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], unpack(ARGV, 2))`;

/** Entries per `read` when no count is given. */
export const DEFAULT_READ_COUNT = 1000;
/** How long one XREAD of `follow` blocks before checking again, in ms. */
const BLOCK_MS = 5000;

export class AlertStore {
  /** `maxLen`: approximate cap of the stream (XADD MAXLEN ~, so Redis trims whole nodes: it may hold somewhat more). */
  constructor(private readonly redis: Redis, private readonly keys: Keyspace, private readonly maxLen = 100_000) {}

  /**
   * Appends alerts (one pipelined XADD each, capped at ~maxLen) and returns the entry ids of those appended, in order.
   * With `once`, a scope such as `model@version:dataset`: a record already alerted in that scope is skipped, atomically
   * (a Lua script adds the record to the scope's set and the entry to the stream together), so a retried job never
   * alerts twice.
   */
  async publish(alerts: Alert[], options: { once?: string } = {}): Promise<string[]> {
    if (alerts.length === 0) return [];
    const p = this.redis.pipeline();
    const cap = ['MAXLEN', '~', String(this.maxLen), '*'];
    for (const alert of alerts) {
      if (options.once === undefined) p.xadd(this.keys.alerts(), ...cap, ...toFields(alert));
      else p.eval(ADD_ONCE, 2, this.keys.alerts(), this.keys.alertsSent(options.once), alert.record, ...cap, ...toFields(alert));
    }
    return ((await execOrThrow(p)) as (string | null)[]).filter((id): id is string => typeof id === 'string');
  }

  /**
   * With `after`: up to `count` entries after that id (exclusive), oldest first. Without: the latest `count`
   * entries, oldest first (what `alerts tail` prints). `count` defaults to 1000.
   */
  async read(options: { after?: string; count?: number } = {}): Promise<AlertEntry[]> {
    const count = options.count ?? DEFAULT_READ_COUNT;
    if (count <= 0) return [];
    const key = this.keys.alerts();
    if (options.after === undefined) {
      const entries = (await this.redis.xrevrange(key, '+', '-', 'COUNT', count)) as [string, string[]][];
      return entries.reverse().map(toEntry);
    }
    const start = options.after === '-' || options.after === '0' || options.after === '0-0' ? '-' : `(${options.after}`;
    return ((await this.redis.xrange(key, start, '+', 'COUNT', count)) as [string, string[]][]).map(toEntry);
  }

  /**
   * Yields alerts as they arrive (XREAD BLOCK on a duplicated connection, closed on exit) until `signal` aborts,
   * then returns normally. `after`: an entry id to continue from (exclusive), or `$` (the default) for only alerts
   * published from now on.
   */
  async *follow(options: { after?: string; signal: AbortSignal }): AsyncGenerator<AlertEntry> {
    const { signal } = options;
    if (signal.aborted) return;
    const key = this.keys.alerts();
    let last = options.after === undefined || options.after === '$' ? await this.lastId() : options.after;
    const connection = this.redis.duplicate();
    const onAbort = () => connection.disconnect();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        let reply: unknown;
        try {
          reply = await connection.xread('COUNT', 100, 'BLOCK', BLOCK_MS, 'STREAMS', key, last);
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
        for (const entry of streamEntries(reply)) {
          last = entry[0];
          yield toEntry(entry);
          if (signal.aborted) return;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await closeRedis(connection);
    }
  }

  /** The id of the newest entry, or `0-0` for an empty stream. */
  private async lastId(): Promise<string> {
    const newest = (await this.redis.xrevrange(this.keys.alerts(), '+', '-', 'COUNT', 1)) as [string, string[]][];
    return newest[0]?.[0] ?? '0-0';
  }
}

function toFields(alert: Alert): string[] {
  return [
    'source', alert.source, 'record', alert.record, 'score', String(alert.score), 'threshold', String(alert.threshold),
    'severity', alert.severity, 'model', alert.model, 'version', String(alert.version),
    'features', JSON.stringify(alert.features), 'at', alert.at, 'kind', alert.kind ?? 'anomaly',
  ];
}

/** An entry as any client may have written it: missing fields get neutral values rather than failing the reader. */
function toEntry([id, flat]: [string, string[]]): AlertEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  let features: Alert['features'] = [];
  try {
    const parsed: unknown = JSON.parse(f.features ?? '[]');
    if (Array.isArray(parsed)) features = parsed as Alert['features'];
  } catch {
    features = [];
  }
  const score = Number(f.score);
  const threshold = Number(f.threshold);
  const severity = (['low', 'medium', 'high', 'critical'] as const).find((s) => s === f.severity) ?? severityOf(score, threshold);
  return {
    id,
    alert: {
      source: f.source ?? '', record: f.record ?? '', score, threshold, severity, model: f.model ?? '',
      version: Number(f.version ?? 0), features, at: f.at ?? new Date(Number(id.split('-')[0])).toISOString(),
      kind: f.kind === 'drift' ? 'drift' : 'anomaly',
    },
  };
}

/** The entries of an XREAD reply on one stream: `[[key, entries]]` (RESP2 shape), or null on timeout. */
function streamEntries(reply: unknown): [string, string[]][] {
  if (!Array.isArray(reply)) return [];
  const first: unknown = reply[0];
  if (Array.isArray(first) && Array.isArray(first[1])) return first[1] as [string, string[]][];
  if (typeof first === 'string' && Array.isArray(reply[1])) return reply[1] as [string, string[]][];
  return [];
}
