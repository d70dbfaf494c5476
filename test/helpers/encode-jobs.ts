/** Encode jobs against a private Redis: stored datasets, model `m` registered, an `encode` queue and its events. */
import { QueueEvents } from 'bullmq';
import { keyspace } from '../../shared/contracts/keys.js';
import type { Table } from '../../shared/data/table.js';
import type { Autoencoder } from '../../shared/ml/autoencoder.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { EmbeddingStore } from '../../shared/store/embeddings.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { closeRedis } from '../../shared/store/redis.js';
import { trackedRedis, type RedisFixture } from './redis.js';

export async function encodeJobs(fixture: RedisFixture, model: Autoencoder, datasets: Record<string, Table>) {
  const redis = fixture.redis();
  const keys = keyspace(fixture.prefix());
  for (const [name, table] of Object.entries(datasets)) await new DatasetStore(redis, keys).save(name, table);
  const { version } = await new ModelRegistry(redis, keys).register('m', model, { dataset: 'digits' });
  const connection = trackedRedis(fixture.url(), { bullmq: true });
  const queue = makeQueue('encode', connection, keys);
  const eventsConnection = trackedRedis(fixture.url(), { bullmq: true });
  const events = new QueueEvents('encode', { connection: eventsConnection, prefix: keys.bullPrefix });
  await events.waitUntilReady();
  const close = async () => {
    await queue.close();
    await events.close();
    await closeRedis(connection);
    await closeRedis(eventsConnection);
  };
  return { redis, keys, version, queue, events, close, embeddings: new EmbeddingStore(redis, keys) };
}
