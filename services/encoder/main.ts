/** The encoder service: takes `encode` jobs. Wiring only; see encode.processor.ts. */
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { createEncodeProcessor } from './encode.processor.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('encoder', config.logLevel);
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the encoder takes its jobs from Redis');
  await initBackend(config.backend, (m) => log.info(m));
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:encoder` });
  const keys = keyspace(config.prefix);
  const models = new ModelRegistry(redis, keys);
  const cache = new ModelCache(models);
  const processor = createEncodeProcessor({ datasets: new DatasetStore(redis, keys), models, embeddings: new EmbeddingStore(redis, keys), cache });
  const worker = makeWorker('encode', processor, redis, keys, { concurrency: config.concurrency.encoder, log, lockDuration: config.jobLockMs, stalledInterval: config.jobLockMs / 2 });
  onShutdown(async () => {
    await worker.close();
    cache.clear();
    await closeRedis(redis);
  }, { log });
  await worker.waitUntilReady();
  log.info(`ready: queue encode, concurrency ${config.concurrency.encoder}, prefix ${config.prefix}`);
}

run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
