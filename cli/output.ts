/** Writing command results: CSV rows to a file or stdout, and aligned text tables. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Streams CSV rows to `path` (stdout when absent), respecting back-pressure. */
export async function writeCsv(path: string | undefined, header: string[], rows: Iterable<(string | number)[]>): Promise<void> {
  const out: Writable = path ? createWriteStream(path) : process.stdout;
  const write = async (cells: (string | number)[]) => {
    if (!out.write(cells.map(csvCell).join(',') + '\n')) await once(out, 'drain');
  };
  await write(header);
  for (const row of rows) await write(row);
  if (path) {
    out.end();
    await once(out, 'finish');
  }
}

/** Two-column text table for people. */
export function formatTable(rows: [string, string | number][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${typeof v === 'number' ? formatNumber(v) : v}`).join('\n');
}

/** C0 and C1 control characters and DEL: what lets text move the cursor, recolour or retitle a terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from the data (any Redis client may have written it) made inert for a terminal: every control character,
 * an escape sequence's ESC included, shown as `\xHH`.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * `JSON.stringify` for a terminal: JSON escapes C0 controls already; DEL and C1 controls (U+0080 to U+009F, which
 * some terminals obey) are escaped too (`\u00HH`), so the line is the same JSON with nothing a terminal acts on.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toPrecision(4);
}

/** Multi-column text table with a header row, for people. */
export function formatRows(header: string[], rows: (string | number | undefined | null)[][]): string {
  const text = rows.map((r) => r.map((v) => (v === undefined || v === null ? '-' : typeof v === 'number' ? formatNumber(v) : v)));
  const widths = header.map((h, j) => Math.max(h.length, ...text.map((r) => (r[j] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === cells.length - 1 ? c : c.padEnd(widths[j]))).join('  ').trimEnd();
  return [line(header), ...text.map(line)].join('\n');
}

export function printRows(header: string[], rows: (string | number | undefined | null)[][]): void {
  console.log(formatRows(header, rows));
}
