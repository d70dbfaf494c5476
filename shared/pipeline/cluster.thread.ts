/**
 * The body of a clustering worker thread (./offload.ts): clusters the codes it is given and posts back the result, or
 * the error's message and retry semantics (an error crossing threads loses its class).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { clusterCodes, type ClusterCodesOptions } from '../analytics/cluster-codes.js';
import { LatentflowError } from '../contracts/errors.js';

const { codes, rows, width, options } = workerData as { codes: Float32Array | Float64Array; rows: number; width: number; options: Omit<ClusterCodesOptions, 'signal'> };
try {
  parentPort!.postMessage({ ok: true, result: await clusterCodes(codes, rows, width, options) });
} catch (error) {
  const retryable = error instanceof LatentflowError ? error.retryable : true;
  parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error), retryable });
}
