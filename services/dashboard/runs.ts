/**
 * Runs as the dashboard lists them: a run is the flow whose jobs all carry the run id (one per stage queue, see
 * shared/pipeline/flow.ts); its status is the state of its parent job in the `run` queue, its progress the state of
 * each stage job.
 */
import type { Job } from 'bullmq';
import { InputError } from '../../shared/contracts/errors.js';
import { RUN_STAGES, type JobResult, type Payload, type RunStage } from '../../shared/contracts/queues.js';
import { DOWNSTREAM_STAGES, type RunRequest } from '../../shared/pipeline/flow.js';
import type { PipelineQueue } from '../../shared/pipeline/queues.js';

export type RunQueues = { [Q in RunStage]: PipelineQueue<Q> };

export interface RunRow {
  id: string;
  /** BullMQ state of the parent job (`waiting-children` while the stages run). */
  status: string;
  /** State of every stage job that exists, in flow order. */
  stages: { stage: RunStage; state: string }[];
  model: string;
  dataset: string;
  /** Present once the run completed. */
  summary?: JobResult<'run'>;
  failedReason?: string;
  /** Submission time (ms since the epoch). */
  submittedAt: number;
  /** Completion or failure time, when finished. */
  finishedAt?: number;
}

const LISTED_STATES = ['active', 'waiting', 'waiting-children', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** The newest `limit` runs, newest first. */
export async function listRuns(queues: RunQueues, limit = 50): Promise<RunRow[]> {
  const jobs = (await queues.run.getJobs([...LISTED_STATES], 0, limit - 1, false)) as Job[];
  jobs.sort((a, b) => b.timestamp - a.timestamp);
  return Promise.all(jobs.slice(0, limit).map((job) => runRow(queues, job)));
}

/** One run, or undefined when its parent job does not exist (never submitted, or removed after its retention). */
export async function getRun(queues: RunQueues, id: string): Promise<RunRow | undefined> {
  const job = (await queues.run.getJob(id)) as Job | undefined;
  return job ? runRow(queues, job) : undefined;
}

async function runRow(queues: RunQueues, job: Job): Promise<RunRow> {
  const id = String(job.id);
  const states = await Promise.all(RUN_STAGES.map(async (stage) => ({ stage, state: await queues[stage].getJobState(id) })));
  const data = job.data as Partial<Payload<'run'>>;
  const failed = states.find((s) => s.state === 'failed' && s.stage !== 'run');
  let failedReason = job.failedReason || undefined;
  if (failed) failedReason = (await queues[failed.stage].getJob(id))?.failedReason ?? failedReason;
  return {
    id, status: await job.getState(), stages: states.filter((s) => s.state !== 'unknown'),
    model: String(data.model ?? ''), dataset: String(data.dataset ?? ''),
    summary: job.returnvalue ? (job.returnvalue as JobResult<'run'>) : undefined,
    failedReason, submittedAt: job.timestamp, finishedAt: job.finishedOn,
  };
}

/**
 * The request that submits the run `id` again: its stage jobs' payloads (the model options, threshold method,
 * k, manifold and its metric, seeds, alert threshold and the set of downstream stages). InputError when the run's train job is gone.
 */
export async function requestOf(queues: RunQueues, id: string): Promise<RunRequest> {
  const data = async <Q extends RunStage>(q: Q) => ((await queues[q].getJob(id)) as Job | undefined)?.data as Payload<Q> | undefined;
  const [train, cluster, classify, detect] = await Promise.all([data('train'), data('cluster'), data('classify'), data('detect')]);
  if (!train || train.kind === 'autorec') throw new InputError(`run "${id}" cannot be submitted again: its train job no longer exists`, { field: 'run', value: id });
  const present = { cluster, classify, detect };
  return {
    model: String(train.model), dataset: String(train.dataset),
    options: train.options, thresholdMethod: train.threshold, normal: train.normal,
    k: cluster?.k, manifold: cluster?.manifold, umapMetric: cluster?.metric, seed: cluster?.seed ?? classify?.seed, testFraction: classify?.testFraction, threshold: detect?.threshold,
    stages: DOWNSTREAM_STAGES.filter((s) => present[s] !== undefined),
  };
}
