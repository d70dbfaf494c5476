/** The trainer service: takes `train` jobs. Wiring only; see train.processor.ts. */
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { createTrainProcessor } from './train.processor.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('trainer', config.logLevel);
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the trainer takes its jobs from Redis');
  const backend = await initBackend(config.backend, (m) => log.info(m));
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:trainer` });
  const keys = keyspace(config.prefix);
  const processor = createTrainProcessor({ datasets: new DatasetStore(redis, keys), models: new ModelRegistry(redis, keys), backend: backend.name });
  const worker = makeWorker('train', processor, redis, keys, { concurrency: config.concurrency.trainer, log, lockDuration: config.jobLockMs, stalledInterval: config.jobLockMs / 2 });
  onShutdown(async () => {
    await worker.close();
    await closeRedis(redis);
  }, { log });
  await worker.waitUntilReady();
  log.info(`ready: queue train, concurrency ${config.concurrency.trainer}, prefix ${config.prefix}`);
}

run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
