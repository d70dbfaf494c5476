/**
 * A run: train → encode → cluster → classify → detect → summary, submitted as ONE BullMQ flow (added atomically).
 *
 * A BullMQ flow is a tree in which children finish before their parent and each job has one parent, so a stage
 * cannot wait for one upstream job and also be waited on by several parents. The run is therefore a chain:
 *
 *   run ← detect ← classify ← cluster ← encode ← train
 *
 * Each job's only child is the stage before it. Each stage returns the model version it worked on, and the next one
 * reads it from its child's result (`job.getChildrenValues()`), so every stage of a run uses the version trained for
 * it, never a `latest` that another run may have moved. The three downstream stages run one after another rather
 * than in parallel: they take seconds next to training, and the static chain needs no job that adds jobs. Their
 * results live in Redis (EmbeddingStore results); the `run` job collects them into the run summary.
 *
 * Every job of a run has the run id as its job id (in its own queue), and `failParentOnFailure`: a stage that fails
 * for good fails every later stage and the run, instead of leaving them waiting for ever. Submitting a run id that
 * exists adds nothing: the first submission stands.
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer, type ConnectionOptions, type FlowJobNode, type FlowJob } from 'bullmq';
import { InputError } from '../contracts/errors.js';
import { NAME_PATTERN, type Keyspace } from '../contracts/keys.js';
import { parsePayload, PRIORITY, QUEUES, RUN_STAGES, type PayloadInput, type RunStage } from '../contracts/queues.js';
import type { AutoRecOptions } from '../ml/autorec-config.js';
import type { ModelOptions } from '../ml/model-config.js';
import type { Manifold } from '../analytics/cluster-codes.js';
import type { DistanceMetric } from '../analytics/neighbours.js';
import type { ThresholdMethod } from '../ml/threshold.js';
import { DEFAULT_JOB_OPTIONS } from './queues.js';
import { bullmqTelemetry } from './tracing.js';

/** What a run does. */
export interface RunRequest {
  /** Run id: letters, digits, `.`, `_`, `-`, not only digits. Default: a random UUID. */
  run?: string;
  model: string;
  dataset: string;
  /** Model options as for `latentflow fit`. */
  options?: ModelOptions;
  /** Train on rows with this label only (anomaly detection). */
  normal?: string;
  /** How training estimates the anomaly threshold. Default quantile 0.99 of validation errors. */
  thresholdMethod?: ThresholdMethod;
  /** Clusters. Default: the number of labels, else chosen by silhouette. */
  k?: number;
  /** `umap`: the cluster stage clusters a UMAP embedding of the codes (N2D). Default none. */
  manifold?: Manifold;
  /** With `manifold: umap`: distance between codes in UMAP's neighbour graph. Default cosine. */
  umapMetric?: DistanceMetric;
  /** Alert threshold on reconstruction error. Default: the model's. */
  threshold?: number;
  /** Held-out share for the SVM's accuracy. Default 0.3. */
  testFraction?: number;
  /** Seed of k-means and of the SVM split. Default 0. */
  seed?: number;
  /** Downstream stages to run (in this order). Default all three; leave out classify for a dataset without labels. */
  stages?: readonly DownstreamStage[];
  /** Every job of the run: PRIORITY.highest (taken first) … PRIORITY.lowest. Default PRIORITY.run. */
  priority?: number;
}

export const DOWNSTREAM_STAGES = ['cluster', 'classify', 'detect'] as const;
export type DownstreamStage = (typeof DOWNSTREAM_STAGES)[number];

export interface SubmittedRun {
  run: string;
  /** Job id of every job of the run, in each queue. */
  jobId: string;
}

/** Job defaults for every queue a flow adds to (a flow's jobs do not inherit a Queue object's defaults). */
export const FLOW_QUEUES_OPTIONS = Object.fromEntries(QUEUES.map((q) => [q, { defaultJobOptions: DEFAULT_JOB_OPTIONS }]));

/** A FlowProducer under the keyspace's BullMQ prefix. */
export function makeFlowProducer(connection: ConnectionOptions, keys: Keyspace): FlowProducer {
  const flows = new FlowProducer({ connection, prefix: keys.bullPrefix, telemetry: bullmqTelemetry() });
  // Its errors are its connection's, which reports them itself (store/redis.ts); unheard, BullMQ would print each in full.
  flows.on('error', () => {});
  return flows;
}

/** Validates every stage's payload (InputError naming the field) and adds the run's flow. */
export async function submitRun(flows: FlowProducer, keys: Keyspace, request: RunRequest): Promise<SubmittedRun> {
  const run = checkRunId(request.run ?? randomUUID());
  const priority = checkPriority(request.priority);
  const { model, dataset, seed } = request;
  const payloads: { [Q in RunStage]: PayloadInput<Q> } = {
    train: { model, dataset, options: request.options, threshold: request.thresholdMethod, normal: request.normal },
    encode: { model, dataset },
    cluster: { model, dataset, k: request.k, seed, manifold: request.manifold, metric: request.umapMetric },
    classify: { model, dataset, testFraction: request.testFraction, seed },
    detect: { model, dataset, threshold: request.threshold },
    run: { run, model, dataset },
  };
  for (const q of RUN_STAGES) parsePayload(q, payloads[q]);

  const node = (q: RunStage, child?: FlowJobNode): FlowJobNode => ({
    name: q,
    queueName: q,
    prefix: keys.bullPrefix,
    data: withoutUndefined(payloads[q]),
    opts: { jobId: run, priority, failParentOnFailure: true },
    ...(child ? { children: [child] } : {}),
  });
  const stages = DOWNSTREAM_STAGES.filter((q) => (request.stages ?? DOWNSTREAM_STAGES).includes(q));
  const chain = (['train', 'encode', ...stages] as const).reduce<FlowJobNode | undefined>((child, q) => node(q, child), undefined)!;
  const flow: FlowJob = { ...node('run', chain), opts: { jobId: run, priority } };
  await flows.add(flow, { queuesOptions: FLOW_QUEUES_OPTIONS });
  return { run, jobId: run };
}

/** What an AutoRec run does: train a recommender on a ratings dataset, then store every user's top `n`. */
export interface AutoRecRunRequest {
  /** Run id, as for {@link RunRequest}. Default: a random UUID. */
  run?: string;
  model: string;
  /** A ratings dataset. */
  dataset: string;
  options?: AutoRecOptions;
  /** Items stored per user. Default 10. */
  n?: number;
  promoteIfBetter?: boolean;
  /** As for {@link RunRequest}. */
  priority?: number;
}

/**
 * Adds the flow `recommend ← train(kind autorec)`: the recommend job (the parent, job id = the run id) stores the
 * top-N lists of the version its train child registered.
 */
export async function submitAutoRecRun(flows: FlowProducer, keys: Keyspace, request: AutoRecRunRequest): Promise<SubmittedRun> {
  const run = checkRunId(request.run ?? randomUUID());
  const { model, dataset } = request;
  const train: PayloadInput<'train'> = { kind: 'autorec', model, dataset, options: request.options, promoteIfBetter: request.promoteIfBetter };
  const recommend: PayloadInput<'recommend'> = { model, n: request.n };
  parsePayload('train', train);
  parsePayload('recommend', recommend);
  const opts = { jobId: run, priority: checkPriority(request.priority) };
  await flows.add({
    name: 'recommend', queueName: 'recommend', prefix: keys.bullPrefix, data: withoutUndefined(recommend), opts,
    children: [{ name: 'train', queueName: 'train', prefix: keys.bullPrefix, data: withoutUndefined(train), opts: { ...opts, failParentOnFailure: true } }],
  }, { queuesOptions: FLOW_QUEUES_OPTIONS });
  return { run, jobId: run };
}

function checkRunId(run: string): string {
  if (!NAME_PATTERN.test(run) || /^\d+$/.test(run)) {
    throw new InputError('run ids use letters, digits, ".", "_" and "-" (up to 128), and are not only digits', { field: 'run', value: run });
  }
  return run;
}

function checkPriority(priority: number = PRIORITY.run): number {
  if (!Number.isInteger(priority) || priority < PRIORITY.highest || priority > PRIORITY.lowest) {
    throw new InputError(`a priority is an integer from ${PRIORITY.highest} (taken first) to ${PRIORITY.lowest}`, { field: 'priority', value: priority });
  }
  return priority;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
