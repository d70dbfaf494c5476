/** `latentflow score <model.lfm> <file>`: reconstruction error, anomaly flag and top contributing features per record. */
import { Command } from 'commander';
import { rowOf } from '../../shared/data/table.js';
import { writeCsv } from '../output.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { withModelInput } from './model-input.js';
import { positiveInteger } from '../arg-parsers.js';

export function scoreCommand(): Command {
  const command = new Command('score')
    .description('score records: id, error, anomaly (error > the model threshold), top contributing features')
    .argument('<model>', 'model artifact (.lfm) from `fit`')
    .argument('<file>', 'records to score (the model\'s feature columns, by name)')
    .option('--out <path>', 'output CSV (default: stdout)')
    .option('--threshold <value>', 'anomaly threshold (default: the model\'s)', Number)
    .option('--top <n>', 'contributing features listed per record', positiveInteger, 3);
  withTableFlags(command, 'no-label');
  return command.action((modelPath: string, file: string, opts: Record<string, unknown>) =>
    withModelInput(modelPath, file, tableOptionsFrom(opts), async (model, table) => {
      const { errors, cellErrors } = model.score(table, { cells: true });
      const threshold = (opts.threshold as number | undefined) ?? model.threshold?.value ?? Infinity;
      const cells = { values: cellErrors!, width: model.inputWidth };
      await writeCsv(opts.out as string | undefined, ['id', 'error', 'anomaly', 'top_features'], (function* () {
        for (let i = 0; i < table.rows; i++) {
          const top = model.topFeatures(rowOf(cells, i), opts.top as number).map((f) => `${f.feature}:${f.error.toPrecision(4)}`);
          yield [table.ids[i], errors[i], errors[i] > threshold ? 1 : 0, top.join(';')];
        }
      })());
    }));
}
