/** `latentflow fit <file> --out model.lfm`: train an autoencoder locally and save its artifact. */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { readTable } from '../../shared/data/read-table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { THRESHOLD_FLAG_HELP, thresholdFrom } from '../threshold-flag.js';
import { inFlagTerms, modelOptionsFrom, withModelFlags } from '../model-flags.js';
import { formatTable } from '../output.js';
import { epochBar } from '../progress.js';
import { startRuntime } from '../runtime.js';
import { tableOptionsFrom, withTableFlags } from '../table-flags.js';

export function fitCommand(): Command {
  const command = new Command('fit')
    .description('train an autoencoder on a data file and save it as one portable artifact')
    .argument('<file>', 'CSV, NDJSON or IDX file (gzip allowed)')
    .requiredOption('--out <path>', 'where to write the model artifact (.lfm)')
    .option('--threshold <method>', THRESHOLD_FLAG_HELP, 'quantile:0.99');
  withTableFlags(command);
  withModelFlags(command);
  return command.action(async (file: string, opts: Record<string, unknown>) => {
    const backend = await startRuntime();
    const table = await readTable(file, tableOptionsFrom(opts));
    const bar = epochBar('training');
    let model: Autoencoder;
    try {
      model = await Autoencoder.fit(table, modelOptionsFrom(opts), { onEpoch: bar.update, threshold: thresholdFrom(String(opts.threshold)) });
    } catch (error) {
      throw inFlagTerms(error);
    } finally {
      bar.stop();
    }
    try {
      await writeFile(String(opts.out), model.toArtifact());
      const h = model.history;
      console.log(formatTable([
        ['model', String(opts.out)],
        ['backend', backend.name],
        ['rows × features', `${table.rows} × ${table.width}`],
        ['layers', [table.width, ...model.config.encoder, ...model.config.decoder, table.width].join('-')],
        ['epochs', h.epochs.length],
        ['seconds', h.seconds],
        ['samples/s', Math.round(h.samplesPerSecond)],
        ['final loss', h.epochs.at(-1)?.loss ?? NaN],
        ['final val loss', h.epochs.at(-1)?.valLoss ?? NaN],
        ['threshold', model.threshold?.value ?? NaN],
      ]));
    } finally {
      model.dispose();
    }
  });
}
