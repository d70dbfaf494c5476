/** Assertions shared by the unit tests. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InputError } from '../../shared/contracts/errors.js';

/** Asserts `promise` rejects with a non-retryable InputError whose message contains every part. */
export async function rejectsInput(promise: Promise<unknown>, ...parts: string[]): Promise<InputError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  for (const part of parts) assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`);
  assert.equal(caught.retryable, false);
  return caught;
}

/** data/wine.csv (id first, label last, CRLF lines), features standardized with the population deviation. */
export function readWine(): { z: number[][]; y: string[] } {
  const lines = readFileSync(new URL('../../data/wine.csv', import.meta.url), 'utf8').trim().split(/\r?\n/).slice(1);
  const x = lines.map((l) => l.split(',').slice(1, -1).map(Number));
  const y = lines.map((l) => l.split(',').at(-1)!);
  const mean = x[0].map((_, j) => x.reduce((s, r) => s + r[j], 0) / x.length);
  const sd = x[0].map((_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / x.length));
  return { z: x.map((r) => r.map((v, j) => (v - mean[j]) / sd[j])), y };
}
