/**
 * Telemetry counters kept in Redis, so that every worker process (any number, any host) adds to one set of figures
 * and any reader (the dashboard's `/metrics`) sees their sum. All are all-time totals that only grow (until the keys
 * are deleted):
 * - records scored per source (`keys.telemetry.records()`): encode jobs count their dataset's records, stream consumers
 *   their source's records, once per batch; a batch processed twice (a retried job, a redelivered entry) counts twice;
 * - alerts appended per source, severity and kind (`keys.telemetry.alerts()`): counted by the alerts store's append
 *   script together with the XADD (see store/alerts.ts), so duplicates and cooled-down alerts never count;
 * - durations of completed jobs per queue (`keys.telemetry.durations()`): a histogram over {@link STAGE_BUCKETS}.
 */
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from './redis.js';
import { execOrThrow } from './util.js';

/** Upper bounds (seconds) of the stage-duration histogram's buckets; above the largest, `+Inf`. */
export const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as const;

/** Alerts appended with one source, severity and kind. */
export interface AlertCount {
  source: string;
  severity: string;
  kind: string;
  count: number;
}

/** A histogram of job durations as stored: counts per bucket (not cumulative), sum of seconds, count. */
export interface StoredHistogram {
  /** Upper bound in seconds (`Infinity` for `+Inf`) → observations at most that and above the next smaller stored bound. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** Everything {@link TelemetryStore.read} returns. */
export interface TelemetrySnapshot {
  /** Source → records scored. */
  records: Map<string, number>;
  alerts: AlertCount[];
  /** Queue → durations of its completed jobs. */
  durations: Map<string, StoredHistogram>;
}

/** The field of `keys.telemetry.alerts()` that counts `alert` (the append script increments it). */
export function alertCounterField(alert: { source: string; severity: string; kind?: string }): string {
  return JSON.stringify([alert.source, alert.severity, alert.kind ?? 'anomaly']);
}

/** The bucket an observation of `seconds` falls in, as its field suffix (`0.5`, `+Inf`). */
function bucketOf(seconds: number): string {
  const bound = STAGE_BUCKETS.find((b) => seconds <= b);
  return bound === undefined ? '+Inf' : String(bound);
}

export class TelemetryStore {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /** Adds `count` records scored from `source` (one HINCRBY; nothing for 0). */
  async recordsScored(source: string, count: number): Promise<void> {
    if (count > 0) await this.redis.hincrby(this.keys.telemetry.records(), source, count);
  }

  /** Adds one completed job of `queue` that ran `seconds` (one MULTI on one key). */
  async stageCompleted(queue: string, seconds: number): Promise<void> {
    const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    const key = this.keys.telemetry.durations();
    await execOrThrow(this.redis.multi()
      .hincrby(key, `${queue}:le:${bucketOf(s)}`, 1)
      .hincrby(key, `${queue}:count`, 1)
      .hincrbyfloat(key, `${queue}:sum`, s));
  }

  /** The three counters' current totals (fields that do not parse are skipped). */
  async read(): Promise<TelemetrySnapshot> {
    const t = this.keys.telemetry;
    // Three commands, not one pipeline: the hashes may live in different cluster slots.
    const [records, alerts, durations] = await Promise.all([this.redis.hgetall(t.records()), this.redis.hgetall(t.alerts()), this.redis.hgetall(t.durations())]);
    return {
      records: new Map(Object.entries(records).map(([source, n]) => [source, Number(n)])),
      alerts: Object.entries(alerts).flatMap(([field, n]) => {
        const labels = parseAlertField(field);
        return labels ? [{ ...labels, count: Number(n) }] : [];
      }),
      durations: parseDurations(durations),
    };
  }
}

function parseAlertField(field: string): Omit<AlertCount, 'count'> | undefined {
  try {
    const parsed: unknown = JSON.parse(field);
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((p) => typeof p === 'string')) {
      const [source, severity, kind] = parsed as [string, string, string];
      return { source, severity, kind };
    }
  } catch {
    // not a field this module wrote
  }
  return undefined;
}

function parseDurations(fields: Record<string, string>): Map<string, StoredHistogram> {
  const out = new Map<string, StoredHistogram>();
  const of = (queue: string) => {
    let h = out.get(queue);
    if (!h) out.set(queue, (h = { buckets: new Map(), sum: 0, count: 0 }));
    return h;
  };
  for (const [field, raw] of Object.entries(fields)) {
    const m = /^([^:]+):(?:le:(.+)|(sum|count))$/.exec(field);
    const value = Number(raw);
    if (!m || !Number.isFinite(value)) continue;
    const h = of(m[1]);
    if (m[3] === 'sum') h.sum = value;
    else if (m[3] === 'count') h.count = value;
    else {
      const bound = m[2] === '+Inf' ? Infinity : Number(m[2]);
      if (!Number.isNaN(bound)) h.buckets.set(bound, (h.buckets.get(bound) ?? 0) + value);
    }
  }
  return out;
}
