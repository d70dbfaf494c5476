/**
 * Anomaly alerts on a capped Redis Stream (`keys.alerts()`), readable by any Redis client: every field is a flat
 * string (`features` is a JSON array of `{feature, error}`, `attribution` one of `{feature, contribution}`), e.g. `XREAD BLOCK 0 STREAMS lf:alerts $` in redis-cli.
 *
 * Every appended alert is also PUBLISHed on `keys.alertsChannel()` (e.g. `SUBSCRIBE lf:alerts:live`) as one JSON
 * object: `{"id": <stream entry id>, source, record, score, threshold, severity, model, version, features, at, kind,
 * pValue, attribution}` (the last two when known)
 * (fire-and-forget: a listener that was not subscribed misses it; the stream keeps it).
 *
 * Every appended alert is counted per source, severity and kind in `keys.telemetry.alerts()` (store/telemetry.ts), in
 * the same script as its XADD.
 */
import type { Keyspace } from '../contracts/keys.js';
import { closeRedis, duplicateRedis, type RedisClient } from './redis.js';
import { alertCounterField } from './telemetry.js';
import { execOrThrow, streamEntries } from './util.js';

/** One anomalous record. */
export interface Alert {
  /** The dataset or input stream the record came from. */
  source: string;
  /** The record id. */
  record: string;
  /** Its anomaly score (the model's detector's: the reconstruction error for detector `ae`); a drift alert's statistic. */
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
  /**
   * How often normal data scores this high (shared/ml/calibration.ts), or a drift test's p-value; absent for models
   * saved before calibration existed. With it, the severity is the p-value's (severityOfPValue).
   */
  pValue?: number;
  /** The features whose replacement by their training median lowers the score most, largest first (Autoencoder.attribute). */
  attribution?: { feature: string; contribution: number }[];
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

/**
 * One alert, atomically: with `once` (ARGV[6] = 1, KEYS[3] the scope's marks) a record already marked is a duplicate
 * (returns 0); with a cool-down (ARGV[7] = 1, the last KEYS entry) an entity already cooling down is suppressed and
 * counted (INCR keeps the TTL; returns -1); otherwise the alert is XADDed, PUBLISHed as JSON with its entry id,
 * counted in the telemetry hash (KEYS[2], field ARGV[8]), and the entry id is returned. ARGV: record, cool-down ms,
 * channel, alert JSON, MAXLEN, once?, cool-down?, counter field, now (ms), dedup ms, then the stream fields. Every key
 * shares the `{prefix:alerts}` slot (see keys.ts).
 *
 * The marks are a sorted set record → when (ms): marks older than the dedup period are dropped before the check, the
 * oldest beyond MAXLEN after it, and the key expires a dedup period after its last mark. A plain set left there by an
 * older version is converted (its records marked now) when it holds at most MAXLEN records, else replaced (UNLINK).
 */
const APPEND = `local k = 3
if ARGV[6] == '1' then
  local sent, now, maxlen, dedup = KEYS[3], tonumber(ARGV[9]), tonumber(ARGV[5]), tonumber(ARGV[10])
  local kind = redis.call('TYPE', sent).ok
  if kind == 'set' and redis.call('SCARD', sent) <= maxlen then
    local old = redis.call('SMEMBERS', sent)
    redis.call('DEL', sent)
    for i = 1, #old, 500 do
      local args = {}
      for j = i, math.min(i + 499, #old) do
        args[#args + 1] = now
        args[#args + 1] = old[j]
      end
      redis.call('ZADD', sent, unpack(args))
    end
  elseif kind ~= 'zset' and kind ~= 'none' then
    redis.call('UNLINK', sent)
  end
  redis.call('ZREMRANGEBYSCORE', sent, '-inf', string.format('(%d', now - dedup))
  if redis.call('ZADD', sent, 'NX', now, ARGV[1]) == 0 then return 0 end
  local n = redis.call('ZCARD', sent)
  if n > maxlen then redis.call('ZREMRANGEBYRANK', sent, 0, n - maxlen - 1) end
  redis.call('PEXPIRE', sent, dedup)
  k = 4
end
if ARGV[7] == '1' and not redis.call('SET', KEYS[k], '0', 'NX', 'PX', ARGV[2]) then
  redis.call('INCR', KEYS[k])
  return -1
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 11))
redis.call('PUBLISH', ARGV[3], '{"id":' .. cjson.encode(id) .. ',' .. string.sub(ARGV[4], 2))
redis.call('HINCRBY', KEYS[2], ARGV[8], 1)
return id`;

/** What became of one alert given to {@link AlertStore.append}. */
export type AppendOutcome =
  /** Appended (and published) as stream entry `id`. */
  | { status: 'appended'; id: string }
  /** Skipped: its record was already alerted in the `once` scope (a retry). */
  | { status: 'duplicate' }
  /** Skipped and counted: its entity is cooling down. */
  | { status: 'suppressed' };

export interface AppendOptions {
  /** A scope such as `model@version:dataset`: a record already alerted (or suppressed) in it is skipped. */
  once?: string;
  /**
   * Per-entity cool-down: `key(alert)` is the entity's cool-down key (`keys.alertCooldown(...)`); the first alert of
   * an entity passes and starts a window of `ms` (SET NX PX), later ones inside it are suppressed and counted on that
   * key. Absent or `ms` 0: off.
   */
  cooldown?: { ms: number; key: (alert: Alert) => string };
}

/** Entries per `read` when no count is given. */
export const DEFAULT_READ_COUNT = 1000;
/** How long one XREAD of `follow` blocks before checking again, in ms. */
const BLOCK_MS = 5000;

/** Default of {@link AlertStoreOptions.dedupMs}: 7 days (LATENTFLOW_ALERTS_DEDUP_MS). */
export const DEFAULT_DEDUP_MS = 7 * 24 * 3_600_000;

export interface AlertStoreOptions {
  /** How long a record's add-once mark lasts in its scope, in ms. Default {@link DEFAULT_DEDUP_MS}. */
  dedupMs?: number;
  /** The clock of the marks, in ms. Default `Date.now`. */
  now?: () => number;
}

export class AlertStore {
  private readonly dedupMs: number;
  private readonly now: () => number;

  /**
   * `maxLen`: approximate cap of the stream (XADD MAXLEN ~, so Redis trims whole nodes: it may hold somewhat more),
   * and exact cap of the add-once marks kept per scope (the oldest are dropped first).
   */
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace, private readonly maxLen = 100_000, options: AlertStoreOptions = {}) {
    this.dedupMs = options.dedupMs ?? DEFAULT_DEDUP_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Appends alerts (one pipelined script call each, XADD capped at ~maxLen) and returns the entry ids of those appended, in order;
   * each appended alert is also published on `alertsChannel()`. With `once`, a scope such as `model@version:dataset`:
   * a record already alerted in that scope (within the dedup period, among its latest `maxLen` marks) is skipped,
   * atomically (a Lua script marks the record in the scope and adds the entry to the stream together), so a retried
   * job never alerts twice.
   */
  async publish(alerts: Alert[], options: { once?: string } = {}): Promise<string[]> {
    return (await this.append(alerts, options)).flatMap((o) => (o.status === 'appended' ? [o.id] : []));
  }

  /**
   * {@link publish} with an optional per-entity cool-down, reporting what became of each alert (same order). The
   * `once` check, the cool-down and the XADD + PUBLISH happen in one script per alert, so a crash never leaves an
   * entity cooling down for an alert that was not appended, and a retried alert counts as a duplicate, not as
   * suppressed.
   */
  async append(alerts: Alert[], options: AppendOptions = {}): Promise<AppendOutcome[]> {
    if (alerts.length === 0) return [];
    const cooldown = options.cooldown !== undefined && options.cooldown.ms > 0 ? options.cooldown : undefined;
    const now = Math.floor(this.now());
    const p = this.redis.pipeline();
    for (const alert of alerts) {
      const keys = [this.keys.alerts(), this.keys.telemetry.alerts()];
      if (options.once !== undefined) keys.push(this.keys.alertsSent(options.once));
      if (cooldown) keys.push(cooldown.key(alert));
      p.eval(
        APPEND, keys.length, ...keys,
        alert.record, String(cooldown ? Math.ceil(cooldown.ms) : 0), this.keys.alertsChannel(), alertJson(alert), String(this.maxLen),
        options.once !== undefined ? '1' : '0', cooldown ? '1' : '0', alertCounterField(alert), String(now), String(this.dedupMs),
        ...toFields(alert),
      );
    }
    return (await execOrThrow(p)).map((reply): AppendOutcome => {
      if (typeof reply === 'string') return { status: 'appended', id: reply };
      return reply === -1 ? { status: 'suppressed' } : { status: 'duplicate' };
    });
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

  /** The entry `id` (`<ms>-<seq>`), or undefined when the stream does not hold it (never written, or trimmed). */
  async get(id: string): Promise<AlertEntry | undefined> {
    const [entry] = (await this.redis.xrange(this.keys.alerts(), id, id)) as [string, string[]][];
    return entry === undefined ? undefined : toEntry(entry);
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
    const connection = duplicateRedis(this.redis);
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
        for (const [id, fields] of streamEntries(reply)) {
          last = id;
          if (fields) yield toEntry([id, fields]);
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

/** The alert as one JSON object (what pub/sub listeners and webhooks receive, with the entry id put first). */
export function alertJson(alert: Alert, id?: string): string {
  const body = {
    source: alert.source, record: alert.record, score: alert.score, threshold: alert.threshold, severity: alert.severity,
    model: alert.model, version: alert.version, features: alert.features, at: alert.at, kind: alert.kind ?? 'anomaly',
    ...(alert.pValue !== undefined ? { pValue: alert.pValue } : {}),
    ...(alert.attribution !== undefined ? { attribution: alert.attribution } : {}),
  };
  return JSON.stringify(id === undefined ? body : { id, ...body });
}

function toFields(alert: Alert): string[] {
  return [
    'source', alert.source, 'record', alert.record, 'score', String(alert.score), 'threshold', String(alert.threshold),
    'severity', alert.severity, 'model', alert.model, 'version', String(alert.version),
    'features', JSON.stringify(alert.features), 'at', alert.at, 'kind', alert.kind ?? 'anomaly',
    ...(alert.pValue !== undefined ? ['pValue', String(alert.pValue)] : []),
    ...(alert.attribution !== undefined ? ['attribution', JSON.stringify(alert.attribution)] : []),
  ];
}

/** Features kept per alert read from the stream (the pipeline writes a handful). */
const MAX_FEATURES = 100;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/**
 * An entry as any client may have written it, made well-typed so that no reader (dashboard, feed, CLI) trips on it:
 * missing fields get neutral values, `features` keeps only `{feature: string, error: finite number}` items (at most
 * 100), a score or threshold that is not a number is NaN (shown as `-`, sent as JSON `null`), a version that is not a
 * non-negative integer is 0.
 */
function toEntry([id, flat]: [string, string[]]): AlertEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i], flat[i + 1]);
  const score = toNumber(f.get('score'));
  const threshold = toNumber(f.get('threshold'));
  const version = toNumber(f.get('version'));
  const at = f.get('at');
  return {
    id,
    alert: {
      source: f.get('source') ?? '', record: f.get('record') ?? '', score, threshold,
      severity: SEVERITIES.find((s) => s === f.get('severity')) ?? severityOf(score, threshold),
      model: f.get('model') ?? '', version: Number.isSafeInteger(version) && version >= 0 ? version : 0,
      features: toFeatures(f.get('features')), at: at !== undefined && at !== '' ? at : new Date(Number(id.split('-')[0])).toISOString(),
      kind: f.get('kind') === 'drift' ? 'drift' : 'anomaly',
      ...pValueOf(f.get('pValue')),
      ...(f.has('attribution') ? { attribution: toPairs(f.get('attribution'), 'contribution').map(([feature, contribution]) => ({ feature, contribution })) } : {}),
    },
  };
}

/** A number field: NaN unless the whole text is a number (`Infinity` included, as the pipeline writes it). */
function toNumber(text: string | undefined): number {
  return text === undefined || text.trim() === '' ? NaN : Number(text);
}

/** A `pValue` field in [0, 1], else nothing. */
function pValueOf(text: string | undefined): { pValue?: number } {
  const p = toNumber(text);
  return p >= 0 && p <= 1 ? { pValue: p } : {};
}

function toFeatures(text: string | undefined): Alert['features'] {
  return toPairs(text, 'error').map(([feature, error]) => ({ feature, error }));
}

/** `[{feature: string, <key>: finite number}]` items of a JSON array (at most MAX_FEATURES), others skipped. */
function toPairs(text: string | undefined, key: string): [string, number][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const pairs: [string, number][] = [];
  for (const item of parsed as unknown[]) {
    if (pairs.length === MAX_FEATURES) break;
    if (typeof item !== 'object' || item === null) continue;
    const { feature, [key]: value } = item as Record<string, unknown>;
    if (typeof feature === 'string' && typeof value === 'number' && Number.isFinite(value)) pairs.push([feature, value]);
  }
  return pairs;
}
