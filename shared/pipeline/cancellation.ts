/**
 * Cancelling jobs from any process. `requestCancel` marks a job id cancelled (for CANCEL_MARK_SECONDS) and publishes
 * it; every worker (./queues.ts makeWorker) listens, aborts its running job with that id (BullMQ's `cancelJob`: the
 * processor's AbortSignal), and fails at once any job with a marked id that it takes later — the waiting stages of a
 * cancelled run, which share the run id. A processor checks its signal between batches and epochs and throws before
 * it registers a version or marks embeddings complete, so a cancelled job leaves nothing that looks finished.
 */
import type { Queue } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import { JOB_LIMITS } from '../contracts/limits.js';

/** How long a cancelled id stays marked: longer than any run waits in a queue. */
export const CANCEL_MARK_SECONDS = 7 * 24 * 3600;

/** Marks `jobId` cancelled and tells every listening worker; returns how many worker processes heard it. */
export async function requestCancel(redis: Redis | Cluster, keys: Keyspace, jobId: string): Promise<number> {
  await redis.set(keys.cancelled(jobId), String(Date.now()), 'EX', CANCEL_MARK_SECONDS);
  return redis.publish(keys.cancelChannel(), jobId);
}

export async function isCancelled(redis: Redis | Cluster, keys: Keyspace, jobId: string): Promise<boolean> {
  return (await redis.exists(keys.cancelled(jobId))) === 1;
}

/**
 * Calls `onCancel` with every job id published to the cancel channel, on a connection of its own (a subscribed
 * connection takes no other command); `close` unsubscribes and closes it.
 */
export async function listenForCancels(redis: Redis | Cluster, keys: Keyspace, onCancel: (jobId: string) => void): Promise<{ close(): Promise<void> }> {
  const subscriber: Redis | Cluster = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  subscriber.on('error', () => {}); // the connection it was made from reports connection errors already
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.cancelChannel()) onCancel(message);
  });
  await subscriber.subscribe(keys.cancelChannel());
  return {
    async close() {
      subscriber.disconnect();
      await Promise.resolve();
    },
  };
}

/** A job found by {@link cancelJobs}: its state when the cancellation was asked for and once it was handled. */
export interface CancelledJob {
  queue: string;
  before: string;
  after: string;
}

const FINISHED = new Set(['completed', 'failed', 'unknown']);

/**
 * Cancels every unfinished job with id `jobId` in `queues` (a run id names one job per stage): requestCancel, then
 * waits up to `waitMs` until none of them is active. Jobs not yet taken stay where they are and fail when a worker
 * takes them (a run's later stages also fail with the stage that was running). Undefined when no unfinished job has
 * that id.
 */
export async function cancelJobs(redis: Redis | Cluster, keys: Keyspace, queues: readonly Queue[], jobId: string, waitMs = 5000): Promise<CancelledJob[] | undefined> {
  if (jobId.length > JOB_LIMITS.textChars) throw new InputError(`a job id is at most ${JOB_LIMITS.textChars} characters, got ${jobId.length}`, { field: 'id' });
  const statesOf = () => Promise.all(queues.map(async (queue) => ({ queue: queue.name, state: await queue.getJobState(jobId) })));
  const before = (await statesOf()).filter((s) => !FINISHED.has(s.state));
  if (before.length === 0) return undefined;
  await requestCancel(redis, keys, jobId);
  const deadline = Date.now() + waitMs;
  let now = await statesOf();
  while (now.some((s) => s.state === 'active') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = await statesOf();
  }
  return before.map((b) => ({ queue: b.queue, before: b.state, after: now.find((s) => s.queue === b.queue)?.state ?? 'unknown' }));
}
