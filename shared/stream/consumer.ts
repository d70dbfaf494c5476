/**
 * One source's consumer loop: XREADGROUP (group `encoders`, this process's consumer name) → parse → score with the
 * source's `production` model → write codes and errors → publish alerts → XACK. Malformed entries (including any
 * beyond a size limit, shared/contracts/limits.ts) go to the source's dead-letter stream with the reason, a copy cut
 * to a bounded size (entries.ts deadLetterCopy), and are acknowledged, after the good ones of their batch; a copy Redis
 * refuses is replaced by the reason alone, so no entry can hold its source up. Only a fault of Redis itself (the bare
 * reason refused too: out of memory, read-only, unreachable) leaves entries pending, to be retried.
 *
 * Codes and errors are kept for the newest `options.embeddingsMaxLen` records per source and model version (the
 * oldest written are dropped with each batch's write, EmbeddingStore.writeBatch `maxLen`).
 *
 * Effects are idempotent, so an entry delivered twice (after a crash, or taken over by XAUTOCLAIM) changes nothing:
 * codes and errors are keyed by record id; alerts are published once per record and scope
 * `<model>@<version>:stream.<source>`. An entry is acknowledged only after its results are written. A batch is
 * scored entirely with the version resolved when it starts. The records scored are counted per source with the
 * acknowledgement (store/telemetry.ts; an entry delivered twice is counted twice).
 *
 * Known limits: a malformed entry whose consumer dies between the dead-letter XADD and the XACK is dead-lettered
 * twice (its `entry` field, the original id, tells them apart); a record taken over after such a crash across a
 * promotion may get codes under both versions (each stored under the version that produced it).
 */
import { inSpan } from '../pipeline/tracing.js';
import { driftBaseline, type DriftBaseline } from '../analytics/drift.js';
import type { Keyspace } from '../contracts/keys.js';
import { streamDataset } from '../contracts/keys.js';
import { STREAM_LIMITS } from '../contracts/limits.js';
import type { Autoencoder } from '../ml/autoencoder.js';
import { isRuntimeCorruption } from '../ml/backend.js';
import type { Logger } from '../pipeline/log.js';
import type { ModelCache } from '../pipeline/model-cache.js';
import type { Alert } from '../store/alerts.js';
import { anomalyAlerts } from '../pipeline/anomaly-alerts.js';
import type { EmbeddingStore, EmbeddingTarget } from '../store/embeddings.js';
import { duplicateRedis, isCluster, type RedisClient } from '../store/redis.js';
import { STREAM_GROUP, type SourceConfig } from '../store/sources.js';
import { TelemetryStore } from '../store/telemetry.js';
import { FIELDS_PER_COMMAND, slices, streamEntries, type StreamEntry } from '../store/util.js';
import { cutUtf8, deadLetterCopy, parseEntry, type StreamRecord } from './entries.js';
import { SourceRateLimit } from './rate-limit.js';
import type { StreamOptions } from '../config.js';
import type { ProductionVersions } from './versions.js';

/** Publishes alerts, once per record within `once` when given (AlertPublisher.publish or AlertStore.publish). */
export type AlertSink = (alerts: Alert[], once?: string) => Promise<unknown>;

/** DriftMonitor.observe: a `drift` alert to publish when the source starts drifting. */
export type DriftObserver = (source: string, model: string, version: number, errors: ArrayLike<number>, baseline: DriftBaseline) => Promise<Alert | undefined>;

/** DriftMonitor.test: the drift alerts of windows that `scores` completed. */
export type DriftTester = (source: string, model: string, version: number, scores: ArrayLike<number>, reference: Float32Array | undefined) => Promise<Alert[]>;

export interface ConsumerDeps {
  /** Commands (never blocked). */
  redis: RedisClient;
  keys: Keyspace;
  versions: ProductionVersions;
  cache: ModelCache;
  embeddings: Pick<EmbeddingStore, 'begin' | 'status' | 'writeBatch' | 'trackUntracked'>;
  publish: AlertSink;
  /** Rolling drift per source against the model's validation loss; none: no drift alerts. */
  drift?: DriftObserver;
  /** DriftMonitor.test: the KS drift test of anomaly scores against the model's reference scores; none: no test. */
  driftTest?: DriftTester;
  log: Logger;
  /**
   * Called when scoring broke the TensorFlow.js runtime (shared/ml/backend.ts `isRuntimeCorruption`): this consumer
   * stops at once, leaving its batch unacknowledged for another encoder, and the process is expected to exit.
   */
  onFatal?: (error: unknown) => void;
  /** This process's consumer name in the group, e.g. `<host>:<pid>`. */
  consumer: string;
  options: StreamOptions;
}

/** What one batch did (for logs and tests). */
export interface BatchOutcome {
  scored: number;
  dead: number;
  alerts: number;
  version?: number;
}

/** First wait after a failed batch (e.g. no production version yet, Redis unreachable), doubled up to MAX_RETRY_MS. */
const RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class SourceConsumer {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private blocking: RedisClient | undefined;
  private blockingId: number | undefined;
  private lastReclaim = 0;
  private retryOwn = false;
  private failures = 0;
  private groupReady = false;
  private readonly begun = new Set<string>();
  private lastVersion: number | undefined;
  private wake: (() => void) | undefined;
  private readonly telemetry: TelemetryStore;
  private readonly rateLimit: SourceRateLimit;
  /** Rate-limit tokens of the last grant that the read did not use, given back with the next request. */
  private unused = 0;

  constructor(readonly source: string, public config: SourceConfig, private readonly deps: ConsumerDeps) {
    this.telemetry = new TelemetryStore(deps.redis, deps.keys);
    this.rateLimit = new SourceRateLimit(deps.redis, deps.keys);
  }

  private get key(): string {
    return this.deps.keys.stream.input(this.source);
  }

  start(): void {
    if (this.loop) return;
    this.blocking = duplicateRedis(this.deps.redis, `${this.deps.keys.prefix}:stream:${this.source}`);
    this.loop = this.run();
  }

  /** Stops reading; the batch in flight is finished and acknowledged first. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.blockingId !== undefined) await this.deps.redis.call('CLIENT', ['UNBLOCK', String(this.blockingId)]).catch(() => undefined);
    await this.loop;
    this.blocking?.disconnect();
  }

  private async run(): Promise<void> {
    const { log } = this.deps;
    while (!this.stopping) {
      try {
        // CLIENT ID / UNBLOCK name one node's connection; on a cluster, stop waits for the block to time out instead.
        if (this.blockingId === undefined && !isCluster(this.blocking!)) this.blockingId = Number(await this.blocking!.call('CLIENT', ['ID']));
        await this.ensureGroup();
        if (Date.now() - this.lastReclaim >= reclaimEvery(this.deps.options.claimMs)) await this.reclaim();
        const { allowed, limited } = await this.allowance();
        if (this.stopping) break;
        const entries = await this.read(this.retryOwn ? '0' : '>', allowed);
        if (limited) this.unused = allowed - entries.length;
        if (this.retryOwn && entries.length === 0) this.retryOwn = false;
        if (entries.length > 0) await inSpan('stream batch', { 'latentflow.source': this.source, 'latentflow.entries': entries.length }, () => this.handle(entries));
        this.failures = 0;
      } catch (error) {
        if (this.stopping) break;
        if (isRuntimeCorruption(error)) {
          log.error(`source ${this.source}: the TensorFlow.js runtime broke while scoring; stopping (the batch stays pending for another encoder)`);
          this.deps.onFatal?.(error);
          break;
        }
        const message = error instanceof Error ? error.message : String(error);
        if (/NOGROUP/.test(message)) this.groupReady = false;
        const wait = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.failures++);
        log.warn(`source ${this.source}: ${message} (retrying in ${wait / 1000} s; unacknowledged entries are kept and retried)`);
        this.retryOwn = true;
        this.blockingId = undefined;
        await this.sleep(wait);
      }
    }
  }

  /** Creates the group at the start of the stream (MKSTREAM); an existing group is fine. */
  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.deps.redis.call('XGROUP', ['CREATE', this.key, STREAM_GROUP, '0', 'MKSTREAM']);
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
    this.groupReady = true;
  }

  /**
   * How many entries the next read may take: the batch size, or under a rate limit (the source's own, else the
   * default) what the source's bucket grants, waiting until it grants some.
   */
  private async allowance(): Promise<{ allowed: number; limited: boolean }> {
    const { count } = this.deps.options;
    const rate = this.config.rateLimit ?? this.deps.options.rateLimit ?? 0;
    if (rate <= 0) return { allowed: count, limited: false };
    for (;;) {
      const { granted, waitMs } = await this.rateLimit.take(this.source, rate, count, this.unused);
      this.unused = 0;
      if (granted > 0 || this.stopping) return { allowed: granted, limited: true };
      await this.sleep(waitMs);
    }
  }

  private async read(from: '>' | '0', count: number): Promise<StreamEntry[]> {
    const block = from === '>' ? ['BLOCK', String(this.deps.options.blockMs)] : [];
    const reply = await this.blocking!.call('XREADGROUP', ['GROUP', STREAM_GROUP, this.deps.consumer, 'COUNT', String(count), ...block, 'STREAMS', this.key, from]);
    return streamEntries(reply);
  }

  /** Takes over entries idle longer than the claim time (their consumer died) and processes them like new ones. */
  private async reclaim(): Promise<void> {
    this.lastReclaim = Date.now();
    const { claimMs, count } = this.deps.options;
    let cursor = '0-0';
    do {
      const reply = (await this.deps.redis.call('XAUTOCLAIM', [this.key, STREAM_GROUP, this.deps.consumer, String(claimMs), cursor, 'COUNT', String(count)])) as unknown[];
      cursor = String(reply[0]);
      const entries = (reply[1] ?? []) as StreamEntry[];
      if (entries.length > 0) {
        this.deps.log.info(`source ${this.source}: took over ${entries.length} entries idle for over ${claimMs} ms`);
        await this.handle(entries);
      }
    } while (cursor !== '0-0' && !this.stopping);
  }

  /** Scores one batch and acknowledges it (malformed entries: dead-lettered and acknowledged). */
  async handle(entries: StreamEntry[]): Promise<BatchOutcome> {
    const { versions, cache } = this.deps;
    const gone = entries.filter(([, f]) => f === null).map(([id]) => id);
    if (gone.length > 0) await this.ack(gone);
    const live = entries.filter((e): e is [string, string[]] => e[1] !== null);
    if (live.length === 0) return { scored: 0, dead: 0, alerts: 0 };
    const name = this.config.model;
    const version = await versions.get(name);
    if (this.lastVersion !== version) {
      this.deps.log.info(`source ${this.source}: scoring with ${name}@${version} (production)`);
      this.lastVersion = version;
    }
    return cache.use(name, version, (model) => this.score(live, model, { model: name, version, dataset: streamDataset(this.source) }));
  }

  private async score(entries: [string, string[]][], model: Autoencoder, target: EmbeddingTarget): Promise<BatchOutcome> {
    const good: Parsed[] = [];
    const bad: Malformed[] = [];
    for (const [entry, fields] of entries) {
      const parsed = parseEntry(fields, model.features);
      if (parsed.ok) good.push({ entry, record: parsed.record, fields });
      else bad.push({ entry, reason: parsed.reason, fields });
    }
    const { alerts, unscorable } = good.length > 0 ? await this.scoreGood(good, model, target) : { alerts: 0, unscorable: [] };
    bad.push(...unscorable);
    if (bad.length > 0) await this.deadLetter(bad);
    return { scored: good.length - unscorable.length, dead: bad.length, alerts, version: target.version };
  }

  /**
   * Scores, stores and acknowledges well-formed records; the number of alerts published, and the records the model
   * cannot score (values so large its layers overflow to a NaN error), left to be dead-lettered.
   */
  private async scoreGood(good: Parsed[], model: Autoencoder, target: EmbeddingTarget): Promise<{ alerts: number; unscorable: Malformed[] }> {
    const width = model.inputWidth;
    const values = new Float32Array(good.length * width);
    good.forEach(({ record }, i) => values.set(record.values, i * width));
    const ids = good.map((g) => g.record.id);
    const matrix = { values, rows: good.length, width, ids, features: model.features, source: `stream ${this.source}` };
    const { codes, errors, scores } = model.score(matrix, { codes: true });
    if (errors.some((e) => Number.isNaN(e))) {
      const unscorable = good.filter((_, i) => Number.isNaN(errors[i])).map(({ entry, record, fields }) => ({
        entry, fields, reason: `the model's reconstruction error is NaN: its layers overflow on these values (largest magnitude ${record.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)})`,
      }));
      const rest = good.filter((_, i) => !Number.isNaN(errors[i]));
      const scored = rest.length > 0 ? await this.scoreGood(rest, model, target) : { alerts: 0, unscorable: [] };
      return { alerts: scored.alerts, unscorable: [...unscorable, ...scored.unscorable] };
    }
    await this.ensureBegun(target, model.codeSize);
    await this.deps.embeddings.writeBatch(target, ids, codes!, scores, { maxLen: this.deps.options.embeddingsMaxLen });

    const threshold = model.threshold?.value;
    let alerts: Alert[] = [];
    if (threshold !== undefined && Number.isFinite(threshold)) {
      alerts = anomalyAlerts(model, matrix, ids, scores, threshold, { source: this.source, model: target.model, version: target.version });
      if (alerts.length > 0) await this.deps.publish(alerts, `${target.model}@${target.version}:${target.dataset}`);
    }
    await this.observeDrift(model, target, errors, scores);
    await Promise.all([this.ack(good.map((g) => g.entry)), this.telemetry.recordsScored(this.source, good.length)]);
    return { alerts: alerts.length, unscorable: [] };
  }

  /**
   * Feeds the batch's anomaly scores to the drift test (against the model's reference scores) and its errors to the
   * rolling drift rule (baseline: `driftBaseline`, the kept epoch's validation loss). Advisory: a failure is logged and
   * does not hold the batch back. An entry delivered twice is counted twice.
   */
  private async observeDrift(model: Autoencoder, target: EmbeddingTarget, errors: Float32Array, scores: Float32Array): Promise<void> {
    if (this.deps.driftTest) {
      try {
        const alerts = await this.deps.driftTest(this.source, target.model, target.version, scores, model.detector.calibration?.scores);
        if (alerts.length > 0) await this.deps.publish(alerts);
      } catch (error) {
        this.deps.log.warn(`source ${this.source}: drift test failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (!this.deps.drift) return;
    const h = model.history;
    const baseline = driftBaseline({ valLoss: h.epochs[h.bestEpoch - 1]?.valLoss, finalLoss: h.epochs.at(-1)?.loss, threshold: model.threshold?.value });
    if (baseline === undefined) return;
    try {
      const alert = await this.deps.drift(this.source, target.model, target.version, errors, baseline);
      if (alert) await this.deps.publish([alert]);
    } catch (error) {
      this.deps.log.warn(`source ${this.source}: drift check failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * XADDs each entry's dead-letter copy (`reason`, `entry`, the fields, cut: see deadLetterCopy), then XACKs it. A
   * copy that cannot be built or that Redis refuses is replaced by the bare `reason` and `entry` with a `truncated`
   * field saying why; if Redis refuses even that, the fault is not the entry's: what was written is acknowledged and
   * the rest stays pending, retried with the batch.
   */
  private async deadLetter(bad: Malformed[]): Promise<void> {
    const copies = bad.map((b) => {
      try {
        return deadLetterCopy(b.entry, b.reason, b.fields);
      } catch (error) {
        return bareCopy(b, error);
      }
    });
    const failed = refusals(bad, await this.xaddEach(copies));
    const refused = failed.length === 0 ? [] : refusals(failed.map((f) => f.item), await this.xaddEach(failed.map((f) => bareCopy(f.item, f.error))));
    const written = bad.filter((b) => !refused.some((r) => r.item === b));
    await this.ack(written.map((b) => b.entry));
    if (written.length > 0) this.deps.log.warn(`source ${this.source}: ${written.length} malformed entries dead-lettered, e.g. ${written[0].entry}: ${cutUtf8(written[0].reason, 200)}`);
    if (refused.length > 0) throw new Error(`the dead-letter stream refused ${refused.length} entries (${errorText(refused[0].error)}); they stay pending`);
  }

  /** One XADD to the dead-letter stream per copy, pipelined; each one's error (null when written). */
  private async xaddEach(copies: string[][]): Promise<(Error | null)[]> {
    const p = this.deps.redis.pipeline();
    const dlq = this.deps.keys.stream.dlq(this.source);
    for (const fields of copies) p.xadd(dlq, 'MAXLEN', '~', String(this.config.maxLen), '*', ...fields);
    const replies = (await p.exec()) ?? [];
    return copies.map((_, i) => replies[i]?.[0] ?? null);
  }

  private async ack(ids: string[]): Promise<void> {
    for (const slice of slices(ids, FIELDS_PER_COMMAND)) await this.deps.redis.xack(this.key, STREAM_GROUP, ...slice);
  }

  /**
   * EmbeddingStore.writeBatch needs `begin` (it records the code size); a stream never completes, so its embedding
   * set is begun once with `records` 0 and stays `writing` (`written` counts the codes). Begun only when missing, so
   * nothing stored is reset.
   */
  private async ensureBegun(t: EmbeddingTarget, codeSize: number): Promise<void> {
    const id = `${t.model}@${t.version}`;
    if (this.begun.has(id)) return;
    const status = await this.deps.embeddings.status(t);
    if (status.state === 'missing' || status.codeSize !== codeSize) await this.deps.embeddings.begin(t, 0, codeSize);
    const adopted = await this.deps.embeddings.trackUntracked(t);
    if (adopted > 0) this.deps.log.info(`source ${this.source}: ${adopted} records stored before retention are now the oldest, dropped first`);
    this.begun.add(id);
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }
}

interface Parsed {
  entry: string;
  record: StreamRecord;
  fields: string[];
}

interface Malformed {
  entry: string;
  reason: string;
  fields: string[];
}

/** A dead-letter copy without the entry's fields, for an entry whose copy could not be built or written. */
function bareCopy(b: Malformed, error: unknown): string[] {
  return [...deadLetterCopy(b.entry, b.reason, []), 'truncated', cutUtf8(`fields not copied: ${errorText(error)}`, STREAM_LIMITS.deadLetterValueBytes)];
}

/** The items whose XADD failed, with the error. */
function refusals<T>(items: T[], errors: (Error | null)[]): { item: T; error: Error }[] {
  return items.flatMap((item, i) => (errors[i] === null ? [] : [{ item, error: errors[i] }]));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How often to look for abandoned entries: half the claim time, between 100 ms and 5 s. */
function reclaimEvery(claimMs: number): number {
  return Math.max(100, Math.min(claimMs / 2, 5000));
}

