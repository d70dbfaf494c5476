/**
 * `latentflow report <run id | model[@version]> [--out file]`: one self-contained HTML file (inline charts, no script,
 * no URL; it works offline) reporting a run, or a model version on the embeddings of its training dataset.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import { buildReport, type ReportTarget } from '../../shared/report/index.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { withConnection, type Connection } from '../connection.js';
import { parseModelRef } from '../model-ref.js';
import { withQueues } from '../queues.js';
import { startRuntime } from '../runtime.js';

/** Builds the report of `target` and writes it to `file` (creating its folder). */
export async function writeReport(connection: Connection, target: ReportTarget, file: string): Promise<void> {
  const report = await buildReport(connection.redis, connection.keys, target);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, report);
}

/**
 * `NAME@VERSION` is a model version; any other text is a run id when a run job has that id, else a model name (its
 * latest version). Returns the target and how the default file name calls it (`run id` or `model@version`).
 * InputError naming both the missing run and the missing model.
 */
async function resolveTarget(connection: Connection, text: string): Promise<{ target: ReportTarget; name: string }> {
  if (!text.includes('@')) {
    const job = await withQueues(connection, ['run'], (queues) => queues.get('run')!.getJob(text));
    if (job) return { target: { run: text }, name: text };
  }
  const ref = parseModelRef(text, 'target');
  try {
    const version = await new ModelRegistry(connection.redis, connection.keys).resolve(ref.name, ref.ref);
    return { target: { model: ref.name, version }, name: `${ref.name}@${version}` };
  } catch (error) {
    if (text.includes('@') || !(error instanceof InputError)) throw error;
    throw new InputError(`no run "${text}", and ${error.message}`, {}, { cause: error });
  }
}

export function reportCommand(): Command {
  return new Command('report')
    .description('write a self-contained HTML report of a run or a model version: loss curves, error histogram, errors by label, codes in 2-D, SVM confusion matrix, top anomalies, metadata')
    .argument('<target>', 'a run id, or MODEL[@VERSION] (a number or an alias; default the latest version)')
    .option('--out <file>', 'where to write it (default report-<run id or model@version>.html in the current directory)')
    .action(async (text: string, opts: { out?: string }) => {
      await startRuntime();
      await withConnection(async (connection) => {
        const { target, name } = await resolveTarget(connection, text);
        const file = opts.out ?? `report-${name}.html`;
        await writeReport(connection, target, file);
        console.log(file);
      });
    });
}
