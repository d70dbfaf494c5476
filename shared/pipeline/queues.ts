/**
 * Typed BullMQ queues and workers built from the contracts' queue map, with the pipeline's job defaults and retry
 * semantics: an error whose `retryable` is false (InputError, ConfigError) fails the job at once as BullMQ's
 * UnrecoverableError with the same message; any other error is retried with exponential backoff. An error that
 * broke the process's TensorFlow.js runtime (shared/ml/backend.ts `isRuntimeCorruption`) fails the job at once too,
 * and the worker's `onFatal` is told before the job is failed, so that the process takes no further job and exits
 * (a supervisor restarts it with a fresh runtime).
 *
 * Every worker keeps BullMQ's job metrics (`Queue.getMetrics('completed' | 'failed')`: all-time counts of finished
 * jobs, a final failure counting once however many attempts it took, plus per-minute points for {@link METRICS_DATA_POINTS})
 * and, given an ioredis connection, adds each completed job's duration (finishedOn − processedOn of its last attempt)
 * to the stage-duration histogram of store/telemetry.ts.
 */
import { hostname } from 'node:os';
import { MetricsTime, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { QueueLimits } from '../config.js';
import { CancelledError, LatentflowError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import type { JobResult, PayloadInput, QueueName } from '../contracts/queues.js';
import { isRuntimeCorruption } from '../ml/backend.js';
import { errorReporter } from '../store/redis.js';
import { TelemetryStore } from '../store/telemetry.js';
import { isCancelled, onCancelRequest } from './cancellation.js';
import { withJobContext, type JobContext } from './job-context.js';
import { bullmqTelemetry } from './tracing.js';
import { silentLogger, type Logger } from './log.js';

/** Per-minute data points of BullMQ's job metrics kept per queue and state: one week. */
export const METRICS_DATA_POINTS = MetricsTime.ONE_WEEK;

/** Options every pipeline job gets unless it says otherwise. */
export const DEFAULT_JOB_OPTIONS = {
  /** Three tries in all for transient faults; bad input fails on the first. */
  attempts: 3,
  /** 1 s, 2 s, 4 s ... between tries. */
  backoff: { type: 'exponential', delay: 1000 },
  /** Completed jobs are kept a week, at most 1000 per queue. */
  removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
  /** Failed jobs are kept 30 days, at most 5000 per queue. */
  removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
} as const satisfies JobsOptions;

/** A producer's view of a queue: it sends payload inputs (defaults are applied where the payload is consumed). */
export type PipelineQueue<Q extends QueueName> = Queue<PayloadInput<Q>, JobResult<Q>>;

/** A job as a worker receives it: data not yet validated (processors call `parsePayload`). */
export type PipelineJob<Q extends QueueName> = Job<unknown, JobResult<Q>>;

/**
 * What a service registers for queue `Q`; `token` is the job's lock token; `signal` aborts when the job is cancelled
 * (./cancellation.ts): the processor stops at its next batch or epoch by throwing, before writing anything final.
 */
export type PipelineProcessor<Q extends QueueName> = (job: PipelineJob<Q>, token?: string, signal?: AbortSignal) => Promise<JobResult<Q>>;

export type PipelineWorker<Q extends QueueName> = Worker<unknown, JobResult<Q>>;

export interface PipelineWorkerOptions {
  /** Jobs this worker runs at once. */
  concurrency: number;
  /** Lock time in ms, renewed every half of it while the job runs. Default 60 000. */
  lockDuration?: number;
  /** Interval of the stalled-job check in ms. Default half the lock duration (30 000). */
  stalledInterval?: number;
  /** Where failures, stalls and connection errors are reported. Default: nowhere. */
  log?: Logger;
  /**
   * Called (synchronously, at most once per job) when a job's error broke the process's TensorFlow.js runtime, with
   * the error the job fails with, before BullMQ marks the job failed: the service closes its workers (so that none
   * takes another job on the broken runtime) and exits non-zero (shared/pipeline/shutdown.ts `fatal`). Default: the
   * job fails and nothing else happens.
   */
  onFatal?: (error: Error) => void;
}

/** The queue `q` under the keyspace's BullMQ prefix, with {@link DEFAULT_JOB_OPTIONS}. */
export function makeQueue<Q extends QueueName>(q: Q, connection: ConnectionOptions, keys: Keyspace): PipelineQueue<Q> {
  const queue = new Queue<PayloadInput<Q>, JobResult<Q>>(q, { connection, prefix: keys.bullPrefix, defaultJobOptions: DEFAULT_JOB_OPTIONS, telemetry: bullmqTelemetry() });
  // Its errors are its connection's, which reports them itself (store/redis.ts); unheard, BullMQ would print each in full.
  queue.on('error', () => {});
  return queue;
}

/**
 * Sets each of `queues`' global concurrency and rate limit (BullMQ's, kept in Redis and obeyed by every worker of the
 * queue) to `configured[q]`, removing those it leaves out: a service applies the configuration
 * (LATENTFLOW_QUEUE_CONCURRENCY, LATENTFLOW_QUEUE_RATE_LIMIT) to the queues it works when it starts, so the last
 * service started decides. Returns the limits set, as text for the service's log (empty: none).
 */
export async function applyQueueLimits(queues: readonly QueueName[], connection: ConnectionOptions, keys: Keyspace, configured: Partial<Record<QueueName, QueueLimits>>): Promise<string> {
  const set: string[] = [];
  for (const q of queues) {
    const { concurrency, rate } = configured[q] ?? {};
    const queue = makeQueue(q, connection, keys);
    try {
      await (concurrency !== undefined ? queue.setGlobalConcurrency(concurrency) : queue.removeGlobalConcurrency());
      await (rate !== undefined ? queue.setGlobalRateLimit(rate.max, rate.durationMs) : queue.removeGlobalRateLimit());
    } finally {
      await queue.close();
    }
    if (concurrency !== undefined) set.push(`${q} at most ${concurrency} at once`);
    if (rate !== undefined) set.push(`${q} at most ${rate.max} per ${rate.durationMs} ms`);
  }
  return set.join(', ');
}

/**
 * Maps a processor's error to what BullMQ should do with it: non-retryable errors become UnrecoverableError, and so
 * does a runtime corruption (its cause is the original error): retrying it in this process would fail again, and
 * elsewhere the job could break another worker.
 */
export function toJobError(error: unknown): Error {
  if (isRuntimeCorruption(error)) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const unrecoverable = new UnrecoverableError(`the TensorFlow.js runtime of process ${process.pid} broke during this job (${text}); the job is not retried, and a service worker exits to restart with a fresh runtime`);
    unrecoverable.cause = error;
    return unrecoverable;
  }
  if (error instanceof LatentflowError && !error.retryable) {
    const unrecoverable = new UnrecoverableError(error.message);
    unrecoverable.cause = error;
    return unrecoverable;
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The job's context for logs: a run's jobs (a run's flow, a schedule's firing) share one job id, which is not only
 * digits (BullMQ numbers the jobs it names itself), and that id is the run id.
 */
function jobContext(q: QueueName, job: Pick<Job, 'id' | 'parent'>): JobContext {
  const jobId = job.id ?? '?';
  return { queue: q, jobId, ...(job.parent !== undefined || !/^\d+$/.test(jobId) ? { runId: jobId } : {}) };
}

/**
 * A worker on queue `q` running `processor` with the retry semantics above. Failures, stalls and connection errors
 * are logged; none of them crashes the process (a broken runtime is the service's to act on, through `onFatal`).
 */
export function makeWorker<Q extends QueueName>(
  q: Q,
  processor: PipelineProcessor<Q>,
  connection: ConnectionOptions,
  keys: Keyspace,
  options: PipelineWorkerOptions,
): PipelineWorker<Q> {
  const log = options.log ?? silentLogger;
  const redis = connection instanceof Redis || connection instanceof Cluster ? connection : undefined;
  const worker = new Worker<unknown, JobResult<Q>>(
    q,
    // Three parameters: BullMQ hands an AbortSignal only to a processor that declares one.
    async (job, token, signal) => {
      try {
        if (redis !== undefined && job.id !== undefined && await isCancelled(redis, keys, job.id)) throw new CancelledError(job.id);
        return await withJobContext(jobContext(q, job), () => processor(job, token, signal));
      } catch (error) {
        const failure = toJobError(signal?.aborted === true && !(error instanceof CancelledError) ? new CancelledError(job.id ?? '?', { cause: error }) : error);
        if (isRuntimeCorruption(failure)) options.onFatal?.(failure);
        throw failure;
      }
    },
    {
      connection,
      prefix: keys.bullPrefix,
      telemetry: bullmqTelemetry(),
      // Recorded on every job it takes (job.processedBy), so `latentflow jobs` shows which process ran a job.
      name: `${q}@${hostname()}:${process.pid}`,
      concurrency: options.concurrency,
      lockDuration: options.lockDuration ?? 60_000,
      stalledInterval: options.stalledInterval ?? (options.lockDuration ?? 60_000) / 2,
      metrics: { maxDataPoints: METRICS_DATA_POINTS },
    },
  );
  if (redis !== undefined) {
    // Cancellation requests reach the worker running the job; the worker stops listening when it closes.
    const cancels = onCancelRequest(redis, keys, (id) => {
      if (worker.cancelJob(id, 'cancelled')) withJobContext(jobContext(q, { id }), () => log.info(`${q} job ${id} cancelled: stopping it`));
    });
    cancels.subscribed.catch((error: unknown) => log.error(`${q} worker: not listening for cancellations: ${error instanceof Error ? error.message : String(error)}`));
    worker.on('closing', () => cancels.stop());
    const telemetry = new TelemetryStore(redis, keys);
    worker.on('completed', (job) => {
      const seconds = ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
      telemetry.stageCompleted(q, seconds).catch((error: unknown) => log.warn(`${q}: job duration not recorded: ${error instanceof Error ? error.message : String(error)}`));
    });
  }
  worker.on('failed', (job, error) => {
    if (!job) return log.error(`${q}: a job failed: ${error.message}`);
    const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    const attempt = `attempt ${job.attemptsMade}/${job.opts.attempts ?? 1}`;
    withJobContext(jobContext(q, job), () => log[final ? 'error' : 'warn'](`${q} job ${job.id} failed (${attempt}${final ? ', final' : ', will retry'}): ${error.message}`));
  });
  worker.on('stalled', (id) => withJobContext(jobContext(q, { id }), () => log.warn(`${q} job ${id} stalled: its lock expired and it goes back to the queue`)));
  // Mostly its connection's errors while Redis is away: redacted and throttled like the connection's own.
  const errors = errorReporter(`${q} worker`, (message) => log.error(message));
  worker.on('error', (error) => errors.error(error));
  worker.on('ready', () => errors.ready());
  return worker;
}
