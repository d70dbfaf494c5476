/**
 * CPU-heavy work off the worker's event loop, in worker threads (node:worker_threads), so that lock renewals,
 * heartbeats, cancellations and `/metrics` stay responsive whatever the job computes: UMAP's neighbour graph
 * (`initializeFit`) alone blocks ~10 s in one synchronous call on 10k codes, K-means runs in one block, libsvm's
 * training is one synchronous wasm call (6 s on 10k codes), and a training step of a wide model or a batch of AutoRec
 * ranking is one long block. Clustering and the SVM get a thread per call (it starts in a fraction of a second, small
 * next to the work); training and ranking go to a model thread, which has a TensorFlow.js runtime of its own and is
 * kept for the next task. A job's AbortSignal terminates the thread at once (mid-computation), and the call rejects
 * with the signal's reason; the thread's errors keep their message and retry semantics (./thread-task.ts).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClusterCodesOptions, ClusterCodesResult } from '../analytics/cluster-codes.js';
import type { Matrix } from '../analytics/matrix.js';
import type { SvmJson, SvmOptions } from '../analytics/svm.js';
import { LatentflowError } from '../contracts/errors.js';
import type { Ratings } from '../data/ratings.js';
import type { Table } from '../data/table.js';
import type { Recommendation } from '../ml/autorec.js';
import type { AutoRecOptions } from '../ml/autorec-config.js';
import type { BackendName } from '../ml/backend.js';
import type { ModelOptions } from '../ml/model-config.js';
import type { ThresholdMethod } from '../ml/threshold.js';
import type { ThreadAnswer, ThreadProgress } from './thread-task.js';

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

/** Work for a model thread, with the backend the process runs (the thread starts its own). */
export interface ModelTask {
  task:
    | { kind: 'autoencoder'; table: Table; options?: ModelOptions; threshold?: ThresholdMethod }
    | { kind: 'autorec'; ratings: Ratings; options?: AutoRecOptions }
    /** `source` names the artifact in errors. */
    | { kind: 'recommend'; artifact: Uint8Array; source: string; n: number; users?: string[] };
  backend: BackendName;
  blasThreads?: number;
}
type Fit = ModelTask & { task: { kind: 'autoencoder' | 'autorec' } };
type Rank = ModelTask & { task: { kind: 'recommend' } };

/**
 * Autoencoder.fit or AutoRec.fit in a model thread with its own tfjs runtime; `onEpoch` gets each epoch's progress
 * (AutoRec: its AutoRecEpoch). The trained model's artifact (Autoencoder toArtifact, AutoRec save), to load and
 * register.
 */
export function trainInThread(task: Fit, onEpoch: (progress: unknown) => void, signal?: AbortSignal): Promise<Uint8Array> {
  return inModelThread<Uint8Array>(task, onEpoch, signal);
}

/** An AutoRec's `recommendAll` in a model thread: `onBatch` gets each batch of users' lists in order; the users ranked. */
export function recommendInThread(task: Rank, onBatch: (batch: { user: string; items: Recommendation[] }[]) => void, signal?: AbortSignal): Promise<number> {
  return inModelThread<number>(task, (batch) => onBatch(batch as { user: string; items: Recommendation[] }[]), signal);
}

/**
 * Runs a task in an idle model thread, or a new one. The thread is kept for the next task (starting one and its
 * runtime takes most of a second); a job's abort terminates it mid-step, and one whose runtime broke is discarded.
 */
function inModelThread<T>(task: ModelTask, onProgress: (progress: unknown) => void, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const worker = idleModelThreads.pop() ?? startModelThread();
  worker.ref();
  worker.postMessage(task);
  return settle<T>(worker, 'model', signal, onProgress, (reusable) => {
    if (reusable && idleModelThreads.length < MAX_IDLE_MODEL_THREADS) {
      worker.unref(); // an idle thread keeps no process alive
      idleModelThreads.push(worker);
    } else {
      void worker.terminate();
    }
  });
}

/** Model threads waiting for a task (one per concurrent task the process ran, at most this many). */
const idleModelThreads: Worker[] = [];
const MAX_IDLE_MODEL_THREADS = 4;

function startModelThread(): Worker {
  const worker = startThread(threadFile('model'));
  worker.once('exit', () => {
    const i = idleModelThreads.indexOf(worker);
    if (i >= 0) idleModelThreads.splice(i, 1);
  });
  return worker;
}

/** A one-task thread: starts on `workerData`, answers once, ends. */
function runThread<T>(file: URL, workerData: unknown, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const worker = startThread(file, workerData);
  return settle<T>(worker, fileURLToPath(file), signal, undefined, () => void worker.terminate());
}

function startThread(file: URL, workerData?: unknown): Worker {
  return file.pathname.endsWith('.ts')
    // A thread does not inherit tsx's loader (Node 20): it registers it, then imports the TypeScript file.
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true, workerData })
    : new Worker(file, { workerData });
}

/**
 * The thread's answer to its current task: progress messages go to `onProgress`; `done` is called once, with whether
 * the thread may take another task (it answered and its runtime is whole). An abort terminates the thread and
 * rejects with the signal's reason; a failure keeps its message and retry semantics.
 */
function settle<T>(worker: Worker, name: string, signal: AbortSignal | undefined, onProgress: ((progress: unknown) => void) | undefined, done: (reusable: boolean) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = (reusable: boolean, fn: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      done(reusable);
      fn();
    };
    const onAbort = () => finish(false, () => reject(signal!.reason as Error));
    const onMessage = (message: ThreadAnswer<T> | ThreadProgress) => {
      if ('progress' in message) return onProgress?.(message.progress);
      finish(message.ok || message.broken !== true, () => (message.ok ? resolve(message.result) : reject(new LatentflowError(message.message, message.retryable))));
    };
    const onError = (error: Error) => finish(false, () => reject(error));
    const onExit = (code: number) => finish(false, () => reject(new Error(`the ${name} thread exited with code ${code} before answering`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}
