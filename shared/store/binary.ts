/**
 * Float32 values ↔ the bytes stored in Redis: little-endian IEEE 754, 4 bytes per value, no header, so any client
 * (Python `numpy.frombuffer(b, '<f4')`, redis-cli `--raw`) can read them.
 */
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/** The little-endian bytes of `values` (a view without copying on little-endian hosts). */
export function float32ToBuffer(values: Float32Array): Buffer {
  if (LITTLE) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], i * 4);
  return out;
}

/** A new Float32Array from little-endian bytes; `undefined` when the length is not a multiple of 4. */
export function bufferToFloat32(bytes: Uint8Array): Float32Array | undefined {
  if (bytes.byteLength % 4 !== 0) return undefined;
  const out = new Float32Array(bytes.byteLength / 4);
  if (LITTLE) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Copies `bytes` into `target` at element offset `at` (both little-endian Float32). Returns the count copied. */
export function copyFloat32(bytes: Uint8Array, target: Float32Array, at: number): number {
  const n = bytes.byteLength / 4;
  if (LITTLE) {
    new Uint8Array(target.buffer, target.byteOffset + at * 4, bytes.byteLength).set(bytes);
    return n;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) target[at + i] = view.getFloat32(i * 4, true);
  return n;
}

/** The little-endian bytes of Int32 `values` (a view without copying on little-endian hosts). */
export function int32ToBuffer(values: Int32Array): Buffer {
  if (LITTLE) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeInt32LE(values[i], i * 4);
  return out;
}

/** Copies little-endian Int32 `bytes` into `target` at element offset `at`. Returns the count copied. */
export function copyInt32(bytes: Uint8Array, target: Int32Array, at: number): number {
  const n = bytes.byteLength / 4;
  if (LITTLE) {
    new Uint8Array(target.buffer, target.byteOffset + at * 4, bytes.byteLength).set(bytes);
    return n;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) target[at + i] = view.getInt32(i * 4, true);
  return n;
}
