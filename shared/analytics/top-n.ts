/** Keeping the n best-scored items of many lists at once (a recommender's top-N per user). */

/**
 * The `n` best (index, score) pairs offered to each of `slots` lists, highest score first, each with an `extra`
 * value carried along. An offer equal to the worst kept score is refused, so with indices offered in increasing order
 * ties keep the lower index.
 */
export class TopN {
  private readonly index: Int32Array;
  private readonly score: Float32Array;
  private readonly extra: Float32Array;
  private readonly count: Int32Array;

  constructor(slots: number, private readonly n: number) {
    this.index = new Int32Array(slots * n);
    this.score = new Float32Array(slots * n);
    this.extra = new Float32Array(slots * n);
    this.count = new Int32Array(slots);
  }

  offer(slot: number, index: number, score: number, extra = 0): void {
    const base = slot * this.n;
    let at = this.count[slot];
    if (at === this.n) {
      if (!(score > this.score[base + this.n - 1])) return;
      at--;
    } else this.count[slot]++;
    while (at > 0 && score > this.score[base + at - 1]) {
      this.score[base + at] = this.score[base + at - 1];
      this.index[base + at] = this.index[base + at - 1];
      this.extra[base + at] = this.extra[base + at - 1];
      at--;
    }
    this.score[base + at] = score;
    this.index[base + at] = index;
    this.extra[base + at] = extra;
  }

  list(slot: number): { index: number; score: number; extra: number }[] {
    const base = slot * this.n;
    return Array.from({ length: this.count[slot] }, (_, k) => ({ index: this.index[base + k], score: this.score[base + k], extra: this.extra[base + k] }));
  }
}
