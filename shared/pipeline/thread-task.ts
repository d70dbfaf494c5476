/**
 * The two ends of a task run in a worker thread (./offload.ts): the thread posts back its result, or the error's
 * message and retry semantics (an error crossing threads loses its class).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LatentflowError } from '../contracts/errors.js';

/** What a thread posts back. */
export type ThreadAnswer<T> = { ok: true; result: T } | { ok: false; message: string; retryable: boolean };

/** In a thread's module: runs `work` on the thread's data and posts the answer. */
export async function answerWith<D, T>(work: (data: D) => Promise<T>): Promise<void> {
  try {
    parentPort!.postMessage({ ok: true, result: await work(workerData as D) } satisfies ThreadAnswer<T>);
  } catch (error) {
    const retryable = error instanceof LatentflowError ? error.retryable : true;
    parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error), retryable } satisfies ThreadAnswer<T>);
  }
}
