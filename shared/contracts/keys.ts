/**
 * Every Redis key latentflow writes, built in one place. Keys of one entity share a hash tag (`{...}`), so every
 * multi-key command on them stays in one Redis Cluster slot; BullMQ's prefix carries its own hash tag so that flows
 * across queues stay in one slot too.
 *
 * Glossary: a *dataset* is a named matrix imported once (chunks of binary Float32 rows, ids, labels, schema); a
 * *model* is a named series of versions of trained artifacts with aliases such as `production`; *embeddings* are the
 * codes and reconstruction errors of one dataset under one model version; a *ratings dataset* is a named list of
 * (user, item, rating) triples for the AutoRec recommender; *recommendations* are each user's top items under one
 * AutoRec model version; *telemetry* is what the dashboard's `/metrics` reads: counters the workers add to (records
 * scored, alerts appended, stage durations) and the workers' heartbeats.
 */

export interface Keyspace {
  prefix: string;
  /** Prefix handed to BullMQ queues, workers and flows. */
  bullPrefix: string;
  dataset: {
    /** Hash: schema and sizes (JSON fields), written last so a dataset is visible only once complete. */
    meta(name: string): string;
    /** String: binary Float32 rows of chunk `index`. */
    chunk(name: string, index: number): string;
    /** String: JSON array of the ids of chunk `index`. */
    ids(name: string, index: number): string;
    /** String: JSON array of the labels of chunk `index` (absent without labels). */
    labels(name: string, index: number): string;
    /** Set of dataset names. */
    index(): string;
  };
  ratings: {
    /** Hash: the ratings dataset's meta fields (JSON), written last so a ratings dataset is visible only once complete. */
    meta(name: string): string;
    /** String: JSON array of the user ids (index = the user index of the entries). */
    users(name: string): string;
    /** String: JSON array of the item ids. */
    items(name: string): string;
    /** String: the entries as binary little-endian Int32 user indices, Int32 item indices, Float32 ratings. */
    entries(name: string): string;
    /** Set of ratings dataset names. */
    index(): string;
  };
  recommendations: {
    /** Hash: user id → JSON array of `[item, predicted rating]`, best first. */
    top(model: string, version: number): string;
    /** Hash: how the recommendations were made (n, users, state; `complete` once every user is written). */
    meta(model: string, version: number): string;
  };
  model: {
    /** Hash: version number → metadata JSON (no weights). */
    versions(name: string): string;
    /** String: the artifact bytes of one version. */
    artifact(name: string, version: number): string;
    /** Hash: alias (e.g. production) → version number. */
    aliases(name: string): string;
    /** Counter of versions handed out. */
    counter(name: string): string;
    /** Hash: idempotency key (e.g. the train job's id) → the version it registered. */
    registrations(name: string): string;
    /** List: versions an alias pointed at before, newest first (for rollback). */
    aliasHistory(name: string, alias: string): string;
    /** Set of model names. */
    index(): string;
  };
  embeddings: {
    /** Hash: record id → binary Float32 code. */
    codes(model: string, version: number, dataset: string): string;
    /** Sorted set: record id scored by reconstruction error (the ranking). */
    errors(model: string, version: number, dataset: string): string;
    /** Hash: state and counts of the embedding set; `complete` only after every batch is written. */
    meta(model: string, version: number, dataset: string): string;
    /** Hash: record id → cluster index. */
    clusters(model: string, version: number, dataset: string): string;
    /** Hash: record id → predicted label. */
    predictions(model: string, version: number, dataset: string): string;
    /** Hash: results of the downstream stages (centroids, SVM model, metrics) as JSON fields. */
    results(model: string, version: number, dataset: string): string;
    /**
     * Sorted set: record id scored by when it was last written (ms). Kept for stream embeddings only, whose oldest
     * records are dropped beyond LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN.
     */
    written(model: string, version: number, dataset: string): string;
  };
  /** Stream of anomaly alerts (capped). */
  alerts(): string;
  /** Pub/sub channel: every alert appended to `alerts()` is also published here as JSON, for live listeners. */
  alertsChannel(): string;
  /** String with a TTL: set while an entity (source + record key) is in its alert cool-down; its value counts suppressed alerts. */
  alertCooldown(source: string, entity: string): string;
  stream: {
    /** Input stream of one source: records XADDed by any client. */
    input(source: string): string;
    /** Dead-letter stream of one source: malformed entries with the reason and the original fields. */
    dlq(source: string): string;
    /** Hash: rolling reconstruction-error statistics of one source, for drift detection. */
    drift(source: string): string;
    /** List: anomaly scores of one source waiting for their drift-test window to fill (DriftMonitor.test). */
    driftWindow(source: string): string;
    /** Hash {tokens, at}: the source's ingestion rate-limit bucket, shared by every encoder (stream/rate-limit.ts). */
    rate(source: string): string;
  };
  /** Hash: source name → JSON source configuration (model, options). */
  sources(): string;
  /** Pub/sub channel of model registry events (JSON `{model, alias, version}` on promotion or rollback). */
  modelEvents(): string;
  /**
   * Record ids already alerted in one scope (e.g. model@version on a dataset), scored by when (ms); same cluster slot as
   * `alerts()`. Marks older than LATENTFLOW_ALERTS_DEDUP_MS, and beyond LATENTFLOW_ALERTS_MAXLEN per scope, are dropped.
   */
  alertsSent(scope: string): string;
  /** String with a TTL: a dashboard browser session (its value: JSON with the session's action token). */
  dashboardSession(id: string): string;
  /** String with a TTL: set when jobs with this id (a run's, or one job's) are cancelled; workers fail them when taken. */
  cancelled(jobId: string): string;
  /** Pub/sub channel: job ids to cancel, for the workers running them. */
  cancelChannel(): string;
  telemetry: {
    /** Hash: source (a dataset name, or a stream source's name) → records scored, all time (one HINCRBY per batch). */
    records(): string;
    /**
     * Hash: JSON `[source, severity, kind]` → alerts appended to `alerts()`, all time; same cluster slot as `alerts()`, so
     * the append script counts each alert with its XADD (duplicates and cooled-down alerts are not counted).
     */
    alerts(): string;
    /**
     * Hash: durations of completed jobs per queue, all time: `<queue>:le:<bound>` → jobs that took at most `<bound>`
     * seconds and more than the next smaller bound (not cumulative; `+Inf` above the largest), `<queue>:sum` (seconds),
     * `<queue>:count`.
     */
    durations(): string;
    /** Hash: worker instance (`<service>@<host>:<pid>`) → its last heartbeat (JSON). */
    workers(): string;
    /** Sorted set: worker instance scored by the Redis server's time (ms) of its last heartbeat; same slot as `workers()`. */
    workersSeen(): string;
  };
}

export function keyspace(prefix = 'lf'): Keyspace {
  const ds = (name: string) => `${prefix}:{ds:${name}}`;
  const md = (name: string) => `${prefix}:{model:${name}}`;
  const emb = (model: string, version: number, dataset: string) => `${prefix}:{emb:${model}:${version}:${dataset}}`;
  const rt = (name: string) => `${prefix}:{rt:${name}}`;
  const rec = (model: string, version: number) => `${prefix}:{rec:${model}:${version}}`;
  return {
    prefix,
    bullPrefix: `{${prefix}}:bull`,
    dataset: {
      meta: (name) => `${ds(name)}:meta`,
      chunk: (name, i) => `${ds(name)}:chunk:${i}`,
      ids: (name, i) => `${ds(name)}:ids:${i}`,
      labels: (name, i) => `${ds(name)}:labels:${i}`,
      index: () => `${prefix}:datasets`,
    },
    ratings: {
      meta: (name) => `${rt(name)}:meta`,
      users: (name) => `${rt(name)}:users`,
      items: (name) => `${rt(name)}:items`,
      entries: (name) => `${rt(name)}:entries`,
      index: () => `${prefix}:ratings`,
    },
    recommendations: {
      top: (m, v) => `${rec(m, v)}:top`,
      meta: (m, v) => `${rec(m, v)}:meta`,
    },
    model: {
      versions: (name) => `${md(name)}:versions`,
      artifact: (name, v) => `${md(name)}:artifact:${v}`,
      aliases: (name) => `${md(name)}:aliases`,
      counter: (name) => `${md(name)}:counter`,
      registrations: (name) => `${md(name)}:registrations`,
      aliasHistory: (name, alias) => `${md(name)}:alias-history:${alias}`,
      index: () => `${prefix}:models`,
    },
    embeddings: {
      codes: (m, v, d) => `${emb(m, v, d)}:codes`,
      errors: (m, v, d) => `${emb(m, v, d)}:errors`,
      meta: (m, v, d) => `${emb(m, v, d)}:meta`,
      clusters: (m, v, d) => `${emb(m, v, d)}:clusters`,
      predictions: (m, v, d) => `${emb(m, v, d)}:predictions`,
      results: (m, v, d) => `${emb(m, v, d)}:results`,
      written: (m, v, d) => `${emb(m, v, d)}:written`,
    },
    alerts: () => `${prefix}:alerts`,
    alertsSent: (scope) => `{${prefix}:alerts}:sent:${scope}`,
    alertsChannel: () => `${prefix}:alerts:live`,
    dashboardSession: (id) => `${prefix}:dashboard:session:${id}`,
    cancelled: (jobId) => `${prefix}:cancelled:${jobId}`,
    cancelChannel: () => `${prefix}:cancel`,
    alertCooldown: (source, entity) => `{${prefix}:alerts}:cooldown:${source}:${entity}`,
    stream: {
      input: (source) => `${prefix}:in:${source}`,
      dlq: (source) => `${prefix}:dlq:${source}`,
      drift: (source) => `${prefix}:{src:${source}}:drift`,
      driftWindow: (source) => `${prefix}:{src:${source}}:drift:window`,
      rate: (source) => `${prefix}:{src:${source}}:rate`,
    },
    sources: () => `${prefix}:sources`,
    modelEvents: () => `${prefix}:models:events`,
    telemetry: {
      records: () => `${prefix}:metrics:records`,
      alerts: () => `{${prefix}:alerts}:metrics`,
      durations: () => `${prefix}:metrics:durations`,
      workers: () => `{${prefix}:workers}:info`,
      workersSeen: () => `{${prefix}:workers}:seen`,
    },
  };
}

/** The embeddings "dataset" under which records scored from a source's stream are stored. */
export function streamDataset(source: string): string {
  return `stream.${source}`;
}

/** Names of datasets and models: letters, digits, `.`, `_`, `-`; no `:` or braces, which would break the key layout. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
