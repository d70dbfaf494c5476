/**
 * A seeded synthetic ratings matrix for recommender tests: users × items true scores of rank `rank`, scaled to mean 3
 * and standard deviation 1 and clipped to [1, 5], of which a random `observed` share is kept with gaussian noise σ
 * added (continuous ratings, not rounded). The best achievable test RMSE is about σ.
 */
import seedrandom from 'seedrandom';
import { RatingsBuilder, type Ratings } from '../../shared/data/ratings.js';

export interface SyntheticRatingsOptions {
  users?: number;
  items?: number;
  rank?: number;
  /** Share of the users × items cells observed. */
  observed?: number;
  /** Noise σ added to each observed rating. */
  noise?: number;
  seed?: number;
}

export function syntheticRatings(options: SyntheticRatingsOptions = {}): Ratings {
  const { users = 1000, items = 500, rank = 5, observed = 0.05, noise = 0.3, seed = 1 } = options;
  const random = seedrandom(`ratings:${seed}`);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const p = Array.from({ length: users * rank }, gaussian);
  const q = Array.from({ length: items * rank }, gaussian);
  // u·v of two rank-r standard gaussian vectors has variance r: divide by √r for unit standard deviation.
  const scale = 1 / Math.sqrt(rank);
  const builder = new RatingsBuilder();
  // Every user and every item appears in the id maps in order u0.., i0.. even when it has no ratings.
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < items; i++) {
      if (random() >= observed) continue;
      let s = 0;
      for (let r = 0; r < rank; r++) s += p[u * rank + r] * q[i * rank + r];
      const truth = Math.min(5, Math.max(1, 3 + s * scale));
      builder.add(`u${u}`, `i${i}`, truth + noise * gaussian());
    }
  }
  return builder.build();
}
