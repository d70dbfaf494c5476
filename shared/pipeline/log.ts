/** A minimal leveled logger for the services: one line per event on stderr, prefixed with the service name. */
import type { LOG_LEVELS } from '../config.js';

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
    if (RANK[l] <= RANK[level]) write(`${new Date().toISOString()} ${l} [${name}] ${message}`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
