/** The trainer service: takes `train` jobs, and `schedule` jobs (which submit work). Wiring only; see *.processor.ts. */
import { startTracing } from '../../shared/pipeline/tracing.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { createLogger, describeError } from '../../shared/pipeline/log.js';
import { makeFlowProducer } from '../../shared/pipeline/flow.js';
import { applyQueueLimits, makeQueue, makeWorker } from '../../shared/pipeline/queues.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { createScheduleProcessor } from './schedule.processor.js';
import { createTrainProcessor } from './train.processor.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('trainer', config.logLevel, undefined, config.logFormat);
  const stopTracing = startTracing('trainer');
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the trainer takes its jobs from Redis');
  const backend = await initBackend(config.backend, (m) => log.info(m), { blasThreads: config.blasThreads });
  const redis = createRedis(config.redisUrl, { bullmq: true, name: `${config.prefix}:trainer`, cluster: config.redisCluster });
  const keys = keyspace(config.prefix);
  const models = new ModelRegistry(redis, keys);
  const processor = createTrainProcessor({ datasets: new DatasetStore(redis, keys), ratings: new RatingsStore(redis, keys), models, backend: backend.name, blasThreads: config.blasThreads, log });
  // Training runs in a model thread, whose broken runtime only fails its job; a job that broke this process's own
  // runtime anyway fails, then this process closes and exits 1 to be restarted (`shutdown` below).
  const common = { lockDuration: config.jobLockMs, onFatal: (error: Error) => shutdown.fatal(error) };
  const worker = makeWorker('train', processor, redis, keys, { concurrency: config.concurrency.trainer, log, ...common });
  const trainQueue = makeQueue('train', redis, keys);
  const flows = makeFlowProducer(redis, keys);
  const scheduler = makeWorker('schedule', createScheduleProcessor({ train: trainQueue, flows, models, keys, log }), redis, keys, { concurrency: 1, log, ...common });
  const heartbeat = startHeartbeat(redis, keys, { service: 'trainer', log });
  const shutdown = onShutdown(async () => {
    await Promise.all([worker.close(), scheduler.close()]);
    await heartbeat.stop();
    await Promise.all([trainQueue.close(), flows.close()]);
    await closeRedis(redis);
    await stopTracing();
  }, { log, heartbeat, connection: redis });
  await Promise.all([worker.waitUntilReady(), scheduler.waitUntilReady()]);
  const limits = await applyQueueLimits(['train', 'schedule'], redis, keys, config.queueLimits);
  if (limits !== '') log.info(`queue limits: ${limits}`);
  log.info(`ready: queue train, concurrency ${config.concurrency.trainer}; queue schedule; prefix ${config.prefix}`);
}

run().catch((error: unknown) => {
  console.error(describeError(error));
  process.exit(1);
});
