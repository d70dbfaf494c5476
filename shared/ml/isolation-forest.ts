/**
 * Isolation forest (Liu, Ting & Zhou 2008): the anomaly score of a row is 2^(−E[h(x)] / c(ψ)), where h(x) is the depth
 * at which a random tree isolates it and c(ψ) the mean depth of an unsuccessful search in a binary tree of ψ rows. As
 * in the paper and scikit-learn: ψ = min(256, rows) rows sampled without replacement per tree, 100 trees, depth
 * limit ceil(log2 ψ), a leaf of n rows adds c(n). One difference: the split feature is drawn among the features that
 * still vary in the node (scikit-learn draws any feature and stops on a constant one), so constant columns do not
 * waste splits.
 *
 * Written here rather than taken from npm: the one package (ml-isolation-forest 0.1.0) grows every tree on all rows
 * without sub-sampling (not the algorithm), draws from Math.random (no seed) and keeps every training row in its
 * leaves (no compact form to store in a model file). This forest is seeded and flat: four Float32Arrays that go into
 * the model file as they are.
 */
import { InputError } from '../contracts/errors.js';
import { seededRandom, type Random } from './random.js';

export interface IsolationForestOptions {
  /** Trees. Default 100. */
  trees?: number;
  /** Rows per tree (ψ). Default 256 (fewer when there are fewer rows). */
  sampleSize?: number;
  seed?: number;
}

/** The forest's nodes, tree after tree: a node's children are at `left[i]` and `left[i] + 1`; a leaf has left = −1. */
export interface ForestArrays {
  /** Split feature of an inner node; for a leaf, unused (0). */
  feature: Float32Array;
  /** Split value of an inner node (go left when x < value); for a leaf, c(rows in the leaf) + its depth. */
  value: Float32Array;
  /** Index of the left child, −1 for a leaf. */
  left: Float32Array;
  /** Index of each tree's root. */
  roots: Float32Array;
}

const EULER = 0.5772156649;

/** c(n): the mean path length of an unsuccessful search in a binary search tree of n keys. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
}

export class IsolationForest {
  private constructor(private readonly nodes: ForestArrays, readonly width: number, readonly sampleSize: number) {}

  /** Grows the forest on `rows` × `width` values (row-major). */
  static fit(values: Float32Array, rows: number, width: number, options: IsolationForestOptions = {}): IsolationForest {
    if (rows < 2) throw new InputError(`an isolation forest needs at least 2 rows, got ${rows}`);
    const trees = options.trees ?? 100;
    const psi = Math.min(options.sampleSize ?? 256, rows);
    const random = seededRandom(`iforest:${options.seed ?? 0}`);
    const maxDepth = Math.ceil(Math.log2(psi));
    const feature: number[] = [], value: number[] = [], left: number[] = [], roots: number[] = [];
    const sample = new Uint32Array(psi);
    const pool = Uint32Array.from({ length: rows }, (_, i) => i);
    for (let t = 0; t < trees; t++) {
      // Partial Fisher–Yates: the first ψ of the pool are a uniform sample without replacement.
      for (let i = 0; i < psi; i++) {
        const j = i + Math.floor(random() * (rows - i));
        const swap = pool[i]; pool[i] = pool[j]; pool[j] = swap;
        sample[i] = pool[i];
      }
      const grower = { values, width, random, maxDepth, feature, value, left };
      const root = allocate(grower, 1);
      roots.push(root);
      grow(grower, sample, 0, psi, 0, root);
    }
    const f32 = (a: number[]) => Float32Array.from(a);
    return new IsolationForest({ feature: f32(feature), value: f32(value), left: f32(left), roots: f32(roots) }, width, psi);
  }

  /** A forest from its arrays (a model file's): the indices are checked so that scoring cannot leave them. */
  static fromArrays(nodes: ForestArrays, width: number, sampleSize: number): IsolationForest {
    const n = nodes.feature.length;
    if (nodes.value.length !== n || nodes.left.length !== n) throw new InputError('isolation forest arrays of unequal lengths');
    for (let i = 0; i < n; i++) {
      const l = nodes.left[i];
      if (!Number.isFinite(nodes.value[i])) throw new InputError(`isolation forest node ${i} has value ${nodes.value[i]}`);
      if (l === -1) continue;
      if (!Number.isInteger(l) || l <= i || l + 1 >= n || !Number.isInteger(nodes.feature[i]) || nodes.feature[i] < 0 || nodes.feature[i] >= width) {
        throw new InputError(`isolation forest node ${i} points outside the forest (child ${l}, feature ${nodes.feature[i]})`);
      }
    }
    if (nodes.roots.some((r) => !Number.isInteger(r) || r < 0 || r >= n)) throw new InputError('isolation forest root outside the forest');
    if (!(sampleSize >= 2)) throw new InputError(`isolation forest sample size ${sampleSize} is not at least 2`);
    return new IsolationForest(nodes, width, sampleSize);
  }

  get arrays(): ForestArrays {
    return this.nodes;
  }

  /** Anomaly scores in (0, 1] of `rows` rows (row-major, `width` wide): about 0.5 and below is normal. */
  score(values: Float32Array, rows: number): Float32Array {
    const { feature, value, left, roots } = this.nodes;
    const out = new Float32Array(rows);
    const norm = averagePathLength(this.sampleSize) * roots.length;
    for (let r = 0; r < rows; r++) {
      const base = r * this.width;
      let total = 0;
      for (let t = 0; t < roots.length; t++) {
        let node = roots[t];
        while (left[node] !== -1) node = values[base + feature[node]] < value[node] ? left[node] : left[node] + 1;
        total += value[node];
      }
      out[r] = 2 ** (-total / norm);
    }
    return out;
  }
}

interface Grower {
  values: Float32Array;
  width: number;
  random: Random;
  maxDepth: number;
  feature: number[];
  value: number[];
  left: number[];
}

/** Makes node `node` (already allocated) the subtree of rows `sample[from..to)` at `depth`, partitioning `sample` in place. */
function grow(g: Grower, sample: Uint32Array, from: number, to: number, depth: number, node: number): void {
  const leaf = () => { g.value[node] = depth + averagePathLength(to - from); };
  if (depth >= g.maxDepth || to - from <= 1) return leaf();
  const range = (j: number): [number, number] => {
    let min = Infinity, max = -Infinity;
    for (let k = from; k < to; k++) {
      const v = g.values[sample[k] * g.width + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return [min, max];
  };
  // A random feature among those that vary here: a few draws, then a scan, so that a constant node ends as a leaf.
  let split = -1, lo = 0, hi = 0;
  for (let tries = 0; tries < 8 && split < 0; tries++) {
    const j = Math.floor(g.random() * g.width);
    [lo, hi] = range(j);
    if (hi > lo) split = j;
  }
  if (split < 0) {
    const varying: number[] = [];
    for (let j = 0; j < g.width; j++) {
      const [min, max] = range(j);
      if (max > min) varying.push(j);
    }
    if (varying.length === 0) return leaf();
    split = varying[Math.floor(g.random() * varying.length)];
    [lo, hi] = range(split);
  }
  // Compared in float32, as scoring compares: a cut that rounds down to the minimum would leave the left side empty.
  let cut = Math.fround(lo + g.random() * (hi - lo));
  if (cut <= lo) cut = hi;
  let mid = from;
  for (let k = from; k < to; k++) {
    if (g.values[sample[k] * g.width + split] < cut) {
      const swap = sample[mid]; sample[mid] = sample[k]; sample[k] = swap;
      mid++;
    }
  }
  const child = allocate(g, 2);
  g.feature[node] = split;
  g.value[node] = cut;
  g.left[node] = child;
  grow(g, sample, from, mid, depth + 1, child);
  grow(g, sample, mid, to, depth + 1, child + 1);
}

/** `count` new leaf nodes, adjacent; the index of the first. */
function allocate(g: Grower, count: number): number {
  const first = g.feature.length;
  for (let i = 0; i < count; i++) {
    g.feature.push(0); g.value.push(0); g.left.push(-1);
  }
  return first;
}
