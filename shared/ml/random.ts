/** Seeded randomness for shuffles and splits inside the ML core (tfjs initialisers take their own integer seeds). */
import seedrandom from 'seedrandom';

export type Random = () => number;

export function seededRandom(seed: number | string): Random {
  return seedrandom(String(seed));
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, random: Random): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Gathers rows `order[from..to)` of a row-major matrix into a contiguous matrix (`out`, reused, or a new one). */
export function gatherRows(values: Float32Array, width: number, order: ArrayLike<number>, from = 0, to = order.length, out = new Float32Array((to - from) * width)): Float32Array {
  for (let k = from; k < to; k++) {
    const i = order[k];
    out.set(values.subarray(i * width, (i + 1) * width), (k - from) * width);
  }
  return out;
}
