/**
 * `schedule` jobs (fired by the job schedulers of shared/pipeline/schedules.ts): submit the scheduled work.
 * - `retrain`: a `train` job (with `promoteIfBetter` as scheduled) with the model options and the `normal` label of the
 *   model's latest version, so a retrained version has the same architecture (defaults when the model has no version
 *   yet); for an AutoRec model, a train job of kind `autorec` with its options, on the (ratings) dataset. While an earlier retrain of the same schedule is
 *   still waiting or running, no second one is added (BullMQ deduplication); `submitted` is then the earlier job's id.
 * - `score`: a two-job flow `detect ← encode` on the dataset with the `production` version; detect reads the version
 *   encode resolved, so both use the same one even if production moves meanwhile.
 * Job ids derive from the firing (`<schedule>.<time>`), so a retried schedule job submits nothing twice.
 */
import type { FlowProducer } from 'bullmq';
import { InputError } from '../../shared/contracts/errors.js';
import type { Keyspace } from '../../shared/contracts/keys.js';
import { parsePayload, PRIORITY, type JobResult, type Payload, type PayloadInput } from '../../shared/contracts/queues.js';
import type { z } from 'zod';
import { AutoRecOptionsSchema, type AutoRecOptions } from '../../shared/ml/autorec-config.js';
import { ModelOptionsSchema, type ModelOptions } from '../../shared/ml/model-config.js';
import { silentLogger, type Logger } from '../../shared/pipeline/log.js';
import { FLOW_QUEUES_OPTIONS } from '../../shared/pipeline/flow.js';
import type { PipelineJob, PipelineQueue } from '../../shared/pipeline/queues.js';
import type { ModelRegistry } from '../../shared/store/models.js';

export interface ScheduleDeps {
  /** Where retrain jobs go. */
  train: Pick<PipelineQueue<'train'>, 'add'>;
  /** Adds score flows. */
  flows: Pick<FlowProducer, 'add'>;
  /** Where a retrain finds the options of the model's latest version. */
  models: Pick<ModelRegistry, 'meta'>;
  keys: Keyspace;
  log?: Logger;
}

export function createScheduleProcessor(deps: ScheduleDeps): (job: PipelineJob<'schedule'>) => Promise<JobResult<'schedule'>> {
  const log = deps.log ?? silentLogger;
  return async (job) => {
    const p = parsePayload('schedule', job.data);
    const jobId = firingId(p.schedule, job);
    if (p.kind === 'retrain') {
      const data = await retrainPayload(deps.models, p, log);
      parsePayload('train', data);
      const added = await deps.train.add('train', data, { jobId, priority: PRIORITY.scheduled, deduplication: { id: `schedule.${p.schedule}` } });
      const submitted = added.id ?? jobId;
      log.info(`schedule ${p.schedule}: ${submitted === jobId ? 'submitted' : 'an earlier retrain is still pending:'} train job ${submitted} (${p.model} on ${p.dataset})`);
      return { schedule: p.schedule, kind: p.kind, submitted };
    }
    const encode: PayloadInput<'encode'> = { model: p.model, version: 'production', dataset: p.dataset };
    const detect: PayloadInput<'detect'> = { model: p.model, version: 'production', dataset: p.dataset };
    parsePayload('encode', encode);
    parsePayload('detect', detect);
    await deps.flows.add({
      name: 'detect', queueName: 'detect', prefix: deps.keys.bullPrefix, data: detect, opts: { jobId, priority: PRIORITY.scheduled },
      children: [{ name: 'encode', queueName: 'encode', prefix: deps.keys.bullPrefix, data: encode, opts: { jobId, priority: PRIORITY.scheduled, failParentOnFailure: true } }],
    }, { queuesOptions: FLOW_QUEUES_OPTIONS });
    log.info(`schedule ${p.schedule}: submitted encode → detect ${jobId} (${p.dataset} with ${p.model}@production)`);
    return { schedule: p.schedule, kind: p.kind, submitted: jobId };
  };
}

/** `<schedule>.<time of the firing>`: scheduler job ids are `repeat:<schedule>:<ms>`, and BullMQ ids may not hold `:`. */
function firingId(schedule: string, job: PipelineJob<'schedule'>): string {
  const millis = job.id?.split(':').at(-1);
  return `${schedule}.${millis !== undefined && /^\d+$/.test(millis) ? millis : String(job.timestamp)}`;
}

/**
 * The train job of a retrain: the model options and `normal` label the model's latest version was trained with (none
 * for a new model); kind `autorec` with its AutoRec options when the latest version is a recommender.
 */
async function retrainPayload(models: ScheduleDeps['models'], p: Payload<'schedule'>, log: Logger): Promise<PayloadInput<'train'>> {
  const promote = p.promoteIfBetter ? { promoteIfBetter: true } : {};
  const meta = await models.meta(p.model, 'latest').catch((error: unknown) => {
    if (error instanceof InputError) return undefined;
    throw error;
  });
  if (!meta) return { model: p.model, dataset: p.dataset, ...promote };
  // The options the version was trained with, when they are still valid options (else the defaults, with a warning).
  const reusable = <T>(schema: z.ZodType, options: T): { options?: T } => {
    const parsed = schema.safeParse(options);
    if (parsed.success) return { options };
    log.warn(`${p.model}@${meta.version}: its options are not reusable (${parsed.error.issues[0]?.message}); retraining with the defaults`);
    return {};
  };
  if (meta.kind === 'autorec') {
    return { kind: 'autorec', model: p.model, dataset: p.dataset, ...reusable(AutoRecOptionsSchema, meta.config as AutoRecOptions), ...promote };
  }
  const options = Object.fromEntries(Object.entries(meta.config ?? {}).filter(([k]) => k !== 'inputWidth')) as ModelOptions;
  return {
    model: p.model, dataset: p.dataset, ...reusable(ModelOptionsSchema, options),
    ...(meta.normal !== undefined ? { normal: meta.normal } : {}), ...promote,
  };
}
