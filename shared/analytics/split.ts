/**
 * Seeded index splits: a shuffled permutation, a stratified train/test split and stratified k folds. Every function
 * returns row indices (never copies of data) and the same indices for the same inputs and seed.
 */
import { InputError } from '../contracts/errors.js';
import { distinctLabels, encodeLabels, type Label } from './labels.js';
import { seededRandom, shuffleInPlace, type Random } from './random.js';

/** A seeded permutation of `0..n-1`. */
export function shuffledIndices(n: number, seed: number | string = 0): number[] {
  if (!Number.isInteger(n) || n < 0) throw new InputError('must be a non-negative integer', { field: 'n', value: n });
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), seededRandom(seed));
}

/** The members of each class (indices in input order), classes in sorted label order. */
function membersByClass(labels: ArrayLike<Label>): number[][] {
  const classes = distinctLabels(labels);
  const ids = encodeLabels(labels, classes);
  const members = classes.map(() => [] as number[]);
  for (let i = 0; i < ids.length; i++) members[ids[i]].push(i);
  return members;
}

function shuffledMembers(labels: ArrayLike<Label>, random: Random): number[][] {
  return membersByClass(labels).map((m) => shuffleInPlace(m, random));
}

export interface Split {
  /** Training row indices, ascending. */
  train: number[];
  /** Test row indices, ascending. */
  test: number[];
}

/**
 * Splits rows into train and test keeping class proportions, like scikit-learn's `train_test_split(stratify=…)`:
 * the test part has `ceil(testFraction · n)` rows, shared among classes in proportion to their sizes (floors first,
 * then the remaining rows to the largest fractional parts, ties to the earlier class in sorted label order), and each
 * class's members are drawn after a seeded shuffle. Unlike scikit-learn, every class with at least 2 members is then
 * given at least one row in each part (which can move the test size by a row per such class); a class of 1 goes to
 * train.
 * @param testFraction - share of rows in the test part, in (0, 1). Default 0.3.
 * @param seed - PRNG seed. Default 0.
 */
export function stratifiedSplit(labels: ArrayLike<Label>, testFraction = 0.3, seed: number | string = 0): Split {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new InputError('must be strictly between 0 and 1', { field: 'testFraction', value: testFraction });
  }
  const n = labels.length;
  if (n < 2) throw new InputError(`needs at least 2 rows to split, got ${n}`, { field: 'labels' });
  const members = shuffledMembers(labels, seededRandom(seed));
  const nTest = Math.ceil(testFraction * n);
  const exact = members.map((m) => (nTest * m.length) / n);
  const take = exact.map(Math.floor);
  let remaining = nTest - take.reduce((s, t) => s + t, 0);
  const byFraction = exact.map((e, c) => ({ c, f: e - Math.floor(e) })).sort((a, b) => b.f - a.f || a.c - b.c);
  for (const { c } of byFraction) {
    if (remaining <= 0) break;
    take[c]++;
    remaining--;
  }
  const train: number[] = [];
  const test: number[] = [];
  members.forEach((m, c) => {
    let t = take[c];
    if (m.length === 1) t = 0;
    else t = Math.min(Math.max(t, 1), m.length - 1);
    for (let k = 0; k < m.length; k++) (k < t ? test : train).push(m[k]);
  });
  const asc = (a: number, b: number) => a - b;
  return { train: train.sort(asc), test: test.sort(asc) };
}

/**
 * Stratified k-fold cross-validation splits: each class's members are shuffled (seeded) and dealt to the folds in
 * turn, continuing from one class to the next, so every fold gets ⌊n/folds⌋ or ⌈n/folds⌉ rows and each class is
 * spread as evenly as its size allows (a class with fewer members than folds is absent from some test folds).
 * @param folds - number of folds, 2 ≤ folds ≤ rows.
 * @param seed - PRNG seed. Default 0.
 * @returns one {@link Split} per fold; the test parts partition the rows.
 */
export function kFold(labels: ArrayLike<Label>, folds: number, seed: number | string = 0): Split[] {
  const n = labels.length;
  if (!Number.isInteger(folds) || folds < 2 || folds > n) {
    throw new InputError(`must be an integer from 2 to the number of rows (${n})`, { field: 'folds', value: folds });
  }
  const foldOf = new Int32Array(n);
  let next = 0;
  for (const m of shuffledMembers(labels, seededRandom(seed))) {
    for (const i of m) {
      foldOf[i] = next;
      next = (next + 1) % folds;
    }
  }
  return Array.from({ length: folds }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? test : train).push(i);
    return { train, test };
  });
}
