/**
 * Which version each model's `production` alias points at, cached for `refreshMs` (the periodic check) and dropped at
 * once by {@link ProductionVersions.invalidate} (called on a model-events notification). A resolution that was
 * under way when an invalidation arrived is not cached, so a promotion is never hidden by a stale answer.
 */
import type { ModelRegistry } from '../store/models.js';

export class ProductionVersions {
  private readonly cache = new Map<string, { version: number; at: number }>();
  private generation = 0;

  constructor(
    private readonly models: Pick<ModelRegistry, 'resolve'>,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(model: string): Promise<number> {
    const cached = this.cache.get(model);
    if (cached && this.now() - cached.at < this.refreshMs) return cached.version;
    const generation = this.generation;
    const at = this.now();
    const version = await this.models.resolve(model, 'production');
    if (generation === this.generation) this.cache.set(model, { version, at });
    return version;
  }

  /** Forgets one model's version (or every model's). */
  invalidate(model?: string): void {
    this.generation++;
    if (model === undefined) this.cache.clear();
    else this.cache.delete(model);
  }
}
