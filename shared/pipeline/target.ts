/**
 * Which model version and dataset a job works on. A job in a run's chain takes the version its child (the upstream
 * stage) worked on, read from the child's result: that is the version trained for this run, even when other runs
 * register newer versions of the same model meanwhile. A job on its own resolves its payload's version reference
 * (a number, `latest` or `production`) in the model registry.
 */
import { z } from 'zod';
import type { VersionRef } from '../contracts/queues.js';
import type { EmbeddingTarget } from '../store/embeddings.js';
import type { ModelRegistry } from '../store/models.js';

/** A model version and a dataset: the key of an embedding set. */
export type Target = EmbeddingTarget;

const Upstream = z.object({ model: z.string(), version: z.number().int().positive(), dataset: z.string().optional() });

/** The part of a job this module needs (a BullMQ Job satisfies it). */
export interface ChildValues {
  getChildrenValues(): Promise<Record<string, unknown>>;
}

/** The model version the job's upstream child worked on, or undefined when the job has no such child. */
export async function upstreamVersion(job: ChildValues): Promise<{ model: string; version: number } | undefined> {
  const values = Object.values(await job.getChildrenValues());
  for (const value of values) {
    const parsed = Upstream.safeParse(value);
    if (parsed.success) return { model: parsed.data.model, version: parsed.data.version };
  }
  return undefined;
}

/** The model version of a job: the upstream version when there is one, else the payload's reference resolved. */
export async function resolveVersion(
  job: ChildValues,
  payload: { model: string; version: VersionRef },
  models: Pick<ModelRegistry, 'resolve'>,
): Promise<number> {
  const upstream = await upstreamVersion(job);
  return upstream?.model === payload.model ? upstream.version : models.resolve(payload.model, payload.version);
}

/** The target of a job: {@link resolveVersion} and the payload's dataset. */
export async function resolveTarget(
  job: ChildValues,
  payload: { model: string; version: VersionRef; dataset: string },
  models: Pick<ModelRegistry, 'resolve'>,
): Promise<Target> {
  return { model: payload.model, version: await resolveVersion(job, payload, models), dataset: payload.dataset };
}

