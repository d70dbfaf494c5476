/** Flags that say how to read a data file, shared by every command that reads one. */
import type { Command } from 'commander';
import type { ReadTableOptions } from '../shared/data/read-table.js';

export function withTableFlags(command: Command, label: 'label' | 'no-label' = 'label'): Command {
  command
    .option('--id <column>', 'id column (name, or 1-based number); default: row numbers')
    .option('--delimiter <char>', 'CSV delimiter (default: detected from the header)')
    .option('--no-header', 'CSV file without a header row (columns are c1, c2, ...)');
  if (label === 'label') command.option('--label <column>', 'label column, excluded from the features');
  return command;
}

export function tableOptionsFrom(opts: Record<string, unknown>): ReadTableOptions {
  const out: ReadTableOptions = {};
  if (typeof opts.id === 'string') out.idColumn = opts.id;
  if (typeof opts.label === 'string') out.labelColumn = opts.label;
  if (typeof opts.delimiter === 'string') out.delimiter = opts.delimiter;
  if (opts.header === false) out.header = false;
  return out;
}
