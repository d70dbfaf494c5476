/**
 * The body of a model thread (./offload.ts trainInThread, recommendInThread), reused from one task to the next:
 * starts the process's tfjs backend in this thread (once), then fits a model (posting each epoch's progress,
 * answering with the model's artifact) or ranks an AutoRec's items (posting each batch of users' lists, answering with
 * the number of users). The thread's runtime is its own: a task that breaks it (a wasm trap, a failed allocation)
 * leaves the process's runtime whole.
 */
import { parentPort } from 'node:worker_threads';
import { Autoencoder } from '../ml/autoencoder.js';
import { AutoRec } from '../ml/autorec.js';
import { initBackend } from '../ml/backend.js';
import { serveWith, type ThreadProgress } from './thread-task.js';
import type { ModelTask } from './offload.js';

const post = (progress: unknown) => parentPort!.postMessage({ progress } satisfies ThreadProgress);

serveWith(async ({ task, backend, blasThreads }: ModelTask): Promise<Uint8Array | number> => {
  await initBackend(backend, () => {}, { blasThreads });
  if (task.kind === 'recommend') {
    const model = AutoRec.load(task.artifact, task.source);
    try {
      let users = 0;
      for await (const batch of model.recommendAll(task.n, task.users ? { users: task.users } : {})) {
        users += batch.length;
        post(batch);
      }
      return users;
    } finally {
      model.dispose();
    }
  }
  if (task.kind === 'autorec') {
    const model = await AutoRec.fit(task.ratings, task.options, { onEpoch: post });
    try {
      return model.save();
    } finally {
      model.dispose();
    }
  }
  const model = await Autoencoder.fit(task.table, task.options, { threshold: task.threshold, onEpoch: post });
  try {
    return model.toArtifact();
  } finally {
    model.dispose();
  }
});
