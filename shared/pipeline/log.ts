/**
 * A minimal leveled logger for the services: one line per event on stderr, prefixed with the service name. Every line
 * is redacted (no Redis password, URL secret or AUTH argument reaches a log).
 */
import { inspect } from 'node:util';
import type { LOG_LEVELS } from '../config.js';
import { redact } from '../store/redis.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Logger writing `<ISO time> <level> [<name>] <message>` for every level up to `level`.
 * @param write - the sink; default stderr.
 */
export function createLogger(name: string, level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const at = (l: LogLevel) => (message: string) => {
    if (RANK[l] <= RANK[level]) write(`${new Date().toISOString()} ${l} [${name}] ${redact(message)}`);
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
