/** Seeded synthetic data for unit tests: rows near a low-dimensional linear manifold, plus noise. */
import seedrandom from 'seedrandom';

export interface SyntheticMatrix {
  values: Float32Array;
  rows: number;
  width: number;
  features: string[];
}

/** `rows × width` values = latent(rank) · mixing + noise·N(0,1), deterministic for a seed. */
export function lowRankMatrix(rows: number, width: number, rank: number, noise = 0.01, seed = 1): SyntheticMatrix {
  const random = seedrandom(String(seed));
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const mixing = Array.from({ length: rank * width }, gaussian);
  const values = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    const latent = Array.from({ length: rank }, gaussian);
    for (let j = 0; j < width; j++) {
      let v = 0;
      for (let r = 0; r < rank; r++) v += latent[r] * mixing[r * width + j];
      values[i * width + j] = v + noise * gaussian();
    }
  }
  return { values, rows, width, features: Array.from({ length: width }, (_, j) => `x${j}`) };
}
