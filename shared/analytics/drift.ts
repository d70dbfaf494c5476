/**
 * Drift of a source's reconstruction error: a rolling mean of the errors of the records it sends, compared with the
 * model's training baseline. Pure: the state goes in and comes out (shared/pipeline/drift-monitor.ts keeps it in Redis).
 *
 * The rolling mean is an exponential moving average with alpha = 2 / (window + 1) (an EMA whose centre of mass
 * matches a simple moving average over `window` values). Until it has seen 1/alpha values it is the plain mean of
 * what it has seen (each update uses max(alpha, 1/count)), so the first errors do not dominate it. No drift is
 * signalled before `window` errors have been seen.
 *
 * A source starts drifting when the rolling mean exceeds `factor` × baseline mean and stops (recovers) when it falls
 * to `recovery` × baseline mean or below (default halfway between 1 and `factor`), so a mean hovering at the limit
 * does not signal again and again.
 */

export interface DriftState {
  /** The rolling mean. */
  mean: number;
  /** Errors seen (non-finite ones are skipped). */
  count: number;
  drifting: boolean;
}

export interface DriftOptions {
  /** Span of the rolling mean (EMA alpha = 2 / (window + 1)); also the warm-up before any signal. */
  window: number;
  /** Drift when the rolling mean exceeds factor × baseline mean. */
  factor: number;
  /** Recovered when the rolling mean is at or below recovery × baseline mean. Default (1 + factor) / 2. */
  recovery?: number;
}

/** The error level the model had on data like its training data. */
export interface DriftBaseline {
  /** Mean reconstruction error (e.g. the validation loss). Must be positive. */
  mean: number;
  /** Its standard deviation, when known (informational). */
  std?: number;
}

export interface DriftSignal {
  /** The new state. */
  state: DriftState;
  drifting: boolean;
  /** The rolling mean. */
  mean: number;
  /** mean / baseline mean. */
  ratio: number;
  /** True on the update where drifting turns on (the moment to alert). */
  started: boolean;
  /** True on the update where drifting turns off. */
  recovered: boolean;
}

export const EMPTY_DRIFT_STATE: DriftState = Object.freeze({ mean: 0, count: 0, drifting: false });

export function rollingDrift(
  state: DriftState | undefined,
  errors: ArrayLike<number>,
  baseline: DriftBaseline,
  options: DriftOptions,
): DriftSignal {
  if (!(baseline.mean > 0) || !Number.isFinite(baseline.mean)) throw new RangeError(`drift baseline mean must be a positive number, not ${baseline.mean}`);
  if (!(options.window >= 1)) throw new RangeError(`drift window must be at least 1, not ${options.window}`);
  const alpha = 2 / (options.window + 1);
  let { mean, count } = state ?? EMPTY_DRIFT_STATE;
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    if (!Number.isFinite(e)) continue;
    count++;
    mean += Math.max(alpha, 1 / count) * (e - mean);
  }
  const ratio = mean / baseline.mean;
  const recovery = options.recovery ?? (1 + options.factor) / 2;
  const was = state?.drifting ?? false;
  let drifting = was;
  if (!was && count >= options.window && ratio > options.factor) drifting = true;
  else if (was && ratio <= recovery) drifting = false;
  return { state: { mean, count, drifting }, drifting, mean, ratio, started: drifting && !was, recovered: was && !drifting };
}

/**
 * The baseline of a registered model version: its validation loss (the mean reconstruction error on held-out
 * training rows), else its final training loss, else a third of its anomaly threshold; undefined when it has none.
 */
export function driftBaseline(meta: { valLoss?: number; finalLoss?: number; threshold?: number | null }): DriftBaseline | undefined {
  for (const value of [meta.valLoss, meta.finalLoss, meta.threshold != null ? meta.threshold / 3 : undefined]) {
    if (value !== undefined && Number.isFinite(value) && value > 0) return { mean: value };
  }
  return undefined;
}
