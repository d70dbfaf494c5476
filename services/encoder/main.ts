/** The encoder service: takes `encode` jobs and consumes the source streams. Wiring only; see encode.processor.ts and stream.consumer.ts. */
import { startTracing } from '../../shared/pipeline/tracing.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { alertPublisherFor } from '../../shared/pipeline/alert-publisher.js';
import { DriftMonitor } from '../../shared/pipeline/drift-monitor.js';
import { startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { createLogger, describeError } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { applyQueueLimits, makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { TelemetryStore } from '../../shared/store/telemetry.js';
import { createEncodeProcessor } from './encode.processor.js';
import type { StreamIngest } from '../../shared/stream/ingest.js';
import { startStreamConsumer } from './stream.consumer.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('encoder', config.logLevel, undefined, config.logFormat);
  const stopTracing = startTracing('encoder');
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the encoder takes its jobs from Redis');
  await initBackend(config.backend, (m) => log.info(m), { blasThreads: config.blasThreads });
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:encoder`, cluster: config.redisCluster });
  const keys = keyspace(config.prefix);
  const models = new ModelRegistry(redis, keys);
  const embeddings = new EmbeddingStore(redis, keys);
  const cache = new ModelCache(models);
  const telemetry = new TelemetryStore(redis, keys);
  const processor = createEncodeProcessor({ datasets: new DatasetStore(redis, keys), models, embeddings, cache, telemetry });
  const { alerts, close: closeAlerts } = alertPublisherFor(redis, keys, config);
  // A job or stream batch that broke the tfjs runtime fails, then this process closes and exits 1 to be restarted.
  // Made below, after the shutdown path they may need to take.
  const running: { worker?: ReturnType<typeof makeWorker<'encode'>>; streams?: StreamIngest } = {};
  const heartbeat = startHeartbeat(redis, keys, { service: 'encoder', log });
  const shutdown = onShutdown(async () => {
    await Promise.all([running.worker?.close(), running.streams?.stop()]);
    await heartbeat.stop();
    await closeAlerts();
    cache.clear();
    await closeRedis(redis);
    await stopTracing();
  }, { log, heartbeat, connection: redis });
  const onFatal = (error: unknown) => shutdown.fatal(error instanceof Error ? error : new Error(String(error)));
  const streams = await startStreamConsumer({
    redis, keys, models, cache, embeddings, alerts, drift: new DriftMonitor(redis, keys, config.drift), log, onFatal,
  }, config.stream);
  running.streams = streams;
  const worker = makeWorker('encode', processor, redis, keys, { concurrency: config.concurrency.encoder, log, lockDuration: config.jobLockMs, onFatal });
  running.worker = worker;
  await worker.waitUntilReady();
  const limits = await applyQueueLimits(['encode'], redis, keys, config.queueLimits);
  if (limits !== '') log.info(`queue limits: ${limits}`);
  log.info(`ready: queue encode, concurrency ${config.concurrency.encoder}, sources ${streams.active.join(', ') || '(none yet)'}, prefix ${config.prefix}`);
}

run().catch((error: unknown) => {
  console.error(describeError(error));
  process.exit(1);
});
