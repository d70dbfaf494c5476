/** `latentflow models list|show|promote|rollback|delete`: the model registry in Redis. */
import { Command } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import { ALIAS_PATTERN, ModelRegistry, type ModelVersionMeta } from '../../shared/store/models.js';
import { withConnection } from '../connection.js';
import { formatRef, parseModelRef, parseVersion } from '../model-ref.js';
import { formatTable, printRows } from '../output.js';

function aliasesOf(aliases: Record<string, number>, version: number): string {
  return Object.entries(aliases).filter(([, v]) => v === version).map(([a]) => a).join(',');
}

function describeVersion(m: ModelVersionMeta, aliases: Record<string, number>): [string, string | number][] {
  return [
    ['model', `${m.model}@${m.version}`],
    ['aliases', aliasesOf(aliases, m.version) || '-'],
    ['dataset', m.dataset],
    ['created', m.createdAt],
    ...(m.autorec
      ? [['kind', `AutoRec (${m.autorec.variant === 'item' ? 'I' : 'U'}-AutoRec)`], ['users × items', `${m.autorec.users} × ${m.autorec.items}`], ['ratings', m.autorec.ratings], ['hidden units', m.codeSize]] as [string, string | number][]
      : [['input width', m.inputWidth], ['code size', m.codeSize], ['threshold', m.threshold ?? '-']] as [string, string | number][]),
    ...(m.normal !== undefined ? [['trained on label', m.normal] as [string, string]] : []),
    ['epochs', m.epochs],
    ['seconds', m.seconds],
    ['samples/s', Math.round(m.samplesPerSecond)],
    ['final loss', m.finalLoss],
    ['artifact bytes', m.bytes],
    ['data fingerprint', m.fingerprint],
    ['config', JSON.stringify(m.config)],
  ];
}

function listCommand(): Command {
  return new Command('list')
    .description('list models with their versions and aliases')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withConnection(async ({ redis, keys }) => {
        const models = (await new ModelRegistry(redis, keys).list()).sort((a, b) => a.name.localeCompare(b.name));
        if (opts.json === true) return console.log(JSON.stringify(models, null, 2));
        if (models.length === 0) return console.log('no models (train one: latentflow run <dataset>)');
        const rows = models.flatMap((m) => [...m.versions].sort((a, b) => a.version - b.version).map((v) => [
          m.name, v.version, aliasesOf(m.aliases, v.version) || '-', v.dataset, `${v.inputWidth}→${v.codeSize}`, v.epochs, v.finalLoss, v.threshold,
          v.createdAt,
        ]));
        printRows(['model', 'version', 'aliases', 'dataset', 'width→code', 'epochs', 'final loss', 'threshold', 'created'], rows);
      });
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('show one model version (default: the latest)')
    .argument('<model>', 'NAME or NAME@VERSION (a number or an alias such as production)')
    .option('--json', 'print as JSON')
    .action(async (text: string, opts: { json?: boolean }) => {
      const ref = parseModelRef(text);
      await withConnection(async ({ redis, keys }) => {
        const registry = new ModelRegistry(redis, keys);
        const meta = await registry.meta(ref.name, ref.ref);
        if (opts.json === true) return console.log(JSON.stringify(meta, null, 2));
        console.log(formatTable(describeVersion(meta, await registry.aliases(ref.name))));
      });
    });
}

function promoteCommand(): Command {
  return new Command('promote')
    .description('point an alias (default production) at a model version')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number (or an alias to copy, such as latest)')
    .option('--alias <alias>', 'alias to set', 'production')
    .action(async (name: string, versionText: string, opts: { alias: string }) => {
      if (!ALIAS_PATTERN.test(opts.alias) || opts.alias === 'latest') {
        throw new InputError('aliases are a letter then letters, digits, "_" or "-" (and not "latest", which always means the newest version)', { field: '--alias', value: opts.alias });
      }
      await withConnection(async ({ redis, keys }) => {
        const version = await new ModelRegistry(redis, keys).promote(name, parseVersion(versionText), opts.alias);
        console.log(`${formatRef({ name, ref: opts.alias })} → version ${version}`);
      });
    });
}

function rollbackCommand(): Command {
  return new Command('rollback')
    .description('point an alias (default production) back at the version it pointed at before its last promotion')
    .argument('<model>', 'model name')
    .option('--alias <alias>', 'alias to roll back', 'production')
    .action(async (name: string, opts: { alias: string }) => {
      await withConnection(async ({ redis, keys }) => {
        const { from, to } = await new ModelRegistry(redis, keys).rollback(name, opts.alias);
        console.log(`${formatRef({ name, ref: opts.alias })} → version ${to} (was ${from ?? 'unset'})`);
      });
    });
}

function deleteCommand(): Command {
  return new Command('delete')
    .description('delete a model version, or with no --version the whole model (every version and alias)')
    .argument('<model>', 'model name')
    .option('--version <version>', 'only this version (a number or an alias)')
    .action(async (name: string, opts: { version?: string }) => {
      await withConnection(async ({ redis, keys }) => {
        const registry = new ModelRegistry(redis, keys);
        if (opts.version === undefined) {
          await registry.resolve(name, 'latest'); // a missing model is an error naming the known ones
          const removed = await registry.delete(name);
          console.log(`deleted model ${name} (${removed} version${removed === 1 ? '' : 's'})`);
          return;
        }
        const version = await registry.resolve(name, parseVersion(opts.version));
        await registry.delete(name, version);
        console.log(`deleted ${name}@${version}`);
      });
    });
}

export function modelsCommand(): Command {
  return new Command('models')
    .description('the model registry: list, show, promote, rollback, delete')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(promoteCommand())
    .addCommand(rollbackCommand())
    .addCommand(deleteCommand());
}
