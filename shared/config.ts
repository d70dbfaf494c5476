/**
 * The environment → validated configuration, in one function. Every variable is documented here once, with its
 * default; an invalid value stops start-up with a ConfigError naming the variable.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | REDIS_URL | (unset) | redis:// or rediss:// URL, with user and password if needed; unset: `up` and `demo` start a private redis-server |
 * | REDIS_PASSWORD | (unset) | Redis's password when REDIS_URL carries none (so it need not be spliced into a URL, e.g. by a compose file); a password in REDIS_URL wins; unused without REDIS_URL |
 * | REDIS_CLUSTER | false | true: REDIS_URL names one node (any) of a Redis Cluster; the others are discovered from it (user, password and TLS of the URL apply to all; database 0 only) |
 * | LATENTFLOW_PREFIX | lf | prefix of every Redis key (BullMQ's is `{prefix}:bull`) |
 * | LATENTFLOW_DATA_DIR | ./data | the folder `dataset import --from-data-dir` reads from (nothing outside it, symbolic links included) |
 * | LATENTFLOW_BACKEND | auto | TensorFlow.js backend: auto (tensorflow, else wasm, else cpu), tensorflow, wasm, cpu |
 * | LATENTFLOW_BLAS_THREADS | 1 | OpenBLAS threads of the optional native matmul addon (wasm backend; `npm run build:native`) |
 * | LATENTFLOW_TRAINER_CONCURRENCY | 1 | train jobs one trainer process runs at once |
 * | LATENTFLOW_ENCODER_CONCURRENCY | 2 | encode jobs one encoder process runs at once |
 * | LATENTFLOW_DOWNSTREAM_CONCURRENCY | 2 | cluster, classify and detect jobs one downstream process runs at once (per queue) |
 * | LATENTFLOW_ALERTS_MAXLEN | 100000 | approximate cap of the alerts stream (XADD MAXLEN ~) |
 * | LATENTFLOW_JOB_LOCK_MS | 60000 | BullMQ job lock; a job whose worker died is taken over after about this long |
 * | LATENTFLOW_QUEUE_CONCURRENCY | (unset) | jobs of a queue running at once across every worker, as `queue=n,…` (e.g. `train=1,cluster=2`); a queue not listed has no global cap (each worker's own concurrency still applies) |
 * | LATENTFLOW_QUEUE_RATE_LIMIT | (unset) | jobs of a queue started per time window across every worker, as `queue=max/ms,…` (e.g. `webhook=10/1000`); a queue not listed is not rate-limited |
 * | LATENTFLOW_LOG_LEVEL | info | error, warn, info or debug |
 * | OTEL_EXPORTER_OTLP_ENDPOINT | (unset) | OpenTelemetry collector (OTLP/HTTP, e.g. http://otel-collector:4318): when set, traces are exported (shared/pipeline/tracing.ts; the exporter's other OTEL_EXPORTER_OTLP_* variables apply) |
 * | LATENTFLOW_LOG_FORMAT | text | text (`<time> <level> [<service>] <message>`) or json (one object per line: time, level, service, msg, and queue, jobId, runId for lines written during a job) |
 * | LATENTFLOW_WEBHOOK_URL | (unset) | http(s) URL every alert is POSTed to (as JSON, through the `webhook` queue), without user or password; the only URL webhooks go to; unset: no webhook jobs are queued |
 * | LATENTFLOW_WEBHOOK_SECRET | (unset) | HMAC-SHA256 key (at least 16 characters) of the `x-latentflow-signature: t=<unix seconds>,sha256=<hex>` header; required when LATENTFLOW_WEBHOOK_URL is set; a downstream service delivers webhook jobs only when it has both |
 * | LATENTFLOW_WEBHOOK_TIMEOUT_MS | 5000 | time a webhook receiver has to answer; a timeout is retried like a 5xx |
 * | LATENTFLOW_ALERTS_DEDUP_MS | 604800000 | how long a record's "already alerted" mark is kept per scope (7 days; retried jobs arrive well within it); each scope also keeps at most LATENTFLOW_ALERTS_MAXLEN marks, the oldest dropped first |
 * | LATENTFLOW_ALERT_COOLDOWN_MS | 60000 | per-entity alert cool-down window (later alerts of the entity inside it are suppressed and counted); 0 = off |
 * | LATENTFLOW_DRIFT_WINDOW | 500 | span of the rolling mean of reconstruction error per source (EMA, alpha = 2 / (window + 1)); no drift signal before this many errors; also the drift test's window |
 * | LATENTFLOW_STREAM_COUNT | 256 | entries per XREADGROUP: the largest batch a source consumer scores at once |
 * | LATENTFLOW_STREAM_BLOCK_MS | 1000 | how long one XREADGROUP waits (a batch is whatever arrived, up to the count) |
 * | LATENTFLOW_STREAM_CLAIM_MS | 30000 | entries delivered but unacknowledged this long (their consumer died) are taken over with XAUTOCLAIM; keep it well above one batch's time |
 * | LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN | 100000 | codes and errors kept per source and model version (embeddings `stream.<source>`); the oldest records are dropped first |
 * | LATENTFLOW_SOURCE_RATE_LIMIT | 0 | records/s the encoders take in all from a source without its own `--rate-limit`; 0: unlimited |
 * | LATENTFLOW_STREAM_REFRESH_MS | 5000 | how often the sources hash and each `production` alias are re-read (promotions also arrive at once as events) |
 * | LATENTFLOW_DRIFT_FACTOR | 2 | a source drifts when its rolling mean error exceeds factor × the model's baseline error (recovers below (1 + factor) / 2 × baseline) |
 * | LATENTFLOW_DRIFT_ALPHA | 0.001 | false-alarm rate per window of the drift test: each LATENTFLOW_DRIFT_WINDOW anomaly scores of a source are KS-tested against the model's held-out normal scores, p < alpha is a drift alert |
 * | LATENTFLOW_DASHBOARD_HOST | 127.0.0.1 | address the dashboard listens on; anything but a loopback address needs LATENTFLOW_DASHBOARD_TOKEN |
 * | LATENTFLOW_DASHBOARD_PORT | 8080 | the dashboard's port (0: any free port) |
 * | LATENTFLOW_DASHBOARD_SESSION_MS | 43200000 | lifetime of a dashboard browser session (12 h) opened with `?token=` |
 * | LATENTFLOW_DASHBOARD_TOKEN | (unset) | bearer token of the dashboard (at least 16 characters): every page, `/metrics` and the queue view ask for it; state-changing actions need it as well as their form's check |
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './contracts/errors.js';
import { WEBHOOK_LIMITS } from './contracts/limits.js';
import { QUEUES, type QueueName } from './contracts/queues.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;

const count = (fallback: number) => z.coerce.number().int().min(1).max(1024).default(fallback);

/** Global limits of one queue, applied by every service to the queues it works (shared/pipeline/queues.ts applyQueueLimits). */
export interface QueueLimits {
  /** Jobs running at once across every worker. */
  concurrency?: number;
  /** At most `max` jobs started per `durationMs`. */
  rate?: { max: number; durationMs: number };
}

/** `queue=value,…` with each value read by `value` (a message on failure): a map from queue names to values. */
function perQueue<T>(what: string, value: (text: string) => T | string) {
  return z.string().transform((text, ctx) => {
    const out: Partial<Record<QueueName, T>> = {};
    for (const item of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const [queue, raw] = item.split('=', 2).map((p) => p.trim());
      const parsed = raw === undefined ? `"${item}" is not queue=${what}` : (QUEUES as readonly string[]).includes(queue) ? value(raw) : `unknown queue "${queue}" (queues: ${QUEUES.join(', ')})`;
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      out[queue as QueueName] = parsed;
    }
    return out;
  });
}

const positiveInt = (text: string, max: number): number | undefined => {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= max ? n : undefined;
};

const EnvSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').pipe(z.url()).optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_CLUSTER: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  LATENTFLOW_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "_" and "-" only (up to 32)').default('lf'),
  LATENTFLOW_DATA_DIR: z.string().default('data'),
  LATENTFLOW_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  LATENTFLOW_BLAS_THREADS: count(1),
  LATENTFLOW_TRAINER_CONCURRENCY: count(1),
  LATENTFLOW_ENCODER_CONCURRENCY: count(2),
  LATENTFLOW_DOWNSTREAM_CONCURRENCY: count(2),
  LATENTFLOW_ALERTS_MAXLEN: z.coerce.number().int().min(100).default(100_000),
  LATENTFLOW_JOB_LOCK_MS: z.coerce.number().int().min(500).default(60_000),
  LATENTFLOW_QUEUE_CONCURRENCY: perQueue('n', (t) => positiveInt(t, 100_000) ?? `concurrency "${t}" is not an integer from 1 to 100000`).default({}),
  LATENTFLOW_QUEUE_RATE_LIMIT: perQueue('max/ms', (t) => {
    const parts = t.split('/');
    const [max, ms] = parts.map((p) => positiveInt(p.trim(), 1e9));
    return parts.length === 2 && max !== undefined && ms !== undefined ? { max, durationMs: ms } : `rate "${t}" is not max/ms with two positive integers`;
  }).default({}),
  LATENTFLOW_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LATENTFLOW_LOG_FORMAT: z.enum(LOG_FORMATS).default('text'),
  // Validated here; shared/pipeline/tracing.ts reads it from the environment, with the exporter's other variables.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().regex(/^https?:\/\//, 'must start with http:// or https://').pipe(z.url()).optional(),
  LATENTFLOW_WEBHOOK_URL: z.string().regex(/^https?:\/\//, 'must start with http:// or https://').pipe(z.url()).optional(),
  LATENTFLOW_WEBHOOK_SECRET: z.string().min(WEBHOOK_LIMITS.secretChars, `at least ${WEBHOOK_LIMITS.secretChars} characters (e.g. openssl rand -hex 32)`).optional(),
  LATENTFLOW_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  LATENTFLOW_ALERTS_DEDUP_MS: z.coerce.number().int().min(60_000).default(7 * 24 * 3_600_000),
  LATENTFLOW_ALERT_COOLDOWN_MS: z.coerce.number().int().min(0).default(60_000),
  LATENTFLOW_DRIFT_WINDOW: z.coerce.number().int().min(1).default(500),
  LATENTFLOW_DRIFT_FACTOR: z.coerce.number().min(1).default(2),
  LATENTFLOW_DRIFT_ALPHA: z.coerce.number().gt(0).lt(1).default(0.001),
  LATENTFLOW_STREAM_COUNT: z.coerce.number().int().min(1).max(65_536).default(256),
  LATENTFLOW_STREAM_BLOCK_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  LATENTFLOW_STREAM_CLAIM_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  LATENTFLOW_STREAM_REFRESH_MS: z.coerce.number().int().min(50).max(3_600_000).default(5000),
  LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN: z.coerce.number().int().min(100).default(100_000),
  LATENTFLOW_SOURCE_RATE_LIMIT: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  LATENTFLOW_DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  LATENTFLOW_DASHBOARD_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  LATENTFLOW_DASHBOARD_SESSION_MS: z.coerce.number().int().min(60_000).default(12 * 3_600_000),
  LATENTFLOW_DASHBOARD_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
});

/** Variables whose values never appear in an error message. */
const SECRET_VARIABLES = new Set(['REDIS_URL', 'REDIS_PASSWORD', 'LATENTFLOW_WEBHOOK_URL', 'LATENTFLOW_WEBHOOK_SECRET', 'LATENTFLOW_DASHBOARD_TOKEN', 'OTEL_EXPORTER_OTLP_ENDPOINT']);

type Env = z.output<typeof EnvSchema>;

export interface Config {
  /** Undefined when REDIS_URL is unset. */
  redisUrl: string | undefined;
  /** REDIS_URL is a seed node of a Redis Cluster. */
  redisCluster: boolean;
  prefix: string;
  /** Absolute path. */
  dataDir: string;
  backend: Env['LATENTFLOW_BACKEND'];
  /** OpenBLAS threads of the native matmul addon, when it is built. */
  blasThreads: number;
  concurrency: { trainer: number; encoder: number; downstream: number };
  alertsMaxLen: number;
  /** BullMQ lock duration in ms; the stalled-job check runs every half of it. */
  jobLockMs: number;
  /** Global concurrency and rate limits per queue (a queue without an entry has none). */
  queueLimits: Partial<Record<QueueName, QueueLimits>>;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: (typeof LOG_FORMATS)[number];
  /** Alert delivery to a webhook; `url` undefined: none (`secret` may still be set on the delivering service). */
  webhook: { url: string | undefined; secret: string | undefined; timeoutMs: number };
  /** How long a record's "already alerted" mark lasts per scope, in ms (each scope also keeps at most `alertsMaxLen` marks). */
  alertsDedupMs: number;
  /** Per-entity alert cool-down in ms; 0 = off. */
  alertCooldownMs: number;
  /** Drift detection: EMA span (also the KS test's window) and factor over the baseline error; the KS test's false-alarm rate per window. */
  drift: { window: number; factor: number; alpha: number };
  /** Source stream consumers (encoder). */
  stream: StreamOptions;
  /** The dashboard service; see {@link checkDashboardAccess}. */
  dashboard: { host: string; port: number; token: string | undefined; sessionMs: number };
}

export interface StreamOptions {
  /** Largest batch (XREADGROUP COUNT). */
  count: number;
  blockMs: number;
  /** Idle time after which another consumer's pending entries are claimed. */
  claimMs: number;
  /** Re-read period of the sources hash and production aliases. */
  refreshMs: number;
  /** Records whose codes and errors are kept per source and model version (oldest dropped first). */
  embeddingsMaxLen: number;
  /** Records/s taken from a source that sets no `rateLimit` of its own, across encoders; 0 or unset: unlimited. */
  rateLimit?: number;
}

/** REDIS_URL with REDIS_PASSWORD as its password (percent-encoded, as ioredis decodes it) when it carries none. */
function withPassword(redisUrl: string, password: string | undefined): string {
  const url = new URL(redisUrl);
  if (password === undefined || url.password !== '' || url.searchParams.has('password')) return redisUrl;
  url.password = encodeURIComponent(password);
  return url.toString();
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    const shown = SECRET_VARIABLES.has(name) ? '(redacted)' : JSON.stringify(env[name]);
    throw new ConfigError(`${name}=${shown}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.REDIS_CLUSTER && e.REDIS_URL === undefined) {
    throw new ConfigError('REDIS_CLUSTER=true needs REDIS_URL (the URL of one node of the cluster)');
  }
  if (e.LATENTFLOW_WEBHOOK_URL !== undefined && e.LATENTFLOW_WEBHOOK_SECRET === undefined) {
    throw new ConfigError('LATENTFLOW_WEBHOOK_SECRET is required when LATENTFLOW_WEBHOOK_URL is set (webhooks are always signed)');
  }
  if (e.LATENTFLOW_WEBHOOK_URL !== undefined) {
    const url = new URL(e.LATENTFLOW_WEBHOOK_URL);
    if (url.username !== '' || url.password !== '') {
      throw new ConfigError('LATENTFLOW_WEBHOOK_URL=(redacted): must not carry a user or password (they would travel in every request and show in logs); receivers authenticate deliveries by their signature header');
    }
  }
  return {
    redisUrl: e.REDIS_URL === undefined ? undefined : withPassword(e.REDIS_URL, e.REDIS_PASSWORD),
    redisCluster: e.REDIS_CLUSTER,
    prefix: e.LATENTFLOW_PREFIX,
    dataDir: path.resolve(e.LATENTFLOW_DATA_DIR),
    backend: e.LATENTFLOW_BACKEND,
    blasThreads: e.LATENTFLOW_BLAS_THREADS,
    concurrency: { trainer: e.LATENTFLOW_TRAINER_CONCURRENCY, encoder: e.LATENTFLOW_ENCODER_CONCURRENCY, downstream: e.LATENTFLOW_DOWNSTREAM_CONCURRENCY },
    alertsMaxLen: e.LATENTFLOW_ALERTS_MAXLEN,
    jobLockMs: e.LATENTFLOW_JOB_LOCK_MS,
    queueLimits: Object.fromEntries(QUEUES.flatMap((q) => {
      const [concurrency, rate] = [e.LATENTFLOW_QUEUE_CONCURRENCY[q], e.LATENTFLOW_QUEUE_RATE_LIMIT[q]];
      return concurrency === undefined && rate === undefined ? [] : [[q, { ...(concurrency !== undefined && { concurrency }), ...(rate !== undefined && { rate }) }]];
    })),
    logLevel: e.LATENTFLOW_LOG_LEVEL,
    logFormat: e.LATENTFLOW_LOG_FORMAT,
    webhook: { url: e.LATENTFLOW_WEBHOOK_URL, secret: e.LATENTFLOW_WEBHOOK_SECRET, timeoutMs: e.LATENTFLOW_WEBHOOK_TIMEOUT_MS },
    alertsDedupMs: e.LATENTFLOW_ALERTS_DEDUP_MS,
    alertCooldownMs: e.LATENTFLOW_ALERT_COOLDOWN_MS,
    drift: { window: e.LATENTFLOW_DRIFT_WINDOW, factor: e.LATENTFLOW_DRIFT_FACTOR, alpha: e.LATENTFLOW_DRIFT_ALPHA },
    stream: {
      count: e.LATENTFLOW_STREAM_COUNT, blockMs: e.LATENTFLOW_STREAM_BLOCK_MS,
      claimMs: e.LATENTFLOW_STREAM_CLAIM_MS, refreshMs: e.LATENTFLOW_STREAM_REFRESH_MS,
      embeddingsMaxLen: e.LATENTFLOW_STREAM_EMBEDDINGS_MAXLEN, rateLimit: e.LATENTFLOW_SOURCE_RATE_LIMIT,
    },
    dashboard: {
      host: e.LATENTFLOW_DASHBOARD_HOST, port: e.LATENTFLOW_DASHBOARD_PORT, token: e.LATENTFLOW_DASHBOARD_TOKEN,
      sessionMs: e.LATENTFLOW_DASHBOARD_SESSION_MS,
    },
  };
}

/**
 * Throws a ConfigError when the dashboard would listen on an address other hosts can reach without a token. Checked
 * where a dashboard starts (not in loadConfig: the workers share the environment and never listen).
 */
export function checkDashboardAccess(dashboard: Config['dashboard']): void {
  if (!isLoopback(dashboard.host) && dashboard.token === undefined) {
    throw new ConfigError(`LATENTFLOW_DASHBOARD_TOKEN is required when the dashboard listens on ${dashboard.host} (anything but localhost): set a token of at least 16 characters`);
  }
}

/** `localhost`, 127.0.0.0/8 and ::1: addresses no other host can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
