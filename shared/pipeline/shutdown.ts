/**
 * Graceful shutdown of a service on SIGTERM or SIGINT: the first signal runs `close` (workers stop taking jobs and
 * wait for their active ones, then connections close) and exits 0, or 1 when closing fails; a second signal exits 1
 * at once.
 */
import { silentLogger, type Logger } from './log.js';

export interface ShutdownOptions {
  log?: Logger;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
}

/** Installs the handlers; returns a function that removes them. */
export function onShutdown(close: () => Promise<void>, options: ShutdownOptions = {}): () => void {
  const { log = silentLogger, exit = (code: number) => process.exit(code), signals = ['SIGTERM', 'SIGINT'] } = options;
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn(`${signal} again: exiting without waiting for active jobs`);
      exit(1);
      return;
    }
    closing = true;
    log.info(`${signal}: finishing active jobs, then exiting (send it again to exit at once)`);
    close().then(
      () => exit(0),
      (error: unknown) => {
        log.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
