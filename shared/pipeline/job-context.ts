/**
 * The job a piece of work belongs to, carried across awaits (AsyncLocalStorage): the worker sets it around each
 * processor call (./queues.ts makeWorker), and every log line written meanwhile carries it (./log.ts, JSON format).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface JobContext {
  queue: string;
  jobId: string;
  /** The run the job belongs to: a run's jobs all have the run id as their job id (./flow.ts). */
  runId?: string;
}

const storage = new AsyncLocalStorage<JobContext>();

/** Runs `fn` with `context` as the current job context. */
export function withJobContext<T>(context: JobContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The job the caller runs for, if any. */
export function currentJobContext(): JobContext | undefined {
  return storage.getStore();
}
