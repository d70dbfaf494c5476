/** `latentflow source add|list|remove`: input streams scored in real time by the encoder with a model's production version. */
import { Command } from 'commander';
import { DEFAULT_SOURCE_MAXLEN, SourceStore, STREAM_GROUP, checkSource } from '../../shared/store/sources.js';
import { positiveInteger } from '../arg-parsers.js';
import { withConnection } from '../connection.js';
import { printRows } from '../output.js';

function addCommand(): Command {
  return new Command('add')
    .description('score records XADDed to <prefix>:in:<source> with the model\'s production version (running encoders pick it up within seconds)')
    .argument('<source>', 'source name (letters, digits, ".", "_", "-")')
    .requiredOption('--model <name>', 'model whose production version scores the records')
    .option('--max-len <n>', `approximate stream cap producers should use (XADD ... MAXLEN ~ N); also caps the dead-letter stream (default ${DEFAULT_SOURCE_MAXLEN})`, positiveInteger)
    .option('--rate-limit <n>', 'records per second the encoders take from this source in all; a flood beyond it waits in the stream instead of delaying other sources (default LATENTFLOW_SOURCE_RATE_LIMIT, 0 there: none)', positiveInteger)
    .option('--json', 'print the source as JSON')
    .action(async (source: string, opts: { model: string; maxLen?: number; rateLimit?: number; json?: boolean }) => {
      checkSource(source);
      await withConnection(async ({ redis, keys }) => {
        const { model, maxLen, rateLimit } = opts;
        const added = await new SourceStore(redis, keys).add(source, { model, ...(maxLen !== undefined ? { maxLen } : {}), ...(rateLimit !== undefined ? { rateLimit } : {}) });
        if (opts.json === true) return console.log(JSON.stringify(added));
        console.log(`source ${source}: model ${added.model} (production); produce with`);
        console.log(`  XADD ${keys.stream.input(source)} MAXLEN ~ ${added.maxLen} * id <record id> values <v1,v2,...>`);
        console.log(`malformed entries go to ${keys.stream.dlq(source)}`);
      }, { name: 'latentflow-source' });
    });
}

function listCommand(): Command {
  return new Command('list')
    .description(`sources with their model, stream length, entries pending and not yet read in group "${STREAM_GROUP}", and dead-letter length`)
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        const store = new SourceStore(redis, keys);
        const sources = await store.list();
        const rows = await Promise.all(sources.map(async (s) => ({ ...s, ...(await store.stats(s.source)) })));
        if (opts.json === true) return console.log(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return console.log('no sources (add one: latentflow source add <source> --model NAME)');
        printRows(['source', 'model', 'stream', 'length', 'pending', 'lag', 'consumers', 'dlq', 'max len', 'rate limit/s'], rows.map((r) => {
          const g = r.groups.find((x) => x.name === STREAM_GROUP);
          return [r.source, `${r.model}@production`, keys.stream.input(r.source), r.length, g?.pending, g?.lag, g?.consumers, r.dlq, r.maxLen, r.rateLimit ?? 'default'];
        }));
      }, { name: 'latentflow-source' });
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('stop scoring a source (encoders stop reading it within seconds); its streams are kept unless --purge')
    .argument('<source>', 'source name')
    .option('--purge', 'also delete the input and dead-letter streams')
    .action(async (source: string, opts: { purge?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        const removed = await new SourceStore(redis, keys).remove(source, { purge: opts.purge === true });
        if (!removed) {
          console.error(`no source "${source}"`);
          process.exitCode = 1;
          return;
        }
        console.log(`source ${source} removed${opts.purge === true ? ' (streams deleted)' : `; ${keys.stream.input(source)} and ${keys.stream.dlq(source)} kept`}`);
      }, { name: 'latentflow-source' });
    });
}

export function sourceCommand(): Command {
  return new Command('source').description('input streams scored in real time: add, list, remove')
    .addCommand(addCommand()).addCommand(listCommand()).addCommand(removeCommand());
}
