/** The encoder service: takes `encode` jobs and consumes the source streams. Wiring only; see encode.processor.ts and stream.consumer.ts. */
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { alertPublisherFor } from '../../shared/pipeline/alert-publisher.js';
import { DriftMonitor } from '../../shared/pipeline/drift-monitor.js';
import { startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { TelemetryStore } from '../../shared/store/telemetry.js';
import { createEncodeProcessor } from './encode.processor.js';
import { startStreamConsumer } from './stream.consumer.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('encoder', config.logLevel);
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the encoder takes its jobs from Redis');
  await initBackend(config.backend, (m) => log.info(m), { blasThreads: config.blasThreads });
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:encoder`, cluster: config.redisCluster });
  const keys = keyspace(config.prefix);
  const models = new ModelRegistry(redis, keys);
  const embeddings = new EmbeddingStore(redis, keys);
  const cache = new ModelCache(models);
  const telemetry = new TelemetryStore(redis, keys);
  const processor = createEncodeProcessor({ datasets: new DatasetStore(redis, keys), models, embeddings, cache, telemetry });
  const worker = makeWorker('encode', processor, redis, keys, { concurrency: config.concurrency.encoder, log, lockDuration: config.jobLockMs });
  const { alerts, close: closeAlerts } = alertPublisherFor(redis, keys, config);
  const streams = await startStreamConsumer({
    redis, keys, models, cache, embeddings, alerts, drift: new DriftMonitor(redis, keys, config.drift), log,
  }, config.stream);
  const heartbeat = startHeartbeat(redis, keys, { service: 'encoder', log });
  onShutdown(async () => {
    await Promise.all([worker.close(), streams.stop()]);
    await heartbeat.stop();
    await closeAlerts();
    cache.clear();
    await closeRedis(redis);
  }, { log });
  await worker.waitUntilReady();
  log.info(`ready: queue encode, concurrency ${config.concurrency.encoder}, sources ${streams.active.join(', ') || '(none yet)'}, prefix ${config.prefix}`);
}

run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
