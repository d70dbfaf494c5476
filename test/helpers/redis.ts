/**
 * Real Redis for integration tests. `useRedis()` at the top of a test file (or inside a `describe`) registers
 * node:test hooks: one private redis-server for the file, a fresh key prefix per test, and a check in `after` that
 * every connection made through {@link trackedRedis} (and their `duplicate()`s) was closed: a leak fails the run.
 */
import { after, before, beforeEach } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, type RedisConnectionOptions } from '../../shared/store/redis.js';
import { startRedisServer, type RedisServer } from '../../shared/store/redis-server.js';

const open = new Map<Redis, string>();
let made = 0;

/** A connection like `createRedis`, remembered until it ends; its duplicates are tracked too. */
export function trackedRedis(url: string, opts: RedisConnectionOptions = {}): Redis {
  return track(createRedis(url, opts), opts.name ?? `connection ${++made}`);
}

function track(redis: Redis, label: string): Redis {
  const caller = new Error().stack?.split('\n')[3]?.trim().replace(/^at /, '') ?? '?';
  open.set(redis, `${label} (created at ${caller})`);
  redis.once('end', () => open.delete(redis));
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args: Parameters<Redis['duplicate']>) => track(duplicate(...args), `duplicate of ${label}`);
  return redis;
}

/** Connections made through trackedRedis that have not ended, with where they were made. */
export function openConnections(): string[] {
  return [...open.entries()].filter(([r]) => r.status !== 'end').map(([, label]) => label);
}

export interface RedisFixture {
  /** The private server's URL. */
  url(): string;
  /** This test's key prefix, `t<n>_<random>`: pass it to `keyspace()`. */
  prefix(): string;
  /** A shared tracked connection to the server (closed by the helper). */
  redis(): Redis;
}

let prefixes = 0;

export function useRedis(): RedisFixture {
  let server: RedisServer | undefined;
  let shared: Redis | undefined;
  let prefix = '';

  before(async () => {
    server = await startRedisServer();
    shared = trackedRedis(server.url, { name: 'useRedis' });
    await shared.ping();
  });

  beforeEach(() => {
    prefix = `t${++prefixes}_${randomBytes(4).toString('hex')}`;
  });

  after(async () => {
    try {
      if (shared) await closeRedis(shared);
      // Give connections closed at the very end of a test a moment to reach `end`.
      for (let i = 0; i < 20 && openConnections().length > 0; i++) await new Promise((r) => setTimeout(r, 25));
      const leaked = openConnections();
      if (leaked.length > 0) {
        await Promise.all([...open.keys()].map((r) => closeRedis(r)));
        throw new Error(`${leaked.length} Redis connection(s) left open by the tests:\n  ${leaked.join('\n  ')}`);
      }
    } finally {
      await server?.stop();
    }
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available only inside tests of a file that called useRedis()`);
    return value;
  };
  return {
    url: () => need(server, 'the Redis URL').url,
    prefix: () => {
      if (prefix === '') throw new Error('prefix() is available only inside a test (it changes per test)');
      return prefix;
    },
    redis: () => need(shared, 'the Redis connection'),
  };
}
