/** `latentflow embeddings export <dataset>`: code, reconstruction error, cluster and prediction per record. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { withConnection } from '../connection.js';
import { parseModelRef } from '../model-ref.js';
import { writeCsv } from '../output.js';

async function writeLines(path: string | undefined, lines: Iterable<string>): Promise<void> {
  const out: Writable = path ? createWriteStream(path) : process.stdout;
  for (const line of lines) if (!out.write(line + '\n')) await once(out, 'drain');
  if (path) {
    out.end();
    await once(out, 'finish');
  }
}

export function embeddingsCommand(): Command {
  const exportCommand = new Command('export')
    .description('write id, code (z1..zq), error, cluster and prediction of every record, in dataset order')
    .argument('<dataset>', 'dataset name')
    .option('--model <model>', 'NAME or NAME@VERSION (default: the dataset name, latest version)')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'ndjson']).default('csv'))
    .option('--out <path>', 'output file (default: stdout)')
    .action(async (dataset: string, opts: { model?: string; format: 'csv' | 'ndjson'; out?: string }) => {
      const ref = parseModelRef(opts.model ?? dataset);
      await withConnection(async ({ redis, keys }) => {
        const datasets = new DatasetStore(redis, keys);
        await datasets.meta(dataset); // a missing dataset is an error naming the known ones
        const version = await new ModelRegistry(redis, keys).resolve(ref.name, ref.ref);
        const target = { model: ref.name, version, dataset };
        const embeddings = new EmbeddingStore(redis, keys);
        const { ids } = await datasets.load(dataset);
        const read = await embeddings.read(target, ids);
        if (read.ids.length === 0) {
          throw new InputError(`no embeddings of dataset ${dataset} under ${ref.name}@${version} (run \`latentflow run ${dataset} --model ${ref.name}\`)`);
        }
        const [clusters, predictions] = await Promise.all([embeddings.readAssignments(target, 'clusters'), embeddings.readAssignments(target, 'predictions')]);
        const q = read.codeSize;
        const code = (i: number) => Array.from(read.codes.subarray(i * q, (i + 1) * q));
        const rows = read.ids.map((id, i) => ({ id, code: code(i), error: read.errors[i], cluster: clusters.get(id) ?? '', prediction: predictions.get(id) ?? '' }));
        if (opts.format === 'ndjson') {
          await writeLines(opts.out, rows.map((r) => JSON.stringify({ ...r, cluster: r.cluster === '' ? null : r.cluster, prediction: r.prediction === '' ? null : r.prediction })));
          return;
        }
        const header = ['id', ...Array.from({ length: q }, (_, j) => `z${j + 1}`), 'error', 'cluster', 'prediction'];
        await writeCsv(opts.out, header, rows.map((r) => [r.id, ...r.code, r.error, r.cluster, r.prediction]));
      });
    });
  return new Command('embeddings').description('stored codes and their downstream results: export').addCommand(exportCommand);
}
