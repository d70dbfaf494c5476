/** Waiting for BullMQ jobs in tests. */
import type { QueueName } from '../../shared/contracts/queues.js';
import type { PipelineQueue } from '../../shared/pipeline/queues.js';

/** Waits until job `id` of `queue` has completed or failed; returns the job and its final state. */
export async function settled<Q extends QueueName>(queue: PipelineQueue<Q>, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await queue.getJobState(id);
    const job = state === 'completed' || state === 'failed' ? await queue.getJob(id) : undefined;
    if (job) return { job, state };
    if (Date.now() > deadline) throw new Error(`${queue.name} job ${id} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
