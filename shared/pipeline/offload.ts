/**
 * CPU-heavy analytics off the worker's event loop, in a worker thread per call (node:worker_threads), so that lock
 * renewals, heartbeats, cancellations and `/metrics` stay responsive whatever the job computes: UMAP's neighbour graph
 * (`initializeFit`) alone blocks ~10 s in one synchronous call on 10k codes, K-means runs in one block, and libsvm's
 * training is one synchronous wasm call (6 s on 10k codes). A thread starts in a fraction of a second, small next to
 * the work it takes. A job's AbortSignal terminates the thread at once (mid-computation), and the call rejects with
 * the signal's reason; the thread's errors keep their message and retry semantics (./thread-task.ts).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClusterCodesOptions, ClusterCodesResult } from '../analytics/cluster-codes.js';
import type { Matrix } from '../analytics/matrix.js';
import type { SvmJson, SvmOptions } from '../analytics/svm.js';
import { LatentflowError } from '../contracts/errors.js';
import type { ThreadAnswer } from './thread-task.js';

/** A thread module next to this one: `<name>.thread.js` when built, `.ts` from the sources (tests, benches via tsx). */
const threadFile = (name: string) => new URL(`./${name}.thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** shared/analytics `clusterCodes` in a worker thread: the same result. */
export function clusterCodesInThread(codes: Float32Array | Float64Array, rows: number, width: number, options: ClusterCodesOptions = {}, signal?: AbortSignal): Promise<ClusterCodesResult> {
  return runThread<ClusterCodesResult>(threadFile('cluster'), { codes, rows, width, options }, signal);
}

/** What {@link svmInThread} returns: the predicted labels of each of `predict`, and the trained model. */
export interface SvmAnswer {
  predictions: string[][];
  svm: SvmJson;
}

/** shared/analytics `trainSvm` on `train` in a worker thread, then its predictions for each matrix of `predict`. */
export function svmInThread(train: Matrix, labels: readonly string[], predict: Matrix[], options: SvmOptions, signal?: AbortSignal): Promise<SvmAnswer> {
  return runThread<SvmAnswer>(threadFile('svm'), { train, labels, predict, options }, signal);
}

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
    worker.once('message', (answer: ThreadAnswer<T>) => finish(() => (answer.ok ? resolve(answer.result) : reject(new LatentflowError(answer.message, answer.retryable)))));
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the ${fileURLToPath(file)} thread exited with code ${code} before answering`))));
  });
}
