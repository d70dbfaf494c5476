/**
 * Numbers as data files write them, checked the same way everywhere: decimal only (an optional sign, digits with an
 * optional decimal point, an optional exponent: `12`, `-1.5`, `.5`, `2.`, `3e-2`, `+3E+2`; no hexadecimal, binary or
 * octal, no `NaN` or `Infinity`), and finite in Float32, the type every table stores (|x| below about 3.4e38).
 */

/**
 * The value of a decimal number (surrounding spaces ignored), or what is wrong with it as a phrase for an error
 * message: `empty, expected a number`, `not a finite number` (NaN, Infinity), `not a decimal number`, or `beyond the
 * Float32 range`. One pass over the text, so any length is parsed in linear time.
 */
export function parseDecimal(text: string): number | string {
  const s = text.trim();
  if (s === '') return 'empty, expected a number';
  if (!isDecimal(s)) return /^[+-]?(nan|inf|infinity)$/i.test(s) ? 'not a finite number' : 'not a decimal number';
  const v = Number(s);
  return fitsFloat32(v) ? v : 'beyond the Float32 range';
}

/** Whether `v` is finite and stays finite as a Float32 (NaN, ±Infinity and |v| ≳ 3.4028235e38 do not). */
export function fitsFloat32(v: number): boolean {
  return Number.isFinite(Math.fround(v));
}

/** `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, by one scan. */
function isDecimal(s: string): boolean {
  let i = 0;
  if (s[i] === '+' || s[i] === '-') i++;
  const intStart = i;
  while (isDigit(s, i)) i++;
  let digits = i - intStart;
  if (s[i] === '.') {
    const fracStart = ++i;
    while (isDigit(s, i)) i++;
    digits += i - fracStart;
  }
  if (digits === 0) return false;
  if (s[i] === 'e' || s[i] === 'E') {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    const exponent = i;
    while (isDigit(s, i)) i++;
    if (i === exponent) return false;
  }
  return i === s.length;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}
