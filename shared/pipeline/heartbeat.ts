/**
 * Worker heartbeats: every service process writes what it is and how it is doing to Redis every few seconds, so that a
 * reader anywhere (the dashboard's `/metrics`) knows which workers are alive and their TensorFlow.js state.
 *
 * Contract: `keys.telemetry.workers()` holds instance `<service>@<host>:<pid>` → {@link HeartbeatInfo} JSON;
 * `keys.telemetry.workersSeen()` scores each instance by the Redis server's clock (ms) at its last beat, so hosts'
 * clocks never matter. An instance is live while its last beat is at most {@link STALE_AFTER_BEATS} of its own
 * intervals old; {@link readWorkers} returns the live ones and deletes the stale ones (a process that died). A
 * heartbeat that stops cleanly deletes its own entry at once.
 */
import { hostname } from 'node:os';
import type { Keyspace } from '../contracts/keys.js';
import { backendInfo, currentTensorCount } from '../ml/backend.js';
import type { RedisClient } from '../store/redis.js';
import { execOrThrow } from '../store/util.js';
import { silentLogger, type Logger } from './log.js';

/** Milliseconds between beats unless told otherwise. */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** A worker whose last beat is older than this many of its intervals is stale (gone). */
export const STALE_AFTER_BEATS = 3;

/** What one beat says about a process. */
export interface HeartbeatInfo {
  /** `trainer`, `encoder`, `downstream` ... */
  service: string;
  /** `<host>:<pid>`. */
  instance: string;
  host: string;
  pid: number;
  /** The active TensorFlow.js backend (`tensorflow`, `wasm`, `cpu`), `none` before one is chosen. */
  backend: string;
  /** Tensors allocated on it (tf.memory().numTensors); 0 before a backend is chosen. */
  tensors: number;
  /** Resident set size of the process in bytes. */
  rssBytes: number;
  /** The writer's interval in ms (readers judge staleness by it). */
  intervalMs: number;
  /** ISO time of the beat by the writer's clock (informative; staleness uses the Redis server's clock). */
  at: string;
}

/** A live worker as {@link readWorkers} returns it. */
export interface WorkerStatus extends HeartbeatInfo {
  /** Seconds since its last beat, by the Redis server's clock. */
  ageSeconds: number;
}

export interface HeartbeatOptions {
  service: string;
  /** Milliseconds between beats. Default {@link DEFAULT_HEARTBEAT_MS}. */
  intervalMs?: number;
  /** `<host>:<pid>` by default. */
  instance?: string;
  /** The backend and tensor count to report. Default: this process's tfjs backend (shared/ml/backend.ts). */
  probe?: () => { backend: string; tensors: number };
  /** Where a failed beat is reported (it never throws). Default: nowhere. */
  log?: Logger;
}

// HSET the info and ZADD the server's time in ms, atomically (both keys share one slot). Returns the time.
const BEAT = `local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ms, ARGV[1])
return ms`;

// Removes instance ARGV[i] if its score is still ARGV[i+1] ('': if it has none), so a beat in between keeps it.
const PRUNE = `for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if (score == false and ARGV[i + 1] == '') or score == ARGV[i + 1] then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0`;

function defaultProbe(): { backend: string; tensors: number } {
  const info = backendInfo();
  // tf.memory() would pick a backend itself when none is chosen yet; report none instead.
  return info === undefined ? { backend: 'none', tensors: 0 } : { backend: info.name, tensors: currentTensorCount() };
}

/** One process's heartbeat. `start()` beats now and every interval (the timer never keeps the process alive). */
export class Heartbeat {
  readonly instance: string;
  private readonly field: string;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace, private readonly options: HeartbeatOptions) {
    this.instance = options.instance ?? `${hostname()}:${process.pid}`;
    this.field = `${options.service}@${this.instance}`;
    this.intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** Beats now, then every interval; a failed beat is logged and the next one tries again. */
  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
    return this;
  }

  /** Writes one beat. */
  async beat(): Promise<void> {
    const info: HeartbeatInfo = {
      service: this.options.service, instance: this.instance, host: hostname(), pid: process.pid, ...(this.options.probe ?? defaultProbe)(),
      rssBytes: process.memoryUsage.rss(), intervalMs: this.intervalMs, at: new Date().toISOString(),
    };
    const t = this.keys.telemetry;
    await this.redis.eval(BEAT, 2, t.workers(), t.workersSeen(), this.field, JSON.stringify(info));
  }

  /**
   * Stops beating and deletes this instance's entry (readers stop reporting it at once). Never rejects: an entry
   * that cannot be deleted goes stale instead.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Same connection as any beat in flight, so the delete runs after it.
    const t = this.keys.telemetry;
    try {
      await execOrThrow(this.redis.multi().hdel(t.workers(), this.field).zrem(t.workersSeen(), this.field));
    } catch (error) {
      (this.options.log ?? silentLogger).warn(`heartbeat: entry not deleted (it goes stale): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async tick(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = this.beat().catch((error: unknown) => {
      (this.options.log ?? silentLogger).warn(`heartbeat: ${error instanceof Error ? error.message : String(error)}`);
    });
    await this.inFlight;
    this.inFlight = undefined;
  }
}

/** `new Heartbeat(...).start()`: what each service's main.ts runs (and stops on shutdown). */
export function startHeartbeat(redis: RedisClient, keys: Keyspace, options: HeartbeatOptions): Heartbeat {
  return new Heartbeat(redis, keys, options).start();
}

/**
 * The live workers, by service then instance, with the Redis server's time; stale entries (and entries that do not
 * parse) are deleted, unless a beat refreshed them meanwhile.
 */
export async function readWorkers(redis: RedisClient, keys: Keyspace): Promise<WorkerStatus[]> {
  const t = keys.telemetry;
  const [time, seen, infos] = (await execOrThrow(redis.multi().time().zrange(t.workersSeen(), '0', '-1', 'WITHSCORES').hgetall(t.workers()))) as [[string, string], string[], Record<string, string>];
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const live: WorkerStatus[] = [];
  const stale: string[] = [];
  const scored = new Set<string>();
  for (let i = 0; i + 1 < seen.length; i += 2) {
    const [field, score] = [seen[i], seen[i + 1]];
    scored.add(field);
    const info = parseInfo(infos[field]);
    const age = now - Number(score);
    if (info && age <= STALE_AFTER_BEATS * info.intervalMs) live.push({ ...info, ageSeconds: Math.max(0, age) / 1000 });
    else stale.push(field, score);
  }
  for (const field of Object.keys(infos)) if (!scored.has(field)) stale.push(field, '');
  if (stale.length > 0) await redis.eval(PRUNE, 2, t.workers(), t.workersSeen(), ...stale);
  return live.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
}

function parseInfo(json: string | undefined): HeartbeatInfo | undefined {
  if (json === undefined) return undefined;
  try {
    const info = JSON.parse(json) as Partial<HeartbeatInfo>;
    const numbers = [info.pid, info.tensors, info.rssBytes, info.intervalMs];
    if (typeof info.service !== 'string' || typeof info.instance !== 'string' || typeof info.backend !== 'string' || !numbers.every((n) => typeof n === 'number')) return undefined;
    return info as HeartbeatInfo;
  } catch {
    return undefined;
  }
}
