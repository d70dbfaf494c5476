/**
 * The portable model file (`.lfm`): one binary blob that any host can load.
 * Layout (format 2, written since issue 15): ASCII "LFM2", a little-endian uint32 header length (at most
 * MODEL_FILE_LIMITS.headerBytes), the UTF-8 JSON header, zero padding to a multiple of 4 bytes, every weight array
 * as little-endian float32 in header order (`header.weights` gives their lengths), then the SHA-256 of every byte
 * before it (32 bytes). A file whose checksum does not match is refused.
 * Format 1 ("LFM1") is the same without the checksum; it is still read (its structure is checked the same way).
 *
 * Every malformed file (wrong signature, oversized or non-JSON header, sizes that do not add up, checksum mismatch,
 * and through {@link artifactError} the structure checks of each model kind) is an {@link InputError} naming the
 * file (or registry version) and the problem: never retried, never a raw TypeError or RangeError.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { InputError } from '../contracts/errors.js';
import { MODEL_FILE_LIMITS } from '../contracts/limits.js';

const MAGIC = 'LFM2';
const MAGIC_V1 = 'LFM1';
const CHECKSUM_BYTES = 32;

export interface ArtifactParts<H> {
  header: H;
  weights: Float32Array[];
}

/**
 * The model file of `header` and `weights` (format 2). A header beyond MODEL_FILE_LIMITS.headerBytes (very many or
 * very long feature names) is an {@link InputError}: such a file could not be read back.
 */
export function encodeArtifact<H extends object>(header: H, weights: Float32Array[]): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, weights: weights.map((w) => w.length) }), 'utf8');
  if (json.length > MODEL_FILE_LIMITS.headerBytes) {
    throw new InputError(`the model's header (feature names, scaler, history) takes ${json.length} bytes, more than the limit of ${MODEL_FILE_LIMITS.headerBytes} for a model file`);
  }
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const dataEnd = dataStart + weights.reduce((n, w) => n + w.length * 4, 0);
  const out = Buffer.alloc(dataEnd + CHECKSUM_BYTES);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  let offset = dataStart;
  for (const w of weights) {
    for (let i = 0; i < w.length; i++, offset += 4) out.writeFloatLE(w[i], offset);
  }
  createHash('sha256').update(out.subarray(0, dataEnd)).digest().copy(out, dataEnd);
  return out;
}

/** An {@link InputError} about a malformed model file: `source` names it (a path, or `model NAME@V` for the registry). */
export function artifactError(source: string, problem: string): InputError {
  return new InputError(`not a valid model file: ${problem}`, { source });
}

/**
 * The header and weights of a model file, after checking its signature, header length, header JSON, that the weight
 * lengths add up to the file's size, and (format 2) its checksum. What the header says about the model is checked by
 * the model kind's loader (with {@link parseHeader} and {@link artifactError}).
 */
export function decodeArtifact<H>(bytes: Uint8Array, source = 'model artifact'): ArtifactParts<H> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = buf.length >= 8 ? buf.toString('ascii', 0, 4) : '';
  if (magic !== MAGIC && magic !== MAGIC_V1) {
    throw new InputError(`not a latentflow model file (missing the "${MAGIC}" or "${MAGIC_V1}" signature)`, { source });
  }
  const length = buf.readUInt32LE(4);
  if (length > MODEL_FILE_LIMITS.headerBytes) {
    throw artifactError(source, `header of ${length} bytes, more than the limit of ${MODEL_FILE_LIMITS.headerBytes}`);
  }
  if (8 + length > buf.length) throw new InputError('model file is truncated inside its header', { source });
  let header: H & { weights: number[] };
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + length)) as H & { weights: number[] };
  } catch (err) {
    throw artifactError(source, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.weights) || !header.weights.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw artifactError(source, 'header lacks the list of weight array lengths ("weights")');
  }
  const dataStart = Math.ceil((8 + length) / 4) * 4;
  const dataEnd = dataStart + 4 * header.weights.reduce((a, b) => a + b, 0);
  const expected = dataEnd + (magic === MAGIC ? CHECKSUM_BYTES : 0);
  if (buf.length < expected) throw new InputError(`model file is truncated inside its weights (${buf.length} bytes, its header describes ${expected})`, { source });
  if (buf.length > expected) throw artifactError(source, `${buf.length - expected} unexpected bytes after the weights`);
  if (magic === MAGIC && !createHash('sha256').update(buf.subarray(0, dataEnd)).digest().equals(buf.subarray(dataEnd))) {
    throw new InputError('model file is corrupt or was modified (checksum mismatch)', { source });
  }
  let offset = dataStart;
  const weights = header.weights.map((n) => {
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++, offset += 4) w[i] = buf.readFloatLE(offset);
    return w;
  });
  return { header, weights };
}

/** `header` checked against `schema`; a mismatch is an {@link artifactError} naming the header field. */
export function parseHeader<S extends z.ZodType>(schema: S, header: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(header);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw artifactError(source, `header field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
}

/**
 * Checks that `weights` has exactly one array per entry of `shapes`, each of the length its shape calls for
 * (`[rows, columns]` for a matrix, `[n]` for a vector); otherwise an {@link artifactError} naming the array.
 */
export function checkWeightShapes(weights: readonly Float32Array[], shapes: readonly { name: string; shape: readonly number[] }[], source: string): void {
  if (weights.length !== shapes.length) throw artifactError(source, `${weights.length} weight arrays, its header describes ${shapes.length}`);
  shapes.forEach(({ name, shape }, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (weights[i].length !== n) throw artifactError(source, `${name} has ${weights[i].length} values, its shape ${shape.join('×')} needs ${n}`);
  });
}
