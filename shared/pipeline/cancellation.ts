/**
 * Cancelling jobs from any process. `requestCancel` marks a job id cancelled (for CANCEL_MARK_SECONDS) and publishes
 * it; every worker (./queues.ts makeWorker) listens, aborts its running job with that id (BullMQ's `cancelJob`: the
 * processor's AbortSignal), and fails at once any job with a marked id that it takes later — the waiting stages of a
 * cancelled run, which share the run id. A processor checks its signal between batches and epochs and throws before
 * it registers a version or marks embeddings complete, so a cancelled job leaves nothing that looks finished.
 */
import type { Queue } from 'bullmq';
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import { JOB_LIMITS } from '../contracts/limits.js';
import { duplicateRedis, type RedisClient } from '../store/redis.js';

/** How long a cancelled id stays marked: longer than any run waits in a queue. */
export const CANCEL_MARK_SECONDS = 7 * 24 * 3600;

/** Marks `jobId` cancelled and tells every listening worker; returns how many worker processes heard it. */
export async function requestCancel(redis: RedisClient, keys: Keyspace, jobId: string): Promise<number> {
  await redis.set(keys.cancelled(jobId), String(Date.now()), 'EX', CANCEL_MARK_SECONDS);
  return redis.publish(keys.cancelChannel(), jobId);
}

export async function isCancelled(redis: RedisClient, keys: Keyspace, jobId: string): Promise<boolean> {
  return (await redis.exists(keys.cancelled(jobId))) === 1;
}

interface CancelChannel {
  subscriber: RedisClient;
  subscribed: Promise<unknown>;
  handlers: Set<(jobId: string) => void>;
}

/** The cancel channels listened to, per connection and channel: one subscriber for every worker of a process. */
const channels = new WeakMap<RedisClient, Map<string, CancelChannel>>();

/**
 * Calls `onCancel` with every job id published to the cancel channel. The workers made on one connection share one
 * subscriber connection (a subscribed connection takes no other command); `stop` unregisters, and the last one out
 * closes it. `subscribed` settles once the subscription is in place.
 */
export function onCancelRequest(redis: RedisClient, keys: Keyspace, onCancel: (jobId: string) => void): { subscribed: Promise<unknown>; stop(): void } {
  const channel = keys.cancelChannel();
  const byChannel = channels.get(redis) ?? new Map<string, CancelChannel>();
  channels.set(redis, byChannel);
  let entry = byChannel.get(channel);
  if (entry === undefined) {
    const subscriber = duplicateRedis(redis, `${keys.prefix}:cancel`);
    const handlers = new Set<(jobId: string) => void>();
    subscriber.on('message', (ch: string, jobId: string) => {
      if (ch === channel) for (const handler of handlers) handler(jobId);
    });
    entry = { subscriber, subscribed: subscriber.subscribe(channel), handlers };
    byChannel.set(channel, entry);
  }
  const { subscriber, subscribed, handlers } = entry;
  handlers.add(onCancel);
  return {
    subscribed,
    stop() {
      if (!handlers.delete(onCancel) || handlers.size > 0) return;
      byChannel.delete(channel);
      subscriber.disconnect();
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
export async function cancelJobs(redis: RedisClient, keys: Keyspace, queues: readonly Queue[], jobId: string, waitMs = 5000): Promise<CancelledJob[] | undefined> {
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
