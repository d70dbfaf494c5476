/**
 * `latentflow jobs [<id>] [--queue Q]`: one job's state, progress, result or error; without an id, job counts per
 * queue. Every stage of a run has the run id as its job id, so a run id shows the whole run, one line per stage.
 */
import { Command, Option } from 'commander';
import type { Job, Queue } from 'bullmq';
import { InputError } from '../../shared/contracts/errors.js';
import { QUEUES, type QueueName } from '../../shared/contracts/queues.js';
import { withConnection } from '../connection.js';
import { formatTable, printRows } from '../output.js';
import { withQueues } from '../queues.js';
import { cancelJobs } from '../../shared/pipeline/cancellation.js';

const COUNTED = ['waiting', 'prioritized', 'waiting-children', 'active', 'completed', 'failed', 'delayed'] as const;
/** Every job with this id, in the order of `queues` (QUEUES lists a run's stages in execution order). */
export async function findJobs(queues: Map<QueueName, Queue>, id: string): Promise<{ queue: QueueName; job: Job }[]> {
  const order = [...queues.keys()];
  const jobs = await Promise.all(order.map(async (queue) => ({ queue, job: await queues.get(queue)!.getJob(id) })));
  return jobs.filter((j): j is { queue: QueueName; job: Job } => j.job !== undefined);
}

export interface JobReport {
  id: string;
  queue: string;
  name: string;
  state: string;
  progress: unknown;
  attempts: number;
  data: unknown;
  result?: unknown;
  error?: string;
  parent?: string;
  created?: string;
  finished?: string;
}

export async function jobReport(queue: string, job: Job): Promise<JobReport> {
  const state = await job.getState();
  const report: JobReport = { id: job.id ?? '?', queue, name: job.name, state, progress: job.progress, attempts: job.attemptsMade, data: job.data };
  if (state === 'completed') report.result = job.returnvalue as unknown;
  if (job.failedReason) report.error = job.failedReason;
  if (job.parentKey) report.parent = job.parentKey;
  if (job.timestamp) report.created = new Date(job.timestamp).toISOString();
  if (job.finishedOn) report.finished = new Date(job.finishedOn).toISOString();
  return report;
}

const show = (v: unknown) => (v === undefined || v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

function progressText(p: unknown): string {
  if (p === 0) return '-';
  if (typeof p === 'number') return `${p}%`;
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    if (typeof o.epoch === 'number' && typeof o.epochs === 'number') return `epoch ${o.epoch}/${o.epochs}`;
    if (typeof o.records === 'number' && typeof o.total === 'number') return `${o.records}/${o.total} records`;
  }
  return show(p);
}

function details(report: JobReport): string {
  const rows: [string, string | number][] = [
    ['id', report.id], ['queue', report.queue], ['name', report.name], ['state', report.state],
    ['progress', show(report.progress)], ['attempts', report.attempts], ['data', show(report.data)],
  ];
  if (report.parent) rows.push(['parent', report.parent]);
  if (report.created) rows.push(['created', report.created]);
  if (report.finished) rows.push(['finished', report.finished]);
  if (report.result !== undefined) rows.push(['result', show(report.result)]);
  if (report.error) rows.push(['error', report.error]);
  return formatTable(rows);
}

/** `jobs cancel <id>`: stops the running job(s) with this id; waiting ones fail when taken (shared/pipeline/cancellation.ts). */
function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel the unfinished jobs with this id (a run id cancels the whole run): a running train, encode or cluster job stops within about a second, without registering a version or completing embeddings; jobs not yet taken fail when a worker takes them')
    .argument('<id>', 'job id or run id')
    .option('--json', 'print JSON: [{queue, before, after}]')
    .action(async (id: string, _opts: unknown, command: Command) => {
      // `--json` after `cancel` is also `jobs`'s own option, which commander gives to `jobs`: read both.
      const opts = command.optsWithGlobals<{ json?: boolean }>();
      await withConnection(async (connection) => {
        await withQueues(connection, QUEUES, async (queues) => {
          const started = performance.now();
          const jobs = await cancelJobs(connection.redis, connection.keys, [...queues.values()], id);
          if (jobs === undefined) throw new InputError(`no unfinished job with id ${JSON.stringify(id)} in any queue (${QUEUES.join(', ')})`);
          if (opts.json === true) return console.log(JSON.stringify(jobs, null, 2));
          printRows(['queue', 'state before', 'state now'], jobs.map((j) => [j.queue, j.before, j.after]));
          console.error(`cancelled ${id} in ${((performance.now() - started) / 1000).toFixed(1)} s${jobs.some((j) => j.after !== 'failed') ? ' (jobs not yet taken fail when a worker takes them)' : ''}`);
        });
      });
    });
}

export function jobsCommand(): Command {
  return new Command('jobs')
    .addCommand(cancelCommand())
    .description('a job\'s state, progress, result or error (every queue holding the id: a run id shows each stage); without an id, job counts per queue')
    .argument('[id]', 'job id (a run id from `latentflow run` names a job in every stage\'s queue)')
    .addOption(new Option('--queue <queue>', 'only this queue').choices(QUEUES))
    .option('--json', 'print as JSON')
    .action(async (id: string | undefined, opts: { queue?: QueueName; json?: boolean }) => {
      await withConnection(async (connection) => {
        const names = opts.queue ? [opts.queue] : QUEUES;
        await withQueues(connection, names, async (queues) => {
          if (id === undefined) {
            const counts = await Promise.all(names.map(async (q) => ({ queue: q, ...(await queues.get(q)!.getJobCounts(...COUNTED)) })));
            if (opts.json === true) return console.log(JSON.stringify(counts, null, 2));
            printRows(['queue', ...COUNTED], counts.map((c) => [c.queue, ...COUNTED.map((k) => (c as Record<string, number | string>)[k] ?? 0)]));
            return;
          }
          const found = await findJobs(queues, id);
          if (found.length === 0) {
            throw new InputError(`no job with id ${JSON.stringify(id)} in ${opts.queue ? `queue ${opts.queue}` : `any queue (${QUEUES.join(', ')})`}; finished jobs are removed after a week (failed: 30 days)`);
          }
          const reports = await Promise.all(found.map(({ queue, job }) => jobReport(queue, job)));
          if (opts.json === true) return console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
          if (reports.length === 1) return console.log(details(reports[0]));
          printRows(['queue', 'state', 'progress', 'attempts', 'result / error'], reports.map((r) => [
            r.queue, r.state, progressText(r.progress), r.attempts, r.error ?? (r.result === undefined ? '-' : show(r.result)),
          ]));
          console.error(`(details of one stage: latentflow jobs ${id} --queue <queue>)`);
        });
      });
    });
}
