/**
 * Schedules: named BullMQ job schedulers on the `schedule` queue. Each time one fires, a `schedule` job carries its
 * payload (retrain a model, or score a dataset with the production model) to the trainer's schedule worker, which
 * submits the real work. A schedule lives in Redis, so it survives restarts and fires once however many trainers
 * run; adding a schedule under an existing name replaces it.
 */
import { getNextMillis } from 'bullmq';
import { InputError } from '../contracts/errors.js';
import { NAME_PATTERN } from '../contracts/keys.js';
import { PAYLOADS, parsePayload, type Payload, type PayloadInput } from '../contracts/queues.js';
import { DEFAULT_JOB_OPTIONS, type PipelineQueue } from './queues.js';

/** The shortest interval of an `everyMs` schedule. */
export const MIN_EVERY_MS = 1000;

export interface ScheduleRequest {
  /** The schedule's name (letters, digits, `.`, `_`, `-`); adding an existing name replaces that schedule. */
  name: string;
  /** A cron pattern (5 fields, or 6 with seconds first), in the server's time zone. Exactly one of cron and everyMs. */
  cron?: string;
  /** Fire every this many ms (at least {@link MIN_EVERY_MS}). */
  everyMs?: number;
  kind: 'retrain' | 'score';
  model: string;
  dataset: string;
  /** retrain: promote the new version to production when its validation loss is lower. Default false. */
  promoteIfBetter?: boolean;
}

export interface ScheduleInfo {
  name: string;
  /** The cron pattern, when it has one. */
  cron?: string;
  /** The interval in ms, when it has one. */
  everyMs?: number;
  /** When it fires next, when known. */
  next?: Date;
  payload: Payload<'schedule'>;
}

/** Validates `request` (InputError naming the field) and creates or replaces the schedule. */
export async function addSchedule(queue: PipelineQueue<'schedule'>, request: ScheduleRequest): Promise<ScheduleInfo> {
  const { name, cron, everyMs } = request;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InputError('schedule names use letters, digits, ".", "_" and "-" (starting with a letter or digit, up to 128)', { field: 'name', value: name });
  }
  if ((cron === undefined) === (everyMs === undefined)) {
    throw new InputError('a schedule needs exactly one of a cron pattern and an interval', { field: cron === undefined ? 'cron' : 'every' });
  }
  if (cron !== undefined) checkCron(cron);
  if (everyMs !== undefined && (!Number.isInteger(everyMs) || everyMs < MIN_EVERY_MS)) {
    throw new InputError(`the interval is a whole number of ms, at least ${MIN_EVERY_MS}`, { field: 'every', value: String(everyMs) });
  }
  const input: PayloadInput<'schedule'> = {
    schedule: name, kind: request.kind, model: request.model, dataset: request.dataset, promoteIfBetter: request.promoteIfBetter ?? false,
  };
  const payload = parsePayload('schedule', input);
  await queue.upsertJobScheduler(name, cron !== undefined ? { pattern: cron } : { every: everyMs }, {
    name: 'schedule', data: payload, opts: DEFAULT_JOB_OPTIONS,
  });
  const info = await queue.getJobScheduler(name);
  return info ? toInfo(info) : { name, cron, everyMs, payload };
}

/** Every schedule, the next to fire first. */
export async function listSchedules(queue: PipelineQueue<'schedule'>): Promise<ScheduleInfo[]> {
  return (await queue.getJobSchedulers(0, -1, true)).map(toInfo);
}

/** Removes a schedule (and its pending firing); false when there was none of that name. */
export async function removeSchedule(queue: PipelineQueue<'schedule'>, name: string): Promise<boolean> {
  return queue.removeJobScheduler(name);
}

/** InputError (field "cron") unless `pattern` is a cron pattern BullMQ can schedule. */
export function checkCron(pattern: string): void {
  let next: number | undefined;
  try {
    next = pattern.trim() === '' ? undefined : getNextMillis(Date.now(), { pattern });
  } catch (error) {
    throw new InputError(`invalid cron pattern "${pattern}": ${(error as Error).message} (e.g. "0 3 * * *" is every day at 03:00)`, { field: 'cron' });
  }
  if (next === undefined || !Number.isFinite(next)) {
    throw new InputError(`invalid cron pattern "${pattern}": it never fires (e.g. "0 3 * * *" is every day at 03:00)`, { field: 'cron' });
  }
}

type SchedulerJson = Awaited<ReturnType<PipelineQueue<'schedule'>['getJobSchedulers']>>[number];

function toInfo(s: SchedulerJson): ScheduleInfo {
  return {
    name: s.key,
    ...(s.pattern ? { cron: s.pattern } : {}),
    ...(s.every ? { everyMs: Number(s.every) } : {}),
    ...(s.next !== undefined ? { next: new Date(Number(s.next)) } : {}),
    // Lenient: a scheduler with a payload this version cannot read is still listed (and can be removed).
    payload: (PAYLOADS.schedule.safeParse(s.template?.data).data ?? s.template?.data ?? {}) as Payload<'schedule'>,
  };
}
