/**
 * Drift per source, kept in Redis so that every consumer of a source (any number of encoders) updates one state:
 * `keys.stream.drift(source)`, a hash `{mean, count, drifting, model, version, baseline, threshold, at, seq}` readable by
 * any client (`HGETALL lf:{src:NAME}:drift`). The rolling mean is shared/analytics/drift.ts's.
 *
 * Updates are compare-and-set on `seq`, a counter of updates (retried on a conflict), so concurrent consumers never lose an update and
 * exactly one of them sees drifting turn on. The state restarts when the source's model or version changes (errors
 * of two models are not comparable).
 */
import type { Keyspace } from '../contracts/keys.js';
import type { RedisClient } from '../store/redis.js';
import { rollingDrift, type DriftBaseline, type DriftOptions, type DriftState } from '../analytics/drift.js';
import { ksTwoSample } from '../analytics/ks-test.js';
import { severityOfPValue } from '../ml/calibration.js';
import { severityOf, type Alert } from '../store/alerts.js';

/** The `record` of a drift alert. */
export const DRIFT_RECORD = 'drift';
/** The `record` of a drift-test (KS) alert. */
export const DRIFT_TEST_RECORD = 'drift-test';

/**
 * RPUSH the scores (ARGV[3..]) onto the window list unless it belongs to another model version (ARGV[2], kept as the
 * list's first element: the window restarts), refresh its expiry (7 days), and when it holds ARGV[1] scores, take
 * them off and return them: every score is in exactly one window, whichever consumer completes it.
 */
const WINDOW = `local w = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then redis.call('DEL', KEYS[1]); redis.call('RPUSH', KEYS[1], ARGV[2]) end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], 604800000)
if redis.call('LLEN', KEYS[1]) - 1 < w then return {} end
local window = redis.call('LRANGE', KEYS[1], 1, w)
redis.call('LTRIM', KEYS[1], w + 1, -1)
redis.call('LPUSH', KEYS[1], ARGV[2])
return window`;
/** Scores pushed per script call (Lua's unpack has a stack limit near 8,000). */
const PUSH_SLICE = 2000;

/** HSET the fields (ARGV[2..]) and bump `seq` only if `seq` is still ARGV[1] (0 when absent); 1 if written. */
const COMPARE_AND_SET = `local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', seq + 1, unpack(ARGV, 2))
return 1`;

/** Tries of one update under contention before giving up. */
const MAX_TRIES = 50;

export class DriftMonitor {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace, private readonly options: DriftOptions & { alpha?: number }) {}

  /**
   * The drift test: a source's anomaly scores are gathered into windows of `window` scores (in Redis, shared by every
   * consumer) and each full window is KS-tested against `reference`, the scores of the model's held-out normal rows,
   * one-sided (the window scoring higher). A window with p < alpha is a `kind: 'drift'` alert (record `drift-test`,
   * score D⁺, threshold the D⁺ whose p is alpha, pValue): while nothing changes, false alarms come at rate alpha per
   * window (the scores of a window being independent draws). No reference (an uncalibrated model): no test.
   */
  async test(source: string, model: string, version: number, scores: ArrayLike<number>, reference: Float32Array | undefined): Promise<Alert[]> {
    if (reference === undefined || reference.length === 0) return [];
    const alpha = this.options.alpha ?? 0.001;
    const alerts: Alert[] = [];
    const tag = `${model}@${version}`;
    for (let start = 0; start < scores.length; start += PUSH_SLICE) {
      const slice = Array.from({ length: Math.min(PUSH_SLICE, scores.length - start) }, (_, i) => String(scores[start + i]));
      const window = (await this.redis.eval(WINDOW, 1, this.keys.stream.driftWindow(source), String(this.options.window), tag, ...slice)) as string[];
      if (window.length === 0) continue;
      const { statistic, pValue } = ksTwoSample(window.map(Number), reference, 'greater');
      if (!(pValue < alpha)) continue;
      const ne = (window.length * reference.length) / (window.length + reference.length);
      alerts.push({
        source, record: DRIFT_TEST_RECORD, score: statistic, threshold: Math.sqrt(-Math.log(alpha) / (2 * ne)),
        severity: severityOfPValue(pValue), pValue, model, version, features: [], at: new Date().toISOString(), kind: 'drift',
      });
    }
    return alerts;
  }

  /**
   * Adds `errors` (reconstruction errors of records of `source` scored by `model@version`) to the source's rolling
   * mean. Returns one `kind: 'drift'` alert (record `drift`, score = the rolling mean, threshold = factor × baseline
   * mean) on the update where the source starts drifting, else undefined (also while it stays drifting, and until it
   * has recovered). The caller publishes it (AlertPublisher, without `once`: each drift episode is a new alert).
   */
  async observe(source: string, model: string, version: number, errors: ArrayLike<number>, baseline: DriftBaseline): Promise<Alert | undefined> {
    const key = this.keys.stream.drift(source);
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const stored = await this.redis.hgetall(key);
      const expected = stored.seq ?? '0';
      const sameModel = stored.model === model && Number(stored.version) === version;
      const state: DriftState | undefined = sameModel && stored.count !== undefined
        ? { mean: Number(stored.mean), count: Number(stored.count), drifting: stored.drifting === '1' }
        : undefined;
      const signal = rollingDrift(state, errors, baseline, this.options);
      if (state !== undefined && signal.state.count === state.count) return undefined;
      const threshold = this.options.factor * baseline.mean;
      const at = new Date().toISOString();
      const written = await this.redis.eval(
        COMPARE_AND_SET, 1, key, expected,
        'mean', String(signal.mean), 'count', String(signal.state.count), 'drifting', signal.drifting ? '1' : '0',
        'model', model, 'version', String(version), 'baseline', String(baseline.mean), 'threshold', String(threshold), 'at', at,
      );
      if (written !== 1) {
        // Another consumer updated it first: back off a random few ms, so that consumers in lockstep stop colliding.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt + 1, 10)));
        continue;
      }
      if (!signal.started) return undefined;
      return {
        source, record: DRIFT_RECORD, score: signal.mean, threshold, severity: severityOf(signal.mean, threshold),
        model, version, features: [], at, kind: 'drift',
      };
    }
    throw new Error(`drift state of source "${source}": ${MAX_TRIES} concurrent updates in a row, giving up on this batch`);
  }

  /** The stored state of a source, undefined before its first errors. */
  async state(source: string): Promise<(DriftState & { model: string; version: number }) | undefined> {
    const stored = await this.redis.hgetall(this.keys.stream.drift(source));
    if (stored.count === undefined) return undefined;
    return { mean: Number(stored.mean), count: Number(stored.count), drifting: stored.drifting === '1', model: stored.model, version: Number(stored.version) };
  }
}
