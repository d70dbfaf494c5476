/**
 * Every size latentflow accepts from outside — stream entries, data files, job payloads, model files, webhook
 * answers — capped in one place. Anything beyond a cap is refused with an error naming the limit, checked before
 * the expensive step (parsing, decompressing, allocating), so one entry, file or job can neither stall a worker nor
 * exhaust its memory. The README's "Limits" table lists these values; keep them in step.
 *
 * The retention limits that operators tune (how many stream embeddings and alert marks are kept) are configuration
 * variables instead (shared/config.ts).
 */

/** Stream entries (XADDed by any client to `<prefix>:in:<source>`), checked before any field is parsed. */
export const STREAM_LIMITS = {
  /** Bytes of the `id` field. */
  idBytes: 512,
  /** Bytes of one number: a named feature field, or one item of `values`. */
  numberBytes: 64,
  /** Bytes of the `values` field per model feature (plus {@link STREAM_LIMITS.valuesBaseBytes}). */
  valuesBytesPerFeature: 40,
  valuesBaseBytes: 256,
  /** Fields (name/value pairs) per entry beyond the model's width: id, values and producers' own extra fields. */
  extraFields: 64,
  /** Bytes of the whole entry (every name and value) beyond the `values` allowance. */
  entryBaseBytes: 1 << 20,
  /** A dead-lettered entry keeps at most this many of its original fields, each cut to `deadLetterValueBytes`. */
  deadLetterFields: 32,
  deadLetterValueBytes: 256,
  /** Bytes of a dead-letter `reason`. */
  reasonBytes: 512,
} as const;

/** Largest `values` field for a model of `width` features, in bytes. */
export function maxValuesBytes(width: number): number {
  return STREAM_LIMITS.valuesBytesPerFeature * width + STREAM_LIMITS.valuesBaseBytes;
}

/** Most fields (name/value pairs) one entry may carry for a model of `width` features. */
export function maxStreamFields(width: number): number {
  return width + STREAM_LIMITS.extraFields;
}

/** Largest entry (sum of every field name and value) for a model of `width` features, in bytes. */
export function maxEntryBytes(width: number): number {
  return maxValuesBytes(width) + STREAM_LIMITS.entryBaseBytes;
}

/** Data files (CSV, NDJSON, IDX; gzip or not) read by `dataset import`, `fit`, `evaluate`, `run <file>`. */
export const FILE_LIMITS = {
  /** Bytes of one CSV record or NDJSON line. */
  lineBytes: 16 << 20,
  /** Feature columns of a table. */
  features: 65_536,
  /** Values of a table (rows × features): 1 GiB of Float32. */
  values: 1 << 28,
  /** Bytes a file may decompress to (gzip). */
  decompressedBytes: 4 * 2 ** 30,
  /** Bytes (UTF-8) of one id or label cell, and of a ratings user or item id. */
  idBytes: 512,
} as const;

/** Model options (`fit`, `evaluate`, `train` jobs, AutoRec), checked before anything is allocated. */
export const MODEL_LIMITS = {
  /** Units of one layer (input width included). */
  layerWidth: 65_536,
  /** Layers in the encoder, and in the decoder. */
  layers: 32,
  /** Trainable parameters (weights and biases) of one network. */
  parameters: 20_000_000,
  epochs: 100_000,
  batchSize: 65_536,
  /**
   * Values one step computes (rows × the units of every layer, input included): training batches beyond it are
   * refused, inference slices shrink to fit. 2^25 keeps a wasm step under ~1.5 GB (measured: 2^26 ~2.5 GB, and
   * 64-65536-2-65536-64 at batch 2048 broke the 4 GB wasm heap).
   */
  stepValues: 2 ** 25,
  /** Distinct labels a classifier learns (the SVM trains one model per pair of classes). */
  classes: 1000,
} as const;

/** Model files (`.lfm`, and the artifacts stored in the registry). */
export const MODEL_FILE_LIMITS = {
  /** Bytes of the JSON header (about 47 per feature: names and scaler; 65,536 features with long names fit). */
  headerBytes: 16 << 20,
  /** Bytes of a model file read from disk (weights of the largest network, or an AutoRec model and its ratings). */
  fileBytes: 2 ** 30,
} as const;

/** Job payloads added to the queues by any client. */
export const JOB_LIMITS = {
  /** Bytes of a payload as JSON (room for `users` ids up to the cap below). */
  payloadBytes: 1 << 20,
  /** Characters of a free-text payload field (a label value, a schedule or run name). */
  textChars: 256,
  /** Users listed in one `recommend` job. */
  users: 10_000,
} as const;

/** Webhook deliveries. */
export const WEBHOOK_LIMITS = {
  /** Bytes of a receiver's answer read (the rest is discarded unread). */
  responseBytes: 4096,
  /** Characters of LATENTFLOW_WEBHOOK_SECRET, at least. */
  secretChars: 16,
} as const;
