/**
 * The two-sample Kolmogorov–Smirnov test: D = the largest gap between the two empirical distribution functions, and
 * its asymptotic p-value Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D), nₑ = nm/(n + m) (Stephens' approximation, as in Numerical
 * Recipes §14.3). Under "both samples come from one distribution" p < α happens with probability α: a drift test
 * that runs it once per window raises false alarms at rate α per window.
 *
 * Written here: npm's KS packages test one sample against a named distribution (@stdlib/stats-kstest) or do not
 * exist for two samples; the test is a sort and a merge.
 */

export interface KsResult {
  /** The KS statistic, in [0, 1]. */
  statistic: number;
  pValue: number;
}

/** Q_KS(λ) = 2 Σ (−1)^(j−1) e^(−2j²λ²), the Kolmogorov distribution's upper tail. */
function kolmogorovTail(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0, sign = 1, previous = 0;
  for (let j = 1; j <= 100; j++) {
    const term = sign * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) <= 1e-10 * Math.abs(sum) || Math.abs(term) <= 1e-12 * previous) return Math.min(1, Math.max(0, 2 * sum));
    sign = -sign;
    previous = Math.abs(term);
  }
  return 1; // no convergence happens only for λ → 0
}

/**
 * KS test of samples `a` and `b` (non-finite values dropped). NaN when either is empty. `alternative: 'greater'`
 * tests only whether `a` tends to be larger than `b`: D⁺ = max(F_b − F_a), p ≈ exp(−2 nₑ D⁺²) (Smirnov's one-sided
 * limit), the form a drift test on anomaly scores wants (scores falling is no alarm).
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, alternative: 'two-sided' | 'greater' = 'two-sided'): KsResult {
  const x = Float64Array.from(a).filter(Number.isFinite).sort();
  const y = Float64Array.from(b).filter(Number.isFinite).sort();
  const n = x.length, m = y.length;
  if (n === 0 || m === 0) return { statistic: NaN, pValue: NaN };
  let i = 0, j = 0, d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, alternative === 'greater' ? j / m - i / n : Math.abs(i / n - j / m));
  }
  const ne = Math.sqrt((n * m) / (n + m));
  if (alternative === 'greater') return { statistic: d, pValue: Math.min(1, Math.exp(-2 * ne * ne * d * d)) };
  return { statistic: d, pValue: kolmogorovTail((ne + 0.12 + 0.11 / ne) * d) };
}
