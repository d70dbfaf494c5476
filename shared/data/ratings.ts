/**
 * Ratings files for collaborative filtering: one `user, item, rating[, timestamp]` record per line.
 * Accepted layouts: CSV or TSV with an optional header (detected: the first line is a header when its rating field is
 * not a number), MovieLens-100K `u.data` (tab-separated, no header) and MovieLens-1M/10M `ratings.dat` (`::`
 * separated). gzip by name or magic bytes. Any problem is an {@link InputError} naming the file, the 1-based line, the
 * field and the value.
 */
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';
import { permutation, seededRandom } from '../ml/random.js';
import { linesOf } from './lines.js';
import { parseDecimal } from './number.js';
import { openByteStream, streamFailure } from './source.js';
import { tooLong } from './table-builder.js';

/** Rating triples with dense 0-based user and item indices into `users` and `items` (external ids, first-seen order). */
export interface Ratings {
  users: string[];
  items: string[];
  entries: { user: Int32Array; item: Int32Array; rating: Float32Array };
  /** Smallest and largest rating in the entries (of the whole file for a split's parts). */
  min: number;
  max: number;
}

export interface RatingsOptions {
  /** Field separator. Default: detected from the first non-blank line: `::` if present, else tab, else `;`, else `,`. */
  delimiter?: string;
}

const FIELDS = ['user', 'item', 'rating', 'timestamp'] as const;

/** Most ratings one file may hold: each is three values (user, item, rating) of FILE_LIMITS.values. */
export const MAX_RATINGS = Math.floor(FILE_LIMITS.values / 3);

function detectSeparator(text: string): string {
  if (text.includes('::')) return '::';
  if (text.includes('\t')) return '\t';
  if (text.includes(';') && !text.includes(',')) return ';';
  return ',';
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/** Grows a typed array by doubling. */
class Column<T extends Int32Array | Float32Array> {
  length = 0;
  constructor(public data: T, private readonly make: (n: number) => T) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}

/** Builds {@link Ratings} from triples given one at a time (ids are mapped to indices in first-seen order). */
export class RatingsBuilder {
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  private readonly user = new Column(new Int32Array(1024), (n) => new Int32Array(n));
  private readonly item = new Column(new Int32Array(1024), (n) => new Int32Array(n));
  private readonly rating = new Column(new Float32Array(1024), (n) => new Float32Array(n));
  private min = Infinity;
  private max = -Infinity;

  add(user: string, item: string, rating: number): void {
    let u = this.userIndex.get(user);
    if (u === undefined) this.userIndex.set(user, (u = this.userIndex.size));
    let i = this.itemIndex.get(item);
    if (i === undefined) this.itemIndex.set(item, (i = this.itemIndex.size));
    this.user.push(u);
    this.item.push(i);
    this.rating.push(rating);
    if (rating < this.min) this.min = rating;
    if (rating > this.max) this.max = rating;
  }

  get size(): number {
    return this.rating.length;
  }

  build(): Ratings {
    return {
      users: [...this.userIndex.keys()],
      items: [...this.itemIndex.keys()],
      entries: { user: this.user.done(), item: this.item.done(), rating: this.rating.done() },
      min: this.size > 0 ? this.min : 0,
      max: this.size > 0 ? this.max : 0,
    };
  }
}

/**
 * Reads a ratings file. Blank lines are skipped. Errors: a line with fewer than 3 or more than 4 fields, an empty user
 * or item or one longer than FILE_LIMITS.idBytes, a rating that is not a decimal number finite in Float32, a line
 * longer than FILE_LIMITS.lineBytes, more than {@link MAX_RATINGS} ratings, a file without ratings.
 */
export async function readRatings(path: string, options: RatingsOptions = {}): Promise<Ratings> {
  if (options.delimiter !== undefined && options.delimiter.length === 0) {
    throw new InputError('delimiter must not be empty', { source: path, field: 'delimiter' });
  }
  const builder = new RatingsBuilder();
  let separator = options.delimiter;
  let first = true;
  try {
    for await (const { line, text } of linesOf(await openByteStream(path), path)) {
      if (text.trim() === '') continue;
      separator ??= detectSeparator(text);
      const cells = text.split(separator, 5).map(unquote);
      if (cells.length < 3 || cells.length > 4) {
        const found = cells.length > 4 ? '5 or more' : String(cells.length);
        throw new InputError(`expected 3 or 4 fields (user, item, rating[, timestamp]) separated by ${JSON.stringify(separator)}, found ${found}`, { source: path, line, value: text });
      }
      const isFirst = first;
      first = false;
      const rating = parseDecimal(cells[2]);
      if (isFirst && typeof rating === 'string') continue; // a header line
      for (let f = 0; f < 2; f++) {
        if (cells[f] === '') throw new InputError(`empty ${FIELDS[f]} id`, { source: path, line, field: FIELDS[f], value: cells[f] });
        if (tooLong(cells[f])) {
          throw new InputError(`${FIELDS[f]} id longer than ${FILE_LIMITS.idBytes} bytes, the limit for an id`, { source: path, line, field: FIELDS[f], value: cells[f] });
        }
      }
      if (typeof rating === 'string') throw new InputError(rating, { source: path, line, field: 'rating', value: cells[2] });
      if (builder.size === MAX_RATINGS) throw new InputError(`more than ${MAX_RATINGS.toLocaleString('en-US')} ratings, the limit for one file`, { source: path, line });
      builder.add(cells[0], cells[1], rating);
    }
  } catch (err) {
    throw streamFailure(path, err);
  }
  if (builder.size === 0) throw new InputError('no ratings found', { source: path });
  return builder.build();
}

/** The entries at `index`, with the same id maps and rating range. */
export function subsetRatings(ratings: Ratings, index: ArrayLike<number>): Ratings {
  const n = index.length;
  const user = new Int32Array(n);
  const item = new Int32Array(n);
  const rating = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const e = index[k];
    user[k] = ratings.entries.user[e];
    item[k] = ratings.entries.item[e];
    rating[k] = ratings.entries.rating[e];
  }
  return { users: ratings.users, items: ratings.items, entries: { user, item, rating }, min: ratings.min, max: ratings.max };
}

/**
 * A seeded random split of the entries (default 90/10, as in the AutoRec paper): `round(n · testFraction)` entries go
 * to `test`, the rest to `train`. Both parts keep the full id maps and the whole file's rating range.
 */
export function splitRatings(ratings: Ratings, testFraction = 0.1, seed = 0): { train: Ratings; test: Ratings } {
  if (!(testFraction > 0 && testFraction < 1)) throw new InputError('must be between 0 and 1', { field: 'testFraction', value: testFraction });
  const n = ratings.entries.rating.length;
  const order = permutation(n, seededRandom(`ratings-split:${seed}`));
  const nTest = Math.round(n * testFraction);
  const test = Array.from(order.subarray(0, nTest)).sort((a, b) => a - b);
  const train = Array.from(order.subarray(nTest)).sort((a, b) => a - b);
  return { train: subsetRatings(ratings, train), test: subsetRatings(ratings, test) };
}
