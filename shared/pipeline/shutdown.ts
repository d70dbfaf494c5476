/**
 * Graceful shutdown of a service on SIGTERM or SIGINT: the first signal runs `close` (workers stop taking jobs and
 * wait for their active ones, then connections close) and exits 0, or 1 when closing fails; a second signal exits 1
 * at once.
 *
 * A fatal fault (a worker's TensorFlow.js runtime broke: shared/pipeline/queues.ts `onFatal`) takes the same path
 * with exit status 1, so that a supervisor (`latentflow up`, docker-compose's restart policy) starts a fresh process:
 * the heartbeat stops at once (readers stop counting the process as up), `close` runs, and the process exits 1 when
 * it is done, or after {@link ShutdownOptions.fatalDeadlineMs} at the latest.
 *
 * A signal that arrives while Redis is unreachable (`options.connection` not ready) gets the same deadline: active
 * jobs could not record their results anyway, and BullMQ's close waits for a connection that may never come back.
 */
import { silentLogger, type Logger } from './log.js';

/** Milliseconds a fatal shutdown waits for `close` before exiting anyway. */
export const FATAL_DEADLINE_MS = 10_000;

export interface ShutdownOptions {
  log?: Logger;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Stopped first on a fatal fault, before `close` (which may wait for active jobs). */
  heartbeat?: { stop(): Promise<void> };
  /** Default {@link FATAL_DEADLINE_MS}. */
  fatalDeadlineMs?: number;
  /** The service's Redis connection: a signal while it is not `ready` closes within the fatal deadline. */
  connection?: { readonly status: string };
}

/** Removes the signal handlers when called. */
export interface Shutdown {
  (): void;
  /**
   * Shuts down for a fatal fault: logs `error`, stops the heartbeat, runs `close` (unless a signal already did) and
   * exits 1 when it settles or after the deadline, whichever comes first. Later calls do nothing.
   */
  fatal(error: Error): void;
}

/** Installs the handlers; returns a function that removes them, with `fatal`. */
export function onShutdown(close: () => Promise<void>, options: ShutdownOptions = {}): Shutdown {
  const { log = silentLogger, exit = (code: number) => process.exit(code), signals = ['SIGTERM', 'SIGINT'] } = options;
  let closing = false;
  let failed = false;
  let deadline: NodeJS.Timeout | undefined;
  const begin = () => {
    closing = true;
    close().then(
      () => {
        clearTimeout(deadline);
        exit(failed ? 1 : 0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        log.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        exit(1);
      },
    );
  };
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn(`${signal} again: exiting without waiting for active jobs`);
      exit(1);
      return;
    }
    if (options.connection !== undefined && options.connection.status !== 'ready') {
      const ms = options.fatalDeadlineMs ?? FATAL_DEADLINE_MS;
      log.warn(`${signal}: Redis is unreachable (${options.connection.status}); closing, exiting within ${ms / 1000} s`);
      failed = true;
      deadline = setTimeout(() => exit(1), ms);
    } else {
      log.info(`${signal}: finishing active jobs, then exiting (send it again to exit at once)`);
    }
    begin();
  };
  const fatal = (error: Error) => {
    if (failed) return;
    failed = true;
    const ms = options.fatalDeadlineMs ?? FATAL_DEADLINE_MS;
    log.error(`fatal: ${error.message}. Closing, then exiting with status 1 (within ${ms / 1000} s) to be restarted`);
    // Not unref'd: the process must reach exit(1) even if closing leaves nothing else running.
    deadline = setTimeout(() => {
      log.error(`fatal: not closed within ${ms / 1000} s; exiting now`);
      exit(1);
    }, ms);
    void options.heartbeat?.stop();
    if (!closing) begin();
  };
  for (const s of signals) process.on(s, handler);
  const remove = () => {
    for (const s of signals) process.off(s, handler);
  };
  return Object.assign(remove, { fatal });
}
