/**
 * Waiting for a submitted run: polls the run's flow (the parent job in the `run` queue and every job below it) and
 * reports progress — cli-progress bars on a terminal (train epochs, encoded records), one line per finished stage
 * otherwise — until the parent completes, or fails with the failing stage's reason.
 */
import type { Job, Queue } from 'bullmq';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { LatentflowError } from '../shared/contracts/errors.js';
import { QUEUES, type JobResult, type QueueName } from '../shared/contracts/queues.js';

/** The latest completed result of every stage found in the flow. */
export interface StageResults {
  train?: JobResult<'train'>;
  encode?: JobResult<'encode'>;
  cluster?: JobResult<'cluster'>;
  classify?: JobResult<'classify'>;
  detect?: JobResult<'detect'>;
  run?: JobResult<'run'>;
  recommend?: JobResult<'recommend'>;
}

export type Display = 'bars' | 'lines' | 'none';

export interface WaitOptions {
  /** bars: cli-progress on stderr; lines: one line per finished stage on stderr; none: silent. */
  display: Display;
  /** Poll interval in ms. Default 250. */
  pollMs?: number;
  /** Give up after this many ms. Default: never. */
  timeoutMs?: number;
  /** The queue of the flow's parent job. Default `run`. */
  root?: QueueName;
  signal?: AbortSignal;
}

interface Node {
  queue: QueueName;
  job: Job;
  state: string;
}

const isQueue = (name: string): name is QueueName => (QUEUES as readonly string[]).includes(name);

/** `<bullPrefix>:<queue>:<id>` → queue and id (ids may contain `:`, so only the prefix and queue are split off). */
export function parseJobKey(key: string, bullPrefix: string): { queue: QueueName; id: string } | undefined {
  if (!key.startsWith(`${bullPrefix}:`)) return undefined;
  const rest = key.slice(bullPrefix.length + 1);
  const colon = rest.indexOf(':');
  const queue = rest.slice(0, colon);
  return colon > 0 && isQueue(queue) ? { queue, id: rest.slice(colon + 1) } : undefined;
}

/** The job and every job below it in its flow, with their states. */
export async function flowJobs(queues: Map<QueueName, Queue>, bullPrefix: string, queue: QueueName, id: string): Promise<Node[]> {
  const out: Node[] = [];
  const seen = new Set<string>();
  const visit = async (q: QueueName, jobId: string): Promise<void> => {
    if (seen.has(`${q}:${jobId}`)) return;
    seen.add(`${q}:${jobId}`);
    const job = await queues.get(q)?.getJob(jobId);
    if (!job) return;
    out.push({ queue: q, job, state: await job.getState() });
    const deps = await job.getDependencies();
    const children = [...Object.keys(deps.processed ?? {}), ...(deps.unprocessed ?? []), ...(deps.failed ?? []), ...Object.keys(deps.ignored ?? {})];
    for (const key of children) {
      const parsed = parseJobKey(key, bullPrefix);
      if (parsed) await visit(parsed.queue, parsed.id);
    }
  };
  await visit(queue, id);
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Training progress as the trainer reports it: `{epoch, epochs, loss, valLoss, etaSeconds}` (tolerant). */
export function trainProgress(p: unknown): { epoch: number; epochs: number; loss?: number; valLoss?: number; eta?: number } | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Record<string, unknown>;
  const epoch = num(o.epoch), epochs = num(o.epochs);
  if (epoch === undefined || epochs === undefined) return undefined;
  return { epoch, epochs, loss: num(o.loss), valLoss: num(o.valLoss), eta: num(o.etaSeconds) };
}

/** Encoding progress: `{done|records|encoded, total|rows}` (tolerant), else a percentage. */
export function encodeProgress(p: unknown): { done: number; total: number } | undefined {
  if (typeof p === 'number') return { done: p, total: 100 };
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Record<string, unknown>;
  const done = num(o.done) ?? num(o.records) ?? num(o.encoded) ?? num(o.processed);
  const total = num(o.total) ?? num(o.rows);
  return done !== undefined && total !== undefined ? { done, total } : undefined;
}

const f = (v: number | undefined, digits = 5) => (v === undefined ? '-' : v.toFixed(digits));

/** One line describing a finished stage's result. */
export function describeStage(queue: QueueName, result: unknown): string {
  const r = (result ?? {}) as Record<string, unknown>;
  switch (queue) {
    case 'train': return `trained ${String(r.model)}@${String(r.version)}: ${String(r.epochs)} epochs in ${f(num(r.seconds), 1)} s, final loss ${f(num(r.finalLoss))}${r.kind === 'autorec' ? '' : `, threshold ${f(num(r.threshold))}`}`;
    case 'encode': return `encoded ${String(r.records)} records (mean error ${f(num(r.meanError))})`;
    case 'cluster': return `clustered: k=${String(r.k)}, silhouette ${f(num(r.silhouette), 4)}${r.nmi !== undefined ? `, NMI ${f(num(r.nmi), 4)}` : ''}`;
    case 'classify': return `classified: accuracy ${f(num(r.accuracy), 4)} on ${String(r.tested)} held-out records`;
    case 'detect': return `detected: ${String(r.alerts)} alerts above threshold ${f(num(r.threshold))}`;
    case 'run': return 'run complete';
    case 'webhook': return `delivered a webhook (HTTP ${String(r.status)})`;
    case 'schedule': return `schedule ${String(r.schedule)} submitted ${String(r.submitted)}`;
    case 'recommend': return `recommended: top ${String(r.n)} items for ${String(r.users)} users in ${f(num(r.seconds), 1)} s`;
  }
}

class Bars {
  private readonly multi = new MultiBar({
    stream: process.stderr, hideCursor: true, clearOnComplete: false, autopadding: true,
    format: '{stage} {bar} {value}/{total} {unit} {info}',
  }, Presets.shades_classic);
  private readonly bars = new Map<string, SingleBar>();

  update(stage: string, value: number, total: number, unit: string, info = ''): void {
    let bar = this.bars.get(stage);
    if (!bar) {
      bar = this.multi.create(total, 0, { stage: stage.padEnd(8), unit, info });
      this.bars.set(stage, bar);
    }
    bar.setTotal(total);
    bar.update(value, { stage: stage.padEnd(8), unit, info });
  }

  log(line: string): void {
    this.multi.log(`${line}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}

/** Polls the flow under the parent job `runJobId` (in the `root` queue) until it completes; returns every stage's result. */
export async function waitForRun(queues: Map<QueueName, Queue>, bullPrefix: string, runJobId: string, options: WaitOptions): Promise<StageResults> {
  const pollMs = options.pollMs ?? 250;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const bars = options.display === 'bars' ? new Bars() : undefined;
  const say = (line: string) => {
    if (bars) bars.log(line);
    else if (options.display === 'lines') process.stderr.write(`${line}\n`);
  };
  const reported = new Set<string>();
  try {
    for (;;) {
      if (options.signal?.aborted) throw new LatentflowError('stopped waiting (the run goes on; see `latentflow jobs ' + runJobId + '`)', false);
      const root = options.root ?? 'run';
      const nodes = await flowJobs(queues, bullPrefix, root, runJobId);
      if (nodes.length === 0) throw new LatentflowError(`run job ${runJobId} not found in the ${root} queue`, false);
      // A stage that fails for good fails every later stage (failParentOnFailure): report the deepest, the cause.
      const failed = nodes.filter((n) => n.state === 'failed').at(-1);
      if (failed) {
        throw new LatentflowError(`the ${failed.queue} stage failed (job ${failed.job.id}): ${failed.job.failedReason || 'no reason given'}`, false);
      }
      const results: StageResults = {};
      // Deepest first: the order in which a run's stages execute.
      for (const { queue, job, state } of [...nodes].reverse()) {
        const key = `${queue}:${job.id}`;
        if (state === 'completed') {
          (results as Record<string, unknown>)[queue] = job.returnvalue;
          if (!reported.has(key)) {
            reported.add(key);
            if (queue === 'train') {
              const r = job.returnvalue as JobResult<'train'>;
              bars?.update('train', r.epochs, r.epochs, 'epochs');
            }
            if (queue === 'encode') {
              const r = job.returnvalue as JobResult<'encode'>;
              bars?.update('encode', r.records, r.records, 'records');
            }
            say(describeStage(queue, job.returnvalue));
          }
          continue;
        }
        if (bars && state === 'active') {
          if (queue === 'train') {
            const p = trainProgress(job.progress);
            if (p) bars.update('train', p.epoch, p.epochs, 'epochs', `loss ${f(p.loss)} val ${f(p.valLoss)}${p.eta !== undefined ? ` | eta ${Math.round(p.eta)} s` : ''}`);
          } else if (queue === 'encode') {
            const p = encodeProgress(job.progress);
            if (p) bars.update('encode', p.done, p.total, 'records');
          }
        }
      }
      if (nodes[0].state === 'completed') return results;
      if (Date.now() > deadline) throw new LatentflowError(`run ${runJobId} did not finish within ${Math.round((options.timeoutMs ?? 0) / 1000)} s (it goes on; see \`latentflow jobs ${runJobId}\`)`, true);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    bars?.stop();
  }
}
