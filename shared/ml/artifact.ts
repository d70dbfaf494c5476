/**
 * The portable model file (`.lfm`): one binary blob that any host can load.
 * Layout: ASCII "LFM1", a little-endian uint32 header length, the UTF-8 JSON header, zero padding to a multiple of
 * 4 bytes, then every weight array as little-endian float32 in header order (`header.weights` gives their lengths).
 */
import { InputError } from '../contracts/errors.js';

const MAGIC = 'LFM1';

export interface ArtifactParts<H> {
  header: H;
  weights: Float32Array[];
}

export function encodeArtifact<H extends object>(header: H, weights: Float32Array[]): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, weights: weights.map((w) => w.length) }), 'utf8');
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = dataStart + weights.reduce((n, w) => n + w.length * 4, 0);
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  let offset = dataStart;
  for (const w of weights) {
    for (let i = 0; i < w.length; i++, offset += 4) out.writeFloatLE(w[i], offset);
  }
  return out;
}

export function decodeArtifact<H>(bytes: Uint8Array, source = 'model artifact'): ArtifactParts<H> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || buf.toString('ascii', 0, 4) !== MAGIC) {
    throw new InputError('not a latentflow model file (missing the "LFM1" signature)', { source });
  }
  const length = buf.readUInt32LE(4);
  if (8 + length > buf.length) throw new InputError('model file is truncated inside its header', { source });
  const header = JSON.parse(buf.toString('utf8', 8, 8 + length)) as H & { weights: number[] };
  let offset = Math.ceil((8 + length) / 4) * 4;
  const weights = header.weights.map((n) => {
    if (offset + n * 4 > buf.length) throw new InputError('model file is truncated inside its weights', { source });
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++, offset += 4) w[i] = buf.readFloatLE(offset);
    return w;
  });
  return { header, weights };
}
