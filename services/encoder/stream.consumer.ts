/**
 * The encoder's stream path: consumes every configured source (shared/stream) next to the `encode` worker. Wiring
 * only: alerts go through the AlertPublisher (cool-down, pub/sub, webhooks), drift through the DriftMonitor.
 */
import { hostname } from 'node:os';
import type { Keyspace } from '../../shared/contracts/keys.js';
import type { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import type { DriftMonitor } from '../../shared/pipeline/drift-monitor.js';
import type { Logger } from '../../shared/pipeline/log.js';
import type { ModelCache } from '../../shared/pipeline/model-cache.js';
import type { EmbeddingStore } from '../../shared/store/embeddings.js';
import type { RedisClient } from '../../shared/store/redis.js';
import type { StreamOptions } from '../../shared/config.js';
import type { ModelRegistry } from '../../shared/store/models.js';
import { StreamIngest } from '../../shared/stream/ingest.js';
import { ProductionVersions } from '../../shared/stream/versions.js';

export interface StreamConsumerDeps {
  redis: RedisClient;
  keys: Keyspace;
  models: Pick<ModelRegistry, 'resolve'>;
  cache: ModelCache;
  embeddings: Pick<EmbeddingStore, 'begin' | 'status' | 'writeBatch' | 'trackUntracked'>;
  alerts: AlertPublisher;
  drift?: DriftMonitor;
  log: Logger;
  /** Scoring broke the tfjs runtime: the process should exit (ConsumerDeps.onFatal). */
  onFatal?: (error: unknown) => void;
}

/** Starts consuming; the returned ingest's `stop()` finishes the batches in flight. */
export async function startStreamConsumer(deps: StreamConsumerDeps, options: StreamOptions): Promise<StreamIngest> {
  const { drift } = deps;
  const ingest = new StreamIngest({
    redis: deps.redis,
    keys: deps.keys,
    versions: new ProductionVersions(deps.models, options.refreshMs),
    cache: deps.cache,
    embeddings: deps.embeddings,
    publish: (alerts, once) => deps.alerts.publish(alerts, once === undefined ? {} : { once }),
    ...(drift ? {
      drift: (source, model, version, errors, baseline) => drift.observe(source, model, version, errors, baseline),
      driftTest: (source, model, version, scores, reference) => drift.test(source, model, version, scores, reference),
    } : {}),
    log: deps.log,
    ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
    consumer: `${hostname()}:${process.pid}`,
    options,
  });
  await ingest.start();
  deps.log.info(`streams: group encoders, count ${options.count}, block ${options.blockMs} ms, claim after ${options.claimMs} ms, refresh every ${options.refreshMs} ms, codes and errors kept for the newest ${options.embeddingsMaxLen} records per source and version`);
  return ingest;
}
