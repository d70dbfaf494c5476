/** Every worker of the three services in this process, on one test's prefix: a whole run without child processes. */
import type { TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import type { QueueName } from '../../shared/contracts/queues.js';
import { ModelCache } from '../../shared/pipeline/model-cache.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { RatingsStore } from '../../shared/store/ratings.js';
import { closeRedis } from '../../shared/store/redis.js';
import { TelemetryStore } from '../../shared/store/telemetry.js';
import { createClassifyProcessor } from '../../services/downstream/classify.processor.js';
import { createClusterProcessor } from '../../services/downstream/cluster.processor.js';
import { createDetectProcessor } from '../../services/downstream/detect.processor.js';
import { createRunProcessor } from '../../services/downstream/run.processor.js';
import { createEncodeProcessor } from '../../services/encoder/encode.processor.js';
import { createTrainProcessor } from '../../services/trainer/train.processor.js';
import type { RedisFixture } from './redis.js';
import { trackedRedis } from './redis.js';

export interface Pipeline {
  keys: Keyspace;
  connection: Redis;
  datasets: DatasetStore;
  models: ModelRegistry;
  embeddings: EmbeddingStore;
  alerts: AlertStore;
  /** A queue of this prefix (one per name, closed with the pipeline). */
  queue: <Q extends QueueName>(q: Q) => PipelineQueue<Q>;
}

/**
 * Starts the train, encode, cluster, classify, detect and run workers (wasm backend) on `keys` (default: the test's
 * prefix); they close when `t` ends.
 */
export function startPipeline(t: Pick<TestContext, 'after'>, fixture: Pick<RedisFixture, 'url' | 'prefix'>, keys: Keyspace = keyspace(fixture.prefix())): Pipeline {
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'pipeline' });
  const datasets = new DatasetStore(connection, keys);
  const models = new ModelRegistry(connection, keys);
  const embeddings = new EmbeddingStore(connection, keys);
  const alerts = new AlertStore(connection, keys);
  const cache = new ModelCache(models);
  const options = { concurrency: 2 };
  const workers = [
    makeWorker('train', createTrainProcessor({ datasets, ratings: new RatingsStore(connection, keys), models, backend: 'wasm' }), connection, keys, { concurrency: 1 }),
    makeWorker('encode', createEncodeProcessor({ datasets, models, embeddings, cache, telemetry: new TelemetryStore(connection, keys) }), connection, keys, options),
    makeWorker('cluster', createClusterProcessor({ datasets, models, embeddings }), connection, keys, options),
    makeWorker('classify', createClassifyProcessor({ datasets, models, embeddings }), connection, keys, options),
    makeWorker('detect', createDetectProcessor({ datasets, models, embeddings, alerts, cache }), connection, keys, options),
    makeWorker('run', createRunProcessor({ embeddings }), connection, keys, options),
  ];
  const queues = new Map<QueueName, PipelineQueue<QueueName>>();
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([...queues.values()].map((q) => q.close()));
    cache.clear();
    await closeRedis(connection);
  });
  return {
    keys, connection, datasets, models, embeddings, alerts,
    queue: <Q extends QueueName>(q: Q): PipelineQueue<Q> => {
      if (!queues.has(q)) queues.set(q, makeQueue(q, connection, keys) as unknown as PipelineQueue<QueueName>);
      return queues.get(q) as unknown as PipelineQueue<Q>;
    },
  };
}
