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
