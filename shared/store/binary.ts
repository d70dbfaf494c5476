/**
 * Float32 values (and Int32 indices) ↔ the bytes stored in Redis: little-endian, 4 bytes per value, no header, so any
 * client (Python `numpy.frombuffer(b, '<f4')` or `'<i4'`, redis-cli `--raw`) can read them.
 */
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/** 4-byte words the stores keep: Float32 values and Int32 indices. */
type Words = Float32Array | Int32Array;

/** The little-endian bytes of `values` (a view without copying on little-endian hosts). */
export function toLittleEndian(values: Words): Buffer {
  if (LITTLE) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Float32Array) view.setFloat32(i * 4, values[i], true);
    else view.setInt32(i * 4, values[i], true);
  }
  return out;
}

/** Copies little-endian `bytes` into `target` (of the same word type) at element offset `at`. Returns the count copied. */
export function copyLittleEndian(bytes: Uint8Array, target: Words, at: number): number {
  const n = bytes.byteLength / 4;
  if (LITTLE) {
    new Uint8Array(target.buffer, target.byteOffset + at * 4, bytes.byteLength).set(bytes);
    return n;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) target[at + i] = target instanceof Float32Array ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
  return n;
}
