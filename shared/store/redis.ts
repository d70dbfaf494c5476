/**
 * Redis connections, made one way everywhere: `createRedis(url)` for stores and the CLI, `createRedis(url, { bullmq:
 * true })` for BullMQ queues and workers, `closeRedis` to end either.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /**
   * A connection for BullMQ (Queue, Worker, FlowProducer, QueueEvents): `maxRetriesPerRequest: null`, which BullMQ
   * requires so that blocking commands wait through reconnections. Default false: a command fails after ioredis's
   * default number of reconnection attempts (20).
   */
  bullmq?: boolean;
  /**
   * Client name shown by `CLIENT LIST` (e.g. `lf:trainer`), set as ioredis `connectionName` (ioredis's own `name`
   * option is a Sentinel master name). Default: none.
   */
  name?: string;
}

/**
 * A connected ioredis client for a `redis://` or `rediss://` URL (`rediss://user:password@host:6380/0`: user,
 * password and database number are read from the URL; `rediss` turns on TLS with Node's default verification).
 * Connects at once (`lazyConnect: false`) and waits for the server to finish loading before running commands
 * (`enableReadyCheck`).
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const redisOptions: RedisOptions = {
    enableReadyCheck: true,
    lazyConnect: false,
    ...(options.bullmq ? { maxRetriesPerRequest: null } : {}),
    ...(options.name !== undefined ? { connectionName: options.name } : {}),
    ...(/^rediss:\/\//i.test(url) ? { tls: {} } : {}),
  };
  return new Redis(url, redisOptions);
}

/**
 * Ends a connection: QUIT when it is ready (pending replies are delivered first), else (connecting, reconnecting,
 * or QUIT failing or taking over 2 s) a plain disconnect. Resolves once the connection has ended; idempotent.
 */
export async function closeRedis(r: Redis): Promise<void> {
  const isEnded = () => (r.status as string) === 'end';
  if (isEnded()) return;
  const ended = new Promise<void>((resolve) => r.once('end', () => resolve()));
  if (r.status === 'ready' && (await within(r.quit().then(() => true, () => false), 2000)) === true) {
    await within(ended, 2000);
    if (isEnded()) return;
  }
  const waitingToReconnect = r.status === 'reconnecting';
  r.disconnect();
  if (waitingToReconnect) forceEnd(r);
  if (!isEnded()) await within(ended, 2000);
}

/**
 * ioredis does not end a connection disconnected while it waits to reconnect: no socket is left to emit `close`, so
 * the status stays `reconnecting` and queued commands never settle (redis/ioredis#1247, fix pending in #2169).
 * This does what ioredis's close handler does for a manual close.
 */
function forceEnd(r: Redis): void {
  const internal = r as unknown as { flushQueue?: (error: Error) => void; setStatus?: (status: string) => void };
  if ((r.status as string) === 'end' || typeof internal.flushQueue !== 'function' || typeof internal.setStatus !== 'function') return;
  internal.setStatus('end');
  internal.flushQueue(new Error('Connection is closed.'));
}

/** `promise`'s value, or undefined after `ms` (the timer never keeps the process alive). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
