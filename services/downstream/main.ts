/**
 * The downstream service: takes `cluster`, `classify`, `detect`, `run` and `recommend` jobs, and `webhook` jobs when
 * LATENTFLOW_WEBHOOK_URL (and so LATENTFLOW_WEBHOOK_SECRET) is set. Wiring only; see *.processor.ts.
 */
import { startTracing } from '../../shared/pipeline/tracing.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import type { QueueName } from '../../shared/contracts/queues.js';
import { startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { createLogger, describeError } from '../../shared/pipeline/log.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { alertPublisherFor } from '../../shared/pipeline/alert-publisher.js';
import { applyQueueLimits, makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { RecommendationStore } from '../../shared/store/recommendations.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { createClassifyProcessor } from './classify.processor.js';
import { createClusterProcessor } from './cluster.processor.js';
import { createDetectProcessor } from './detect.processor.js';
import { createRecommendProcessor } from './recommend.processor.js';
import { createRunProcessor } from './run.processor.js';
import { createWebhookProcessor } from './webhook.processor.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('downstream', config.logLevel, undefined, config.logFormat);
  const stopTracing = startTracing('downstream');
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the downstream service takes its jobs from Redis');
  const backend = await initBackend(config.backend, (m) => log.info(m), { blasThreads: config.blasThreads });
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:downstream`, cluster: config.redisCluster });
  const keys = keyspace(config.prefix);
  const datasets = new DatasetStore(redis, keys);
  const models = new ModelRegistry(redis, keys);
  const embeddings = new EmbeddingStore(redis, keys);
  const cache = new ModelCache(models);
  // A job that broke the tfjs runtime fails, then this process closes and exits 1 to be restarted (`shutdown` below).
  const options = { concurrency: config.concurrency.downstream, log, lockDuration: config.jobLockMs, onFatal: (error: Error) => shutdown.fatal(error) };
  const { url, secret, timeoutMs } = config.webhook;
  const { alerts, close: closeAlerts } = alertPublisherFor(redis, keys, config);
  const webhook = url !== undefined && secret !== undefined
    ? createWebhookProcessor({ url, secret, timeoutMs, alerts: new AlertStore(redis, keys, config.alertsMaxLen) })
    : undefined;
  const workers = [
    makeWorker('cluster', createClusterProcessor({ datasets, models, embeddings }), redis, keys, options),
    makeWorker('classify', createClassifyProcessor({ datasets, models, embeddings }), redis, keys, options),
    makeWorker('detect', createDetectProcessor({ datasets, models, embeddings, alerts, cache }), redis, keys, options),
    makeWorker('run', createRunProcessor({ embeddings }), redis, keys, options),
    makeWorker('recommend', createRecommendProcessor({ models, recommendations: new RecommendationStore(redis, keys), backend: backend.name, blasThreads: config.blasThreads }), redis, keys, options),
    ...(webhook ? [makeWorker('webhook', webhook, redis, keys, options)] : []),
  ];
  const heartbeat = startHeartbeat(redis, keys, { service: 'downstream', log });
  const shutdown = onShutdown(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await heartbeat.stop();
    await closeAlerts();
    cache.clear();
    await closeRedis(redis);
    await stopTracing();
  }, { log, heartbeat, connection: redis });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const queues = workers.map((w) => w.name as QueueName);
  const limits = await applyQueueLimits(queues, redis, keys, config.queueLimits);
  if (limits !== '') log.info(`queue limits: ${limits}`);
  log.info(`ready: queues ${queues.join(', ')}, concurrency ${config.concurrency.downstream} each, prefix ${config.prefix}`);
  if (url !== undefined) log.info(`alerts are also POSTed to the webhook at ${new URL(url).origin} (signed)`);
  else if (secret !== undefined) log.warn('LATENTFLOW_WEBHOOK_SECRET is set without LATENTFLOW_WEBHOOK_URL: webhook jobs are not taken (they go only to the configured URL)');
}

run().catch((error: unknown) => {
  console.error(describeError(error));
  process.exit(1);
});
