/**
 * Calibrated anomaly scores: a score's p-value is the share of held-out normal rows (a model's validation rows, never
 * trained on) that score at least as high, so "p < 0.01" means "1 in 100 normal rows scores this high" whatever the
 * detector and its units (split-conformal p-value: (1 + #{reference ≥ s}) / (n + 1)).
 *
 * Beyond the reference's upper tail the empirical p-value stops at 1 / (n + 1); there the tail is extrapolated with an
 * exponential fitted to the excesses over the reference's (1 − TAIL_SHARE)-quantile (peaks over threshold with a
 * zero-shape generalised Pareto, as in Siffer et al. 2017, "Anomaly detection in streams with extreme value
 * theory"), so that severities can still tell a record 10× beyond the threshold from one just beyond it.
 */
/** Reference scores kept in a model (an even sample of the sorted scores beyond this): bounds the model file. */
export const CALIBRATION_SCORES = 10_000;
/** Share of the reference fitted by the exponential tail. */
const TAIL_SHARE = 0.1;
/** Floor of an extrapolated p-value: far beyond the reference the exponential underflows, and 0 would say "impossible". */
const SMALLEST_P = 1e-300;
/** Fewest reference scores beyond the tail's start for a tail fit; below it p-values stay empirical. */
const MIN_TAIL = 5;

export interface Calibration {
  /** Reference scores of held-out normal rows, ascending (at most CALIBRATION_SCORES). */
  scores: Float32Array;
  /** Rows they stand for (more than `scores.length` when sampled). */
  rows: number;
}

export function calibrate(scores: ArrayLike<number>): Calibration {
  const sorted = Float32Array.from(scores).filter((s) => Number.isFinite(s)).sort();
  if (sorted.length <= CALIBRATION_SCORES) return { scores: sorted, rows: sorted.length };
  const kept = new Float32Array(CALIBRATION_SCORES);
  for (let i = 0; i < kept.length; i++) kept[i] = sorted[Math.round((i * (sorted.length - 1)) / (kept.length - 1))];
  return { scores: kept, rows: sorted.length };
}

/** The tail fit: start u, its share of the reference above u, and the mean excess over u (the exponential's scale). */
function tailOf(c: Calibration): { start: number; share: number; scale: number } | undefined {
  const n = c.scores.length;
  if (n === 0) return undefined;
  const pos = (n - 1) * (1 - TAIL_SHARE);
  const lo = Math.floor(pos);
  const start = c.scores[lo] + (c.scores[Math.min(lo + 1, n - 1)] - c.scores[lo]) * (pos - lo);
  const above = n - firstAbove(c.scores, start);
  if (above < MIN_TAIL) return undefined;
  let excess = 0;
  for (let i = n - above; i < n; i++) excess += c.scores[i] - start;
  const scale = excess / above;
  return scale > 0 ? { start, share: above / (n + 1), scale } : undefined;
}

/** Index of the first score above `value` (scores ascending), or the first at or above it when `inclusive`. */
function firstAbove(sorted: Float32Array, value: number, inclusive = false): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value || (!inclusive && sorted[mid] === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * P-values of `scores` against the calibration: empirical up to the largest reference score, then the exponential
 * tail (never above the empirical value there, never below 1e-300). NaN for a NaN score; 1 with an empty reference.
 */
export function pValues(c: Calibration, scores: ArrayLike<number>): Float64Array {
  const n = c.scores.length;
  const tail = tailOf(c);
  const out = new Float64Array(scores.length);
  const top = n > 0 ? c.scores[n - 1] : -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) out[i] = NaN;
    else if (n === 0) out[i] = 1;
    else if (s <= top || tail === undefined) out[i] = (1 + n - firstAbove(c.scores, s, true)) / (n + 1);
    else out[i] = Math.max(SMALLEST_P, Math.min(1 / (n + 1), tail.share * Math.exp(-(s - tail.start) / tail.scale)));
  }
  return out;
}

/**
 * The threshold t for a false-alarm rate p: every score above t has a p-value ≤ p, so on normal rows like the
 * reference about a share p scores above it (at most p, as split-conformal guarantees, while p ≥ 1 / (n + 1)).
 */
export function scoreAtPValue(c: Calibration, p: number): number {
  const n = c.scores.length;
  if (n === 0) return NaN;
  // p(s) ≤ p ⟺ #{reference ≥ s} ≤ m = ⌊p(n + 1)⌋ − 1 ⟺ s > the (m + 1)-th largest reference score.
  const m = Math.floor(p * (n + 1)) - 1;
  if (m >= 0) return c.scores[n - 1 - Math.min(m, n - 1)];
  const tail = tailOf(c);
  if (tail === undefined) return c.scores[n - 1];
  return Math.max(c.scores[n - 1], tail.start - tail.scale * Math.log(p / tail.share));
}

/** Severity of an alert from its p-value: ≥ 1e-3 low, ≥ 1e-4 medium, ≥ 1e-6 high, else critical. */
export function severityOfPValue(p: number): 'low' | 'medium' | 'high' | 'critical' {
  if (p >= 1e-3) return 'low';
  if (p >= 1e-4) return 'medium';
  if (p >= 1e-6) return 'high';
  return 'critical';
}
