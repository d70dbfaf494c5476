/** The body of a clustering worker thread (./offload.ts clusterCodesInThread). */
import { clusterCodes, type ClusterCodesOptions } from '../analytics/cluster-codes.js';
import { answerWith } from './thread-task.js';

await answerWith(({ codes, rows, width, options }: { codes: Float32Array | Float64Array; rows: number; width: number; options: ClusterCodesOptions }) =>
  clusterCodes(codes, rows, width, options));
