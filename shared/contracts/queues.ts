/**
 * Queue names and, per queue, the job payload schema (zod: validated where consumed, since services deploy
 * separately) and the result schema. Payloads carry names and keys, never vectors: the data lives in Redis.
 *
 * Model versions in payloads: a number, or an alias such as `production` or `latest` (resolved by the consumer).
 */
import { z } from 'zod';
import { AutoRecOptionsSchema } from '../ml/autorec-config.js';
import { ModelOptionsInputSchema } from '../ml/model-config.js';
import { ThresholdMethodSchema } from '../ml/threshold.js';
import { CLUSTER_METHODS, MANIFOLDS } from '../analytics/cluster-codes.js';
import { DISTANCE_METRICS } from '../analytics/neighbours.js';
import { ENCODER_CLASSIFIERS } from '../ml/encoder-classifier.js';
import { InputError } from './errors.js';
import { NAME_PATTERN } from './keys.js';
import { JOB_LIMITS } from './limits.js';

export const QUEUES = ['train', 'encode', 'cluster', 'classify', 'detect', 'run', 'webhook', 'schedule', 'recommend'] as const;
export type QueueName = (typeof QUEUES)[number];
/** The queues a run's flow passes through, in order. */
export const RUN_STAGES = ['train', 'encode', 'cluster', 'classify', 'detect', 'run'] as const satisfies readonly QueueName[];
export type RunStage = (typeof RUN_STAGES)[number];

/**
 * Job priorities, BullMQ's way round: a lower number is taken first, equal ones in order of submission; jobs added
 * without a priority (e.g. by another Redis client) are taken before all of them. Interactive runs default to `run`,
 * the jobs a schedule fires to `scheduled`, so a nightly batch waits behind the runs people are watching.
 */
export const PRIORITY = { highest: 1, lowest: 1000, run: 10, scheduled: 100 } as const;

const name = (what: string) => z.string().regex(NAME_PATTERN, `${what} names use letters, digits, ".", "_" and "-" (up to 128)`);
export const DatasetName = name('dataset');
export const ModelName = name('model');
export const VersionRef = z.union([z.number().int().positive(), z.enum(['latest', 'production'])]);
export type VersionRef = z.infer<typeof VersionRef>;

const target = { model: ModelName, version: VersionRef.default('latest'), dataset: DatasetName };

/** Free text a client chooses (a label value, a run or schedule name, a user id): at most JOB_LIMITS.textChars. */
const text = () => z.string().min(1).max(JOB_LIMITS.textChars, `at most ${JOB_LIMITS.textChars} characters`);

/**
 * Sanity caps of numeric payload fields, far above any real use, so that no job can ask for unbounded work. (Model
 * options have theirs in shared/ml/model-config.ts.)
 */
export const PAYLOAD_CAPS = {
  /** `cluster` k (also the UMAP components with `manifold: umap`). */
  clusters: 1000,
  /** `classify` maxTrain: the SVM's cost grows with the square of its training rows. */
  maxTrain: 100_000,
  /** `classify` alpha. */
  alpha: 1e6,
} as const;

/** An alerts stream entry id, `<ms>-<seq>`. */
export const ALERT_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;

/** The classifiers of `classify` jobs and `evaluate`: an SVM on the codes, or one built on the encoder (shared/ml/encoder-classifier.ts). */
export const CLASSIFIERS = ['svm', ...ENCODER_CLASSIFIERS] as const;
export type ClassifierName = (typeof CLASSIFIERS)[number];

export const PAYLOADS = {
  /**
   * Train a new version of `model`. Kind `autoencoder` (the default): on the dataset `dataset` (only rows labelled
   * `normal`, when given). Kind `autorec`: an AutoRec recommender on the ratings dataset `dataset`.
   */
  train: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('autoencoder').optional(),
      model: ModelName,
      dataset: DatasetName,
      /** Model options as for `latentflow fit`; defaults apply to what is absent. */
      options: ModelOptionsInputSchema.optional(),
      threshold: ThresholdMethodSchema.optional(),
      /** Train only on rows whose label is this value (anomaly detection). */
      normal: z.string().max(JOB_LIMITS.textChars, `at most ${JOB_LIMITS.textChars} characters`).optional(),
      /** After training, point the `production` alias at the new version if its final validation loss is lower than the current production version's. */
      promoteIfBetter: z.boolean().optional(),
    }).strict(),
    z.object({
      kind: z.literal('autorec'),
      model: ModelName,
      /** A ratings dataset (`latentflow dataset import <file> --ratings`). */
      dataset: DatasetName,
      /** AutoRec options as for `latentflow autorec evaluate`; defaults apply to what is absent. */
      options: AutoRecOptionsSchema.optional(),
      /** As for autoencoders; AutoRec versions compare their final training loss. */
      promoteIfBetter: z.boolean().optional(),
    }).strict(),
  ]),
  /** Write codes and reconstruction errors of every record of `dataset`. */
  encode: z.object({ ...target, /** Rows per batch written. Default 1024. */ batchSize: z.number().int().min(1).max(65536).default(1024) }).strict(),
  /** K-means on the stored codes; k defaults to the number of labels (else chosen by silhouette). */
  cluster: z.object({
    ...target, k: z.number().int().min(2).max(PAYLOAD_CAPS.clusters).optional(), seed: z.number().int().nonnegative().default(0),
    /** `umap`: cluster a UMAP embedding of the codes (N2D, McConville et al. 2020) instead of the codes themselves. */
    manifold: z.enum(MANIFOLDS).default('none'),
    /** With `umap`: distance between codes in its neighbour graph (cosine: the codes' direction only). */
    metric: z.enum(DISTANCE_METRICS).default('cosine'),
    /** `kmeans` (k-means++ with restarts); the only method (no maintained npm Gaussian mixture fitted, issue 9). */
    method: z.enum(CLUSTER_METHODS).default('kmeans'),
  }).strict(),
  /**
   * A classifier on labelled codes: accuracy on a held-out part, predictions for every record. `svm`: an RBF SVM on the
   * stored codes; `frozen`: a softmax head on the model's encoder, head trained only; `finetune`: then the encoder too,
   * at a smaller learning rate; `joint`: head and decoder trained together on cross-entropy + alpha × reconstruction.
   */
  classify: z.object({
    ...target, testFraction: z.number().gt(0).lt(1).default(0.3), seed: z.number().int().nonnegative().default(0),
    classifier: z.enum(CLASSIFIERS).default('svm'),
    /** `joint` only: weight of the reconstruction loss. */
    alpha: z.number().nonnegative().max(PAYLOAD_CAPS.alpha).default(1),
    /** The SVM trains on about this many of the training part's rows at most (a stratified sample): its cost grows with the square of the rows. */
    maxTrain: z.number().int().min(2).max(PAYLOAD_CAPS.maxTrain).default(10_000),
  }).strict(),
  /** Records whose error exceeds the threshold (default: the model's) become alerts. */
  detect: z.object({ ...target, threshold: z.number().positive().optional() }).strict(),
  /** Parent of a run's flow: collects its children's results into a summary. */
  run: z.object({ run: text(), model: ModelName, dataset: DatasetName }).strict(),
  /**
   * Deliver one alert to the webhook: the downstream service reads entry `alertId` of the alerts stream and POSTs it,
   * signed, to its LATENTFLOW_WEBHOOK_URL. A job names neither the URL nor the body.
   */
  webhook: z.object({ alertId: z.string().regex(ALERT_ID_PATTERN, 'an alerts stream entry id (<ms>-<seq>)') }).strict(),
  /** A schedule fired: retrain `model` on `dataset` (optionally promoting a better version), or score `dataset` with the production model. */
  schedule: z.object({
    schedule: text(),
    kind: z.enum(['retrain', 'score']),
    model: ModelName,
    dataset: DatasetName,
    promoteIfBetter: z.boolean().default(false),
  }).strict(),
  /** Store every user's (or the listed users') top `n` unseen items under an AutoRec model version. */
  recommend: z.object({
    model: ModelName,
    version: VersionRef.default('latest'),
    n: z.number().int().min(1).max(1000).default(10),
    /** Only these users (default: every user the model knows). */
    users: z.array(text()).min(1).max(JOB_LIMITS.users, `at most ${JOB_LIMITS.users} users`).optional(),
  }).strict(),
} as const satisfies Record<QueueName, z.ZodType>;

export type Payload<Q extends QueueName> = z.output<(typeof PAYLOADS)[Q]>;
export type PayloadInput<Q extends QueueName> = z.input<(typeof PAYLOADS)[Q]>;

/** Every stage after train returns the model version it worked on; the next stage of a run reads it from there. */
const stage = { model: z.string(), version: z.number().int(), dataset: z.string() };

export const RESULTS = {
  train: z.object({
    model: z.string(), version: z.number().int(), backend: z.string(), kind: z.literal('autorec').optional(),
    epochs: z.number().int(), seconds: z.number(), samplesPerSecond: z.number(), finalLoss: z.number(),
    /** The anomaly threshold (absent when none was estimated, and for AutoRec). */ threshold: z.number().optional(),
    /** With `promoteIfBetter`: whether `production` now points at this version. */ promoted: z.boolean().optional(),
  }),
  encode: z.object({ ...stage, records: z.number().int(), meanError: z.number() }),
  cluster: z.object({
    ...stage, k: z.number().int(), inertia: z.number(), silhouette: z.number(), nmi: z.number().optional(), ari: z.number().optional(),
    manifold: z.enum(MANIFOLDS).optional(), method: z.enum(CLUSTER_METHODS).optional(),
  }),
  classify: z.object({
    ...stage, accuracy: z.number(), macroF1: z.number(), trained: z.number().int(), tested: z.number().int(), predicted: z.number().int(),
    classifier: z.enum(CLASSIFIERS).optional(),
  }),
  detect: z.object({ ...stage, threshold: z.number(), alerts: z.number().int() }),
  /** The run summary; a section is absent when its stage was not part of the run. */
  run: z.object({
    ...stage,
    run: z.string(),
    /** Records encoded. */
    records: z.number().int(),
    /** Codes stored. */
    embeddings: z.number().int(),
    meanError: z.number().optional(),
    clustering: z.object({ k: z.number().int(), nmi: z.number().optional(), ari: z.number().optional(), silhouette: z.number() }).optional(),
    classification: z.object({ accuracy: z.number(), macroF1: z.number() }).optional(),
    anomalies: z.object({ threshold: z.number(), alerts: z.number().int() }).optional(),
  }),
  webhook: z.object({ status: z.number().int(), attempts: z.number().int() }),
  schedule: z.object({ schedule: z.string(), kind: z.string(), submitted: z.string() }),
  recommend: z.object({ model: z.string(), version: z.number().int(), n: z.number().int(), users: z.number().int(), seconds: z.number() }),
} as const satisfies Record<QueueName, z.ZodType>;

export type JobResult<Q extends QueueName> = z.output<(typeof RESULTS)[Q]>;

/**
 * Validates a payload where it is consumed; the error names the field (a non-retryable failure). A payload larger
 * than JOB_LIMITS.payloadBytes as JSON is refused before it is parsed.
 */
export function parsePayload<Q extends QueueName>(queue: Q, data: unknown): Payload<Q> {
  const bytes = jsonBytes(data);
  if (bytes > JOB_LIMITS.payloadBytes) {
    throw new InputError(`the payload is ${bytes} bytes as JSON, more than the ${JOB_LIMITS.payloadBytes} allowed`, { source: `${queue} job` });
  }
  const parsed = PAYLOADS[queue].safeParse(data);
  if (parsed.success) return parsed.data as Payload<Q>;
  const issue = parsed.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.join('.') : undefined;
  throw new InputError(issue.message, { source: `${queue} job`, field });
}

/** Bytes of `data` as JSON (0 for what JSON cannot hold: the schema refuses it). */
function jsonBytes(data: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(data) ?? '');
  } catch {
    return 0;
  }
}
