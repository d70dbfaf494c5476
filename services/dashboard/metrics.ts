/**
 * What the dashboard's `GET /metrics` serves: Prometheus text (prom-client) of the whole pipeline, read from Redis at
 * each scrape, since the workers run in other processes on any host. Every figure but the `latentflow_dashboard_*`
 * process metrics is the same whichever dashboard replica is scraped, and survives a dashboard restart.
 *
 * | metric | type | labels | from |
 * |---|---|---|---|
 * | `latentflow_jobs_completed_total` | counter | queue | BullMQ's job metrics (every worker counts, all time) |
 * | `latentflow_jobs_failed_total` | counter | queue | the same; a job counts once when it fails for good, not per attempt |
 * | `latentflow_queue_jobs` | gauge | queue, state | `Queue.getJobCounts()` (completed/failed: the jobs still kept) |
 * | `latentflow_stage_duration_seconds` | histogram | queue | completed jobs' last attempt, recorded by the workers |
 * | `latentflow_records_scored_total` | counter | source | records given codes and errors: encode jobs (source = dataset) and stream consumers (source = stream source) |
 * | `latentflow_alerts_total` | counter | source, severity, kind | alerts appended to the alerts stream (not duplicates, not cooled-down ones) |
 * | `latentflow_stream_length` | gauge | source | XLEN of the source's input stream |
 * | `latentflow_stream_lag` | gauge | source | entries not yet delivered to the encoders' group (the whole length before the group exists; absent when Redis cannot tell) |
 * | `latentflow_stream_pending` | gauge | source | entries delivered to an encoder and not yet acknowledged |
 * | `latentflow_stream_consumers` | gauge | source | consumers in the encoders' group |
 * | `latentflow_stream_dead_letters` | gauge | source | XLEN of the source's dead-letter stream |
 * | `latentflow_model_version` | gauge | model, alias | the version each alias points at, and `latest` |
 * | `latentflow_worker_up` | gauge | service, instance | 1 per worker process with a fresh heartbeat (stale ones disappear) |
 * | `latentflow_tfjs_tensors` | gauge | service, instance, backend | tensors allocated in that worker's TensorFlow.js backend |
 * | `latentflow_worker_resident_memory_bytes` | gauge | service, instance | that worker's resident set size |
 * | `latentflow_dashboard_*` | various | | prom-client's default process metrics of the dashboard itself |
 *
 * Counters show the all-time totals kept in Redis (so a total that drops, e.g. after a flush, reads as a counter
 * reset). A scrape reads each concern once (metrics of one concern share one read) and deletes stale worker heartbeats.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type HistogramConfiguration } from 'prom-client';
import type { Keyspace } from '../../shared/contracts/keys.js';
import { QUEUES } from '../../shared/contracts/queues.js';
import { readWorkers, type WorkerStatus } from '../../shared/pipeline/heartbeat.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { ModelRegistry } from '../../shared/store/models.js';
import type { RedisClient } from '../../shared/store/redis.js';
import { SourceStore, STREAM_GROUP, type SourceStats } from '../../shared/store/sources.js';
import { STAGE_BUCKETS, TelemetryStore, type StoredHistogram } from '../../shared/store/telemetry.js';

export interface MetricsDeps {
  /** Any connection (the dashboard's); not closed by `close()`. */
  redis: RedisClient;
  keys: Keyspace;
}

export interface DashboardMetrics {
  /** A registry of its own (not prom-client's global one); the caller may register more metrics on it. */
  registry: Registry;
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  contentType: string;
  /** The exposition text, read from Redis now. Rejects only when Redis does (an empty Redis is fine). */
  render(): Promise<string>;
  /** Closes the queues it opened; the Redis connection stays open. */
  close(): Promise<void>;
}

interface QueueFigures {
  queue: string;
  completed: number;
  failed: number;
  counts: Record<string, number>;
}

interface SourceFigures extends SourceStats {
  source: string;
}

/** The figures of one concern, read at most once at a time: metrics scraped together share the read. */
function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => (inFlight ??= read().finally(() => (inFlight = undefined)));
}

export async function createDashboardMetrics(deps: MetricsDeps): Promise<DashboardMetrics> {
  const { redis, keys } = deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latentflow_dashboard_' });
  const queues = QUEUES.map((q) => makeQueue(q, redis, keys));
  // The connection reports its own errors (redacted, throttled); a queue nobody listens to would print each one.
  for (const queue of queues) queue.on('error', () => {});
  try {
    await Promise.all(queues.map((q) => q.waitUntilReady()));
  } catch (error) {
    await Promise.allSettled(queues.map((q) => q.close()));
    throw error;
  }
  const telemetry = new TelemetryStore(redis, keys);
  const sourceStore = new SourceStore(redis, keys);
  const models = new ModelRegistry(redis, keys);

  const jobs = sharedRead(() => Promise.all(queues.map(async (queue): Promise<QueueFigures> => {
    const [completed, failed, counts] = await Promise.all([queue.getMetrics('completed', 0, 0), queue.getMetrics('failed', 0, 0), queue.getJobCounts()]);
    return { queue: queue.name, completed: completed.meta.count, failed: failed.meta.count, counts };
  })));
  const counters = sharedRead(() => telemetry.read());
  const streams = sharedRead(async () => Promise.all((await sourceStore.list()).map(async ({ source }): Promise<SourceFigures> => ({ source, ...(await sourceStore.stats(source)) }))));
  const workers = sharedRead(() => readWorkers(redis, keys));
  const registers = [registry];

  new Counter({
    name: 'latentflow_jobs_completed_total', help: 'Jobs completed, per queue, by every worker (BullMQ job metrics).', labelNames: ['queue'], registers,
    async collect() {
      const figures = await jobs();
      this.reset();
      for (const f of figures) this.inc({ queue: f.queue }, f.completed);
    },
  });
  new Counter({
    name: 'latentflow_jobs_failed_total', help: 'Jobs failed for good (after their last attempt), per queue (BullMQ job metrics).', labelNames: ['queue'], registers,
    async collect() {
      const figures = await jobs();
      this.reset();
      for (const f of figures) this.inc({ queue: f.queue }, f.failed);
    },
  });
  new Gauge({
    name: 'latentflow_queue_jobs', help: 'Jobs per queue and state now (completed and failed: the jobs still kept).', labelNames: ['queue', 'state'], registers,
    async collect() {
      const figures = await jobs();
      this.reset();
      for (const f of figures) for (const [state, n] of Object.entries(f.counts)) this.set({ queue: f.queue, state }, n);
    },
  });
  new StoredHistogramMetric({
    name: 'latentflow_stage_duration_seconds', help: 'Duration of completed jobs (their last attempt), per queue.', labelNames: ['queue'], registers,
    buckets: [...STAGE_BUCKETS],
  }, async () => (await counters()).durations);
  new Counter({
    name: 'latentflow_records_scored_total', help: 'Records given codes and reconstruction errors, per source (dataset of an encode job, or stream source).', labelNames: ['source'], registers,
    async collect() {
      const { records } = await counters();
      this.reset();
      for (const [source, n] of records) this.inc({ source }, n);
    },
  });
  new Counter({
    name: 'latentflow_alerts_total', help: 'Alerts appended to the alerts stream, per source, severity and kind.', labelNames: ['source', 'severity', 'kind'], registers,
    async collect() {
      const { alerts } = await counters();
      this.reset();
      for (const { source, severity, kind, count } of alerts) this.inc({ source, severity, kind }, count);
    },
  });
  streamGauge('latentflow_stream_length', 'Entries in the source\'s input stream.', (s) => s.length);
  streamGauge('latentflow_stream_lag', 'Entries of the source\'s input stream not yet delivered to the encoders.', (s) => {
    const group = s.groups.find((g) => g.name === STREAM_GROUP);
    return group ? group.lag ?? undefined : s.length;
  });
  streamGauge('latentflow_stream_pending', 'Entries delivered to an encoder and not yet acknowledged.', (s) => s.groups.find((g) => g.name === STREAM_GROUP)?.pending ?? 0);
  streamGauge('latentflow_stream_consumers', 'Consumers in the encoders\' group of the source.', (s) => s.groups.find((g) => g.name === STREAM_GROUP)?.consumers ?? 0);
  streamGauge('latentflow_stream_dead_letters', 'Entries in the source\'s dead-letter stream.', (s) => s.dlq);
  new Gauge({
    name: 'latentflow_model_version', help: 'The version each alias of a model points at, and its latest version.', labelNames: ['model', 'alias'], registers,
    async collect() {
      const list = await models.list();
      this.reset();
      for (const m of list) {
        this.set({ model: m.name, alias: 'latest' }, m.versions.at(-1)!.version);
        for (const [alias, version] of Object.entries(m.aliases)) this.set({ model: m.name, alias }, version);
      }
    },
  });
  workerGauge('latentflow_worker_up', 'A worker process with a fresh heartbeat.', ['service', 'instance'], () => 1);
  workerGauge('latentflow_tfjs_tensors', 'Tensors allocated in a worker\'s TensorFlow.js backend.', ['service', 'instance', 'backend'], (w) => w.tensors);
  workerGauge('latentflow_worker_resident_memory_bytes', 'Resident set size of a worker process.', ['service', 'instance'], (w) => w.rssBytes);

  function streamGauge(name: string, help: string, value: (s: SourceFigures) => number | undefined): void {
    new Gauge({
      name, help, labelNames: ['source'], registers,
      async collect() {
        const figures = await streams();
        this.reset();
        for (const s of figures) {
          const v = value(s);
          if (v !== undefined) this.set({ source: s.source }, v);
        }
      },
    });
  }

  function workerGauge<L extends 'service' | 'instance' | 'backend'>(name: string, help: string, labelNames: L[], value: (w: WorkerStatus) => number): void {
    new Gauge<L>({
      name, help, labelNames, registers,
      async collect() {
        const live = await workers();
        this.reset();
        for (const w of live) this.set(Object.fromEntries(labelNames.map((l) => [l, w[l]])) as Record<L, string>, value(w));
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      registry.clear();
    },
  };
}

/** What prom-client's `get()` promises for a histogram. */
type HistogramSamples = Awaited<ReturnType<Histogram<string>['get']>>;

/**
 * A histogram whose buckets live in Redis (store/telemetry.ts), summed by every worker: `get()` reads them instead of
 * this process's observations. Buckets are made cumulative here; an observation stored under a bound that is no
 * longer in the configured buckets counts from the next larger configured bound up.
 */
class StoredHistogramMetric extends Histogram<string> {
  private readonly bounds: number[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(config: HistogramConfiguration<string> & { buckets: number[] }, private readonly load: () => Promise<Map<string, StoredHistogram>>) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  override async get(): Promise<HistogramSamples> {
    const values: HistogramSamples['values'] = [];
    for (const [queue, h] of [...(await this.load())].sort(([a], [b]) => a.localeCompare(b))) {
      for (const bound of this.bounds) {
        let cumulative = 0;
        for (const [stored, n] of h.buckets) if (stored <= bound) cumulative += n;
        values.push({ metricName: `${this.metricName}_bucket`, labels: { queue, le: bound }, value: cumulative });
      }
      values.push(
        { metricName: `${this.metricName}_bucket`, labels: { queue, le: '+Inf' }, value: h.count },
        { metricName: `${this.metricName}_sum`, labels: { queue }, value: h.sum },
        { metricName: `${this.metricName}_count`, labels: { queue }, value: h.count },
      );
    }
    // prom-client's typings declare `type` as an enum; its runtime and the text format use the string.
    return { name: this.metricName, help: this.metricHelp, type: 'histogram' as unknown as HistogramSamples['type'], aggregator: 'sum', collect: () => undefined, values };
  }

  /** What prom-client's Registry reads for the text format (the samples carry every label themselves). */
  getForPromString(): Promise<HistogramSamples> {
    return this.get();
  }
}
