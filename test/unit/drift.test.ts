import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { driftBaseline, rollingDrift, type DriftSignal, type DriftState } from '../../shared/analytics/drift.js';
import { seededRandom } from '../../shared/analytics/random.js';

const baseline = { mean: 0.1 };
const options = { window: 50, factor: 2 };

/** Feeds `values` in batches of `size`, collecting every signal. */
function feed(state: DriftState | undefined, values: number[], size: number, opts = options) {
  const signals: DriftSignal[] = [];
  for (let i = 0; i < values.length; i += size) {
    const s = rollingDrift(state, values.slice(i, i + size), baseline, opts);
    signals.push(s);
    state = s.state;
  }
  return { state, signals };
}

/** n errors around `level` (±20 %, seeded). */
function errorsAt(level: number, n: number, seed = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => level * (0.8 + 0.4 * random()));
}

describe('rollingDrift', () => {
  test('the mean is the plain mean while warming up, then an EMA with alpha = 2 / (window + 1)', () => {
    const first = rollingDrift(undefined, [1, 2, 3], baseline, { window: 9, factor: 2 });
    assert.ok(Math.abs(first.mean - 2) < 1e-12);
    assert.equal(first.state.count, 3);
    // Long after the warm-up, one update moves the mean by alpha × (x - mean).
    const warm = rollingDrift({ mean: 1, count: 100, drifting: false }, [2], baseline, { window: 9, factor: 2 });
    assert.ok(Math.abs(warm.mean - (1 + 0.2 * 1)) < 1e-12);
    // Batches or one by one: the same mean.
    const values = errorsAt(0.1, 200);
    assert.ok(Math.abs(feed(undefined, values, 7).state!.mean - rollingDrift(undefined, values, baseline, options).mean) < 1e-12);
  });

  test('errors at the baseline never drift; a rise above factor × baseline signals once, not again until recovery', () => {
    const normal = feed(undefined, errorsAt(0.1, 400), 10);
    assert.ok(normal.signals.every((s) => !s.drifting && !s.started));
    assert.ok(Math.abs(normal.state!.mean / 0.1 - 1) < 0.15);

    const high = feed(normal.state, errorsAt(0.3, 400, 2), 10);
    assert.equal(high.signals.filter((s) => s.started).length, 1, 'one drift signal');
    const start = high.signals.findIndex((s) => s.started);
    assert.ok(high.signals[start].ratio > 2 && high.signals[start].mean > 0.2);
    assert.ok(high.signals.slice(start).every((s) => s.drifting));

    // Hovering just around the limit (2.1× then 1.8×, above the recovery level 1.5×) does not signal again.
    const hover = feed(high.state, [...errorsAt(0.18, 300, 3), ...errorsAt(0.21, 300, 4)], 10);
    assert.ok(hover.signals.every((s) => s.drifting && !s.started));

    const back = feed(hover.state, errorsAt(0.1, 400, 5), 10);
    assert.equal(back.signals.filter((s) => s.recovered).length, 1);
    assert.ok(!back.state!.drifting);
    const again = feed(back.state, errorsAt(0.3, 400, 6), 10);
    assert.equal(again.signals.filter((s) => s.started).length, 1, 'a new episode signals again');
  });

  test('no signal before `window` errors; non-finite errors are skipped; a bad baseline is refused', () => {
    const early = rollingDrift(undefined, errorsAt(1, 49), baseline, options);
    assert.ok(early.ratio > 5 && !early.drifting);
    assert.ok(rollingDrift(early.state, [1], baseline, options).started);
    const skipped = rollingDrift(undefined, [0.1, Number.NaN, Infinity, 0.3], baseline, options);
    assert.equal(skipped.state.count, 2);
    assert.ok(Math.abs(skipped.mean - 0.2) < 1e-12);
    assert.throws(() => rollingDrift(undefined, [1], { mean: 0 }, options), RangeError);
    assert.throws(() => rollingDrift(undefined, [1], { mean: Number.NaN }, options), RangeError);
  });

  test('driftBaseline: validation loss, else final loss, else a third of the threshold', () => {
    assert.deepEqual(driftBaseline({ valLoss: 0.02, finalLoss: 0.03, threshold: 0.3 }), { mean: 0.02 });
    assert.deepEqual(driftBaseline({ finalLoss: 0.03, threshold: 0.3 }), { mean: 0.03 });
    assert.deepEqual(driftBaseline({ threshold: 0.3 }), { mean: 0.3 / 3 });
    assert.equal(driftBaseline({ threshold: null }), undefined);
  });
});
