/**
 * Top-N ranking metrics of a recommender, per user and averaged over users, with binary relevance (an item the user
 * rated at least the relevance threshold in the held-out part, or any held-out item for implicit feedback):
 * - Precision@k: relevant items among the first k, ÷ k;
 * - Recall@k: relevant items among the first k, ÷ the user's relevant items;
 * - NDCG@k: Σ 1/log2(rank + 1) over the relevant items in the first k, ÷ the same sum for an ideal list
 *   (min(k, relevant) relevant items on top) (Järvelin & Kekäläinen 2002, binary gains);
 * - HitRate@k: 1 when any relevant item is among the first k.
 * Written here: four sums over a ranked list; no maintained npm package computes them.
 */

export interface TopNScores {
  precision: number;
  recall: number;
  ndcg: number;
  hit_rate: number;
}

/** The scores of one ranked list (item indices, best first, at least its first k used) against a relevant set. */
export function topNScores(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): TopNScores {
  let hits = 0;
  let dcg = 0;
  const shown = Math.min(k, ranked.length);
  for (let r = 0; r < shown; r++) {
    if (!relevant.has(ranked[r])) continue;
    hits++;
    dcg += 1 / Math.log2(r + 2);
  }
  let ideal = 0;
  for (let r = 0; r < Math.min(k, relevant.size); r++) ideal += 1 / Math.log2(r + 2);
  return {
    precision: hits / k,
    recall: relevant.size > 0 ? hits / relevant.size : 0,
    ndcg: ideal > 0 ? dcg / ideal : 0,
    hit_rate: hits > 0 ? 1 : 0,
  };
}

/** Each user's items among the pairs (user[k], item[k]) for k in `pairs`: the relevant sets the scores take. */
export function itemsByUser(user: ArrayLike<number>, item: ArrayLike<number>, pairs: Iterable<number>): Map<number, Set<number>> {
  const sets = new Map<number, Set<number>>();
  for (const k of pairs) {
    const set = sets.get(user[k]);
    if (set === undefined) sets.set(user[k], new Set([item[k]]));
    else set.add(item[k]);
  }
  return sets;
}

/** Accumulates per-user scores into their means. */
export class TopNMeans {
  private readonly sums: TopNScores = { precision: 0, recall: 0, ndcg: 0, hit_rate: 0 };
  users = 0;

  add(scores: TopNScores): void {
    for (const key of Object.keys(this.sums) as (keyof TopNScores)[]) this.sums[key] += scores[key];
    this.users++;
  }

  /** Means over the users added (zeros when none). */
  means(): TopNScores {
    const n = Math.max(1, this.users);
    return { precision: this.sums.precision / n, recall: this.sums.recall / n, ndcg: this.sums.ndcg / n, hit_rate: this.sums.hit_rate / n };
  }
}
