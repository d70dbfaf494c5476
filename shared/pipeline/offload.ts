/**
 * CPU-heavy analytics off the worker's event loop, in a worker thread per call (node:worker_threads), so that lock
 * renewals, heartbeats, cancellations and `/metrics` stay responsive whatever the job computes: UMAP's neighbour graph
 * (`initializeFit`) alone blocks ~10 s in one synchronous call on 10k codes, and K-means runs in one block too. The
 * thread costs a start-up of a fraction of a second, small next to the work it takes. A job's AbortSignal terminates
 * the thread at once (mid-computation), and the call rejects with the signal's reason.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClusterCodesOptions, ClusterCodesResult } from '../analytics/cluster-codes.js';
import { LatentflowError } from '../contracts/errors.js';

// cluster.thread.js when built; cluster.thread.ts from the sources (tests and benches run through tsx).
const CLUSTER_THREAD = new URL(`./cluster.thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** shared/analytics `clusterCodes` in a worker thread: the same result; its errors keep their message and retry semantics. */
export function clusterCodesInThread(codes: Float32Array | Float64Array, rows: number, width: number, options: ClusterCodesOptions = {}): Promise<ClusterCodesResult> {
  const { signal, ...rest } = options;
  return runThread<ThreadAnswer<ClusterCodesResult>>(CLUSTER_THREAD, { codes, rows, width, options: rest }, signal).then((answer) => {
    if (answer.ok) return answer.result;
    throw new LatentflowError(answer.message, answer.retryable);
  });
}

/** What a thread posts back (./cluster.thread.ts). */
type ThreadAnswer<T> = { ok: true; result: T } | { ok: false; message: string; retryable: boolean };

function runThread<T>(file: URL, workerData: unknown, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason as Error);
    const worker = file.pathname.endsWith('.ts')
      // A thread does not inherit tsx's loader (Node 20): it registers it, then imports the TypeScript file.
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true, workerData })
      : new Worker(file, { workerData });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => {
      void worker.terminate();
      reject(signal!.reason as Error);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (result: T) => finish(() => resolve(result)));
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the clustering thread exited with code ${code} before answering`))));
  });
}
