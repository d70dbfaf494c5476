/** Seeded row samples that keep charts small. */
import { shuffledIndices } from '../analytics/split.js';

/** All of `0..n-1` when n ≤ max, else `max` of them drawn with `seed`; ascending either way. */
export function sampleIndices(n: number, max: number, seed: number | string = 0): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return shuffledIndices(n, seed).slice(0, max).sort((a, b) => a - b);
}
