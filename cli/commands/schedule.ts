/**
 * `latentflow schedule add|list|remove`: named schedules that retrain a model or score a dataset with the production
 * model, by cron pattern or interval. They live in Redis (BullMQ job schedulers on the `schedule` queue); a running
 * trainer submits the work when one fires.
 */
import { Command } from 'commander';
import { InputError } from '../../shared/contracts/errors.js';
import type { PipelineQueue } from '../../shared/pipeline/queues.js';
import { addSchedule, listSchedules, removeSchedule, type ScheduleInfo } from '../../shared/pipeline/schedules.js';
import { withConnection, type Connection } from '../connection.js';
import { printRows } from '../output.js';
import { withQueues } from '../queues.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10s`, `500ms`, `5m`, `2h`, `1d` (a decimal allowed, e.g. `1.5h`) → ms. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new InputError('an interval is a number and a unit: ms, s, m, h or d (e.g. 10s, 5m, 1h)', { field: '--every', value: text });
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

/** 3600000 → `1h`, 90000 → `90s`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}

function when(s: ScheduleInfo): string {
  return s.cron !== undefined ? `cron ${s.cron}` : s.everyMs !== undefined ? `every ${formatDuration(s.everyMs)}` : '-';
}

function what(s: ScheduleInfo): string {
  const p = s.payload;
  return p.kind === 'retrain'
    ? `retrain ${p.model} on ${p.dataset}${p.promoteIfBetter ? ', promote if better' : ''}`
    : `score ${p.dataset} with ${p.model}@production`;
}

function withScheduleQueue<T>(connection: Connection, body: (queue: PipelineQueue<'schedule'>) => Promise<T>): Promise<T> {
  return withQueues(connection, ['schedule'], (queues) => body(queues.get('schedule') as unknown as PipelineQueue<'schedule'>));
}

interface AddOptions {
  cron?: string;
  every?: string;
  retrain?: string;
  score?: string;
  dataset?: string;
  model?: string;
  promoteIfBetter?: boolean;
  json?: boolean;
}

function addCommand(): Command {
  return new Command('add')
    .description('add (or replace) a schedule: retrain a model, or score a dataset with the production model')
    .argument('<name>', 'schedule name (adding an existing name replaces it)')
    .option('--cron <pattern>', 'cron pattern, e.g. "0 3 * * *" (every day at 03:00, server time)')
    .option('--every <interval>', 'interval: a number and ms, s, m, h or d (e.g. 10s, 1h)')
    .option('--retrain <model>', 'retrain this model (with --dataset)')
    .option('--dataset <dataset>', 'the dataset to retrain on')
    .option('--promote-if-better', 'promote the new version to production when its validation loss is lower')
    .option('--score <dataset>', 'score this dataset with the production version (with --model): encode, then detect')
    .option('--model <model>', 'the model to score with')
    .option('--json', 'print the schedule as JSON')
    .action(async (name: string, opts: AddOptions) => {
      if ((opts.cron === undefined) === (opts.every === undefined)) {
        throw new InputError('give exactly one of --cron "<pattern>" and --every <interval>', { field: opts.cron === undefined ? '--every' : '--cron' });
      }
      if ((opts.retrain === undefined) === (opts.score === undefined)) {
        throw new InputError('give exactly one of --retrain MODEL --dataset D and --score DATASET --model M', { field: opts.retrain === undefined ? '--retrain' : '--score' });
      }
      const retrain = opts.retrain !== undefined;
      if (retrain && opts.dataset === undefined) throw new InputError('--retrain needs --dataset (the dataset to train on)', { field: '--dataset' });
      if (!retrain && opts.model === undefined) throw new InputError('--score needs --model (the model whose production version scores)', { field: '--model' });
      if (!retrain && opts.promoteIfBetter === true) throw new InputError('--promote-if-better goes with --retrain', { field: '--promote-if-better' });
      if (retrain && opts.model !== undefined) throw new InputError('--model goes with --score (with --retrain, the model is its value)', { field: '--model' });
      if (!retrain && opts.dataset !== undefined) throw new InputError('--dataset goes with --retrain (with --score, the dataset is its value)', { field: '--dataset' });
      const everyMs = opts.every !== undefined ? parseDuration(opts.every) : undefined;
      await withConnection(async (connection) => {
        const info = await withScheduleQueue(connection, (queue) => addSchedule(queue, {
          name, cron: opts.cron, everyMs,
          kind: retrain ? 'retrain' : 'score',
          model: retrain ? opts.retrain! : opts.model!,
          dataset: retrain ? opts.dataset! : opts.score!,
          promoteIfBetter: opts.promoteIfBetter === true,
        }));
        if (opts.json === true) return console.log(JSON.stringify(info, null, 2));
        console.log(`schedule ${name}: ${when(info)}, ${what(info)}; next run ${info.next?.toISOString() ?? '-'} (a running trainer submits the work)`);
      });
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('list the schedules, the next to fire first')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withConnection(async (connection) => {
        const schedules = await withScheduleQueue(connection, (queue) => listSchedules(queue));
        if (opts.json === true) return console.log(JSON.stringify(schedules, null, 2));
        if (schedules.length === 0) return console.log('no schedules (add one: latentflow schedule add NAME --every 1h --retrain MODEL --dataset D)');
        printRows(['name', 'when', 'next run', 'what'], schedules.map((s) => [s.name, when(s), s.next?.toISOString() ?? '-', what(s)]));
      });
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove a schedule (work it already submitted goes on)')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => {
      await withConnection(async (connection) => {
        await withScheduleQueue(connection, async (queue) => {
          if (await removeSchedule(queue, name)) return console.log(`removed schedule ${name}`);
          const names = (await listSchedules(queue)).map((s) => s.name);
          throw new InputError(`no schedule named "${name}" (${names.length > 0 ? `schedules: ${names.join(', ')}` : 'no schedules'})`);
        });
      });
    });
}

export function scheduleCommand(): Command {
  return new Command('schedule')
    .description('scheduled retraining and scoring: add, list, remove')
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand());
}
