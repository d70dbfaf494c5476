/** Label vocabularies: the sorted distinct labels of one or more label arrays, and labels encoded as integer ids. */
import { InputError } from '../contracts/errors.js';

/** A label as analytics accepts it: class names are strings, cluster ids numbers. */
export type Label = string | number;

const collator = new Intl.Collator('en', { numeric: true });

/**
 * Orders labels: numbers ascending before strings; strings in natural order ("class_2" before "class_10"), ties in
 * that order broken by code units so the order is total and the same on every machine.
 */
export function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' || typeof b === 'number') {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return typeof a === 'number' ? -1 : 1;
  }
  const c = collator.compare(a, b);
  if (c !== 0) return c;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The distinct labels of all arrays, sorted with {@link compareLabels}. */
export function distinctLabels(...arrays: ArrayLike<Label>[]): Label[] {
  const seen = new Set<Label>();
  for (const a of arrays) for (let i = 0; i < a.length; i++) seen.add(a[i]);
  return [...seen].sort(compareLabels);
}

/** Each label's index in `classes`; throws InputError naming `name` for a label not in `classes`. */
export function encodeLabels(labels: ArrayLike<Label>, classes: readonly Label[], name = 'labels'): Int32Array {
  const index = new Map<Label, number>();
  classes.forEach((c, i) => index.set(c, i));
  const ids = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const id = index.get(labels[i]);
    if (id === undefined) throw new InputError('label not among the known classes', { field: name, row: i, value: labels[i] });
    ids[i] = id;
  }
  return ids;
}
