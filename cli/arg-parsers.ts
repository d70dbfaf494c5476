/** Parsers for numeric command-line arguments: each rejects bad text with commander's InvalidArgumentError. */
import { InvalidArgumentError } from 'commander';

function integerFrom(min: number, what: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be ${what}, got ${JSON.stringify(text)}`);
    return n;
  };
}

export const integer = integerFrom(-Infinity, 'an integer');

export const positiveInteger = integerFrom(1, 'a positive integer');

/** k of k-means. */
export const clusters = integerFrom(2, 'an integer ≥ 2');

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** A share strictly between 0 and 1. */
export function fraction(text: string): number {
  const n = Number(text);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`must be a number between 0 and 1, got ${JSON.stringify(text)}`);
  return n;
}

export function nonNegativeNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a number ≥ 0, got ${JSON.stringify(text)}`);
  return n;
}

export function finiteNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a number, got ${JSON.stringify(text)}`);
  return n;
}
