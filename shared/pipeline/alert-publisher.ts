/**
 * Where every alert goes out: a per-entity cool-down (so one broken sensor does not flood consumers), the alerts
 * stream + pub/sub channel ({@link AlertStore}), and, when a webhook is configured, one `webhook` job per appended
 * alert (delivered by the downstream service, see services/downstream/webhook.processor.ts).
 *
 * Cool-down: the entity of an alert is `entityOf(alert)` (default: its record id), its key
 * `keys.alertCooldown(source, entity)`. The first alert of an entity passes and starts a window of `cooldownMs`;
 * later ones inside the window are suppressed and counted on that key (its value), which expires with the window.
 */
import type { JobsOptions } from 'bullmq';
import type { Keyspace } from '../contracts/keys.js';
import type { Config } from '../config.js';
import { AlertStore, type Alert } from '../store/alerts.js';
import { scanKeys, type RedisClient } from '../store/redis.js';
import { makeQueue, type PipelineQueue } from './queues.js';

/** Tries per webhook delivery (the first included). */
export const WEBHOOK_ATTEMPTS = 5;
/** First retry delay of a webhook delivery in ms, doubled on each retry (1 s, 2 s, 4 s, 8 s). */
export const WEBHOOK_BACKOFF_MS = 1000;

export interface AlertPublisherOptions {
  alerts: AlertStore;
  /** Used to read the cool-down keys (SCAN). */
  redis: RedisClient;
  keys: Keyspace;
  /** Cool-down window per entity in ms; 0 turns the cool-down off. */
  cooldownMs: number;
  /**
   * When set, every appended alert becomes a `webhook` job `{alertId}`; the downstream service POSTs the stored alert
   * to its own LATENTFLOW_WEBHOOK_URL (a job names no URL and carries no body).
   */
  webhooks?: {
    /** `makeQueue('webhook', connection, keys)`. */
    queue: PipelineQueue<'webhook'>;
    /** Tries per delivery. Default {@link WEBHOOK_ATTEMPTS}. */
    attempts?: number;
    /** First retry delay in ms (exponential). Default {@link WEBHOOK_BACKOFF_MS}. */
    backoffMs?: number;
  };
}

export interface PublishOptions {
  /** Scope of the add-once rule (e.g. `model@version:dataset`): a record already alerted in it is skipped. */
  once?: string;
  /** The cool-down entity of an alert. Default: `alert.record`. */
  entityOf?: (alert: Alert) => string;
}

export interface PublishResult {
  /** Alerts appended to the stream (and published, counted in `keys.telemetry.alerts()`, and queued for the webhook). */
  published: number;
  /** Alerts suppressed by the cool-down. */
  suppressed: number;
  /** Stream entry ids of the appended alerts, in order. */
  ids: string[];
}

export class AlertPublisher {
  constructor(private readonly options: AlertPublisherOptions) {}

  /**
   * Publishes the alerts that pass the cool-down (and the `once` rule); each appended alert also becomes a `webhook`
   * job whose id is the alert's entry id (so it is enqueued once). Duplicates under `once` count as neither
   * published nor suppressed.
   *
   * A crash between the append and the enqueue loses that alert's webhook (the stream and pub/sub have it).
   */
  async publish(alerts: Alert[], options: PublishOptions = {}): Promise<PublishResult> {
    const { keys, cooldownMs, webhooks } = this.options;
    const entityOf = options.entityOf ?? ((a: Alert) => a.record);
    const outcomes = await this.options.alerts.append(alerts, {
      once: options.once,
      cooldown: { ms: cooldownMs, key: (a) => keys.alertCooldown(a.source, entityOf(a)) },
    });
    const appended: { id: string; alert: Alert }[] = [];
    let suppressed = 0;
    outcomes.forEach((o, i) => {
      if (o.status === 'appended') appended.push({ id: o.id, alert: alerts[i] });
      else if (o.status === 'suppressed') suppressed++;
    });
    if (webhooks && appended.length > 0) {
      const opts: JobsOptions = {
        attempts: webhooks.attempts ?? WEBHOOK_ATTEMPTS,
        backoff: { type: 'exponential', delay: webhooks.backoffMs ?? WEBHOOK_BACKOFF_MS },
      };
      await webhooks.queue.addBulk(appended.map(({ id }) => ({
        name: 'webhook',
        data: { alertId: id },
        opts: { ...opts, jobId: id },
      })));
    }
    return { published: appended.length, suppressed, ids: appended.map((a) => a.id) };
  }

  /**
   * Entities of `source` currently cooling down → alerts suppressed in their window so far (0 when none yet). Reads
   * with SCAN over the source's cool-down keys (one hash-tagged slot; every master of a cluster is scanned).
   */
  async suppressed(source: string): Promise<Record<string, number>> {
    const { redis, keys } = this.options;
    const prefix = keys.alertCooldown(source, '');
    // On a cluster, SCAN runs on every master; the keys found share one slot, so one MGET reads them.
    const names = await scanKeys(redis, `${globEscape(prefix)}*`);
    if (names.length === 0) return {};
    const values = await redis.mget(...names);
    const result: Record<string, number> = {};
    names.forEach((key, i) => {
      const value = values[i];
      if (value !== null) result[key.slice(prefix.length)] = Number(value);
    });
    return result;
  }
}

/** `text` as a literal in a Redis glob pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The publisher a service uses, configured from its Config: the capped alerts stream, add-once marks kept
 * LATENTFLOW_ALERTS_DEDUP_MS, the cool-down, and, when LATENTFLOW_WEBHOOK_URL is set, a `webhook` queue (closed by
 * the returned `close`).
 */
export function alertPublisherFor(redis: RedisClient, keys: Keyspace, config: Config): { alerts: AlertPublisher; close: () => Promise<void> } {
  const queue = config.webhook.url !== undefined ? makeQueue('webhook', redis, keys) : undefined;
  const alerts = new AlertPublisher({
    alerts: new AlertStore(redis, keys, config.alertsMaxLen, { dedupMs: config.alertsDedupMs }), redis, keys,
    cooldownMs: config.alertCooldownMs, webhooks: queue ? { queue } : undefined,
  });
  return { alerts, close: async () => { await queue?.close(); } };
}
