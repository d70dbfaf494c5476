/**
 * Loaded models kept per `model@version` so consecutive jobs on one version skip loading its artifact. Least recently
 * used models beyond `capacity` are disposed once no job uses them; concurrent first uses share one load.
 */
import type { Autoencoder } from '../ml/autoencoder.js';
import type { ModelRegistry, ModelVersionMeta } from '../store/models.js';

interface Loaded {
  meta: ModelVersionMeta;
  model: Autoencoder;
}

interface Entry {
  loading: Promise<Loaded>;
  loaded?: Loaded;
  users: number;
  lastUsed: number;
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private tick = 0;

  /** @param capacity - models kept while idle. Default 4. */
  constructor(private readonly registry: Pick<ModelRegistry, 'load'>, private readonly capacity = 4) {}

  /** Runs `fn` with the loaded model; the model stays valid until `fn` settles. */
  async use<T>(name: string, version: number, fn: (model: Autoencoder, meta: ModelVersionMeta) => Promise<T> | T): Promise<T> {
    const key = `${name}@${version}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const created: Entry = { loading: this.registry.load(name, version), users: 0, lastUsed: 0 };
      created.loading.then((loaded) => (created.loaded = loaded), () => this.entries.get(key) === created && this.entries.delete(key));
      this.entries.set(key, created);
      entry = created;
    }
    entry.users++;
    entry.lastUsed = ++this.tick;
    try {
      const { meta, model } = await entry.loading;
      return await fn(model, meta);
    } finally {
      entry.users--;
      this.evict();
    }
  }

  /** Models currently loaded (for tests and logs). */
  get size(): number {
    return this.entries.size;
  }

  /** Disposes every idle model (at shutdown, after the workers have closed). */
  clear(): void {
    this.evict(0);
  }

  private evict(keep = this.capacity): void {
    const idle = [...this.entries].filter(([, e]) => e.users === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [key, entry] of idle) {
      if (this.entries.size <= keep) return;
      this.entries.delete(key);
      entry.loaded?.model.dispose();
    }
  }
}
