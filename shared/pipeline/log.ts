/**
 * A minimal leveled logger for the services: one line per event on stderr. Every line is redacted (no Redis password,
 * URL secret or AUTH argument reaches a log).
 *
 * Formats (LATENTFLOW_LOG_FORMAT): `text`, `<ISO time> <level> [<service>] <message>`; `json`, one object per line,
 * `{"time", "level", "service", "msg"}` plus, for a line written while a job runs (./job-context.ts), `queue`, `jobId`
 * and, for a run's jobs, `runId`; and `traceId` inside a traced span (./tracing.ts).
 */
import { inspect } from 'node:util';
import type { LOG_FORMATS, LOG_LEVELS } from '../config.js';
import { redact } from '../store/redis.js';
import { currentJobContext } from './job-context.js';
import { currentTraceId } from './tracing.js';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Logger for service `name` writing every level up to `level` in `format`.
 * @param write - the sink, one line per call without its newline; default stderr.
 */
export function createLogger(name: string, level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(`${line}\n`), format: LogFormat = 'text'): Logger {
  const at = (l: LogLevel) => (message: string) => {
    if (RANK[l] > RANK[level]) return;
    const time = new Date().toISOString();
    const msg = redact(message);
    if (format === 'text') return write(`${time} ${l} [${name}] ${msg}`);
    const job = currentJobContext();
    const traceId = currentTraceId();
    write(JSON.stringify({
      time, level: l, service: name, msg,
      ...(job && { queue: job.queue, jobId: redact(job.jobId), ...(job.runId !== undefined && { runId: redact(job.runId) }) }),
      ...(traceId !== undefined && { traceId }),
    }));
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/**
 * An error as a process prints it before exiting: its stack and causes, redacted. Never the error object itself,
 * whose inspection shows properties such as ioredis's `command.args` (`HELLO 3 AUTH <user> <password>`).
 */
export function describeError(error: unknown): string {
  const lines: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 5; depth++) {
    lines.push(`${depth === 0 ? '' : 'caused by: '}${e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : inspect(e)}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return redact(lines.join('\n'));
}
