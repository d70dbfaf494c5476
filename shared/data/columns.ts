/** Choosing the id, label and feature columns of a table from user-given names. */
import { InputError } from '../contracts/errors.js';

/** The column names, shortened for a message when there are very many. */
export function listNames(names: readonly string[], max = 40): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown}, … (${names.length - max} more)` : shown;
}

/**
 * The index of the column named `spec`, or, when no column has that name and `spec` is a whole number, of the column
 * at that 1-based position. An unknown column is an {@link InputError} naming the option and listing the columns.
 */
export function resolveColumn(names: readonly string[], spec: string, option: string, source: string, noun = 'column'): number {
  const byName = names.indexOf(spec);
  if (byName !== -1) return byName;
  if (/^\d+$/.test(spec)) {
    const position = Number(spec);
    if (position >= 1 && position <= names.length) return position - 1;
  }
  throw new InputError(`no such ${noun}; available ${noun}s: ${listNames(names)}`, { source, field: option, value: spec });
}

/**
 * The indices of the feature columns: the columns listed in `columns` (names or 1-based numbers, in that order), or
 * by default every column not in `excluded` (the id and label columns), in file order.
 */
export function featureColumns(
  names: readonly string[],
  excluded: ReadonlySet<number>,
  columns: readonly string[] | undefined,
  source: string,
  noun = 'column',
): number[] {
  if (columns === undefined) return names.map((_, i) => i).filter((i) => !excluded.has(i));
  const chosen: number[] = [];
  for (const spec of columns) {
    const i = resolveColumn(names, spec, 'columns', source, noun);
    if (excluded.has(i)) throw new InputError(`is the id or label ${noun}, so cannot also be a feature`, { source, field: 'columns', value: spec });
    if (chosen.includes(i)) throw new InputError(`${noun} listed twice`, { source, field: 'columns', value: spec });
    chosen.push(i);
  }
  return chosen;
}
