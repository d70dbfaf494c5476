/**
 * Every configured source, consumed: one {@link SourceConsumer} per source in the sources hash (re-read every
 * `refreshMs`, so `latentflow source add|remove` takes effect without a restart), and a subscription to the model
 * events channel that drops a model's cached `production` version as soon as it is promoted or rolled back.
 */
import { duplicateRedis, type RedisClient } from '../store/redis.js';
import { SourceStore } from '../store/sources.js';
import { SourceConsumer, type ConsumerDeps } from './consumer.js';

export class StreamIngest {
  private readonly consumers = new Map<string, SourceConsumer>();
  private readonly sources: SourceStore;
  private subscriber: RedisClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: ConsumerDeps) {
    this.sources = new SourceStore(deps.redis, deps.keys);
  }

  /** Subscribes to model events, starts a consumer per source, and re-reads the sources periodically. */
  async start(): Promise<void> {
    const channel = this.deps.keys.modelEvents();
    this.subscriber = duplicateRedis(this.deps.redis, `${this.deps.keys.prefix}:stream:events`);
    this.subscriber.on('message', (ch: string, message: string) => {
      if (ch === channel) this.onModelEvent(message);
    });
    await this.subscriber.subscribe(channel);
    await this.sync();
    this.timer = setInterval(() => {
      this.syncing = this.syncing.then(() => this.sync()).catch((error: unknown) => {
        this.deps.log.warn(`sources: ${error instanceof Error ? error.message : String(error)}`);
      });
    }, this.deps.options.refreshMs);
  }

  /** Sources being consumed. */
  get active(): string[] {
    return [...this.consumers.keys()];
  }

  /** Stops every consumer (each finishes and acknowledges its batch in flight) and the subscription. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
    this.subscriber?.disconnect();
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    const configured = await this.sources.list();
    const names = new Set(configured.map((s) => s.source));
    for (const [source, consumer] of this.consumers) {
      if (names.has(source)) continue;
      this.consumers.delete(source);
      this.deps.log.info(`source ${source}: removed, no longer consumed`);
      await consumer.stop();
    }
    for (const { source, ...config } of configured) {
      const running = this.consumers.get(source);
      if (running) {
        if (running.config.model !== config.model) this.deps.log.info(`source ${source}: now scored with model ${config.model}`);
        running.config = config;
        continue;
      }
      if (this.stopped) return;
      const consumer = new SourceConsumer(source, config, this.deps);
      this.consumers.set(source, consumer);
      consumer.start();
      this.deps.log.info(`source ${source}: consuming ${this.deps.keys.stream.input(source)} with model ${config.model} (production)`);
    }
  }

  /** `{"model","alias","version",...}`: a change of any alias of the model drops its cached version. */
  private onModelEvent(message: string): void {
    try {
      const event = JSON.parse(message) as { model?: unknown; alias?: unknown };
      if (typeof event.model !== 'string') return;
      if (event.alias !== undefined && event.alias !== 'production') return;
      this.deps.versions.invalidate(event.model);
      this.deps.log.debug(`model ${event.model}: production alias changed, re-resolving`);
    } catch {
      this.deps.versions.invalidate();
    }
  }
}
