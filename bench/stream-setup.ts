/**
 * What the stream benches share: the digits model they score with, its records as stream values, a private
 * redis-server with that model in production and one encoder process, and progress checks.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from '../shared/contracts/keys.js';
import { readTable } from '../shared/data/read-table.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { initBackend } from '../shared/ml/backend.js';
import { ModelRegistry } from '../shared/store/models.js';
import { closeRedis, createRedis } from '../shared/store/redis.js';
import { startRedisServer } from '../shared/store/redis-server.js';
import { STREAM_GROUP } from '../shared/store/sources.js';
import { startEncoder } from './encoder-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface StreamModel {
  model: Autoencoder;
  /** Every digits row as a `values` field (comma-separated). */
  rows: string[];
  /** 50 rows scaled ×20: each one alerts. */
  anomalous: string[];
}

/**
 * A small autoencoder (codeSize 10, 3 epochs, wasm) trained on data/digits.csv.gz (1797×64), its threshold set above
 * every digits row's score, so only the ×20 rows alert.
 */
export async function digitsStreamModel(): Promise<StreamModel> {
  await initBackend('wasm', () => {});
  const digits = await readTable(`${root}data/digits.csv.gz`, { idColumn: 'id', labelColumn: 'label' });
  const model = await Autoencoder.fit(digits, { codeSize: 10, epochs: 3 });
  const { scores } = model.score(digits);
  const [low, high] = [Math.min(...scores), Math.max(...scores)];
  model.threshold = { method: { method: 'quantile', q: 0.99 }, value: high + (high - low) * 0.5, rows: digits.rows };
  const w = digits.width;
  const row = (i: number, factor: number) => Array.from(digits.values.subarray(i * w, (i + 1) * w), (v) => v * factor).join(',');
  return { model, rows: Array.from({ length: digits.rows }, (_, i) => row(i, 1)), anomalous: Array.from({ length: 50 }, (_, i) => row(i, 20)) };
}

/** The group `encoders` of stream `key`: entries read, pending and lag (zeros before the group exists). */
export async function groupProgress(redis: Redis, key: string): Promise<{ read: number; pending: number; lag: number }> {
  const groups = (await redis.call('XINFO', ['GROUPS', key]).catch(() => [])) as unknown[][];
  const g = groups.find((x) => x[1] === STREAM_GROUP);
  if (!g) return { read: 0, pending: 0, lag: 0 };
  const f: Record<string, unknown> = {};
  for (let i = 0; i + 1 < g.length; i += 2) f[String(g[i])] = g[i + 1];
  return { read: Number(f['entries-read']), pending: Number(f.pending), lag: Number(f.lag) };
}

/** The model name the stream benches register. */
export const STREAM_MODEL = 'bench';

export interface StreamBench {
  url: string;
  keys: Keyspace;
  redis: Redis;
  /** Subscribed to the alerts channel. */
  subscriber: Redis;
  /** Stops the encoder, the connections and the server. */
  close(): Promise<void>;
}

/**
 * A private redis-server with `model` registered and promoted as {@link STREAM_MODEL}, a subscriber on the alerts
 * channel, and one encoder process (wasm, block 100 ms, sources re-read every second, no cool-down, no drift alerts)
 * with `env` on top; `beforeEncoder` runs first (e.g. adding sources).
 */
export async function startStreamBench(model: Autoencoder, env: Record<string, string>, beforeEncoder?: (b: Omit<StreamBench, 'close'>) => Promise<unknown>): Promise<StreamBench> {
  const server = await startRedisServer();
  const keys = keyspace(`bench_${randomBytes(4).toString('hex')}`);
  const redis = createRedis(server.url, { name: 'bench' });
  const subscriber = createRedis(server.url, { name: 'bench:alerts' });
  const shutdown = async () => {
    await Promise.all([closeRedis(redis), closeRedis(subscriber)]);
    await server.stop();
  };
  try {
    const registry = new ModelRegistry(redis, keys);
    await registry.promote(STREAM_MODEL, (await registry.register(STREAM_MODEL, model, { dataset: 'digits' })).version);
    await subscriber.subscribe(keys.alertsChannel());
    const bench = { url: server.url, keys, redis, subscriber };
    await beforeEncoder?.(bench);
    const encoder = await startEncoder({
      REDIS_URL: server.url, LATENTFLOW_PREFIX: keys.prefix, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_STREAM_BLOCK_MS: '100',
      LATENTFLOW_STREAM_REFRESH_MS: '1000', LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1e12', ...env,
    });
    return { ...bench, close: async () => { await encoder.stop(); await shutdown(); } };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
