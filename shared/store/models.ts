/**
 * The model registry: named series of trained autoencoder versions, each an artifact (the `.lfm` bytes, see
 * shared/ml/artifact.ts) plus a metadata record, and aliases (such as `production`) pointing at versions.
 *
 * Layout (keys from {@link Keyspace}): `model.counter(name)` hands out version numbers (never reused, even after a
 * delete, so results keyed by model and version never mix two models); `model.artifact(name, v)` the artifact bytes;
 * `model.versions(name)` version → metadata JSON; `model.aliases(name)` alias → version; `model.index()` the names;
 * `model.aliasHistory(name, alias)` the versions an alias pointed at before (newest first, at most
 * {@link ALIAS_HISTORY_LENGTH}), for `rollback`.
 *
 * Every promotion and rollback is published on `modelEvents()` as a {@link ModelEvent} (JSON), so that a long-running
 * consumer (e.g. a stream scorer) can switch versions without polling. Pub/sub is fire-and-forget: a listener that
 * (re)connects should also read the alias once (`resolve(name, alias)`).
 *
 * A version reference is a number, `latest` (the highest existing version) or an alias.
 */
import { InputError } from '../contracts/errors.js';
import type { Keyspace } from '../contracts/keys.js';
import { scanKeys, type RedisClient } from './redis.js';
import { Autoencoder } from '../ml/autoencoder.js';
import { AutoRec } from '../ml/autorec.js';
import { checkName, compareIds, execOrThrow } from './util.js';

/** One registered version, as listed (no weights). */
export interface ModelVersionMeta {
  model: string;
  version: number;
  /** `autorec` for an AutoRec recommender (trained on a ratings dataset); absent for an autoencoder. */
  kind?: 'autorec';
  /** The dataset it was trained on. */
  dataset: string;
  /** ISO time the model was trained. */
  createdAt: string;
  inputWidth: number;
  codeSize: number;
  features: string[];
  /** The resolved model configuration (shared/ml ModelConfig). */
  config: unknown;
  /** The anomaly threshold on reconstruction error, null when none was estimated. */
  threshold: number | null;
  epochs: number;
  seconds: number;
  samplesPerSecond: number;
  finalLoss: number;
  /** Validation loss of the kept weights (absent when trained without a validation split, and on older versions). */
  valLoss?: number;
  /**
   * Loss per epoch (index 0 = epoch 1), 6 significant digits; `valLoss` when trained with a validation split. Absent
   * on versions registered before it was recorded (the artifact's history has it) and on AutoRec versions.
   */
  losses?: { loss: number[]; valLoss?: number[] };
  /** The TensorFlow.js backend it was trained on, when the trainer said (absent on older versions). */
  backend?: string;
  /** sha256 of the training data (equals the dataset's fingerprint when trained on all of it). */
  fingerprint: string;
  /** Artifact size in bytes. */
  bytes: number;
  /** The label of the rows it was trained on, when trained on normal rows only. */
  normal?: string;
  /** For an AutoRec model: its variant and what it knows (then `inputWidth` is the vector width, `codeSize` the hidden units). */
  autorec?: { variant: string; users: number; items: number; ratings: number; min: number; max: number };
}

/** A model as listed: its versions (no weights), oldest first, and its aliases. */
export interface ModelListing {
  name: string;
  versions: ModelVersionMeta[];
  aliases: Record<string, number>;
}

/** What `modelEvents()` carries (JSON) after a promotion or a rollback. */
export interface ModelEvent {
  event: 'promote' | 'rollback';
  model: string;
  alias: string;
  /** The version the alias points at now. */
  version: number;
  /** The version it pointed at before, null when it had none. */
  previous: number | null;
}

/** Versions kept per alias for rollback. */
export const ALIAS_HISTORY_LENGTH = 20;

// Sets the alias and pushes the version it replaces (when different) onto its history, atomically.
const PROMOTE_SCRIPT = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if prev and prev ~= ARGV[2] then
  redis.call('LPUSH', KEYS[2], prev)
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
end
return prev or ''`;

// Pops the alias history until a version that still exists and differs from the current one, and points the alias
// at it. Returns {current or '', new version or ''}.
const ROLLBACK_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
while true do
  local v = redis.call('LPOP', KEYS[2])
  if not v then return {cur, ''} end
  if v ~= cur and redis.call('HEXISTS', KEYS[3], v) == 1 then
    redis.call('HSET', KEYS[1], ARGV[1], v)
    return {cur, v}
  end
end`;

/** The alias `promote` sets by default. */
export const DEFAULT_ALIAS = 'production';
/** Aliases: a letter, then letters, digits, `_` or `-`; `latest` is reserved (it always means the newest version). */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class ModelRegistry {
  constructor(private readonly redis: RedisClient, private readonly keys: Keyspace) {}

  /**
   * Registers `model` as a new version of `name` (version = INCR of the counter). The artifact is written first,
   * then the metadata, so a listed version always has its weights. The metadata records the loss curve of its
   * history and `info.backend` (the backend it was trained on) when given. `info.artifact`: the model's artifact when
   * the caller has it already (a training thread's answer), instead of serializing the model again.
   */
  async register(name: string, model: Autoencoder, info: { dataset: string; normal?: string; key?: string; backend?: string; artifact?: Uint8Array }): Promise<ModelVersionMeta> {
    const history = model.history;
    const artifact = info.artifact !== undefined ? asBuffer(info.artifact) : model.toArtifact();
    return this.store(name, artifact, info.key, {
      dataset: info.dataset, createdAt: model.createdAt, inputWidth: model.inputWidth, codeSize: model.codeSize,
      features: model.features, config: model.config, threshold: model.threshold?.value ?? null,
      epochs: history.epochs.length, seconds: history.seconds, samplesPerSecond: history.samplesPerSecond,
      finalLoss: history.epochs.at(-1)?.loss ?? 0,
      ...validationLossOf(history),
      losses: lossesOf(history),
      fingerprint: model.fingerprint, bytes: artifact.length,
      ...(info.normal !== undefined ? { normal: info.normal } : {}),
      ...(info.backend !== undefined ? { backend: info.backend } : {}),
    });
  }

  /** Registers an AutoRec recommender trained on the ratings dataset `info.dataset`, as {@link register} does. */
  async registerAutoRec(name: string, model: AutoRec, info: { dataset: string; key?: string; artifact?: Uint8Array }): Promise<ModelVersionMeta> {
    const history = model.history;
    const artifact = info.artifact !== undefined ? asBuffer(info.artifact) : model.save();
    const seconds = history.at(-1)?.seconds ?? 0;
    const vectors = model.config.variant === 'item' ? model.items.length : model.users.length;
    return this.store(name, artifact, info.key, {
      kind: 'autorec', dataset: info.dataset, createdAt: new Date().toISOString(),
      inputWidth: model.config.variant === 'item' ? model.users.length : model.items.length,
      codeSize: model.config.implicit ? model.config.presenceHidden : model.config.hidden,
      // The predicting network's epochs (as `autorec evaluate` reports them); the throughput counts every network's.
      features: [], config: model.config, threshold: null, epochs: model.training.epochs, seconds,
      samplesPerSecond: seconds > 0 ? (vectors * history.length) / seconds : 0, finalLoss: model.finalLoss,
      fingerprint: model.fingerprint, bytes: artifact.length,
      autorec: { variant: model.config.variant, users: model.users.length, items: model.items.length, ratings: model.ratings, min: model.min, max: model.max },
    });
  }

  /**
   * Stores an artifact as the next version of `name`, then its metadata (so a listed version always has its
   * weights); with an idempotency `key`, a version registered under that key before is returned instead. InputError
   * when the model's versions are of the other kind.
   */
  private async store(name: string, artifact: Buffer, key: string | undefined, fields: Omit<ModelVersionMeta, 'model' | 'version'>): Promise<ModelVersionMeta> {
    // Versions of one model are all autoencoders or all AutoRec models: aliases, promotion and rollback compare them.
    checkName(name, 'model');
    const k = this.keys.model;
    if (key !== undefined) {
      const earlier = await this.registeredBy(name, key);
      if (earlier) return earlier;
    }
    const latest = (await this.versionNumbers(name)).at(-1);
    if (latest !== undefined) {
      const other = JSON.parse((await this.redis.hget(k.versions(name), String(latest))) ?? '{}') as Partial<ModelVersionMeta>;
      if ((other.kind ?? 'autoencoder') !== (fields.kind ?? 'autoencoder')) {
        throw new InputError(`model "${name}" holds ${other.kind ?? 'autoencoder'} versions; a ${fields.kind ?? 'autoencoder'} needs another model name`, { field: 'model', value: name });
      }
    }
    await this.redis.sadd(k.index(), name);
    const meta: ModelVersionMeta = { model: name, version: await this.redis.incr(k.counter(name)), ...fields };
    await this.redis.set(k.artifact(name, meta.version), artifact);
    await this.redis.hset(k.versions(name), String(meta.version), JSON.stringify(meta));
    if (key !== undefined) await this.redis.hset(k.registrations(name), key, String(meta.version));
    return meta;
  }

  /** The version registered under an idempotency key (see `register`), if it still exists. */
  async registeredBy(name: string, key: string): Promise<ModelVersionMeta | undefined> {
    const version = await this.redis.hget(this.keys.model.registrations(name), key);
    if (version === null) return undefined;
    const json = await this.redis.hget(this.keys.model.versions(name), version);
    return json === null ? undefined : (JSON.parse(json) as ModelVersionMeta);
  }

  /**
   * The version number `ref` stands for: a number (or digit string) that exists; `latest`, the highest existing
   * version; any other text, the version of that alias. A non-retryable InputError naming the model and the
   * version or alias (and what exists) when there is none.
   */
  async resolve(name: string, ref: number | string): Promise<number> {
    const k = this.keys.model;
    const numeric = typeof ref === 'number' ? ref : /^\d+$/.test(ref) ? Number(ref) : undefined;
    if (numeric !== undefined) {
      if (Number.isInteger(numeric) && numeric > 0 && (await this.redis.hexists(k.versions(name), String(numeric))) === 1) return numeric;
      throw await this.missing(name, `version ${String(ref)}`);
    }
    if (ref === 'latest') {
      const versions = await this.versionNumbers(name);
      if (versions.length > 0) return versions[versions.length - 1];
      throw await this.missing(name, undefined);
    }
    const aliased = await this.redis.hget(k.aliases(name), String(ref));
    if (aliased !== null && (await this.redis.hexists(k.versions(name), aliased)) === 1) return Number(aliased);
    const hint = ref === DEFAULT_ALIAS ? `; promote one: latentflow models promote ${name} <version>` : '';
    throw await this.missing(name, `alias "${ref}"`, hint);
  }

  /** The metadata of one version; errors as {@link resolve}. */
  async meta(name: string, ref: number | string): Promise<ModelVersionMeta> {
    const version = await this.resolve(name, ref);
    const json = await this.redis.hget(this.keys.model.versions(name), String(version));
    if (json === null) throw await this.missing(name, `version ${version}`);
    return JSON.parse(json) as ModelVersionMeta;
  }

  /** The metadata and the loaded autoencoder of one version (InputError for an AutoRec version). The caller disposes the model. */
  async load(name: string, ref: number | string): Promise<{ meta: ModelVersionMeta; model: Autoencoder }> {
    const { meta, bytes } = await this.artifact(name, ref);
    if (meta.kind === 'autorec') throw new InputError(`model ${name}@${meta.version} is an AutoRec recommender, not an autoencoder: it has no codes or reconstruction errors (use it with recommend jobs)`, { field: 'model', value: name });
    return { meta, model: Autoencoder.fromArtifact(bytes, `model ${name}@${meta.version}`) };
  }

  /** The metadata and the loaded AutoRec model of one version (InputError for an autoencoder). The caller disposes the model. */
  async loadAutoRec(name: string, ref: number | string): Promise<{ meta: ModelVersionMeta; model: AutoRec }> {
    const { meta, bytes } = await this.autoRecArtifact(name, ref);
    return { meta, model: AutoRec.load(bytes, `model ${name}@${meta.version}`) };
  }

  /** The metadata and the stored artifact of an AutoRec version, unloaded (to load elsewhere: a worker thread). */
  async autoRecArtifact(name: string, ref: number | string): Promise<{ meta: ModelVersionMeta; bytes: Buffer }> {
    const { meta, bytes } = await this.artifact(name, ref);
    if (meta.kind !== 'autorec') throw new InputError(`model ${name}@${meta.version} is an autoencoder, not an AutoRec recommender (train one with a train job of kind "autorec")`, { field: 'model', value: name });
    return { meta, bytes };
  }

  private async artifact(name: string, ref: number | string): Promise<{ meta: ModelVersionMeta; bytes: Buffer }> {
    // A version number is checked by the read itself (a missing one gives the same error as `resolve`).
    const version = typeof ref === 'number' ? ref : await this.resolve(name, ref);
    const k = this.keys.model;
    const p = this.redis.pipeline();
    p.hget(k.versions(name), String(version));
    p.getBuffer(k.artifact(name, version));
    const [json, bytes] = (await execOrThrow(p)) as [string | null, Buffer | null];
    if (json === null || bytes === null) throw await this.missing(name, `version ${version}`);
    return { meta: JSON.parse(json) as ModelVersionMeta, bytes };
  }

  /** The aliases of one model, alias → version. */
  async aliases(name: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.model.aliases(name));
    return Object.fromEntries(Object.entries(raw).map(([alias, v]) => [alias, Number(v)]));
  }

  /** Every model with at least one version, by name; versions in ascending order. */
  async list(): Promise<ModelListing[]> {
    const names = (await this.redis.smembers(this.keys.model.index())).sort(compareIds);
    // One pipeline per model, not one for all: each model's keys live in their own cluster slot.
    const listed = await Promise.all(names.map((name) => this.describe(name)));
    return listed.filter((m): m is ModelListing => m !== undefined);
  }

  /** One model's versions (no weights), oldest first, and its aliases; undefined when it has no version. */
  async describe(name: string): Promise<ModelListing | undefined> {
    const k = this.keys.model;
    const [versions, aliases] = (await execOrThrow(this.redis.pipeline().hgetall(k.versions(name)).hgetall(k.aliases(name)))) as Record<string, string>[];
    if (Object.keys(versions).length === 0) return undefined;
    return {
      name,
      versions: Object.values(versions).map((json) => JSON.parse(json) as ModelVersionMeta).sort((a, b) => a.version - b.version),
      aliases: Object.fromEntries(Object.entries(aliases).map(([alias, v]) => [alias, Number(v)])),
    };
  }

  /**
   * Points `alias` (default `production`) at the version `version` resolves to, and returns that version. The
   * version the alias pointed at before (when different) goes onto the alias history (for {@link rollback}), and a
   * {@link ModelEvent} `promote` is published on `modelEvents()`.
   * InputError (field "alias") for an alias that is not a letter then letters, digits, `_`, `-`, or is `latest`.
   */
  async promote(name: string, version: number | string, alias: string = DEFAULT_ALIAS): Promise<number> {
    checkAlias(alias);
    const resolved = await this.resolve(name, version);
    const k = this.keys.model;
    const prev = (await this.redis.eval(PROMOTE_SCRIPT, 2, k.aliases(name), k.aliasHistory(name, alias), alias, String(resolved), ALIAS_HISTORY_LENGTH)) as string;
    await this.publish({ event: 'promote', model: name, alias, version: resolved, previous: prev === '' ? null : Number(prev) });
    return resolved;
  }

  /**
   * Points `alias` (default `production`) back at the version it pointed at before the last promotion (skipping
   * versions deleted since), publishes a {@link ModelEvent} `rollback`, and returns both versions. InputError when
   * the alias has no earlier version that still exists.
   */
  async rollback(name: string, alias: string = DEFAULT_ALIAS): Promise<{ from: number | null; to: number }> {
    checkAlias(alias);
    checkName(name, 'model');
    const k = this.keys.model;
    const [cur, to] = (await this.redis.eval(ROLLBACK_SCRIPT, 3, k.aliases(name), k.aliasHistory(name, alias), k.versions(name), alias)) as [string, string];
    const from = cur === '' ? null : Number(cur);
    if (to === '') {
      if ((await this.versionNumbers(name)).length === 0) throw await this.missing(name, undefined);
      const now = from === null ? `has no alias "${alias}"` : `"${alias}" is version ${from}`;
      throw new InputError(`model "${name}" has no earlier version of alias "${alias}" to roll back to (${now}; its history is empty)`, { field: 'alias', value: alias });
    }
    const event: ModelEvent = { event: 'rollback', model: name, alias, version: Number(to), previous: from };
    await this.publish(event);
    return { from, to: event.version };
  }

  /**
   * Deletes one version (and the aliases pointing at it) or, without `version`, every version and alias of the
   * model. Returns how many versions were removed (0 when there was nothing to delete). The version counter stays,
   * so numbers are never reused.
   */
  async delete(name: string, version?: number): Promise<number> {
    const k = this.keys.model;
    const targets = version === undefined ? await this.versionNumbers(name) : [version];
    const aliases = await this.redis.hgetall(k.aliases(name));
    const m = this.redis.multi();
    for (const v of targets) m.hdel(k.versions(name), String(v)).del(k.artifact(name, v));
    const stale = Object.entries(aliases).filter(([, v]) => targets.includes(Number(v))).map(([alias]) => alias);
    if (version === undefined) m.del(k.aliases(name));
    else if (stale.length > 0) m.hdel(k.aliases(name), ...stale);
    const replies = await execOrThrow(m);
    const removed = targets.filter((_, i) => replies[2 * i] === 1).length;
    if (version === undefined) {
      await this.redis.srem(k.index(), name);
      const histories = await scanKeys(this.redis, k.aliasHistory(name, '*'));
      if (histories.length > 0) await this.redis.del(...histories);
    }
    return removed;
  }

  private async publish(event: ModelEvent): Promise<void> {
    await this.redis.publish(this.keys.modelEvents(), JSON.stringify(event));
  }

  private async versionNumbers(name: string): Promise<number[]> {
    return (await this.redis.hkeys(this.keys.model.versions(name))).map(Number).sort((a, b) => a - b);
  }

  /** The error for a missing `asked` (e.g. `version 3`, `alias "production"`; undefined for latest), with what exists. */
  private async missing(name: string, asked: string | undefined, hint = ''): Promise<InputError> {
    const [versions, aliases] = await Promise.all([this.versionNumbers(name), this.redis.hgetall(this.keys.model.aliases(name))]);
    if (versions.length === 0) {
      const models = (await this.list()).map((m) => m.name);
      const known = models.length > 0 ? `models: ${models.join(', ')}` : 'no models yet';
      return new InputError(`model "${name}" does not exist${asked ? ` (asked for ${asked})` : ''} (${known})`);
    }
    const aliasText = Object.keys(aliases).length > 0 ? `; aliases: ${Object.entries(aliases).map(([a, v]) => `${a}→${v}`).join(', ')}` : '';
    return new InputError(`model "${name}" has no ${asked ?? 'versions'} (versions: ${versions.join(', ')}${aliasText})${hint}`);
  }
}

function checkAlias(alias: string): void {
  if (!ALIAS_PATTERN.test(alias) || alias === 'latest') {
    throw new InputError('aliases are a letter then letters, digits, "_" or "-" (and not "latest", which always means the newest version)', { field: 'alias', value: alias });
  }
}

/** The validation loss of the epoch whose weights were kept (the last one unless training stopped early). */
function validationLossOf(history: Autoencoder['history']): { valLoss?: number } {
  const kept = history.epochs[history.bestEpoch - 1] ?? history.epochs.at(-1);
  return kept?.valLoss !== undefined && Number.isFinite(kept.valLoss) ? { valLoss: kept.valLoss } : {};
}

/** The per-epoch loss curve, rounded to 6 significant digits (validation loss only when every epoch has one). */
function lossesOf(history: Autoencoder['history']): NonNullable<ModelVersionMeta['losses']> {
  const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);
  const valLoss = history.epochs.map((e) => e.valLoss);
  return {
    loss: history.epochs.map((e) => round(e.loss)),
    ...(valLoss.length > 0 && valLoss.every((v) => v !== undefined) ? { valLoss: valLoss.map(round) } : {}),
  };
}

/** The bytes as a Buffer, without a copy (a worker thread's answer arrives as a plain Uint8Array). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
