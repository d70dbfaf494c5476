/**
 * `latentflow score <model.lfm> <file>`: per record the reconstruction error, the anomaly score (the model's detector's)
 * and its p-value, the anomaly flag, the worst reconstructed features and the attribution of the score to features.
 */
import { Command } from 'commander';
import { rowOf } from '../../shared/data/table.js';
import { writeCsv } from '../output.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';
import { withModelInput } from './model-input.js';
import { positiveInteger } from '../arg-parsers.js';
import { sliceRows } from '../../shared/pipeline/rows.js';

/** Records attributed at a time (attribution scores width + 1 variants of each). */
const ATTRIBUTION_SLICE = 256;

export function scoreCommand(): Command {
  const command = new Command('score')
    .description('score records: id, error, score, p_value, anomaly (score > the model threshold), top_features (worst reconstructed), attribution (features whose median lowers the score most)')
    .argument('<model>', 'model artifact (.lfm) from `fit`')
    .argument('<file>', 'records to score (the model\'s feature columns, by name)')
    .option('--out <path>', 'output CSV (default: stdout)')
    .option('--threshold <value>', 'anomaly threshold on the score (default: the model\'s)', Number)
    .option('--top <n>', 'contributing features listed per record', positiveInteger, 3)
    .option('--no-attribution', 'skip the attribution column (it scores width + 1 variants of every record)');
  withTableFlags(command, 'no-label');
  return command.action((modelPath: string, file: string, opts: Record<string, unknown>) =>
    withModelInput(modelPath, file, tableOptionsFrom(opts), async (model, table) => {
      const { errors, scores, cellErrors } = model.score(table, { cells: true });
      const pValues = model.pValues(scores);
      const threshold = (opts.threshold as number | undefined) ?? model.threshold?.value ?? Infinity;
      const cells = { values: cellErrors!, width: model.inputWidth };
      const top = opts.top as number;
      await writeCsv(opts.out as string | undefined, ['id', 'error', 'score', 'p_value', 'anomaly', 'top_features', 'attribution'], (function* () {
        for (let start = 0; start < table.rows; start += ATTRIBUTION_SLICE) {
          const rows = Math.min(ATTRIBUTION_SLICE, table.rows - start);
          const attribution = opts.attribution === false ? [] : model.attribute(sliceRows(table, start, start + rows), top);
          for (let i = start; i < start + rows; i++) {
            const worst = model.topFeatures(rowOf(cells, i), top).map((f) => `${f.feature}:${f.error.toPrecision(4)}`);
            const attributed = (attribution[i - start] ?? []).map((f) => `${f.feature}:${f.contribution.toPrecision(4)}`);
            yield [table.ids[i], errors[i], scores[i], pValues?.[i] ?? '', scores[i] > threshold ? 1 : 0, worst.join(';'), attributed.join(';')];
          }
        }
      })());
    }));
}
