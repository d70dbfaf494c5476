/** `latentflow encode <model.lfm> <file>`: latent codes per record, as CSV (id, z1..zq). */
import { Command } from 'commander';
import { rowOf } from '../../shared/data/table.js';
import { writeCsv } from '../output.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { withModelInput } from './model-input.js';

export function encodeCommand(): Command {
  const command = new Command('encode')
    .description('write the latent code of every record as CSV: id, z1..zq')
    .argument('<model>', 'model artifact (.lfm) from `fit`')
    .argument('<file>', 'records to encode (the model\'s feature columns, by name)')
    .option('--out <path>', 'output CSV (default: stdout)');
  withTableFlags(command, 'no-label');
  return command.action((modelPath: string, file: string, opts: Record<string, unknown>) =>
    withModelInput(modelPath, file, tableOptionsFrom(opts), async (model, table) => {
      const codes = { values: model.encode(table), width: model.codeSize };
      const header = ['id', ...Array.from({ length: model.codeSize }, (_, j) => `z${j + 1}`)];
      await writeCsv(opts.out as string | undefined, header, (function* () {
        for (let i = 0; i < table.rows; i++) yield [table.ids[i], ...Array.from(rowOf(codes, i))];
      })());
    }));
}
