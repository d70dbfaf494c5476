/**
 * The two ends of a task run in a worker thread (./offload.ts): the thread posts back its result, or the error's
 * message and retry semantics (an error crossing threads loses its class), and whether its runtime broke.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LatentflowError } from '../contracts/errors.js';
import { isRuntimeCorruption } from '../ml/backend.js';

/** What a thread posts back last; `broken`: its TensorFlow.js runtime broke, the thread must not be used again. */
export type ThreadAnswer<T> = { ok: true; result: T } | { ok: false; message: string; retryable: boolean; broken?: true };
/** What a thread may post before its answer (e.g. a training epoch). */
export interface ThreadProgress { progress: unknown }

/** In a one-task thread's module: runs `work` on the thread's `workerData` and posts the answer. */
export async function answerWith<D, T>(work: (data: D) => Promise<T>): Promise<void> {
  parentPort!.postMessage(await answer(work, workerData as D));
}

/** In a reusable thread's module: answers each task posted to the thread with `work` (the caller sends one at a time). */
export function serveWith<D, T>(work: (data: D) => Promise<T>): void {
  parentPort!.on('message', (data: D) => {
    void answer(work, data).then((a) => parentPort!.postMessage(a));
  });
}

async function answer<D, T>(work: (data: D) => Promise<T>, data: D): Promise<ThreadAnswer<T>> {
  try {
    return { ok: true, result: await work(data) };
  } catch (error) {
    if (isRuntimeCorruption(error)) {
      // Only this thread's runtime is broken; the process's is whole. Run again, the job would break a runtime again.
      const text = `${(error as Error).name}: ${(error as Error).message}`;
      const message = `the TensorFlow.js runtime of a worker thread of process ${process.pid} broke during this job (${text}); the thread was discarded and the job is not retried`;
      return { ok: false, message, retryable: false, broken: true };
    }
    const retryable = error instanceof LatentflowError ? error.retryable : true;
    return { ok: false, message: error instanceof Error ? error.message : String(error), retryable };
  }
}
