/** `name`, `name@3`, `name@production`: a model and a version reference as users type them. */
import { InputError } from '../shared/contracts/errors.js';

export interface ModelRef {
  name: string;
  /** A version number, or an alias (`latest` when none was given). */
  ref: number | string;
}

export function parseModelRef(text: string, field = 'model'): ModelRef {
  const at = text.lastIndexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? 'latest' : text.slice(at + 1);
  if (name === '' || ref === '') throw new InputError('expected NAME or NAME@VERSION (a number or an alias such as production)', { field, value: text });
  return { name, ref: parseVersion(ref) };
}

/** `3` → 3, anything else stays an alias. */
export function parseVersion(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

export function formatRef({ name, ref }: ModelRef): string {
  return `${name}@${ref}`;
}
