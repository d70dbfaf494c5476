/**
 * From the configuration to a Redis connection and the keyspace, for the commands that talk to the pipeline.
 * Commands that need an existing Redis fail clearly when REDIS_URL is unset; `up` and `demo` start a private one.
 */
import { loadConfig, type Config } from '../shared/config.js';
import { ConfigError } from '../shared/contracts/errors.js';
import { keyspace, type Keyspace } from '../shared/contracts/keys.js';
import { closeRedis, createRedis, redact, urlSecrets, type RedisClient } from '../shared/store/redis.js';
import { startRedisServer } from '../shared/store/redis-server.js';

export const NO_REDIS_URL = 'REDIS_URL is not set (run `latentflow up` to start a private Redis, or set REDIS_URL)';

export interface Connection {
  config: Config;
  redis: RedisClient;
  keys: Keyspace;
}

/** The URL without its password or `password` query parameter, for messages. */
export function redactUrl(url: string): string {
  return URL.canParse(url) ? redact(url, urlSecrets(url)) : '(unparseable URL)';
}

async function reachable(redis: RedisClient, url: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let last: Error | undefined;
  // ioredis reports connection errors as events; keep the last one for the message.
  redis.on('error', (error: Error) => { last = error; });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConfigError(
      `cannot reach Redis at ${redactUrl(url)} within ${timeoutMs / 1000} s${last ? ` (${redact(last.message)})` : ''}: is it running? check REDIS_URL`)), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot use Redis at ${redactUrl(url)} (${redact(error instanceof Error ? error.message : String(error))}): check REDIS_URL`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to the configured Redis (REDIS_URL) and checks that it answers. `bullmq: true` gives a connection fit
 * for BullMQ's blocking clients (QueueEvents, workers).
 */
export async function connect(options: { bullmq?: boolean; name?: string; config?: Config } = {}): Promise<Connection> {
  const config = options.config ?? loadConfig();
  if (config.redisUrl === undefined) throw new ConfigError(NO_REDIS_URL);
  const redis = createRedis(config.redisUrl, {
    bullmq: options.bullmq ?? true, name: options.name ?? 'latentflow-cli', cluster: config.redisCluster,
    log: (message) => console.error(`latentflow: warning: redis ${message}`),
  });
  try {
    await reachable(redis, config.redisUrl, 5000);
  } catch (error) {
    await closeRedis(redis).catch(() => {});
    throw error;
  }
  return { config, redis, keys: keyspace(config.prefix) };
}

export async function disconnect(connection: Connection): Promise<void> {
  await closeRedis(connection.redis);
}

/** Runs `body` with a connection, closing it afterwards whatever happens. */
export async function withConnection<T>(body: (connection: Connection) => Promise<T>, options: { name?: string } = {}): Promise<T> {
  const connection = await connect(options);
  try {
    return await body(connection);
  } finally {
    await disconnect(connection);
  }
}

export interface RedisTarget {
  url: string;
  /** True when this process started a private redis-server (stopped by `stop`). */
  private: boolean;
  stop(): Promise<void>;
}

/** REDIS_URL when set, else a private redis-server (temp dir, free port) that `stop` shuts down. */
export async function redisForSupervisor(config: Config = loadConfig()): Promise<RedisTarget> {
  if (config.redisUrl !== undefined) return { url: config.redisUrl, private: false, stop: async () => {} };
  const server = await startRedisServer();
  return { url: server.url, private: true, stop: async () => { await server.stop(); } };
}
