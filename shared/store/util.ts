/** Small helpers shared by the stores. */
import type { RedisClient } from './redis.js';
import { InputError } from '../contracts/errors.js';
import { NAME_PATTERN } from '../contracts/keys.js';

/** Fields or members per Redis command when writing or reading large hashes and sorted sets. */
export const FIELDS_PER_COMMAND = 1000;

/** Splits `items` into consecutive slices of at most `size` (the ≤ 1000 fields per command rule of the stores). */
export function* slices<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Natural order of record ids: numeric ids by value ("2" before "10"), then text. */
export const compareIds: (a: string, b: string) => number = new Intl.Collator('en', { numeric: true }).compare;

/** Checks a dataset, model or source name against NAME_PATTERN; the InputError names the field. */
export function checkName(name: string, what: 'dataset' | 'model' | 'source' | 'ratings', field = 'name'): void {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InputError(`${what} names use letters, digits, ".", "_" and "-" (starting with a letter or digit, up to 128)`, { field, value: name });
  }
}

/** Runs a pipeline or MULTI and returns its replies, throwing the first command error. */
export async function execOrThrow(p: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const results = (await p.exec()) ?? [];
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/** One stream entry as Redis returns it: id and flat field list (null for an entry deleted while pending). */
export type StreamEntry = [id: string, fields: string[] | null];

/**
 * The entries of an XREAD/XREADGROUP reply on one stream: RESP2 `[[key, entries]]`, or RESP3's map as ioredis
 * flattens it (`[key, entries]`); null (timeout) gives none.
 */
export function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first: unknown = reply[0];
  if (Array.isArray(first)) return (first[1] ?? []) as StreamEntry[];
  return (reply[1] ?? []) as StreamEntry[];
}

/** A record as a hash whose fields are its properties, each JSON-encoded (the stores' meta hashes). */
export function toJsonFields(record: object): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([f, v]) => [f, JSON.stringify(v)]));
}

/** The record {@link toJsonFields} wrote, from `HGETALL`. */
export function fromJsonFields<T>(fields: Record<string, string>): T {
  return Object.fromEntries(Object.entries(fields).map(([f, v]) => [f, JSON.parse(v) as unknown])) as T;
}
