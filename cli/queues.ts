/** The pipeline's BullMQ queues as the CLI uses them: opened for one command, closed afterwards. */
import type { Queue } from 'bullmq';
import type { QueueName } from '../shared/contracts/queues.js';
import { makeQueue } from '../shared/pipeline/queues.js';
import type { Connection } from './connection.js';

/** Opens the queues (on the connection's Redis client, which they share and leave open), runs `body`, closes them. */
export async function withQueues<T>(connection: Connection, names: readonly QueueName[], body: (queues: Map<QueueName, Queue>) => Promise<T>): Promise<T> {
  const queues = new Map<QueueName, Queue>(names.map((q) => [q, makeQueue(q, connection.redis, connection.keys) as unknown as Queue]));
  try {
    return await body(queues);
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }
}
