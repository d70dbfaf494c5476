/**
 * A run as its BullMQ jobs tell it: every job of a run has the run id as its job id in its stage's queue; the `run`
 * job's return value is the summary, and each job's timestamps give the stage timings.
 */
import type { Job } from 'bullmq';
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import { RESULTS, RUN_STAGES, type RunStage } from '../contracts/queues.js';
import { DEFAULT_JOB_OPTIONS, makeQueue } from '../pipeline/queues.js';
import type { RedisClient } from '../store/redis.js';
import type { RunFacts, StageTiming } from './data.js';

const KEPT_DAYS = DEFAULT_JOB_OPTIONS.removeOnComplete.age / 86_400;
const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/**
 * The summary, backend and stage timings of a completed run. InputError when no run job has that id (naming how
 * long runs are kept) or when the run has not completed (naming its state, and the failure reason if it failed).
 */
export async function readRun(redis: RedisClient, keys: Keyspace, run: string): Promise<RunFacts> {
  const jobs = await runJobs(redis, keys, run);
  const parent = jobs.get('run');
  if (!parent) {
    throw new InputError(`no run "${run}" (no job with that id in the run queue; completed runs are kept ${KEPT_DAYS} days, at most ${DEFAULT_JOB_OPTIONS.removeOnComplete.count}: for an older run, ask for its model as MODEL@VERSION)`, { field: 'run', value: run });
  }
  if (parent.state !== 'completed') {
    const failed = [...jobs.values()].find((j) => j.state === 'failed');
    const why = failed ? `: the ${failed.stage} stage failed: ${failed.job.failedReason || 'no reason given'}` : ' (see `latentflow jobs ' + run + '`)';
    throw new InputError(`run "${run}" is ${parent.state}, and a report needs a completed run${why}`, { field: 'run', value: run });
  }
  const summary = RESULTS.run.safeParse(parent.job.returnvalue);
  if (!summary.success) throw new InputError(`run "${run}" has no valid summary: its run job returned something else`, { field: 'run', value: run });
  const train = RESULTS.train.safeParse(jobs.get('train')?.job.returnvalue);
  const stages: StageTiming[] = [...jobs.values()].map(({ stage, state, job }) => ({
    stage, state, attempts: job.attemptsMade,
    queuedAt: iso(job.timestamp), startedAt: iso(job.processedOn), finishedAt: iso(job.finishedOn),
    ...(job.processedOn && job.finishedOn ? { seconds: (job.finishedOn - job.processedOn) / 1000 } : {}),
    ...(job.processedBy ? { worker: job.processedBy } : {}),
  }));
  const queued = Math.min(...[...jobs.values()].map((j) => j.job.timestamp));
  return {
    id: run, summary: summary.data, stages,
    ...(train.success ? { backend: train.data.backend } : {}),
    ...(parent.job.finishedOn ? { seconds: (parent.job.finishedOn - queued) / 1000 } : {}),
  };
}

/** The run's jobs by stage, in execution order (stages the run did not have are absent). */
async function runJobs(redis: RedisClient, keys: Keyspace, run: string): Promise<Map<RunStage, { stage: RunStage; state: string; job: Job }>> {
  const queues = RUN_STAGES.map((q) => makeQueue(q, redis, keys));
  try {
    const found = await Promise.all(queues.map(async (queue, i) => {
      const job = (await queue.getJob(run)) as Job | undefined;
      return job ? { stage: RUN_STAGES[i], state: await job.getState(), job } : undefined;
    }));
    return new Map(found.filter((f) => f !== undefined).map((f) => [f.stage, f]));
  } finally {
    await Promise.all(queues.map((q) => q.close()));
  }
}
