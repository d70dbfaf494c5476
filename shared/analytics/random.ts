/** Seeded randomness (seedrandom's ARC4) for every shuffle, sample and split in analytics. */
import seedrandom from 'seedrandom';

export type Random = () => number;

/** A PRNG in [0, 1) fully determined by `seed`. */
export function seededRandom(seed: number | string): Random {
  return seedrandom(`latentflow:${String(seed)}`);
}

/** Fisher–Yates shuffle of `items` in place, drawing from `random`. Returns `items`. */
export function shuffleInPlace<T extends { [i: number]: number | string; length: number }>(items: T, random: Random): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
