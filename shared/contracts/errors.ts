/**
 * Error classes shared by every part of latentflow. Each carries its retry semantics: `retryable: false` means the
 * input itself is wrong (a job carrying it must fail at once, never be retried); `retryable: true` means a transient
 * fault that may succeed on another attempt.
 */

/** Where in an input a problem was found. Every field is optional; messages name all that are known. */
export interface InputLocation {
  /** File path or other source name (a dataset, a stream). */
  source?: string;
  /** 1-based line number in a text file. */
  line?: number;
  /** 0-based data row (after any header). */
  row?: number;
  /** Column name or 1-based index. */
  column?: string | number;
  /** Configuration or payload field. */
  field?: string;
  /** The offending value, as text. */
  value?: unknown;
}

export class LatentflowError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.retryable = retryable;
  }
}

function describeLocation(where: InputLocation): string {
  const parts: string[] = [];
  if (where.source !== undefined) parts.push(where.source);
  if (where.line !== undefined) parts.push(`line ${where.line}`);
  if (where.row !== undefined) parts.push(`row ${where.row}`);
  if (where.column !== undefined) parts.push(`column ${typeof where.column === 'number' ? where.column : `"${where.column}"`}`);
  if (where.field !== undefined) parts.push(`field "${where.field}"`);
  if (where.value !== undefined) {
    const v = where.value;
    const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
    parts.push(`value ${JSON.stringify(text).slice(0, 80)}`);
  }
  return parts.join(', ');
}

/** Bad input data or options: never retryable. The message names every known part of the location. */
export class InputError extends LatentflowError {
  readonly where: InputLocation;
  constructor(problem: string, where: InputLocation = {}, options?: ErrorOptions) {
    const at = describeLocation(where);
    super(at ? `${at}: ${problem}` : problem, false, options);
    this.where = where;
  }
}

/** Invalid configuration (environment variables, model options): stops start-up, names the variable. */
export class ConfigError extends LatentflowError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, false, options);
  }
}

/** A job stopped because someone cancelled it (`latentflow jobs cancel`, the dashboard): never retried. */
export class CancelledError extends LatentflowError {
  constructor(jobId: string, options?: ErrorOptions) {
    super(`cancelled: job ${jobId} was cancelled (latentflow jobs cancel or the dashboard); it is not retried`, false, options);
  }
}
